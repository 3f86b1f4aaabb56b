package queue_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/queue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewConsumerDefaults(t *testing.T) {
	q := newMem(t, "jobs", nil)
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(context.Context, *queue.Message) error { return nil }),
		queue.ConsumerConfig{PoisonFactory: func(string) (queue.Queue, error) { return nil, nil }})
	require.NoError(t, err)
	cfg := c.Config()
	assert.Equal(t, 16, cfg.BatchSize)
	assert.Equal(t, 8*runtime.GOMAXPROCS(0), cfg.NewBatchThreshold)
	assert.Equal(t, 16+8*runtime.GOMAXPROCS(0), cfg.Concurrency)
	assert.Equal(t, 10*time.Minute, cfg.Visibility)
	assert.Equal(t, 5, cfg.MaxDequeueCount)
	assert.Equal(t, 100*time.Millisecond, cfg.MinPollInterval)
	assert.Equal(t, 2*time.Second, cfg.MaxPollInterval)
	assert.Equal(t, 30*time.Second, cfg.DrainTimeout)
	assert.Equal(t, 30*time.Second, cfg.OpTimeout)
	require.NotNil(t, cfg.RetryBackoff)
	assert.InDelta(t, float64(5*time.Second), float64(cfg.RetryBackoff(1, nil)), float64(time.Second))

	c, err = queue.NewConsumer(q, queue.HandlerFunc(func(context.Context, *queue.Message) error { return nil }),
		queue.ConsumerConfig{Poison: q, BatchSize: 1, NewBatchThreshold: -1})
	require.NoError(t, err)
	assert.Equal(t, 0, c.Config().NewBatchThreshold)
	assert.Equal(t, 1, c.Config().Concurrency)

	c, err = queue.NewConsumer(q, queue.HandlerFunc(func(context.Context, *queue.Message) error { return nil }),
		queue.ConsumerConfig{Poison: q, MaxPollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 10*time.Millisecond, c.Config().MinPollInterval, "min poll above the max")
}

func TestNewConsumerRejectsBadConfig(t *testing.T) {
	q := newMem(t, "jobs", nil)
	h := queue.HandlerFunc(func(context.Context, *queue.Message) error { return nil })
	cases := map[string]struct {
		q   queue.Queue
		h   queue.Handler
		cfg queue.ConsumerConfig
	}{
		"nil queue":        {nil, h, queue.ConsumerConfig{Poison: q}},
		"nil handler":      {q, nil, queue.ConsumerConfig{Poison: q}},
		"no poison":        {q, h, queue.ConsumerConfig{}},
		"batch too big":    {q, h, queue.ConsumerConfig{Poison: q, BatchSize: 33}},
		"batch negative":   {q, h, queue.ConsumerConfig{Poison: q, BatchSize: -1}},
		"concurrency < 0":  {q, h, queue.ConsumerConfig{Poison: q, Concurrency: -2}},
		"visibility < 0":   {q, h, queue.ConsumerConfig{Poison: q, Visibility: -time.Second}},
		"visibility > max": {q, h, queue.ConsumerConfig{Poison: q, Visibility: queue.MaxVisibility + 1}},
		"dequeue < 0":      {q, h, queue.ConsumerConfig{Poison: q, MaxDequeueCount: -1}},
		"min poll < 0":     {q, h, queue.ConsumerConfig{Poison: q, MinPollInterval: -1}},
		"max < min poll":   {q, h, queue.ConsumerConfig{Poison: q, MinPollInterval: time.Second, MaxPollInterval: time.Millisecond}},
		"op timeout < 0":   {q, h, queue.ConsumerConfig{Poison: q, OpTimeout: -1}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := queue.NewConsumer(tc.q, tc.h, tc.cfg)
			require.ErrorIs(t, err, queue.ErrInvalidArgument)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), "ConsumerConfig")
		})
	}
}

