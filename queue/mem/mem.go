package mem

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/moetron/moetron/queue"
)

var _ queue.Queue = (*Queue)(nil)

// Options configure a Queue. The zero value (or nil) means the real clock and
// crypto/rand.
type Options struct {
	// Now returns the current time. nil means time.Now.
	Now func() time.Time
	// Rand is the source of message ids and receipts. nil means crypto/rand.
	// A reader that fails makes the calls that need it fail.
	Rand io.Reader
	// DedupWindow is how long an EnqueueOptions.DedupKey is remembered.
	// 0 means queue.DefaultDedupWindow.
	DedupWindow time.Duration
}

// Queue is an in-memory queue. It is safe for concurrent use.
type Queue struct {
	name string
	now  func() time.Time

	mu     sync.Mutex
	rand   io.Reader
	closed bool
	byID   map[string]*entry
	order  entryHeap // every live entry, by visibleAt then seq
	seq    uint64

	dedupWindow time.Duration
	dedup       map[string]dedupEntry // by DedupKey
	dedupSwept  time.Time             // last sweep of expired keys
}

// dedupEntry remembers the message a DedupKey named, until expires.
type dedupEntry struct {
	id      string
	expires time.Time
}

type entry struct {
	id         string
	body       []byte
	dequeues   int
	insertedAt time.Time
	expiresAt  time.Time // zero: never
	visibleAt  time.Time
	receipt    string
	seq        uint64
	index      int // position in the heap
}

func (e *entry) expired(now time.Time) bool {
	return !e.expiresAt.IsZero() && !now.Before(e.expiresAt)
}

// New returns an empty queue named name. It fails with an error wrapping
// queue.ErrInvalidArgument when the name is not a valid Azure queue name.
func New(name string, opts *Options) (*Queue, error) {
	if err := queue.ValidateName(name); err != nil {
		return nil, err
	}
	q := &Queue{name: name, now: time.Now, rand: rand.Reader, byID: make(map[string]*entry),
		dedupWindow: queue.DefaultDedupWindow, dedup: make(map[string]dedupEntry)}
	if opts != nil {
		if opts.DedupWindow < 0 {
			return nil, fmt.Errorf("%w: negative DedupWindow", queue.ErrInvalidArgument)
		}
		if opts.DedupWindow > 0 {
			q.dedupWindow = opts.DedupWindow
		}
		if opts.Now != nil {
			q.now = opts.Now
		}
		if opts.Rand != nil {
			q.rand = opts.Rand
		}
	}
	return q, nil
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// Close makes every later call fail with queue.ErrClosed and drops the
// messages. It is safe to call more than once.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.byID = nil
	q.order = nil
	q.dedup = nil
	return nil
}

// lock checks ctx, takes the lock and checks that the queue is open. On
// success the caller must unlock q.mu.
func (q *Queue) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mem: %w", err)
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return queue.ErrClosed
	}
	return nil
}

// Create does nothing but check ctx and that the queue is open: a queue
// returned by New already exists.
func (q *Queue) Create(ctx context.Context) error {
	if err := q.lock(ctx); err != nil {
		return err
	}
	q.mu.Unlock()
	return nil
}

// Enqueue adds a message.
func (q *Queue) Enqueue(ctx context.Context, body []byte, opts *queue.EnqueueOptions) (*queue.Message, error) {
	delay, ttl, err := queue.EnqueueArgs(body, opts)
	if err != nil {
		return nil, err
	}
	if err := q.lock(ctx); err != nil {
		return nil, err
	}
	defer q.mu.Unlock()
	now := q.now()
	key := ""
	if opts != nil {
		key = opts.DedupKey
	}
	if key != "" {
		q.sweepDedupLocked(now)
		if d, ok := q.dedup[key]; ok && now.Before(d.expires) {
			return &queue.Message{ID: d.id, Duplicate: true}, nil
		}
	}
	id, err := q.token()
	if err != nil {
		return nil, err
	}
	receipt, err := q.token()
	if err != nil {
		return nil, err
	}
	if key != "" {
		q.dedup[key] = dedupEntry{id: id, expires: now.Add(q.dedupWindow)}
	}
	e := &entry{
		id:         id,
		body:       append([]byte{}, body...),
		insertedAt: now,
		visibleAt:  now.Add(delay),
		receipt:    receipt,
		seq:        q.seq,
	}
	q.seq++
	if ttl > 0 {
		e.expiresAt = now.Add(ttl)
	}
	q.byID[id] = e
	heap.Push(&q.order, e)
	m := e.message()
	m.Body = nil
	return m, nil
}

