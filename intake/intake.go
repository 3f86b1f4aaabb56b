package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/queue"
)

// Config configures an Intake.
type Config struct {
	// Queue receives the jobs. Required.
	Queue queue.Queue
	// Filter decides which events are jobs. Required.
	Filter *filter.Filter
	// SpoolDir is where jobs go when the queue cannot take them, and with
	// Journal every job. Empty means no spool: a failed enqueue fails the
	// delivery (503, X retries).
	SpoolDir string
	// Journal makes the spool the first stop of every job (it needs
	// SpoolDir): Handle appends a delivery's jobs to the spool and returns
	// once they are synced, concurrent deliveries sharing one write and
	// one fdatasync, and Run moves them to the queue right away, in
	// batches (one transaction per batch on a queue that implements
	// BatchEnqueuer, as queue/sqlite does). A delivery then waits for a
	// sync of its own few hundred bytes instead of a queue transaction.
	// Use it when the spool is on the machine that holds the queue (the
	// SQLite queue): a crash then loses nothing the queue would have
	// kept, and the next start moves what the journal holds. Leave it off
	// for a queue elsewhere (Azure): a job answered 200 would be on this
	// machine's disk only until it is moved.
	Journal bool
	// MaxSpoolBytes bounds the spool on disk; past it a delivery that
	// cannot be enqueued fails (503, X retries) and Readiness says not
	// ready. Zero means DefaultMaxSpoolBytes; negative means no bound.
	MaxSpoolBytes int64
	// EnqueueTimeout bounds one enqueue. Zero means 5 s.
	EnqueueTimeout time.Duration
	// MaxJobsPerDelivery caps the jobs one delivery (a webhook POST or a
	// stream line) can make; the rest are dropped with a log line and the
	// decision "delivery_cap". X batches a handful of events per POST, so
	// the default is far above that. Zero means DefaultMaxJobsPerDelivery;
	// negative means no cap. The delivery is still answered 200: X would
	// retry a refused one with the same bytes, forever.
	MaxJobsPerDelivery int
	// DrainInterval is how often Run tries to move spooled jobs to the
	// queue. Zero means 1 s.
	DrainInterval time.Duration
	// Notify, if set, is called after jobs reach the queue (for example a
	// same-process queue.Consumer's Wake).
	Notify func()
	// Metrics are optional hooks (events, decisions, enqueues, drains);
	// nil means none.
	Metrics *Metrics
	// Logger; nil means no logging.
	Logger *slog.Logger

	now func() time.Time
}

// DefaultMaxSpoolBytes is the default of Config.MaxSpoolBytes: about a
// million jobs.
const DefaultMaxSpoolBytes = 1 << 30

// DefaultMaxJobsPerDelivery is the default of Config.MaxJobsPerDelivery.
const DefaultMaxJobsPerDelivery = 100

// DecisionDeliveryCap is the decision label of jobs dropped because their
// delivery made more than Config.MaxJobsPerDelivery.
const DecisionDeliveryCap = "delivery_cap"

// Intake turns decoded webhook deliveries into durable jobs. Its Handle
// method is the callback of events.Handler: it returns nil (and so the
// delivery is answered 200) only once every job of the delivery is on the
// queue or in the fsynced spool.
type Intake struct {
	cfg   Config
	spool *Spool
	log   *slog.Logger

	queueDown atomic.Bool // skip the queue and spool at once until a drain succeeds
	spoolFail atomic.Bool // the last spool append failed (disk full, spool full)
	lastEvent atomic.Int64
	wake      chan struct{}
	drainMu   sync.Mutex
	chatOnce  sync.Once
}