func TestConsumerSuccessDeletes(t *testing.T) {
	q := newSpy(newMem(t, "jobs", nil))
	var mu sync.Mutex
	var seen []string
	var cnt counters
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.Metrics = cnt.hooks()
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		mu.Lock()
		seen = append(seen, string(m.Body))
		mu.Unlock()
		return nil
	}), cfg)
	require.NoError(t, err)
	ids := enqueue(t, q, "a", "b", "c")
	stop := startConsumer(t, c)
	require.Eventually(t, func() bool { return queueLen(t, q) == 0 }, waitFor, tick)
	require.NoError(t, stop())

	sort.Strings(seen)
	assert.Equal(t, []string{"a", "b", "c"}, seen)
	assert.EqualValues(t, 3, cnt.received.Load())
	assert.EqualValues(t, 3, cnt.succeeded.Load())
	assert.EqualValues(t, 3, cnt.done.Load())
	assert.Zero(t, cnt.failed.Load())
	var deleted []string
	for _, d := range q.Deletes() {
		require.NoError(t, d.err)
		deleted = append(deleted, d.id)
	}
	assert.ElementsMatch(t, ids, deleted)
}

func TestConsumerFailureRedeliversAfterBackoff(t *testing.T) {
	q := newSpy(newMem(t, "jobs", nil))
	var attempts []int
	var times []time.Time
	var mu sync.Mutex
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	const backoff = 150 * time.Millisecond
	var gotAttempt atomic.Int64
	cfg.RetryBackoff = func(attempt int, err error) time.Duration {
		gotAttempt.Store(int64(attempt))
		return backoff
	}
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, m.DequeueCount)
		times = append(times, time.Now())
		if m.DequeueCount == 1 {
			return errors.New("transient")
		}
		return nil
	}), cfg)
	require.NoError(t, err)
	ids := enqueue(t, q, "job")
	startConsumer(t, c)
	require.Eventually(t, func() bool { return queueLen(t, q) == 0 }, waitFor, tick)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{1, 2}, attempts)
	assert.GreaterOrEqual(t, times[1].Sub(times[0]), backoff, "redelivered before the backoff")
	assert.EqualValues(t, 1, gotAttempt.Load())
	ups := q.Updates()
	require.Len(t, ups, 1)
	assert.Equal(t, ids[0], ups[0].id)
	assert.Equal(t, backoff, ups[0].vis)
}

func TestConsumerPoisonsAfterMaxDequeueCount(t *testing.T) {
	q := newMem(t, "jobs", nil)
	var opened []string
	poison := newMem(t, "jobs-poison", nil)
	cfg := fastConfig(nil)
	cfg.PoisonFactory = func(name string) (queue.Queue, error) {
		opened = append(opened, name)
		return poison, nil
	}
	cfg.MaxDequeueCount = 3
	var cnt counters
	cfg.Metrics = cnt.hooks()
	var calls atomic.Int64
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		calls.Add(1)
		return fmt.Errorf("render failed on attempt %d", m.DequeueCount)
	}), cfg)
	require.NoError(t, err)
	body := `{"msg_type":"tweet","text":"@bot moename <b>&\"quoted\" 日本"}`
	ids := enqueue(t, q, body)
	stop := startConsumer(t, c)
	require.Eventually(t, func() bool { return queueLen(t, poison) == 1 }, waitFor, tick)
	require.NoError(t, stop())

	assert.EqualValues(t, 3, calls.Load())
	assert.Equal(t, 0, queueLen(t, q))
	assert.Equal(t, []string{"jobs-poison"}, opened)
	assert.Equal(t, []string{queue.PoisonMaxDequeue}, cnt.reasons)
	ms, err := poison.Receive(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	rec, err := queue.DecodePoison(ms[0].Body)
	require.NoError(t, err)
	assert.Equal(t, body, rec.Body)
	assert.Equal(t, "render failed on attempt 3", rec.Error)
	assert.Equal(t, queue.PoisonMaxDequeue, rec.Reason)
	assert.Equal(t, 3, rec.DequeueCount)
	assert.Equal(t, ids[0], rec.MessageID)
	assert.Equal(t, "jobs", rec.Queue)
	assert.True(t, ms[0].ExpiresAt.IsZero(), "poison messages should not expire")
}

