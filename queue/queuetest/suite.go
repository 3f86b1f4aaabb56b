package queuetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
)

// Factory returns a new, empty queue for one test case; every call must
// return a queue no other case uses (a fresh name or a fresh store). The
// queue must read the time from now, unless Options.RealTime is set, in
// which case now is time.Now and may be ignored. Register cleanup with
// t.Cleanup. The suite calls Create before using the queue.
type Factory func(t *testing.T, now func() time.Time) queue.Queue

// Options tune Run to a backend. nil means the zero value.
type Options struct {
	// RealTime says the backend reads a clock the suite cannot replace. The
	// suite then sleeps instead of stepping a fake clock.
	RealTime bool
	// Slack is added to each real-time wait, to cover clock skew between the
	// test and the service and the service's latency. 0 means 500 ms.
	Slack time.Duration
	// NeedsCreate says that a queue from the Factory does not exist until
	// Create is called, so Enqueue on it first fails with
	// queue.ErrQueueNotFound (true for Azure and SQLite).
	NeedsCreate bool
	// XMLText says the backend stores bodies as XML text and refuses, with
	// queue.ErrInvalidBody, bodies holding characters XML 1.0 cannot carry
	// (control characters other than tab, newline and carriage return), as
	// the Azure backend does in its Text encoding. The suite then checks
	// that refusal instead of a round trip for such bodies.
	XMLText bool
	// NoDedup says the backend ignores EnqueueOptions.DedupKey (Azure); the
	// dedup case is then skipped.
	NoDedup bool
	// DedupWindow is the dedup window the Factory's queues were configured
	// with; 0 means queue.DefaultDedupWindow. In real time the expiry part of
	// the dedup case runs only when it is at most 5 s.
	DedupWindow time.Duration
}

// Run runs the conformance suite against the queues newQueue makes.
func Run(t *testing.T, newQueue Factory, opts *Options) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Slack == 0 {
		o.Slack = 500 * time.Millisecond
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(newEnv(t, newQueue, o, c.name != "NeedsCreate"))
		})
	}
}

// env is what a case works with.
type env struct {
	*testing.T
	q     queue.Queue
	ctx   context.Context
	clk   *clock // nil in real time
	slack time.Duration
	opts  Options
}

