package queue_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/stretchr/testify/require"
)

// newMem returns an empty in-process queue; now may be nil (real clock).
func newMem(t testing.TB, name string, now func() time.Time) *mem.Queue {
	t.Helper()
	q, err := mem.New(name, &mem.Options{Now: now})
	require.NoError(t, err)
	return q
}

// memClock is a settable time source for a mem queue.
type memClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *memClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *memClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var epoch = time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)

// spy wraps a Queue, records the calls the consumer makes and can make
// every call fail while down is set.
type spy struct {
	queue.Queue
	down atomic.Bool

	mu       sync.Mutex
	receives []int // max of each successful Receive
	updates  []updateCall
	deletes  []deleteCall
	enqueues []queue.EnqueueOptions
	failures int
}

type updateCall struct {
	id, receipt, newReceipt string
	vis                     time.Duration
	err                     error
}

type deleteCall struct {
	id, receipt string
	err         error
}

func newSpy(q queue.Queue) *spy { return &spy{Queue: q} }

func (s *spy) fail() error {
	if s.down.Load() {
		s.mu.Lock()
		s.failures++
		s.mu.Unlock()
		return queue.ErrUnavailable
	}
	return nil
}

func (s *spy) Create(ctx context.Context) error {
	if err := s.fail(); err != nil {
		return err
	}
	return s.Queue.Create(ctx)
}

func (s *spy) Enqueue(ctx context.Context, body []byte, opts *queue.EnqueueOptions) (*queue.Message, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	m, err := s.Queue.Enqueue(ctx, body, opts)
	if err == nil {
		s.mu.Lock()
		var o queue.EnqueueOptions
		if opts != nil {
			o = *opts
		}
		s.enqueues = append(s.enqueues, o)
		s.mu.Unlock()
	}
	return m, err
}

func (s *spy) Receive(ctx context.Context, max int, vis time.Duration) ([]*queue.Message, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	ms, err := s.Queue.Receive(ctx, max, vis)
	if err == nil {
		s.mu.Lock()
		s.receives = append(s.receives, max)
		s.mu.Unlock()
	}
	return ms, err
}

func (s *spy) Update(ctx context.Context, id, receipt string, vis time.Duration, body []byte) (string, error) {
	if err := s.fail(); err != nil {
		return "", err
	}
	rc, err := s.Queue.Update(ctx, id, receipt, vis, body)
	s.mu.Lock()
	s.updates = append(s.updates, updateCall{id: id, receipt: receipt, newReceipt: rc, vis: vis, err: err})
	s.mu.Unlock()
	return rc, err
}

func (s *spy) Delete(ctx context.Context, id, receipt string) error {
	if err := s.fail(); err != nil {
		return err
	}
	err := s.Queue.Delete(ctx, id, receipt)
	s.mu.Lock()
	s.deletes = append(s.deletes, deleteCall{id: id, receipt: receipt, err: err})
	s.mu.Unlock()
	return err
}

func (s *spy) Updates() []updateCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]updateCall(nil), s.updates...)
}

func (s *spy) Deletes() []deleteCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]deleteCall(nil), s.deletes...)
}

func (s *spy) Receives() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.receives...)
}

func (s *spy) Enqueues() []queue.EnqueueOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]queue.EnqueueOptions(nil), s.enqueues...)
}

func (s *spy) Failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures
}

// counters counts metric hook calls.
type counters struct {
	received, succeeded, failed, deferred, poisoned, released atomic.Int64
	renewed, lost, done, queueErrs                            atomic.Int64

	mu        sync.Mutex
	errs      []error
	reasons   []string
	latencies []time.Duration
}

func (c *counters) hooks() *queue.ConsumerMetrics {
	return &queue.ConsumerMetrics{
		Received:  func() { c.received.Add(1) },
		Succeeded: func() { c.succeeded.Add(1) },
		Failed: func(err error) {
			c.failed.Add(1)
			c.mu.Lock()
			c.errs = append(c.errs, err)
			c.mu.Unlock()
		},
		Deferred: func(time.Duration) { c.deferred.Add(1) },
		Poisoned: func(reason string) {
			c.poisoned.Add(1)
			c.mu.Lock()
			c.reasons = append(c.reasons, reason)
			c.mu.Unlock()
		},
		Released:     func() { c.released.Add(1) },
		LeaseRenewed: func() { c.renewed.Add(1) },
		LeaseLost:    func() { c.lost.Add(1) },
		HandlerDone: func(d time.Duration, _ error) {
			c.done.Add(1)
			c.mu.Lock()
			c.latencies = append(c.latencies, d)
			c.mu.Unlock()
		},
		QueueError: func(string, error) { c.queueErrs.Add(1) },
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startConsumer runs c in the background; the returned stop cancels Run's
// context and returns Run's result. Cleanup stops it too.
func startConsumer(t *testing.T, c *queue.Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-res:
			case <-time.After(10 * time.Second):
				t.Error("Run did not return within 10 s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func enqueue(t testing.TB, q queue.Queue, bodies ...string) []string {
	t.Helper()
	ids := make([]string, 0, len(bodies))
	for _, b := range bodies {
		m, err := q.Enqueue(context.Background(), []byte(b), nil)
		require.NoError(t, err)
		ids = append(ids, m.ID)
	}
	return ids
}

func queueLen(t testing.TB, q queue.Queue) int {
	t.Helper()
	n, err := q.Len(context.Background())
	require.NoError(t, err)
	return n
}

// fastConfig is a config for tests on the real clock: quick polling.
func fastConfig(poison queue.Queue) queue.ConsumerConfig {
	return queue.ConsumerConfig{
		Poison:          poison,
		MinPollInterval: 5 * time.Millisecond,
		MaxPollInterval: 20 * time.Millisecond,
		RetryBackoff:    func(int, error) time.Duration { return 0 },
	}
}

const waitFor, tick = 5 * time.Second, 5 * time.Millisecond