func TestConsumerPermanentErrorPoisonsAtOnce(t *testing.T) {
	q := newMem(t, "jobs", nil)
	poison := newMem(t, "jobs-poison", nil)
	var calls atomic.Int64
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		calls.Add(1)
		return queue.Permanent(fmt.Errorf("job: %w", errors.New("unknown command")))
	}), fastConfig(poison))
	require.NoError(t, err)
	enqueue(t, q, "bad job")
	stop := startConsumer(t, c)
	require.Eventually(t, func() bool { return queueLen(t, poison) == 1 }, waitFor, tick)
	require.NoError(t, stop())
	assert.EqualValues(t, 1, calls.Load())
	assert.Equal(t, 0, queueLen(t, q))
	ms, err := poison.Receive(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	rec, err := queue.DecodePoison(ms[0].Body)
	require.NoError(t, err)
	assert.Equal(t, queue.PoisonPermanent, rec.Reason)
	assert.Equal(t, "bad job", rec.Body)
	assert.Contains(t, rec.Error, "unknown command")
	assert.Equal(t, 1, rec.DequeueCount)
}

func TestConsumerPoisonsOverLimitArrivalWithoutRunning(t *testing.T) {
	clk := &memClock{now: epoch}
	q := newMem(t, "jobs", clk.Now)
	poison := newMem(t, "jobs-poison", nil)
	enqueue(t, q, "crashes the worker")
	// Three workers took the message and died without a word.
	for range 3 {
		ms, err := q.Receive(context.Background(), 1, time.Second)
		require.NoError(t, err)
		require.Len(t, ms, 1)
		clk.Advance(2 * time.Second)
	}
	cfg := fastConfig(poison)
	cfg.MaxDequeueCount = 2
	var calls atomic.Int64
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		calls.Add(1)
		return nil
	}), cfg)
	require.NoError(t, err)
	stop := startConsumer(t, c)
	require.Eventually(t, func() bool { return queueLen(t, poison) == 1 }, waitFor, tick)
	require.NoError(t, stop())
	assert.Zero(t, calls.Load(), "handler ran for a message over the limit")
	assert.Equal(t, 0, queueLen(t, q))
	ms, err := poison.Receive(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	rec, err := queue.DecodePoison(ms[0].Body)
	require.NoError(t, err)
	assert.Equal(t, queue.PoisonArrived, rec.Reason)
	assert.Equal(t, 4, rec.DequeueCount)
	assert.Equal(t, "crashes the worker", rec.Body)
}

func TestConsumerPanicBecomesError(t *testing.T) {
	q := newMem(t, "jobs", nil)
	var logs syncBuffer
	var cnt counters
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.Logger = testLogger(&logs)
	cfg.Metrics = cnt.hooks()
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		if m.DequeueCount == 1 {
			panic("nil tensor")
		}
		return nil
	}), cfg)
	require.NoError(t, err)
	enqueue(t, q, "job")
	startConsumer(t, c)
	require.Eventually(t, func() bool { return cnt.succeeded.Load() == 1 && queueLen(t, q) == 0 }, waitFor, tick)

	require.EqualValues(t, 1, cnt.failed.Load())
	cnt.mu.Lock()
	perr := cnt.errs[0]
	cnt.mu.Unlock()
	var pe *queue.PanicError
	require.ErrorAs(t, perr, &pe)
	assert.Equal(t, "nil tensor", pe.Value)
	assert.Contains(t, string(pe.Stack), "consumer_test.go")
	assert.Contains(t, logs.String(), "handler panicked")
	assert.Contains(t, logs.String(), "stack=")
}

