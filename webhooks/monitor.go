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

// MonitorConfig configures a Monitor. Client and UserID are required.
type MonitorConfig struct {
	// Client talks to X. It must hold OAuth 1.0a user credentials when any
	// event type is private (the default ones all are) or LegacyAAA is
	// set: a lost subscription can only be re-created as the bot.
	Client *Client
	// URL is the public webhook URL (WEBHOOK_URL), exactly as registered.
	// Empty means stream delivery: no webhook is kept, and the XAA
	// subscriptions are kept without a webhook_id.
	URL string
	// UserID is the bot's user id (BOT_USER_ID), the filter of every XAA
	// subscription.
	UserID string
	// EventTypes are the XAA event types kept subscribed; nil means
	// DefaultActivityEventTypes. TagPrefix is as in ActivityOptions.
	EventTypes []string
	TagPrefix  string
	// LegacyAAA also keeps the bot's Account Activity API subscription to
	// the webhook (the check before XAA). Off by default: X ends the AAA on
	// 2027-01-01 and every AAA call fails after that. Needs a URL.
	LegacyAAA bool
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
	// Subscribed is whether every XAA subscription (and, with LegacyAAA,
	// the AAA one) is in place at the end of the check; Resubscribed says
	// this check created or moved some.
	Subscribed   bool
	Resubscribed bool
	// Activity is what EnsureActivity found for each wanted event type;
	// ActivityRepaired names the types this check created or moved to the
	// webhook (a subscription lost, or linked to an old webhook id).
	Activity         []ActivityResult
	ActivityRepaired []string
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
	case cfg.Interval < 0 || cfg.MaxReplayWindow < 0:
		return nil, fmt.Errorf("%w: Interval and MaxReplayWindow must not be negative", ErrInvalidConfig)
	case cfg.LegacyAAA && cfg.URL == "":
		return nil, fmt.Errorf("%w: LegacyAAA needs a webhook URL", ErrInvalidConfig)
	}
	if cfg.URL != "" {
		if err := checkURL(cfg.URL); err != nil {
			return nil, fmt.Errorf("%w: MonitorConfig.URL: %w", ErrInvalidConfig, err)
		}
	}
	probe := ActivityOptions{UserID: cfg.UserID, EventTypes: cfg.EventTypes, TagPrefix: cfg.TagPrefix}
	if err := probe.normalize(); err != nil {
		return nil, fmt.Errorf("%w: MonitorConfig: %w", ErrInvalidConfig, err)
	}
	needUser := cfg.LegacyAAA
	for _, t := range probe.EventTypes {
		needUser = needUser || !IsPublicEventType(t)
	}
	if needUser && !cfg.Client.HasUserAuth() {
		return nil, fmt.Errorf("%w: the monitor's Client needs OAuth 1.0a user credentials to subscribe", ErrInvalidConfig)
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

// Check runs one round: list the webhooks; register the URL if it is
// missing; re-validate it if X marked it invalid and then request a replay
// of the events since the last one received; make sure the bot's XAA
// subscriptions exist and point at the webhook (EnsureActivity), and with
// LegacyAAA its AAA subscription. Without a URL only the subscriptions
// are checked (stream delivery). The Status tells what it found and did,
// also on error.
func (m *Monitor) Check(ctx context.Context) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{CheckedAt: m.cfg.Now()}
	if m.cfg.URL == "" {
		err := m.ensureActivity(ctx, &st, "")
		return st, err
	}
	return m.checkWebhook(ctx, st)
}

// ensureActivity makes sure of the XAA subscriptions for webhookID ("" is
// the stream) and records the outcome in st.
func (m *Monitor) ensureActivity(ctx context.Context, st *Status, webhookID string) error {
	rep, err := m.cfg.Client.EnsureActivity(ctx, ActivityOptions{UserID: m.cfg.UserID, WebhookID: webhookID,
		EventTypes: m.cfg.EventTypes, TagPrefix: m.cfg.TagPrefix})
	if rep != nil {
		st.Activity = rep.Results
		for _, r := range rep.Results {
			if r.Action == ActivityCreated || r.Action == ActivityUpdated {
				st.ActivityRepaired = append(st.ActivityRepaired, r.EventType)
				m.log.InfoContext(ctx, "xaa subscription repaired", "event_type", r.EventType, "action", string(r.Action),
					"subscription_id", r.Subscription.ID, "webhook_id", webhookID)
			}
		}
	}
	st.Resubscribed = len(st.ActivityRepaired) > 0
	if err != nil {
		st.Subscribed = false
		return fmt.Errorf("webhooks: monitor: xaa subscriptions: %w", err)
	}
	st.Subscribed = true
	return nil
}

func (m *Monitor) checkWebhook(ctx context.Context, st Status) (Status, error) {
	c := m.cfg.Client
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

	var errs []error
	if err := m.ensureActivity(ctx, &st, w.ID); err != nil {
		errs = append(errs, err)
	}
	if m.cfg.LegacyAAA {
		subscribed, err := c.CheckSubscription(ctx, w.ID)
		if err == nil && !subscribed {
			if err = c.EnsureSubscribed(ctx, w.ID); err == nil {
				subscribed, st.Resubscribed = true, true
			}
		}
		st.Subscribed = st.Subscribed && subscribed
		if err != nil {
			errs = append(errs, fmt.Errorf("webhooks: monitor: AAA subscription: %w", err))
		}
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
	attrs := []any{"webhook_id", st.WebhookID, "valid", st.Valid, "subscribed", st.Subscribed,
		"repaired", st.ActivityRepaired}
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