func newEnv(t *testing.T, newQueue Factory, o Options, create bool) *env {
	e := &env{T: t, slack: o.Slack, opts: o}
	now := time.Now
	if !o.RealTime {
		e.clk = newClock()
		e.slack = time.Millisecond
		now = e.clk.Now
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	e.ctx = ctx
	e.q = newQueue(t, now)
	require.NotNil(t, e.q, "Factory returned nil")
	if create {
		require.NoError(t, e.q.Create(ctx))
	}
	return e
}

// now returns the backend's idea of the current time.
func (e *env) now() time.Time {
	if e.clk != nil {
		return e.clk.Now()
	}
	return time.Now()
}

// wait lets d (plus the slack) pass on the backend's clock.
func (e *env) wait(d time.Duration) {
	if e.clk != nil {
		e.clk.Advance(d + e.slack)
		return
	}
	time.Sleep(d + e.slack)
}

// tolerance is how far a reported time may be from the expected one.
func (e *env) tolerance() time.Duration {
	if e.clk != nil {
		return time.Millisecond
	}
	return time.Second + e.slack
}

func (e *env) enqueue(body string, opts *queue.EnqueueOptions) *queue.Message {
	e.Helper()
	m, err := e.q.Enqueue(e.ctx, []byte(body), opts)
	require.NoError(e, err)
	require.NotEmpty(e, m.ID)
	return m
}

func (e *env) receive(max int, vis time.Duration) []*queue.Message {
	e.Helper()
	ms, err := e.q.Receive(e.ctx, max, vis)
	require.NoError(e, err)
	require.LessOrEqual(e, len(ms), max)
	return ms
}

func (e *env) receiveOne(vis time.Duration) *queue.Message {
	e.Helper()
	ms := e.receive(queue.MaxReceive, vis)
	require.Len(e, ms, 1)
	return ms[0]
}

func (e *env) length() int {
	e.Helper()
	n, err := e.q.Len(e.ctx)
	require.NoError(e, err)
	return n
}

type testCase struct {
	name string
	run  func(e *env)
}

var cases = []testCase{
	{"NeedsCreate", testNeedsCreate},
	{"CreateIsIdempotent", testCreateIdempotent},
	{"EnqueueReceiveDelete", testEnqueueReceiveDelete},
	{"ReceiveHonoursMax", testReceiveMax},
	{"Redelivery", testRedelivery},
	{"DeleteAfterTimeoutBeforeRedelivery", testDeleteAfterTimeout},
	{"DeleteWithEnqueueReceipt", testDeleteWithEnqueueReceipt},
	{"StaleAndDeleted", testStaleAndDeleted},
	{"UpdateExtends", testUpdateExtends},
	{"UpdateBodyAndVisibleAtOnce", testUpdateBody},
	{"TTLExpiry", testTTL},
	{"NoExpiry", testNoExpiry},
	{"Delay", testDelay},
	{"EnqueueArguments", testEnqueueArgs},
	{"EmptyReceiveReturnsAtOnce", testEmptyReceive},
	{"ContextCancelled", testCancelled},
	{"ConcurrentReceivers", testConcurrentReceivers},
	{"BodyLimits", testBodyLimits},
	{"BodiesRoundTrip", testBodiesRoundTrip},
	{"InvalidArguments", testInvalidArgs},
	{"Len", testLen},
	{"DedupKey", testDedupKey},
}

func testDedupKey(e *env) {
	_, err := e.q.Enqueue(e.ctx, []byte("x"), &queue.EnqueueOptions{DedupKey: strings.Repeat("k", queue.MaxDedupKeyLen+1)})
	require.ErrorIs(e, err, queue.ErrInvalidArgument, "a DedupKey over MaxDedupKeyLen")
	if e.opts.NoDedup {
		e.Skip("the backend ignores DedupKey")
	}
	key := func(k string) *queue.EnqueueOptions { return &queue.EnqueueOptions{DedupKey: k} }
	first := e.enqueue("first", key("tweet:1"))
	assert.False(e, first.Duplicate)
	assert.NotEmpty(e, first.Receipt)
	again := e.enqueue("second", key("tweet:1"))
	assert.True(e, again.Duplicate, "same key within the window")
	assert.Equal(e, first.ID, again.ID, "a duplicate returns the first message's id")
	assert.Empty(e, again.Receipt, "a duplicate must not hand out the first message's lease")
	assert.Equal(e, 1, e.length())
	other := e.enqueue("other", key("dm:1"))
	assert.False(e, other.Duplicate)
	assert.NotEqual(e, first.ID, other.ID)
	e.enqueue("no key", nil)
	e.enqueue("no key", nil)
	assert.Equal(e, 4, e.length(), "messages without a key are never deduplicated")

	// Still a duplicate once the first was received and deleted: it was
	// answered.
	for _, m := range e.receive(queue.MaxReceive, time.Minute) {
		if m.ID == first.ID {
			assert.Equal(e, "first", string(m.Body), "the duplicate must not replace the body")
		}
		require.NoError(e, e.q.Delete(e.ctx, m.ID, m.Receipt))
	}
	assert.True(e, e.enqueue("third", key("tweet:1")).Duplicate, "deleted, but within the window")
	assert.Equal(e, 0, e.length())

	// Concurrent Enqueues of one key store exactly one message.
	const n = 8
	ids := make(chan *queue.Message, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			m, err := e.q.Enqueue(e.ctx, []byte("race"), key("tweet:2"))
			assert.NoError(e, err)
			ids <- m
		})
	}
	wg.Wait()
	close(ids)
	stored := 0
	for m := range ids {
		if m == nil {
			continue
		}
		if !m.Duplicate {
			stored++
		}
	}
	assert.Equal(e, 1, stored, "concurrent Enqueues with one key")
	assert.Equal(e, 1, e.length())

	window := e.opts.DedupWindow
	if window == 0 {
		window = queue.DefaultDedupWindow
	}
	if e.clk == nil && window > 5*time.Second {
		return
	}
	e.wait(window)
	after := e.enqueue("after the window", key("tweet:1"))
	assert.False(e, after.Duplicate, "the key is forgotten after the window")
	assert.NotEqual(e, first.ID, after.ID)
}

func testNeedsCreate(e *env) {
	if !e.opts.NeedsCreate {
		e.Skip("the backend's queues exist without Create")
	}
	_, err := e.q.Enqueue(e.ctx, []byte("x"), nil)
	require.ErrorIs(e, err, queue.ErrQueueNotFound)
	require.NoError(e, e.q.Create(e.ctx))
	e.enqueue("x", nil)
	assert.Equal(e, 1, e.length())
}