func TestConsumerRenewsLeaseWithNewestReceipt(t *testing.T) {
	fc := queue.NewFakeClock(epoch)
	mq := newMem(t, "jobs", fc.Now)
	q := newSpy(mq)
	var cnt counters
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.Visibility = 10 * time.Minute
	cfg.Metrics = cnt.hooks()
	started := make(chan struct{})
	finish := make(chan struct{})
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		close(started)
		select {
		case <-finish:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}), cfg)
	require.NoError(t, err)
	queue.SetConsumerClock(c, fc)
	ids := enqueue(t, mq, "long gpu job")
	startConsumer(t, c)
	<-started

	// 30 minutes of work on a 10-minute lease: a second consumer never
	// sees the message.
	for i := 1; i <= 6; i++ {
		fc.Advance(5 * time.Minute)
		require.Eventually(t, func() bool { return cnt.renewed.Load() == int64(i) }, waitFor, tick, "renewal %d", i)
		ms, err := mq.Receive(context.Background(), 32, time.Second)
		require.NoError(t, err)
		require.Empty(t, ms, "message visible to another consumer after %d min", 5*i)
	}
	close(finish)
	require.Eventually(t, func() bool { return queueLen(t, mq) == 0 }, waitFor, tick)

	ups := q.Updates()
	require.Len(t, ups, 6)
	var first string
	for _, d := range q.Deletes() {
		if d.id == ids[0] {
			first = d.receipt
		}
	}
	for i, u := range ups {
		require.NoError(t, u.err)
		assert.Equal(t, 10*time.Minute, u.vis)
		if i > 0 {
			assert.Equal(t, ups[i-1].newReceipt, u.receipt, "renewal %d did not use the newest receipt", i+1)
		}
	}
	assert.Equal(t, ups[5].newReceipt, first, "delete did not use the newest receipt")
	assert.Zero(t, cnt.lost.Load())
}

func TestConsumerLeaseLostCancelsHandler(t *testing.T) {
	mclk := &memClock{now: epoch}
	mq := newMem(t, "jobs", mclk.Now)
	fc := queue.NewFakeClock(epoch)
	var cnt counters
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.Metrics = cnt.hooks()
	started := make(chan struct{})
	cause := make(chan error, 1)
	c, err := queue.NewConsumer(mq, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return ctx.Err()
	}), cfg)
	require.NoError(t, err)
	queue.SetConsumerClock(c, fc)
	enqueue(t, mq, "job")
	startConsumer(t, c)
	<-started

	// The worker stalls past its lease; another consumer takes the message.
	mclk.Advance(11 * time.Minute)
	stolen, err := mq.Receive(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, stolen, 1)
	fc.Advance(5 * time.Minute) // the renewal finds the receipt stale

	select {
	case err := <-cause:
		require.ErrorIs(t, err, queue.ErrLeaseLost)
	case <-time.After(waitFor):
		t.Fatal("handler context not cancelled after the lease was lost")
	}
	require.Eventually(t, func() bool { return cnt.done.Load() == 1 }, waitFor, tick)
	assert.EqualValues(t, 1, cnt.lost.Load())
	assert.Zero(t, cnt.failed.Load(), "a lost lease is not a handler failure")
	// The consumer left the message to its new owner.
	require.NoError(t, mq.Delete(context.Background(), stolen[0].ID, stolen[0].Receipt))
}

func TestConsumerReleasesHungHandlerAtDrainDeadline(t *testing.T) {
	q := newMem(t, "jobs", nil)
	var cnt counters
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.DrainTimeout = 100 * time.Millisecond
	cfg.Metrics = cnt.hooks()
	started := make(chan struct{})
	unblock := make(chan struct{})
	defer close(unblock)
	var hctx atomic.Value
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		hctx.Store(ctx)
		close(started)
		<-unblock // ignores ctx
		return nil
	}), cfg)
	require.NoError(t, err)
	enqueue(t, q, "hangs")
	stop := startConsumer(t, c)
	<-started
	err = stop()
	require.ErrorIs(t, err, queue.ErrDrainTimeout)
	assert.EqualValues(t, 1, cnt.released.Load())
	ctx := hctx.Load().(context.Context)
	require.ErrorIs(t, context.Cause(ctx), queue.ErrDrainTimeout)

	// Visible again at once, for another worker.
	ms, err := q.Receive(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, 2, ms[0].DequeueCount)
	unblock <- struct{}{} // the hung handler finally returns nil...
	require.Eventually(t, func() bool { return c.InFlight() == 0 }, waitFor, tick)
	// ...and the consumer must not delete the message it gave away.
	require.NoError(t, q.Delete(context.Background(), ms[0].ID, ms[0].Receipt))
}

