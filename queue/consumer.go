package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Handler processes one message. Return nil when the job is done (the
// Consumer deletes the message), an error to have it retried (and poisoned
// after MaxDequeueCount attempts), Permanent(err) to poison it at once, or
// RetryAfter(err, d) to put it back for exactly d without counting a failure.
//
// ctx is cancelled when the lease is lost (cause ErrLeaseLost) or the drain
// deadline passes (cause ErrDrainTimeout); see context.Cause. DeliveryFrom(ctx)
// gives the handler control over its lease. The Consumer owns the message's
// receipt: a handler must not Delete or Update the message itself.
type Handler interface {
	Handle(ctx context.Context, m *Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message) error

// Handle calls f(ctx, m).
func (f HandlerFunc) Handle(ctx context.Context, m *Message) error { return f(ctx, m) }

// Defaults of ConsumerConfig.
const (
	DefaultBatchSize       = 16
	DefaultVisibility      = 10 * time.Minute
	DefaultMaxDequeueCount = 5
	DefaultMinPollInterval = 100 * time.Millisecond
	DefaultMaxPollInterval = 2 * time.Second
	DefaultDrainTimeout    = 30 * time.Second
	DefaultOpTimeout       = 30 * time.Second
)

// ConsumerConfig configures a Consumer. The zero value of every field means
// the default written next to it; NewConsumer fills them in.
type ConsumerConfig struct {
	// BatchSize is the most messages one Receive asks for (1..MaxReceive).
	// 0 means 16.
	BatchSize int
	// NewBatchThreshold: a new batch is fetched when the number of messages
	// in flight is at or below it. 0 means BatchSize/2 × GOMAXPROCS (the
	// Azure Functions default); a negative value means 0, i.e. fetch only
	// when nothing is in flight.
	NewBatchThreshold int
	// Concurrency is the most handlers running at once (a semaphore; a
	// Receive never asks for more messages than there are free slots, so a
	// received message starts at once). 0 means BatchSize +
	// NewBatchThreshold, the most Azure Functions would run. A GPU worker
	// usually wants 1.
	Concurrency int
	// Visibility is the lease taken on each received message. It is
	// renewed at half of it while the handler runs, so it bounds how long a
	// crashed worker keeps a message hidden, not how long a handler may run.
	// 0 means 10 minutes. The Azure backend needs at least 1 s.
	Visibility time.Duration
	// MaxDequeueCount is how many attempts a message gets: a failure on
	// attempt MaxDequeueCount poisons it, and a message that arrives with a
	// higher dequeue count is poisoned without running. 0 means 5.
	MaxDequeueCount int
	// RetryBackoff gives the delay before a failed message is delivered
	// again; attempt is the message's dequeue count (1 on the first
	// failure). nil means 5 s doubling per attempt, ±20% jitter, at most
	// 5 min. Results are clamped to 0..MaxVisibility.
	RetryBackoff func(attempt int, err error) time.Duration
	// Poison is the poison queue. nil means PoisonFactory is used.
	Poison Queue
	// PoisonFactory opens the poison queue by name; it is called once, with
	// the consumed queue's Name() + PoisonSuffix, the first time a message
	// is poisoned, and the queue is then Created if missing. nil is allowed
	// only when Poison is set.
	PoisonFactory func(name string) (Queue, error)
	// MinPollInterval is the first idle-poll delay and the unit of the
	// exponential backoff. 0 means 100 ms, or MaxPollInterval if that is
	// set lower.
	MinPollInterval time.Duration
	// MaxPollInterval caps the idle-poll delay (and the delay after a failed
	// Receive). 0 means 2 s, lower than Azure Functions' 1 min because a
	// bot's replies are interactive; Wake cuts any wait short.
	MaxPollInterval time.Duration
	// Notifier tells the Consumer when messages may have arrived, so that
	// it Wakes at once instead of waiting for its next poll (it keeps
	// polling for messages that become visible with time). nil means the
	// queue itself when it implements Notifier (the SQLite backend does),
	// else none; set it when q wraps a queue that is one.
	Notifier Notifier
	// DrainTimeout is how long Run waits for in-flight handlers after its
	// context ends before it cancels them and makes their messages visible
	// again. 0 means 30 s; a negative value means release at once.
	// Shutdown's context can end the drain earlier.
	DrainTimeout time.Duration
	// OpTimeout bounds each queue call the Consumer makes on a message's
	// behalf (renew, delete, release, poison). 0 means 30 s.
	OpTimeout time.Duration
	// Logger receives warnings and errors. nil means discard.
	Logger *slog.Logger
	// Metrics are optional hooks. nil means none.
	Metrics *ConsumerMetrics
}

// Consumer receives messages from a Queue and runs a Handler on each, with
// lease renewal, retries, a poison queue, bounded concurrency and a graceful
// drain. Create one with NewConsumer and start it with Run.
type Consumer struct {
	q   Queue
	h   Handler
	cfg ConsumerConfig
	log *slog.Logger
	met *ConsumerMetrics
	clk clock

	randMu sync.Mutex
	rnd    func() float64

	wake     chan struct{}
	slotFree chan struct{}
	inflight atomic.Int64

	mu         sync.Mutex
	started    bool
	deliveries map[*Delivery]struct{}

	stopOnce  sync.Once
	stop      chan struct{} // Shutdown: stop fetching and drain
	forceOnce sync.Once
	force     chan struct{} // release now
	done      chan struct{} // closed when Run returns
	runErr    error

	poisonMu    sync.Mutex
	poisonQ     Queue
	poisonReady bool
}

// NewConsumer returns a Consumer of q that runs h, with cfg's zero fields
// set to their defaults. It fails with an error wrapping ErrInvalidArgument
// when q or h is nil, no poison queue is configured, or a field is out of
// range.
func NewConsumer(q Queue, h Handler, cfg ConsumerConfig) (*Consumer, error) {
	bad := func(format string, args ...any) (*Consumer, error) {
		return nil, fmt.Errorf("%w: ConsumerConfig: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	if q == nil {
		return bad("queue is nil")
	}
	if h == nil {
		return bad("handler is nil")
	}
	if cfg.Poison == nil && cfg.PoisonFactory == nil {
		return bad("Poison or PoisonFactory is required")
	}
	switch {
	case cfg.BatchSize == 0:
		cfg.BatchSize = DefaultBatchSize
	case cfg.BatchSize < 0 || cfg.BatchSize > MaxReceive:
		return bad("BatchSize %d is outside 1..%d", cfg.BatchSize, MaxReceive)
	}
	switch {
	case cfg.NewBatchThreshold == 0:
		cfg.NewBatchThreshold = cfg.BatchSize / 2 * runtime.GOMAXPROCS(0)
	case cfg.NewBatchThreshold < 0:
		cfg.NewBatchThreshold = 0
	}
	switch {
	case cfg.Concurrency == 0:
		cfg.Concurrency = cfg.BatchSize + cfg.NewBatchThreshold
	case cfg.Concurrency < 0:
		return bad("Concurrency %d is negative", cfg.Concurrency)
	}
	switch {
	case cfg.Visibility == 0:
		cfg.Visibility = DefaultVisibility
	case cfg.Visibility < 0 || cfg.Visibility > MaxVisibility:
		return bad("Visibility %v is outside (0, %v]", cfg.Visibility, MaxVisibility)
	}
	switch {
	case cfg.MaxDequeueCount == 0:
		cfg.MaxDequeueCount = DefaultMaxDequeueCount
	case cfg.MaxDequeueCount < 0:
		return bad("MaxDequeueCount %d is negative", cfg.MaxDequeueCount)
	}
	switch {
	case cfg.MinPollInterval == 0:
		cfg.MinPollInterval = DefaultMinPollInterval
		if cfg.MaxPollInterval > 0 && cfg.MaxPollInterval < cfg.MinPollInterval {
			cfg.MinPollInterval = cfg.MaxPollInterval
		}
	case cfg.MinPollInterval < 0:
		return bad("MinPollInterval %v is negative", cfg.MinPollInterval)
	}
	switch {
	case cfg.MaxPollInterval == 0:
		cfg.MaxPollInterval = max(DefaultMaxPollInterval, cfg.MinPollInterval)
	case cfg.MaxPollInterval < cfg.MinPollInterval:
		return bad("MaxPollInterval %v is below MinPollInterval %v", cfg.MaxPollInterval, cfg.MinPollInterval)
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	switch {
	case cfg.OpTimeout == 0:
		cfg.OpTimeout = DefaultOpTimeout
	case cfg.OpTimeout < 0:
		return bad("OpTimeout %v is negative", cfg.OpTimeout)
	}
	c := &Consumer{
		q:          q,
		h:          h,
		cfg:        cfg,
		log:        cfg.Logger,
		met:        cfg.Metrics,
		clk:        realClock{},
		rnd:        rand.Float64,
		wake:       make(chan struct{}, 1),
		slotFree:   make(chan struct{}, 1),
		deliveries: make(map[*Delivery]struct{}),
		stop:       make(chan struct{}),
		force:      make(chan struct{}),
		done:       make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("queue", q.Name())
	if c.cfg.RetryBackoff == nil {
		c.cfg.RetryBackoff = defaultRetryBackoff(c.random)
	}
	return c, nil
}

// Config returns the configuration in use, defaults filled in.
func (c *Consumer) Config() ConsumerConfig { return c.cfg }

// Wake makes an idle Consumer poll at once and resets its poll backoff. An
// enqueuer in the same process calls it after Enqueue. It never blocks.
func (c *Consumer) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// InFlight returns the number of messages being worked on.
func (c *Consumer) InFlight() int { return int(c.inflight.Load()) }

// Run receives and handles messages until ctx ends or Shutdown is called.
// Then it stops fetching and drains: it waits for in-flight handlers, up to
// DrainTimeout or until Shutdown's context ends, whichever comes first;
// handlers still running then have their contexts cancelled and their
// messages made visible again, and Run returns an error wrapping
// ErrDrainTimeout (it does not wait for a handler that ignores
// cancellation). Otherwise Run returns nil.
//
// Queue failures never end Run: a failed Receive is logged and retried with
// backoff. A Consumer runs once; a second Run returns ErrConsumerRunning.
// Handler contexts carry ctx's values but not its cancellation.
func (c *Consumer) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return ErrConsumerRunning
	}
	c.started = true
	c.mu.Unlock()
	defer close(c.done)

	base := context.WithoutCancel(ctx)
	fctx, cancel := context.WithCancel(ctx)
	select {
	case <-c.stop: // Shutdown before Run
		cancel()
	default:
	}
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-fctx.Done():
		}
	}()
	c.listen(fctx)
	c.fetch(fctx, base)
	cancel()
	c.runErr = c.drain(base)
	return c.runErr
}

// Shutdown stops fetching and waits for in-flight handlers until ctx ends;
// then it cancels the remaining handlers and releases their messages. It
// returns when Run has returned, with Run's result. If Run was never
// called, Shutdown returns nil at once (and a later Run returns at once).
func (c *Consumer) Shutdown(ctx context.Context) error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		c.forceOnce.Do(func() { close(c.force) })
		<-c.done
	}
	return c.runErr
}