func testCreateIdempotent(e *env) {
	e.enqueue("kept", nil)
	require.NoError(e, e.q.Create(e.ctx))
	require.NoError(e, e.q.Create(e.ctx))
	assert.Equal(e, 1, e.length(), "Create on an existing queue must keep its messages")
	assert.NotEmpty(e, e.q.Name())
}

func testEnqueueReceiveDelete(e *env) {
	start := e.now()
	sent := map[string]string{} // id -> body
	for _, b := range []string{"one", "two", "three"} {
		m := e.enqueue(b, nil)
		assert.Zero(e, m.DequeueCount)
		assert.WithinDuration(e, start, m.InsertedAt, e.tolerance())
		assert.WithinDuration(e, start.Add(queue.DefaultTTL), m.ExpiresAt, e.tolerance())
		sent[m.ID] = b
	}
	require.Len(e, sent, 3, "message ids must be distinct")

	got := e.receive(queue.MaxReceive, time.Second)
	require.Len(e, got, 3)
	for _, m := range got {
		body, ok := sent[m.ID]
		require.True(e, ok, "received an id that was never sent: %s", m.ID)
		assert.Equal(e, body, string(m.Body))
		assert.Equal(e, 1, m.DequeueCount)
		assert.NotEmpty(e, m.Receipt)
		assert.WithinDuration(e, start.Add(time.Second), m.NextVisible, e.tolerance())
		assert.WithinDuration(e, start, m.InsertedAt, e.tolerance())
		delete(sent, m.ID)
	}
	assert.Empty(e, e.receive(queue.MaxReceive, time.Minute), "received messages must be invisible")
	for _, m := range got {
		require.NoError(e, e.q.Delete(e.ctx, m.ID, m.Receipt))
	}
	assert.Zero(e, e.length())
	e.wait(time.Second)
	assert.Empty(e, e.receive(queue.MaxReceive, time.Minute), "deleted messages must not come back")
}

func testReceiveMax(e *env) {
	for i := range 5 {
		e.enqueue(fmt.Sprint(i), nil)
	}
	first := e.receive(2, time.Minute)
	assert.Len(e, first, 2)
	rest := e.receive(queue.MaxReceive, time.Minute)
	assert.Len(e, rest, 3)
	seen := map[string]bool{}
	for _, m := range append(first, rest...) {
		assert.False(e, seen[m.ID], "message %s delivered twice", m.ID)
		seen[m.ID] = true
	}
}

func testRedelivery(e *env) {
	sent := e.enqueue("again", nil)
	first := e.receiveOne(time.Second)
	assert.Equal(e, sent.ID, first.ID)
	assert.Empty(e, e.receive(queue.MaxReceive, time.Second), "invisible before its timeout")

	e.wait(time.Second)
	second := e.receiveOne(time.Second)
	assert.Equal(e, sent.ID, second.ID)
	assert.Equal(e, 2, second.DequeueCount)
	assert.Equal(e, "again", string(second.Body))
	assert.NotEqual(e, first.Receipt, second.Receipt, "a new delivery needs a new receipt")

	e.wait(time.Second)
	third := e.receiveOne(time.Second)
	assert.Equal(e, 3, third.DequeueCount)
	assert.NotEqual(e, second.Receipt, third.Receipt)

	require.ErrorIs(e, e.q.Delete(e.ctx, sent.ID, first.Receipt), queue.ErrLeaseLost)
	require.ErrorIs(e, e.q.Delete(e.ctx, sent.ID, second.Receipt), queue.ErrLeaseLost)
	require.NoError(e, e.q.Delete(e.ctx, sent.ID, third.Receipt))
}

func testDeleteAfterTimeout(e *env) {
	e.enqueue("late", nil)
	m := e.receiveOne(time.Second)
	e.wait(time.Second)
	// The visibility has passed but nobody received the message again: the
	// receipt is still current (Azure behaves so).
	require.NoError(e, e.q.Delete(e.ctx, m.ID, m.Receipt))
	assert.Empty(e, e.receive(queue.MaxReceive, time.Second))
}