func TestConsumerGracefulDrainFinishesInFlight(t *testing.T) {
	q := newMem(t, "jobs", nil)
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.Concurrency = 3
	var started, finished atomic.Int64
	var ctxErrs atomic.Int64
	release := make(chan struct{})
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		started.Add(1)
		<-release
		if ctx.Err() != nil {
			ctxErrs.Add(1)
		}
		finished.Add(1)
		return nil
	}), cfg)
	require.NoError(t, err)
	enqueue(t, q, "a", "b", "c")
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- c.Run(ctx) }()
	require.Eventually(t, func() bool { return started.Load() == 3 }, waitFor, tick)
	cancel()
	enqueue(t, q, "after stop")
	time.Sleep(50 * time.Millisecond) // a consumer still fetching would take it now
	close(release)
	select {
	case err := <-res:
		require.NoError(t, err)
	case <-time.After(waitFor):
		t.Fatal("Run did not return after drain")
	}
	assert.EqualValues(t, 3, finished.Load())
	assert.Zero(t, ctxErrs.Load(), "handler contexts were cancelled during a graceful drain")
	assert.Equal(t, 1, queueLen(t, q), "only the message enqueued after the stop may remain")
	assert.EqualValues(t, 3, started.Load())
}

func TestConsumerShutdownDeadlineReleases(t *testing.T) {
	q := newMem(t, "jobs", nil)
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.DrainTimeout = time.Hour
	started := make(chan struct{})
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}), cfg)
	require.NoError(t, err)
	enqueue(t, q, "job")
	res := make(chan error, 1)
	go func() { res <- c.Run(context.Background()) }()
	<-started
	sctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = c.Shutdown(sctx)
	require.ErrorIs(t, err, queue.ErrDrainTimeout)
	require.ErrorIs(t, <-res, queue.ErrDrainTimeout)
	ms, err := q.Receive(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ms, 1, "message not released for another worker")

	require.ErrorIs(t, c.Run(context.Background()), queue.ErrConsumerRunning)
}

func TestConsumerShutdownBeforeRunAndCleanShutdown(t *testing.T) {
	q := newMem(t, "jobs", nil)
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(context.Context, *queue.Message) error { return nil }),
		fastConfig(q))
	require.NoError(t, err)
	res := make(chan error, 1)
	go func() { res <- c.Run(context.Background()) }()
	enqueue(t, q, "x")
	require.Eventually(t, func() bool { return queueLen(t, q) == 0 }, waitFor, tick)
	require.NoError(t, c.Shutdown(context.Background()))
	require.NoError(t, <-res)

	// Shutdown before Run: Run returns at once and takes nothing.
	var calls atomic.Int64
	c, err = queue.NewConsumer(q, queue.HandlerFunc(func(context.Context, *queue.Message) error {
		calls.Add(1)
		return nil
	}), fastConfig(q))
	require.NoError(t, err)
	enqueue(t, q, "y")
	require.NoError(t, c.Shutdown(context.Background()))
	require.NoError(t, c.Run(context.Background()))
	assert.Zero(t, calls.Load())
	assert.Equal(t, 1, queueLen(t, q))
}

func TestConsumerSurvivesQueueOutage(t *testing.T) {
	mq := newMem(t, "jobs", nil)
	q := newSpy(mq)
	q.down.Store(true) // down before the consumer starts
	var cnt counters
	var logs syncBuffer
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.Metrics = cnt.hooks()
	cfg.Logger = testLogger(&logs)
	cfg.Concurrency = 4
	var mu sync.Mutex
	handled := map[string]int{}
	var outage sync.Once
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		if string(m.Body) == "m07" {
			// Mid-run outage: the delete of this message and the receives
			// around it fail for a while.
			outage.Do(func() {
				q.down.Store(true)
				time.AfterFunc(150*time.Millisecond, func() { q.down.Store(false) })
			})
		}
		mu.Lock()
		handled[string(m.Body)]++
		mu.Unlock()
		return nil
	}), cfg)
	require.NoError(t, err)
	var bodies []string
	for i := range 20 {
		bodies = append(bodies, fmt.Sprintf("m%02d", i))
	}
	enqueue(t, mq, bodies...)
	stop := startConsumer(t, c)
	require.Eventually(t, func() bool { return cnt.queueErrs.Load() >= 3 }, waitFor, tick)
	assert.Zero(t, cnt.received.Load(), "received while the queue was down")
	q.down.Store(false)
	require.Eventually(t, func() bool { return queueLen(t, mq) == 0 }, waitFor, tick)
	require.NoError(t, stop())

	mu.Lock()
	defer mu.Unlock()
	for _, b := range bodies {
		assert.GreaterOrEqual(t, handled[b], 1, "message %s lost", b)
	}
	assert.Greater(t, q.Failures(), 3)
	assert.Contains(t, logs.String(), "queue receive failed")
}