func (c *Consumer) random() float64 {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	return c.rnd()
}

// fetch is the receive loop. It returns when ctx ends.
func (c *Consumer) fetch(ctx, base context.Context) {
	bo := pollBackoff{min: c.cfg.MinPollInterval, max: c.cfg.MaxPollInterval, rand: c.random}
	conc := int64(c.cfg.Concurrency)
	threshold := int64(c.cfg.NewBatchThreshold)
	for {
		// Wait for room: in flight at or below the threshold and a free slot.
		for {
			n := c.inflight.Load()
			if n <= threshold && n < conc {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-c.slotFree:
			}
		}
		if ctx.Err() != nil {
			return
		}
		want := min(int64(c.cfg.BatchSize), conc-c.inflight.Load())
		receivedAt := c.clk.Now()
		msgs, err := c.q.Receive(ctx, int(want), c.cfg.Visibility)
		// Messages received are leased to us even if ctx ended meanwhile:
		// start them so that they are handled or released, never stranded.
		for _, m := range msgs {
			c.inflight.Add(1)
			d := c.newDelivery(m, receivedAt)
			go c.process(base, d)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			c.log.Warn("queue receive failed; backing off", "err", err)
			c.met.queueError("receive", err)
			if !c.sleep(ctx, &bo) {
				return
			}
		case len(msgs) == 0:
			if !c.sleep(ctx, &bo) {
				return
			}
		default:
			bo.reset()
		}
	}
}