func testDeleteWithEnqueueReceipt(e *env) {
	m := e.enqueue("never received", nil)
	require.NotEmpty(e, m.Receipt)
	require.NoError(e, e.q.Delete(e.ctx, m.ID, m.Receipt))
	assert.Zero(e, e.length())

	// Once received, the enqueue receipt is dead.
	m2 := e.enqueue("received", nil)
	got := e.receiveOne(time.Minute)
	require.ErrorIs(e, e.q.Delete(e.ctx, m2.ID, m2.Receipt), queue.ErrLeaseLost)
	require.NoError(e, e.q.Delete(e.ctx, got.ID, got.Receipt))
}

func testStaleAndDeleted(e *env) {
	e.enqueue("x", nil)
	m := e.receiveOne(time.Minute)

	err := e.q.Delete(e.ctx, m.ID, m.Receipt+"x")
	require.ErrorIs(e, err, queue.ErrLeaseLost, "garbage receipt")
	_, err = e.q.Update(e.ctx, m.ID, "garbage", time.Second, nil)
	require.ErrorIs(e, err, queue.ErrLeaseLost, "garbage receipt")

	require.NoError(e, e.q.Delete(e.ctx, m.ID, m.Receipt))
	require.ErrorIs(e, e.q.Delete(e.ctx, m.ID, m.Receipt), queue.ErrLeaseLost, "already deleted")
	_, err = e.q.Update(e.ctx, m.ID, m.Receipt, time.Second, nil)
	require.ErrorIs(e, err, queue.ErrLeaseLost, "update of a deleted message")
}

func testUpdateExtends(e *env) {
	e.enqueue("long job", nil)
	m := e.receiveOne(time.Second)
	newReceipt, err := e.q.Update(e.ctx, m.ID, m.Receipt, 2*time.Second+e.slack, nil)
	require.NoError(e, err)
	require.NotEmpty(e, newReceipt)
	require.NotEqual(e, m.Receipt, newReceipt)

	e.wait(time.Second) // past the first timeout, not past the extension
	assert.Empty(e, e.receive(queue.MaxReceive, time.Second), "extended message must stay invisible")
	_, err = e.q.Update(e.ctx, m.ID, m.Receipt, time.Second, nil)
	require.ErrorIs(e, err, queue.ErrLeaseLost, "the old receipt is dead after Update")

	e.wait(time.Second + e.slack)
	again := e.receiveOne(time.Minute)
	assert.Equal(e, m.ID, again.ID)
	assert.Equal(e, 2, again.DequeueCount, "Update must not count as a delivery")
	assert.Equal(e, "long job", string(again.Body), "Update without a body keeps the body")
	require.ErrorIs(e, e.q.Delete(e.ctx, m.ID, newReceipt), queue.ErrLeaseLost)
	require.NoError(e, e.q.Delete(e.ctx, again.ID, again.Receipt))
}

func testUpdateBody(e *env) {
	e.enqueue("v1", nil)
	m := e.receiveOne(time.Minute)
	r2, err := e.q.Update(e.ctx, m.ID, m.Receipt, 0, []byte("v2"))
	require.NoError(e, err)

	got := e.receiveOne(time.Minute) // visible at once: no wait
	assert.Equal(e, "v2", string(got.Body))
	assert.Equal(e, 2, got.DequeueCount)
	_, err = e.q.Update(e.ctx, m.ID, r2, 0, nil)
	require.ErrorIs(e, err, queue.ErrLeaseLost, "receipt from Update is dead after the next receive")

	// An empty, non-nil body replaces the body too.
	_, err = e.q.Update(e.ctx, got.ID, got.Receipt, 0, []byte{})
	require.NoError(e, err)
	last := e.receiveOne(time.Minute)
	assert.Empty(e, last.Body)
	require.NoError(e, e.q.Delete(e.ctx, last.ID, last.Receipt))
}

func testTTL(e *env) {
	start := e.now()
	short := e.enqueue("short", &queue.EnqueueOptions{TTL: time.Second})
	assert.WithinDuration(e, start.Add(time.Second), short.ExpiresAt, e.tolerance())
	long := e.enqueue("long", &queue.EnqueueOptions{TTL: time.Hour})
	e.enqueue("taken", &queue.EnqueueOptions{TTL: time.Second})
	// Lease "taken" and put the others back, so that it expires while leased.
	var taken *queue.Message
	for _, m := range e.receive(queue.MaxReceive, time.Minute) {
		if string(m.Body) == "taken" {
			taken = m
			continue
		}
		_, err := e.q.Update(e.ctx, m.ID, m.Receipt, 0, nil)
		require.NoError(e, err)
	}
	require.NotNil(e, taken)

	e.wait(time.Second)
	got := e.receive(queue.MaxReceive, time.Minute)
	require.Len(e, got, 1, "expired messages must not be delivered")
	assert.Equal(e, long.ID, got[0].ID)
	require.ErrorIs(e, e.q.Delete(e.ctx, short.ID, short.Receipt), queue.ErrLeaseLost, "expired message")
	_, err := e.q.Update(e.ctx, taken.ID, taken.Receipt, 0, nil)
	require.ErrorIs(e, err, queue.ErrLeaseLost, "a message that expired while leased is gone")
}

