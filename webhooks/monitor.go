package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Monitor defaults.
const (
	DefaultMonitorInterval = 15 * time.Minute
	// DefaultMaxReplayWindow is how far back X replays events (24 hours
	// for POST /2/webhooks/replay).
	DefaultMaxReplayWindow = 24 * time.Hour
	// replaySkew is kept off the far end of the replay window so that a
	// clock slightly behind X's does not ask for a minute X already
	// dropped.
	replaySkew = time.Minute
)

// MonitorConfig configures a Monitor. Client and URL are required.
type MonitorConfig struct {
	// Client talks to X. It must hold OAuth 1.0a user credentials, since a
	// re-registered webhook is useless until the bot is subscribed again.
	Client *Client
	// URL is the public webhook URL (WEBHOOK_URL), exactly as registered.
	URL string
	// Interval is the time between checks in Run. Zero means
	// DefaultMonitorInterval.
	Interval time.Duration
	// LastEvent returns when the webhook last received an event (for
	// example intake.Intake.LastEvent), zero if none yet. Nil means
	// never: the replay then starts at the last healthy check.
	LastEvent func() time.Time
	// MaxReplayWindow is how far back X can replay. Zero means
	// DefaultMaxReplayWindow.
	MaxReplayWindow time.Duration
	// OnCheck, if set, is called after every check Run makes, with its
	// result, e.g. to update metrics.
	OnCheck func(Status, error)
	// Logger receives an info record for every repair, a warning for
	// every failed check, and a debug record for healthy checks. Nil
	// discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Status is what one Check found and did, for logs and metrics.
type Status struct {
	CheckedAt time.Time
	WebhookID string // "" if none is registered and registering failed
	// Valid is whether the webhook is valid at the end of the check.
	Valid bool
	// Registered: the URL was missing and was registered again. X keeps
	// no history for a new webhook id, so nothing is replayed for it.
	Registered bool
	// Revalidated: X had marked the webhook invalid and a PUT passed.
	Revalidated bool
	// Subscribed is whether the bot is subscribed at the end of the
	// check; Resubscribed says this check subscribed it.
	Subscribed   bool
	Resubscribed bool
	// ReplayRequested: a replay of [ReplayFrom, ReplayTo] was accepted by
	// X as job ReplayJobID.
	ReplayRequested      bool
	ReplayFrom, ReplayTo time.Time
	ReplayJobID          string
	// ReplayPending: a replay is owed (the webhook was invalid) but has
	// not been accepted yet; the next check tries again.
	ReplayPending bool
}

// Monitor keeps one webhook registered, valid and subscribed, and asks X
// to replay what was missed while it was not. See the package doc.
type Monitor struct {
	cfg MonitorConfig
	log *slog.Logger

	mu sync.Mutex // serializes checks and guards the fields below
	// lastHealthy is the end of the last check that found the webhook
	// valid; zero before the first.
	lastHealthy time.Time
	// replayFrom is the start of a replay owed; zero when none.
	replayFrom time.Time
}

// NewMonitor validates cfg and returns a Monitor.
func NewMonitor(cfg MonitorConfig) (*Monitor, error) {
	switch {
	case cfg.Client == nil:
		return nil, fmt.Errorf("%w: MonitorConfig.Client is required", ErrInvalidConfig)
	case !cfg.Client.HasUserAuth():
		return nil, fmt.Errorf("%w: the monitor's Client needs OAuth 1.0a user credentials to subscribe", ErrInvalidConfig)
	case cfg.Interval < 0 || cfg.MaxReplayWindow < 0:
		return nil, fmt.Errorf("%w: Interval and MaxReplayWindow must not be negative", ErrInvalidConfig)
	}
	if err := checkURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("%w: MonitorConfig.URL: %w", ErrInvalidConfig, err)
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultMonitorInterval
	}
	if cfg.MaxReplayWindow == 0 {
		cfg.MaxReplayWindow = DefaultMaxReplayWindow
	}
	if cfg.MaxReplayWindow <= replaySkew {
		return nil, fmt.Errorf("%w: MaxReplayWindow must be over %v", ErrInvalidConfig, replaySkew)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LastEvent == nil {
		cfg.LastEvent = func() time.Time { return time.Time{} }
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Monitor{cfg: cfg, log: log}, nil
}

// Check runs one round: list the webhooks; register and subscribe the URL
// if it is missing; re-validate it if X marked it invalid and then request
// a replay of the events since the last one received; make sure the bot is
// subscribed. The Status tells what it found and did, also on error.
func (m *Monitor) Check(ctx context.Context) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cfg.Client
	st := Status{CheckedAt: m.cfg.Now()}
	hooks, err := c.List(ctx)
	if err != nil {
		return st, fmt.Errorf("webhooks: monitor: list: %w", err)
	}
	found := findURL(hooks, m.cfg.URL)
	if found != nil {
		st.WebhookID = found.ID
		if !found.Valid && m.replayFrom.IsZero() {
			// Deliveries stopped at some point after the last event we
			// saw: owe a replay from there, kept across failed checks.
			m.replayFrom = m.replayStart(st.CheckedAt)
		}
	}
	w, action, err := c.ensure(ctx, m.cfg.URL, hooks)
	if w != nil {
		st.WebhookID, st.Valid = w.ID, w.Valid
	}
	st.ReplayPending = !m.replayFrom.IsZero()
	if err != nil {
		return st, fmt.Errorf("webhooks: monitor: ensure webhook: %w", err)
	}
	switch action {
	case ensureRegistered:
		st.Registered = true
		// A new id has no delivery history to replay.
		m.replayFrom = time.Time{}
		st.ReplayPending = false
	case ensureRevalidated:
		st.Revalidated = true
	}

	subscribed, err := c.CheckSubscription(ctx, w.ID)
	if err == nil && !subscribed {
		if err = c.EnsureSubscribed(ctx, w.ID); err == nil {
			subscribed, st.Resubscribed = true, true
		}
	}
	st.Subscribed = subscribed
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("webhooks: monitor: subscription: %w", err))
	}

	if !m.replayFrom.IsZero() {
		now := m.cfg.Now()
		from := m.replayFrom
		if oldest := now.Add(-m.cfg.MaxReplayWindow + replaySkew); from.Before(oldest) {
			from = oldest
		}
		if from.After(now) {
			from = now
		}
		job, rerr := c.Replay(ctx, w.ID, from, now)
		if rerr != nil {
			errs = append(errs, fmt.Errorf("webhooks: monitor: replay: %w", rerr))
		} else {
			st.ReplayRequested, st.ReplayFrom, st.ReplayTo, st.ReplayJobID = true, from, now, job.JobID
			st.ReplayPending = false
			m.replayFrom = time.Time{}
		}
	}
	if st.Valid && len(errs) == 0 {
		m.lastHealthy = st.CheckedAt
	}
	return st, errors.Join(errs...)
}