func TestConsumerConcurrencyBound(t *testing.T) {
	q := newSpy(newMem(t, "jobs", nil))
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.BatchSize = 8
	cfg.Concurrency = 3
	var active, peak atomic.Int64
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		n := active.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		active.Add(-1)
		return nil
	}), cfg)
	require.NoError(t, err)
	enqueue(t, q, strings.Split("abcdefghijklmnopqrst", "")...)
	startConsumer(t, c)
	require.Eventually(t, func() bool { return queueLen(t, q) == 0 }, waitFor, tick)
	assert.LessOrEqual(t, peak.Load(), int64(3))
	assert.Equal(t, int64(3), peak.Load(), "never ran 3 at once")
	for _, n := range q.Receives() {
		assert.LessOrEqual(t, n, 3, "asked for more messages than free slots")
	}
}

func TestConsumerBatchThreshold(t *testing.T) {
	q := newSpy(newMem(t, "jobs", nil))
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.BatchSize = 4
	cfg.NewBatchThreshold = 2
	cfg.Concurrency = 8
	var started atomic.Int64
	done := make(chan struct{})
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		started.Add(1)
		<-done
		return nil
	}), cfg)
	require.NoError(t, err)
	enqueue(t, q, strings.Split("abcdefghijkl", "")...)
	startConsumer(t, c)
	var closeOnce sync.Once
	t.Cleanup(func() { closeOnce.Do(func() { close(done) }) })
	require.Eventually(t, func() bool { return started.Load() == 4 }, waitFor, tick)
	nonEmptyReceives := func() int { return len(q.Receives()) }
	time.Sleep(50 * time.Millisecond)
	assert.EqualValues(t, 4, started.Load())
	assert.Equal(t, 1, nonEmptyReceives(), "fetched with 4 in flight, above the threshold of 2")

	done <- struct{}{} // 3 in flight: still above
	time.Sleep(50 * time.Millisecond)
	assert.EqualValues(t, 4, started.Load())
	assert.Equal(t, 1, nonEmptyReceives())

	done <- struct{}{} // 2 in flight: at the threshold, fetch min(4, 8-2)
	require.Eventually(t, func() bool { return started.Load() == 8 }, waitFor, tick)
	time.Sleep(50 * time.Millisecond)
	// 2 + 4 = 6 in flight: above the threshold again, so no third fetch.
	assert.EqualValues(t, 8, started.Load())
	assert.Equal(t, []int{4, 4}, q.Receives())
}