// New validates cfg and opens the spool, if any.
func New(cfg Config) (*Intake, error) {
	var missing []string
	if cfg.Queue == nil {
		missing = append(missing, "Queue")
	}
	if cfg.Filter == nil {
		missing = append(missing, "Filter")
	}
	if cfg.Journal && cfg.SpoolDir == "" {
		missing = append(missing, "SpoolDir (Journal needs it)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("intake: missing %v", missing)
	}
	if cfg.EnqueueTimeout <= 0 {
		cfg.EnqueueTimeout = 5 * time.Second
	}
	if cfg.DrainInterval <= 0 {
		cfg.DrainInterval = time.Second
	}
	if cfg.MaxSpoolBytes == 0 {
		cfg.MaxSpoolBytes = DefaultMaxSpoolBytes
	}
	if cfg.MaxJobsPerDelivery == 0 {
		cfg.MaxJobsPerDelivery = DefaultMaxJobsPerDelivery
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	in := &Intake{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	if cfg.SpoolDir != "" {
		seg := int64(MaxSegment)
		if cfg.Journal {
			seg = JournalSegment
		}
		s, err := openSpool(cfg.SpoolDir, cfg.MaxSpoolBytes, seg)
		if err != nil {
			return nil, err
		}
		s.onDamage = func(name string, unread int) {
			in.log.Error("intake: spool segment held bytes that are not whole records; its records were sent, the file is kept",
				"file", filepath.Join(cfg.SpoolDir, name), "unread_bytes", unread)
			cfg.Metrics.spoolDamaged()
		}
		in.spool = s
	}
	return in, nil
}

// ErrNotDurable is returned by Handle when a job could be neither enqueued
// nor spooled; the delivery must be answered with an error so X retries.
var ErrNotDurable = errors.New("intake: job could not be stored")

// Handle filters one delivery and stores its jobs. It has the signature of
// the events.Handler callback.
func (in *Intake) Handle(ctx context.Context, p *events.Payload, _ []byte) error {
	now := in.cfg.now()
	in.lastEvent.Store(now.UnixNano())
	m := in.cfg.Metrics
	for _, k := range p.Kinds() {
		m.event(k)
	}
	results := in.cfg.Filter.Results(p)
	var jobs []filter.Job
	for _, r := range results {
		m.decided(string(r.Reason), 1)
		if r.Reason == filter.ReasonEncrypted {
			in.chatOnce.Do(func() {
				in.log.Warn("intake: an encrypted XChat message (chat.received) arrived; encrypted DMs are not answered " +
					"(counted as decision \"encrypted\"; this is logged once)")
			})
		}
		if r.Job != nil {
			j := *r.Job
			if j.ReceivedAt.IsZero() {
				j.ReceivedAt = now
			}
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	if capN := in.cfg.MaxJobsPerDelivery; capN > 0 && len(jobs) > capN {
		in.log.Warn("intake: a delivery made more jobs than the cap; the rest are dropped",
			"jobs", len(jobs), "cap", capN, "first_dropped", jobs[capN].ID)
		m.decided(DecisionDeliveryCap, len(jobs)-capN)
		jobs = jobs[:capN]
	}
	if in.cfg.Journal {
		return in.journal(jobs)
	}
	var failed []filter.Job
	var spoolBodies [][]byte
	var firstErr error
	queued := 0
	for _, j := range jobs {
		body, err := j.Body()
		if err != nil {
			// The filter already refuses jobs that cannot be encoded; this
			// is a bug, not a reason to make X retry forever.
			in.log.Error("intake: job cannot be encoded; dropped", "job", j.ID, "err", err)
			continue
		}
		if !in.queueDown.Load() || in.spool == nil {
			start := time.Now()
			err = in.enqueue(ctx, body, j.ID)
			m.enqueueDone(time.Since(start))
			if err == nil {
				queued++
				in.log.Debug("intake: job queued", "job", j.ID, "command", j.Command)
				continue
			}
			if ctx.Err() != nil {
				// The client went away; do not spool what X will resend.
				failed = append(failed, j)
				firstErr = err
				continue
			}
			in.log.Warn("intake: enqueue failed", "job", j.ID, "err", err)
			if in.spool != nil {
				in.queueDown.Store(true)
			}
		}
		if in.spool == nil {
			failed = append(failed, j)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		spoolBodies = append(spoolBodies, body)
	}
	if len(spoolBodies) > 0 {
		err := in.spool.Append(spoolBodies...)
		in.spoolFail.Store(err != nil)
		if err != nil {
			in.log.Error("intake: spool append failed", "err", err, "jobs", len(spoolBodies))
			for _, b := range spoolBodies {
				if j, perr := in.cfg.Filter.Table().ParseJob(b); perr == nil {
					failed = append(failed, j)
				}
			}
			if firstErr == nil {
				firstErr = err
			}
		} else {
			m.enqueued(WhereSpool, len(spoolBodies))
			in.kick()
		}
	}
	if queued > 0 {
		m.enqueued(WhereQueue, queued)
		if in.cfg.Notify != nil {
			in.cfg.Notify()
		}
	}
	if len(failed) > 0 {
		// Let X's retry through the duplicate check.
		in.cfg.Filter.Forget(failed...)
		return fmt.Errorf("%w: %d of %d jobs: %w", ErrNotDurable, len(failed), len(jobs), firstErr)
	}
	return nil
}

// journal appends the delivery's jobs to the spool (Config.Journal) and
// wakes Run to move them to the queue.
func (in *Intake) journal(jobs []filter.Job) error {
	m := in.cfg.Metrics
	bodies := make([][]byte, 0, len(jobs))
	kept := jobs[:0:0]
	for _, j := range jobs {
		body, err := j.Body()
		if err != nil {
			in.log.Error("intake: job cannot be encoded; dropped", "job", j.ID, "err", err)
			continue
		}
		bodies = append(bodies, body)
		kept = append(kept, j)
	}
	if len(bodies) == 0 {
		return nil
	}
	start := time.Now()
	err := in.spool.Append(bodies...)
	in.spoolFail.Store(err != nil)
	m.enqueueDone(time.Since(start))
	if err != nil {
		in.log.Error("intake: journal append failed", "err", err, "jobs", len(bodies))
		in.cfg.Filter.Forget(kept...)
		return fmt.Errorf("%w: %d of %d jobs: %w", ErrNotDurable, len(kept), len(jobs), err)
	}
	// Counted as enqueued (where="queue") when moved: each job once.
	in.kick()
	return nil
}

// enqueue stores one job with its job id as the queue's dedup key: a
// second message for the same job (X's retry after a lost answer, the
// stream's backfill, a spool drained twice) is not stored again by queues
// that honour the key (SQLite, mem); the worker's ledger covers the rest.
func (in *Intake) enqueue(ctx context.Context, body []byte, jobID string) error {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.EnqueueTimeout)
	defer cancel()
	var o *queue.EnqueueOptions
	if jobID != "" {
		o = &queue.EnqueueOptions{DedupKey: jobID}
	}
	_, err := in.cfg.Queue.Enqueue(ctx, body, o)
	return err
}

func (in *Intake) kick() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Run moves spooled jobs to the queue until ctx ends. It returns at once
// when there is no spool. With Config.Journal it moves jobs as soon as
// Handle has journaled them; otherwise, and after a failed move, it tries
// every DrainInterval.
func (in *Intake) Run(ctx context.Context) error {
	if in.spool == nil {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(in.cfg.DrainInterval)
	defer t.Stop()
	failing := false
	var last time.Time // start of the last move
	for {
		if in.spool.Pending() {
			last = time.Now()
			_, err := in.Drain(ctx)
			failing = err != nil
			if err != nil && ctx.Err() == nil {
				in.log.Warn("intake: spool drain stopped; will retry", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-in.wake:
			if in.cfg.Journal && !failing {
				// Under a steady stream of deliveries, let moveGap pass
				// since the last move, so that each move (one commit)
				// carries many jobs; an idle intake moves at once.
				if wait := time.Until(last.Add(moveGap)); wait > 0 {
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(wait):
					}
				}
				continue
			}
			// A fresh spool record while the queue was failing a
			// moment ago: wait for the next tick.
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}

// moveBatch is how many spooled jobs one move hands the queue at once.
const moveBatch = 256

// moveGap is the least time between the starts of two moves of journaled
// jobs (Config.Journal): at most 50 commits a second on the queue however
// many deliveries arrive, and a job waits at most about this long in the
// journal before the worker can see it.
const moveGap = 20 * time.Millisecond

// moveParallel is how many Enqueue calls a move has in flight at once on a
// queue that is not a BatchEnqueuer.
const moveParallel = 16

// jobID returns the id of a spooled job message: read straight from the
// "id" member of a message that Job.Body wrote (a flat object whose ids
// are plain ASCII), else by parsing it; "" when it has none.
func (in *Intake) jobID(body []byte) string {
	const key = `"id":"`
	if i := bytes.Index(body, []byte(key)); i > 0 && body[0] == '{' {
		v := body[i+len(key):]
		if j := bytes.IndexByte(v, '"'); j > 0 && bytes.IndexByte(v[:j], '\\') < 0 &&
			!bytes.Contains(v[j:], []byte(key)) {
			return string(v[:j])
		}
	}
	if j, err := in.cfg.Filter.Table().ParseJob(body); err == nil {
		return j.ID
	}
	return ""
}

// BatchEnqueuer is a queue that stores several messages in one call, all
// or none (queue/sqlite: in one transaction with one fsync). The spool's
// jobs are moved to such a queue in batches; to any other queue with
// concurrent Enqueue calls.
type BatchEnqueuer interface {
	EnqueueBatch(ctx context.Context, bodies [][]byte, opts []queue.EnqueueOptions) ([]*queue.Message, error)
}

// Drain moves every spooled job to the queue now and reports how many it
// moved. It is safe to call while Run is running.
func (in *Intake) Drain(ctx context.Context) (int, error) {
	if in.spool == nil {
		return 0, nil
	}
	in.drainMu.Lock()
	defer in.drainMu.Unlock()
	return in.drainLocked(ctx)
}

func (in *Intake) drainLocked(ctx context.Context) (int, error) {
	n, err := in.spool.DrainBatches(moveBatch, func(bodies [][]byte) (int, error) {
		return in.move(ctx, bodies)
	})
	if n > 0 {
		if in.cfg.Journal {
			in.log.Debug("intake: moved journaled jobs to the queue", "jobs", n)
		} else {
			in.log.Info("intake: moved spooled jobs to the queue", "jobs", n)
		}
		if in.cfg.Journal {
			in.cfg.Metrics.enqueued(WhereQueue, n)
		} else {
			in.cfg.Metrics.drained(n)
		}
		if in.cfg.Notify != nil {
			in.cfg.Notify()
		}
	}
	if err == nil {
		in.queueDown.Store(false)
	}
	return n, err
}

// move stores spooled job messages on the queue, each with its job id as
// the dedup key, and reports how many of them, from the first, it stored.
func (in *Intake) move(ctx context.Context, bodies [][]byte) (int, error) {
	opts := make([]queue.EnqueueOptions, len(bodies))
	for i, b := range bodies {
		opts[i].DedupKey = in.jobID(b)
	}
	if bq, ok := in.cfg.Queue.(BatchEnqueuer); ok {
		ctx, cancel := context.WithTimeout(ctx, in.cfg.EnqueueTimeout)
		defer cancel()
		if _, err := bq.EnqueueBatch(ctx, bodies, opts); err != nil {
			return 0, err
		}
		return len(bodies), nil
	}
	errs := make([]error, len(bodies))
	sem := make(chan struct{}, moveParallel)
	var wg sync.WaitGroup
	for i, b := range bodies {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = in.enqueue(ctx, b, opts[i].DedupKey)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return i, err
		}
	}
	return len(bodies), nil
}

// Ready reports whether the queue answers (for /readyz).
func (in *Intake) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.EnqueueTimeout)
	defer cancel()
	_, err := in.cfg.Queue.Len(ctx)
	return err
}

// Readiness states, from best to worst.
const (
	// StateReady: the queue answers.
	StateReady = "ready"
	// StateDegraded: the queue does not answer, but jobs are taken into
	// the spool; deliveries are still answered 200.
	StateDegraded = "degraded"
	// StateNotReady: neither the queue nor the spool can take a job
	// (no spool, spool full, or its last write failed); deliveries are
	// answered 503.
	StateNotReady = "not ready"
)

// Readiness is the intake's state and why.
type Readiness struct {
	State  string // StateReady, StateDegraded or StateNotReady
	Reason string // empty when ready
}

// Readiness checks the queue and, when it does not answer, the spool.
func (in *Intake) Readiness(ctx context.Context) Readiness {
	err := in.Ready(ctx)
	switch {
	case err == nil:
		return Readiness{State: StateReady}
	case in.spool == nil:
		return Readiness{State: StateNotReady, Reason: "queue unavailable and no spool"}
	case in.spool.Full():
		return Readiness{State: StateNotReady, Reason: "queue unavailable and the spool is full"}
	case in.spoolFail.Load():
		return Readiness{State: StateNotReady, Reason: "queue unavailable and the last spool write failed"}
	}
	return Readiness{State: StateDegraded, Reason: "queue unavailable; jobs go to the spool"}
}

// LastEvent returns when the last delivery was handled (zero if none), so
// a self-check can ask X to replay what came after it.
func (in *Intake) LastEvent() time.Time {
	n := in.lastEvent.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// closeDrainTimeout bounds the last move of journaled jobs in Close.
const closeDrainTimeout = 10 * time.Second

// Close closes the spool. With Config.Journal it first moves what the
// journal holds to the queue (for at most 10 s); jobs it could not move,
// and spooled jobs, stay on disk for the next start.
func (in *Intake) Close() error {
	if in.spool == nil {
		return nil
	}
	in.drainMu.Lock()
	defer in.drainMu.Unlock()
	if in.cfg.Journal && in.spool.Pending() {
		ctx, cancel := context.WithTimeout(context.Background(), closeDrainTimeout)
		if _, err := in.drainLocked(ctx); err != nil {
			in.log.Warn("intake: journaled jobs left for the next start", "err", err)
		}
		cancel()
	}
	return in.spool.Close()
}