func testNoExpiry(e *env) {
	m := e.enqueue("forever", &queue.EnqueueOptions{TTL: -1})
	assert.True(e, m.ExpiresAt.IsZero(), "ExpiresAt must be zero for a message that never expires, got %v", m.ExpiresAt)
	got := e.receiveOne(time.Minute)
	assert.True(e, got.ExpiresAt.IsZero())
}

func testDelay(e *env) {
	start := e.now()
	m := e.enqueue("later", &queue.EnqueueOptions{Delay: time.Second})
	assert.WithinDuration(e, start.Add(time.Second), m.NextVisible, e.tolerance())
	assert.Empty(e, e.receive(queue.MaxReceive, time.Minute), "delayed message is invisible")
	assert.Equal(e, 1, e.length(), "delayed messages count in Len")
	e.wait(time.Second)
	got := e.receiveOne(time.Minute)
	assert.Equal(e, m.ID, got.ID)
	assert.Equal(e, 1, got.DequeueCount)
}

func testEnqueueArgs(e *env) {
	bad := []queue.EnqueueOptions{
		{Delay: -time.Second},
		{Delay: queue.MaxVisibility + time.Second},
		{Delay: 2 * time.Second, TTL: time.Second}, // delay must be shorter than the TTL
	}
	for _, o := range bad {
		_, err := e.q.Enqueue(e.ctx, []byte("x"), &o)
		require.ErrorIs(e, err, queue.ErrInvalidArgument, "%+v", o)
	}
	assert.Zero(e, e.length(), "a rejected Enqueue must not store anything")
	e.enqueue("max delay", &queue.EnqueueOptions{Delay: queue.MaxVisibility, TTL: -1})
	assert.Equal(e, 1, e.length())
}

func testEmptyReceive(e *env) {
	// A Receive that waited for messages would run into this deadline and
	// fail; an empty queue must answer an empty slice and no error instead.
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	ms, err := e.q.Receive(ctx, queue.MaxReceive, time.Second)
	require.NoError(e, err)
	assert.Empty(e, ms)
	assert.NotNil(e, ms, "an empty receive returns an empty slice, not nil")
}

func testCancelled(e *env) {
	kept := e.enqueue("kept", nil)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	check := func(what string, err error) {
		e.Helper()
		require.ErrorIs(e, err, context.Canceled, what)
	}
	_, err := e.q.Enqueue(ctx, []byte("x"), nil)
	check("Enqueue", err)
	_, err = e.q.Receive(ctx, queue.MaxReceive, time.Minute)
	check("Receive", err)
	check("Delete", e.q.Delete(ctx, kept.ID, kept.Receipt))
	_, err = e.q.Update(ctx, kept.ID, kept.Receipt, time.Minute, nil)
	check("Update", err)
	_, err = e.q.Len(ctx)
	check("Len", err)
	check("Create", e.q.Create(ctx))

	// Nothing happened: the message is there, undelivered, and nothing new.
	got := e.receiveOne(time.Minute)
	assert.Equal(e, kept.ID, got.ID)
	assert.Equal(e, 1, got.DequeueCount)
	assert.Equal(e, 1, e.length())
}

func testConcurrentReceivers(e *env) {
	const n, workers = 64, 8
	require.NoError(e, Fill(e.ctx, e.q, n, workers, []byte("job")))
	require.Equal(e, n, e.length())

	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				ms, err := e.q.Receive(e.ctx, 5, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(e, err)
	}
	assert.Len(e, seen, n, "every message received")
	for id, k := range seen {
		assert.Equal(e, 1, k, "message %s delivered %d times within its visibility", id, k)
	}
}