func TestConsumerIdleBackoffResetsOnWork(t *testing.T) {
	fc := queue.NewFakeClock(epoch)
	q := newMem(t, "jobs", fc.Now)
	cfg := queue.ConsumerConfig{Poison: newMem(t, "jobs-poison", nil), MaxPollInterval: 2 * time.Second}
	var handled atomic.Int64
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		handled.Add(1)
		return nil
	}), cfg)
	require.NoError(t, err)
	queue.SetConsumerClock(c, fc)
	queue.SetConsumerRand(c, func() float64 { return 0.5 }) // jitter factor exactly 1.0
	startConsumer(t, c)

	// polls returns the poll delays asked for so far (renewal timers are
	// minutes long and filtered out).
	polls := func() []time.Duration {
		var out []time.Duration
		for _, d := range fc.Requested() {
			if d <= 2*time.Second {
				out = append(out, d)
			}
		}
		return out
	}
	waitPolls := func(n int) []time.Duration {
		t.Helper()
		require.Eventually(t, func() bool { return len(polls()) >= n }, waitFor, tick)
		return polls()
	}
	ms := time.Millisecond
	want := []time.Duration{200 * ms, 300 * ms, 500 * ms, 900 * ms, 1700 * ms, 2000 * ms, 2000 * ms}
	for i := range want {
		got := waitPolls(i + 1)
		require.Equal(t, want[:i+1], got, "idle delays")
		if i == len(want)-1 {
			// Work arrives while the consumer sleeps: the next poll finds
			// it and the backoff starts over.
			enqueue(t, q, "job")
		}
		fc.Advance(got[i])
	}
	require.Eventually(t, func() bool { return handled.Load() == 1 }, waitFor, tick)
	got := waitPolls(len(want) + 1)
	assert.Equal(t, 200*ms, got[len(want)], "backoff did not reset after work")
	n := len(got)
	fc.Advance(200 * ms)
	got = waitPolls(n + 1)
	assert.Equal(t, 300*ms, got[n])

	// Wake cuts a wait short and resets the backoff too.
	c.Wake()
	got = waitPolls(n + 2)
	assert.Equal(t, 200*ms, got[n+1], "Wake did not reset the backoff")
}

func TestConsumerRetryAfterDefersWithoutCounting(t *testing.T) {
	q := newSpy(newMem(t, "jobs", nil))
	poison := newMem(t, "jobs-poison", nil)
	cfg := fastConfig(poison)
	cfg.MaxDequeueCount = 1 // any counted redelivery would poison
	var cnt counters
	cfg.Metrics = cnt.hooks()
	var mu sync.Mutex
	var counts []int
	var times []time.Time
	const wait = 120 * time.Millisecond
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		counts = append(counts, m.DequeueCount)
		times = append(times, time.Now())
		if len(counts) <= 2 {
			return queue.RetryAfter(errors.New("429 rate limited"), wait)
		}
		if string(m.Body) != "rate limited job" {
			return queue.Permanent(errors.New("body changed"))
		}
		return nil
	}), cfg)
	require.NoError(t, err)
	enqueue(t, q, "rate limited job")
	startConsumer(t, c)
	require.Eventually(t, func() bool { return cnt.succeeded.Load() == 1 && queueLen(t, q) == 0 }, waitFor, tick)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{1, 1, 1}, counts)
	assert.GreaterOrEqual(t, times[1].Sub(times[0]), wait)
	assert.GreaterOrEqual(t, times[2].Sub(times[1]), wait)
	assert.EqualValues(t, 2, cnt.deferred.Load())
	assert.Zero(t, cnt.failed.Load())
	assert.Equal(t, 0, queueLen(t, poison))
	enq := q.Enqueues()
	require.Len(t, enq, 3) // the test's own and two deferral copies
	for _, o := range enq[1:] {
		assert.Equal(t, wait, o.Delay)
		assert.Greater(t, o.TTL, queue.DefaultTTL-time.Minute, "the copy keeps the original expiry")
		assert.LessOrEqual(t, o.TTL, queue.DefaultTTL)
	}
}