// sweepDedupLocked forgets expired dedup keys, at most once a minute, so
// the map holds about one window's worth of keys.
func (q *Queue) sweepDedupLocked(now time.Time) {
	if d := now.Sub(q.dedupSwept); d >= 0 && d < time.Minute {
		return
	}
	q.dedupSwept = now
	for k, d := range q.dedup {
		if !now.Before(d.expires) {
			delete(q.dedup, k)
		}
	}
}

// Receive takes up to max visible messages and hides them for visibility.
func (q *Queue) Receive(ctx context.Context, max int, visibility time.Duration) ([]*queue.Message, error) {
	if err := queue.ReceiveArgs(max, visibility); err != nil {
		return nil, err
	}
	if err := q.lock(ctx); err != nil {
		return nil, err
	}
	defer q.mu.Unlock()
	now := q.now()
	out := make([]*queue.Message, 0, max)
	for len(out) < max && len(q.order) > 0 {
		e := q.order[0]
		if e.visibleAt.After(now) {
			break
		}
		if e.expired(now) {
			q.remove(e)
			continue
		}
		receipt, err := q.token()
		if err != nil {
			// The messages taken so far are hidden with fresh receipts;
			// returning them keeps them from being lost until their
			// visibility passes.
			if len(out) > 0 {
				return out, nil
			}
			return nil, err
		}
		e.receipt = receipt
		e.dequeues++
		e.visibleAt = now.Add(visibility)
		heap.Fix(&q.order, e.index)
		out = append(out, e.message())
	}
	return out, nil
}

// Delete removes a message whose current receipt is receipt.
func (q *Queue) Delete(ctx context.Context, id, receipt string) error {
	if err := queue.DeleteArgs(id, receipt); err != nil {
		return err
	}
	if err := q.lock(ctx); err != nil {
		return err
	}
	defer q.mu.Unlock()
	e, err := q.leased(id, receipt)
	if err != nil {
		return err
	}
	q.remove(e)
	return nil
}

// Update changes a message's visibility and, when body is non-nil, its body.
func (q *Queue) Update(ctx context.Context, id, receipt string, visibility time.Duration, body []byte) (string, error) {
	if err := queue.UpdateArgs(id, receipt, visibility, body); err != nil {
		return "", err
	}
	if err := q.lock(ctx); err != nil {
		return "", err
	}
	defer q.mu.Unlock()
	e, err := q.leased(id, receipt)
	if err != nil {
		return "", err
	}
	newReceipt, err := q.token()
	if err != nil {
		return "", err
	}
	e.receipt = newReceipt
	if body != nil {
		e.body = append([]byte{}, body...)
	}
	e.visibleAt = q.now().Add(visibility)
	heap.Fix(&q.order, e.index)
	return newReceipt, nil
}

// Len returns the number of messages that have not expired, visible or not.
func (q *Queue) Len(ctx context.Context) (int, error) {
	if err := q.lock(ctx); err != nil {
		return 0, err
	}
	defer q.mu.Unlock()
	now := q.now()
	n := 0
	for _, e := range q.byID {
		if !e.expired(now) {
			n++
		}
	}
	return n, nil
}

// leased returns the live entry id whose receipt is receipt, or an error
// wrapping queue.ErrLeaseLost. An expired entry is dropped.
func (q *Queue) leased(id, receipt string) (*entry, error) {
	e, ok := q.byID[id]
	if !ok {
		return nil, fmt.Errorf("mem: message %s: %w", id, queue.ErrLeaseLost)
	}
	if e.expired(q.now()) {
		q.remove(e)
		return nil, fmt.Errorf("mem: message %s expired: %w", id, queue.ErrLeaseLost)
	}
	if e.receipt != receipt {
		return nil, fmt.Errorf("mem: message %s: %w", id, queue.ErrLeaseLost)
	}
	return e, nil
}

func (q *Queue) remove(e *entry) {
	heap.Remove(&q.order, e.index)
	delete(q.byID, e.id)
}

// token returns 16 random bytes in hex.
func (q *Queue) token() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(q.rand, b[:]); err != nil {
		return "", fmt.Errorf("mem: reading randomness: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func (e *entry) message() *queue.Message {
	return &queue.Message{
		ID:           e.id,
		Body:         append([]byte{}, e.body...),
		DequeueCount: e.dequeues,
		InsertedAt:   e.insertedAt,
		ExpiresAt:    e.expiresAt,
		Receipt:      e.receipt,
		NextVisible:  e.visibleAt,
	}
}

// entryHeap orders entries by visibleAt, then by insertion.
type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if !h[i].visibleAt.Equal(h[j].visibleAt) {
		return h[i].visibleAt.Before(h[j].visibleAt)
	}
	return h[i].seq < h[j].seq
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
