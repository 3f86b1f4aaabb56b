package filter

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/internal/xapi"
)

// Defaults of Config.
const (
	DefaultDedupSize = 100_000
	DefaultDedupTTL  = 24 * time.Hour
)

// Config configures a Filter. The zero value of each field but BotUserID
// means its default.
type Config struct {
	// BotUserID is the bot's user id (BOT_USER_ID). Required.
	BotUserID string
	// Table is the command table; nil means DefaultTable().
	Table *Table
	// DedupSize is how many job ids the Filter remembers to suppress
	// duplicate deliveries; the oldest are forgotten first. 0 means
	// DefaultDedupSize; a negative value turns suppression off.
	DedupSize int
	// DedupTTL is how long a job id is remembered. 0 means
	// DefaultDedupTTL; negative is an error.
	DedupTTL time.Duration
	// RateLimit limits commands per user; the zero value means no limit.
	RateLimit RateLimit
	// Logger receives one debug record per skipped event; nil means no
	// logging.
	Logger *slog.Logger
	// Now is the clock, used for received_at, the duplicate window and
	// rate limits; nil means time.Now.
	Now func() time.Time
}

// Filter turns webhook payloads into jobs: the stateless rules of
// Table.Evaluate, then duplicate suppression by job id and the per-user
// rate limit. It is safe for concurrent use.
type Filter struct {
	bot   string
	table *Table
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	dedup *dedup   // nil when off
	limit *limiter // nil when off
}

// New validates cfg and returns a Filter. Errors wrap ErrInvalidConfig.
func New(cfg Config) (*Filter, error) {
	if cfg.BotUserID == "" {
		return nil, fmt.Errorf("%w: BotUserID is required", ErrInvalidConfig)
	}
	if !xapi.ValidID(cfg.BotUserID) {
		return nil, fmt.Errorf("%w: BotUserID %q is not a decimal user id", ErrInvalidConfig, truncate(cfg.BotUserID))
	}
	if cfg.DedupTTL < 0 {
		return nil, fmt.Errorf("%w: DedupTTL %v is negative", ErrInvalidConfig, cfg.DedupTTL)
	}
	if cfg.RateLimit.Every < 0 || cfg.RateLimit.Burst < 0 {
		return nil, fmt.Errorf("%w: RateLimit %+v has a negative field", ErrInvalidConfig, cfg.RateLimit)
	}
	if cfg.RateLimit.Every == 0 && cfg.RateLimit.Burst != 0 {
		return nil, fmt.Errorf("%w: RateLimit.Burst %d without RateLimit.Every", ErrInvalidConfig, cfg.RateLimit.Burst)
	}
	f := &Filter{bot: cfg.BotUserID, table: cfg.Table, log: cfg.Logger, now: cfg.Now}
	if f.table == nil {
		f.table = DefaultTable()
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	if cfg.DedupSize >= 0 {
		size, ttl := cfg.DedupSize, cfg.DedupTTL
		if size == 0 {
			size = DefaultDedupSize
		}
		if ttl == 0 {
			ttl = DefaultDedupTTL
		}
		f.dedup = newDedup(size, ttl)
	}
	if cfg.RateLimit.Every > 0 {
		rl := cfg.RateLimit
		if rl.Burst == 0 {
			rl.Burst = 1
		}
		f.limit = newLimiter(rl)
	}
	return f, nil
}

// Table returns the Filter's command table.
func (f *Filter) Table() *Table { return f.table }

// BotUserID returns the bot's user id.
func (f *Filter) BotUserID() string { return f.bot }

// Results decides every tweet and DM event of p (see Table.Evaluate), then
// suppresses duplicates and applies the rate limit to the would-be jobs,
// in payload order. A job id is remembered as soon as Results returns it,
// so that a concurrent duplicate delivery is suppressed too; if the job
// cannot be queued, call Forget so that X's retry is not lost as a
// duplicate. Duplicates take no rate-limit token, and a rate-limited event
// is not remembered.
func (f *Filter) Results(p *events.Payload) []Result {
	now := f.now()
	res := f.table.Evaluate(f.bot, p, now)
	f.mu.Lock()
	for i := range res {
		r := &res[i]
		if r.Reason != ReasonJob {
			continue
		}
		switch {
		case f.dedup != nil && f.dedup.has(r.Job.ID, now):
			r.Reason, r.Job = ReasonDuplicate, nil
		case f.limit != nil && !f.limit.allow(r.UserID, now):
			r.Reason, r.Job = ReasonRateLimited, nil
		case f.dedup != nil:
			f.dedup.add(r.Job.ID, now)
		}
	}
	f.mu.Unlock()
	if f.log.Enabled(context.Background(), slog.LevelDebug) {
		for _, r := range res {
			if r.Skipped() {
				f.log.Debug("filter: event skipped", "kind", r.Kind, "event_id", r.EventID,
					"user_id", r.UserID, "reason", r.Reason)
			}
		}
	}
	return res
}

// Jobs is Results reduced to its jobs, in payload order.
func (f *Filter) Jobs(p *events.Payload) []Job {
	var jobs []Job
	for _, r := range f.Results(p) {
		if r.Job != nil {
			jobs = append(jobs, *r.Job)
		}
	}
	return jobs
}

// Forget undoes what Results did for jobs that could not be queued: their
// ids are no longer duplicates and their authors get their rate-limit
// tokens back. A job the Filter does not remember (forgotten already,
// expired, or never produced) gets no token back; with duplicate
// suppression off, every job given gets one back, up to the burst.
func (f *Filter) Forget(jobs ...Job) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range jobs {
		remembered := f.dedup == nil || f.dedup.forget(j.ID)
		if f.limit != nil && remembered {
			f.limit.refund(j.UserID, now)
		}
	}
}