// sleep waits for the next backoff delay, a Wake, or the end of ctx. It
// reports false when ctx ended.
func (c *Consumer) sleep(ctx context.Context, bo *pollBackoff) bool {
	t := c.clk.NewTimer(bo.next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-c.wake:
		bo.reset()
		return true
	case <-t.C():
		return true
	}
}

// finished is called by every message goroutine when it is done with its
// message.
func (c *Consumer) finished() {
	c.inflight.Add(-1)
	select {
	case c.slotFree <- struct{}{}:
	default:
	}
}

// drain waits for in-flight messages, then releases what is left.
func (c *Consumer) drain(base context.Context) error {
	var deadline <-chan time.Time
	if c.cfg.DrainTimeout > 0 {
		t := c.clk.NewTimer(c.cfg.DrainTimeout)
		defer t.Stop()
		deadline = t.C()
	} else {
		expired := make(chan time.Time)
		close(expired)
		deadline = expired
	}
	for c.inflight.Load() > 0 {
		select {
		case <-c.slotFree:
		case <-deadline:
			return c.releaseAll(base)
		case <-c.force:
			return c.releaseAll(base)
		}
	}
	return nil
}

// releaseAll cancels every running handler and makes its message visible
// again. It waits for messages whose handler already returned to be settled.
func (c *Consumer) releaseAll(base context.Context) error {
	c.forceOnce.Do(func() { close(c.force) })
	c.mu.Lock()
	ds := make([]*Delivery, 0, len(c.deliveries))
	for d := range c.deliveries {
		ds = append(ds, d)
	}
	c.mu.Unlock()
	var wg sync.WaitGroup
	var released atomic.Int64
	for _, d := range ds {
		wg.Go(func() {
			if d.release(base) {
				released.Add(1)
			}
		})
	}
	wg.Wait()
	if n := released.Load(); n > 0 {
		return fmt.Errorf("%w: %d message(s)", ErrDrainTimeout, n)
	}
	return nil
}

// opCtx returns a context for one queue call made on a message's behalf.
func (c *Consumer) opCtx(base context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(base, c.cfg.OpTimeout)
}

// retry runs op until it succeeds, reports a lost lease, the deadline
// passes or a forced stop begins, backing off between failed tries.
// The retries stop after OpTimeout in all.
func (c *Consumer) retry(base context.Context, name string, until time.Time, op func(ctx context.Context) error) error {
	wait := 50 * time.Millisecond
	if limit := c.clk.Now().Add(c.cfg.OpTimeout); limit.Before(until) {
		until = limit
	}
	for {
		ctx, cancel := c.opCtx(base)
		err := op(ctx)
		cancel()
		if err == nil || errors.Is(err, ErrLeaseLost) {
			return err
		}
		c.met.queueError(name, err)
		if !c.clk.Now().Add(wait).Before(until) {
			return err
		}
		c.log.Warn("queue call failed; retrying", "op", name, "err", err, "retry_in", wait)
		t := c.clk.NewTimer(wait)
		select {
		case <-t.C():
		case <-c.force:
			t.Stop()
			return err
		}
		wait = min(wait*2, 5*time.Second)
	}
}