// replayStart is where a replay owed at now starts: the last event
// received, else the last healthy check, else as far back as X allows.
func (m *Monitor) replayStart(now time.Time) time.Time {
	if t := m.cfg.LastEvent(); !t.IsZero() {
		return t
	}
	if !m.lastHealthy.IsZero() {
		return m.lastHealthy
	}
	return now.Add(-m.cfg.MaxReplayWindow)
}

// Run checks at once and then every Interval until ctx ends, logging each
// result and passing it to OnCheck. Failed checks are retried at the next
// tick. It returns ctx's error.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		st, err := m.Check(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m.report(ctx, st, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (m *Monitor) report(ctx context.Context, st Status, err error) {
	attrs := []any{"webhook_id", st.WebhookID, "valid", st.Valid, "subscribed", st.Subscribed}
	if st.ReplayRequested {
		attrs = append(attrs, "replay_from", st.ReplayFrom, "replay_to", st.ReplayTo, "replay_job_id", st.ReplayJobID)
	}
	switch {
	case err != nil:
		m.log.WarnContext(ctx, "webhook check failed", append(attrs, "err", err, "replay_pending", st.ReplayPending)...)
	case st.Registered || st.Revalidated || st.Resubscribed || st.ReplayRequested:
		m.log.InfoContext(ctx, "webhook repaired", append(attrs, "registered", st.Registered,
			"revalidated", st.Revalidated, "resubscribed", st.Resubscribed)...)
	default:
		m.log.DebugContext(ctx, "webhook healthy", attrs...)
	}
	if m.cfg.OnCheck != nil {
		m.cfg.OnCheck(st, err)
	}
}