func testBodyLimits(e *env) {
	max := strings.Repeat("a", queue.MaxBodySize)
	e.enqueue(max, nil)
	_, err := e.q.Enqueue(e.ctx, []byte(max+"a"), nil)
	require.ErrorIs(e, err, queue.ErrTooLarge)
	_, err = e.q.Enqueue(e.ctx, []byte("bad \xff utf-8"), nil)
	require.ErrorIs(e, err, queue.ErrInvalidBody)
	assert.Equal(e, 1, e.length(), "rejected bodies must not be stored")

	m := e.receiveOne(time.Minute)
	assert.Equal(e, max, string(m.Body))
	_, err = e.q.Update(e.ctx, m.ID, m.Receipt, 0, []byte(max+"a"))
	require.ErrorIs(e, err, queue.ErrTooLarge)
	_, err = e.q.Update(e.ctx, m.ID, m.Receipt, 0, []byte{0xc3})
	require.ErrorIs(e, err, queue.ErrInvalidBody)
	// The failed updates changed nothing: the receipt still holds the lease.
	assert.Empty(e, e.receive(queue.MaxReceive, time.Minute))
	require.NoError(e, e.q.Delete(e.ctx, m.ID, m.Receipt))
}

func testBodiesRoundTrip(e *env) {
	bodies := []string{
		"",
		`{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@bot moename hello"}`,
		"héllo wörld ✓ 日本語 🎨",
		"ctl\x01char\ttab\nnewline\x00nul",
		"<xml> & 'quotes' \"double\" ]]>",
		"aGVsbG8=", // looks like base64; must come back as written
		strings.Repeat("é", queue.MaxBodySize/2),
	}
	want := map[string]string{}
	for _, b := range bodies {
		if e.opts.XMLText && strings.ContainsAny(b, "\x00\x01") {
			_, err := e.q.Enqueue(e.ctx, []byte(b), nil)
			require.ErrorIs(e, err, queue.ErrInvalidBody, "an XML-text backend must refuse %q, not alter it", b)
			continue
		}
		want[e.enqueue(b, nil).ID] = b
	}
	got := e.receive(queue.MaxReceive, time.Minute)
	require.Len(e, got, len(want))
	for _, m := range got {
		assert.Equal(e, want[m.ID], string(m.Body))
	}
}

func testInvalidArgs(e *env) {
	e.enqueue("x", nil)
	for _, max := range []int{-1, 0, queue.MaxReceive + 1} {
		_, err := e.q.Receive(e.ctx, max, time.Minute)
		require.ErrorIs(e, err, queue.ErrInvalidArgument, "max %d", max)
	}
	for _, vis := range []time.Duration{-time.Second, 0, queue.MaxVisibility + time.Second} {
		_, err := e.q.Receive(e.ctx, 1, vis)
		require.ErrorIs(e, err, queue.ErrInvalidArgument, "visibility %v", vis)
	}
	m := e.receiveOne(time.Minute)
	require.Equal(e, 1, m.DequeueCount, "rejected receives must not deliver")
	for _, vis := range []time.Duration{-time.Second, queue.MaxVisibility + time.Second} {
		_, err := e.q.Update(e.ctx, m.ID, m.Receipt, vis, nil)
		require.ErrorIs(e, err, queue.ErrInvalidArgument, "update visibility %v", vis)
	}
	require.ErrorIs(e, e.q.Delete(e.ctx, "", m.Receipt), queue.ErrInvalidArgument)
	require.ErrorIs(e, e.q.Delete(e.ctx, m.ID, ""), queue.ErrInvalidArgument)
	_, err := e.q.Update(e.ctx, "", m.Receipt, 0, nil)
	require.ErrorIs(e, err, queue.ErrInvalidArgument)
	_, err = e.q.Update(e.ctx, m.ID, "", 0, nil)
	require.ErrorIs(e, err, queue.ErrInvalidArgument)
	// None of that touched the lease.
	require.NoError(e, e.q.Delete(e.ctx, m.ID, m.Receipt))
}

func testLen(e *env) {
	assert.Zero(e, e.length())
	for i := range 3 {
		e.enqueue(fmt.Sprint(i), nil)
	}
	assert.Equal(e, 3, e.length())
	m := e.receive(1, time.Minute)
	require.Len(e, m, 1)
	assert.Equal(e, 3, e.length(), "invisible messages count")
	require.NoError(e, e.q.Delete(e.ctx, m[0].ID, m[0].Receipt))
	assert.Equal(e, 2, e.length())
}