func TestDeliveryExtend(t *testing.T) {
	fc := queue.NewFakeClock(epoch)
	mq := newMem(t, "jobs", fc.Now)
	q := newSpy(mq)
	var cnt counters
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.Metrics = cnt.hooks()
	extended := make(chan error, 3)
	finish := make(chan struct{})
	var dl *queue.Delivery
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		dl = queue.DeliveryFrom(ctx)
		extended <- dl.Extend(ctx, 0)
		extended <- dl.Extend(ctx, time.Hour)
		<-finish
		return nil
	}), cfg)
	require.NoError(t, err)
	queue.SetConsumerClock(c, fc)
	assert.Nil(t, queue.DeliveryFrom(context.Background()))
	enqueue(t, mq, "job")
	startConsumer(t, c)
	require.ErrorIs(t, <-extended, queue.ErrInvalidArgument)
	require.NoError(t, <-extended)
	assert.Equal(t, epoch.Add(time.Hour), dl.LeaseExpiry())
	assert.Equal(t, 1, dl.Attempt())
	ups := q.Updates()
	require.Len(t, ups, 1)
	assert.Equal(t, time.Hour, ups[0].vis)

	// The next renewal is due 5 minutes before the extended expiry, not
	// 5 minutes after the receive.
	fc.Advance(50 * time.Minute)
	time.Sleep(20 * time.Millisecond)
	assert.Len(t, q.Updates(), 1, "renewed early, shortening the extended lease")
	fc.Advance(5 * time.Minute)
	require.Eventually(t, func() bool { return len(q.Updates()) == 2 }, waitFor, tick)
	ups = q.Updates()
	assert.Equal(t, ups[0].newReceipt, ups[1].receipt)
	assert.Equal(t, 10*time.Minute, ups[1].vis)
	close(finish)
	require.Eventually(t, func() bool { return queueLen(t, mq) == 0 }, waitFor, tick)
	require.ErrorIs(t, dl.Extend(context.Background(), time.Minute), queue.ErrDeliveryDone)
}

func TestConsumerPoisonQueueDownKeepsMessage(t *testing.T) {
	q := newMem(t, "jobs", nil)
	poison := newSpy(newMem(t, "jobs-poison", nil))
	poison.down.Store(true)
	cfg := fastConfig(poison)
	cfg.OpTimeout = 100 * time.Millisecond // give up quickly on the poison queue
	var cnt counters
	cfg.Metrics = cnt.hooks()
	var calls atomic.Int64
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		calls.Add(1)
		return queue.Permanent(errors.New("bad"))
	}), cfg)
	require.NoError(t, err)
	enqueue(t, q, "job")
	startConsumer(t, c)
	require.Eventually(t, func() bool { return poison.Failures() >= 2 }, waitFor, tick)
	assert.Equal(t, 1, queueLen(t, q), "message dropped while the poison queue was down")
	poison.down.Store(false)
	require.Eventually(t, func() bool { return queueLen(t, poison) == 1 && queueLen(t, q) == 0 }, waitFor, tick)
	// Later tries skip the handler only when the count is over the limit;
	// a Permanent error may run the handler again before that.
	assert.GreaterOrEqual(t, calls.Load(), int64(1))
	assert.EqualValues(t, 1, cnt.poisoned.Load())
}

func TestConsumerDeleteLeaseLostContinues(t *testing.T) {
	mclk := &memClock{now: epoch}
	mq := newMem(t, "jobs", mclk.Now)
	var cnt counters
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.Metrics = cnt.hooks()
	cfg.Concurrency = 1
	type key struct{}
	var values []any
	var mu sync.Mutex
	c, err := queue.NewConsumer(mq, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		mu.Lock()
		values = append(values, ctx.Value(key{}))
		mu.Unlock()
		if string(m.Body) == "slow" {
			// The worker stalls past its lease and another consumer
			// takes the message before the delete.
			mclk.Advance(11 * time.Minute)
			ms, err := mq.Receive(context.Background(), 1, time.Hour)
			if err != nil || len(ms) != 1 {
				return fmt.Errorf("steal failed: %v, %d", err, len(ms))
			}
		}
		return nil
	}), cfg)
	require.NoError(t, err)
	queue.SetConsumerClock(c, queue.NewFakeClock(epoch)) // no renewal
	enqueue(t, mq, "slow")
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "run-value"))
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- c.Run(ctx) }()
	require.Eventually(t, func() bool { return cnt.lost.Load() == 1 }, waitFor, tick)
	assert.Equal(t, 1, queueLen(t, mq), "the new owner's message was deleted")
	enqueue(t, mq, "next")
	c.Wake()
	require.Eventually(t, func() bool { return cnt.succeeded.Load() == 2 && queueLen(t, mq) == 1 }, waitFor, tick)
	cancel()
	require.NoError(t, <-res)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []any{"run-value", "run-value"}, values, "handler contexts lost Run's values")
}
