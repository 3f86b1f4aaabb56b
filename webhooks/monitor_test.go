package webhooks_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (e *env) monitor(edit func(*webhooks.MonitorConfig)) *webhooks.Monitor {
	e.t.Helper()
	cfg := webhooks.MonitorConfig{
		Client:    e.client,
		URL:       e.recv.URL(),
		LastEvent: e.recv.LastEvent,
		Now:       e.clock.Now,
		Logger:    slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	if edit != nil {
		edit(&cfg)
	}
	m, err := webhooks.NewMonitor(cfg)
	require.NoError(e.t, err)
	return m
}

// The whole self-heal path: the monitor registers and subscribes the
// webhook; deliveries fail while the endpoint is down and X marks the
// webhook invalid; the next check re-validates it and has X replay what
// the endpoint missed, through the real CRC and signature checks.
func TestMonitorHealsInvalidWebhookAndReplays(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.monitor(nil)

	st, err := m.Check(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, st.WebhookID)
	assert.True(t, st.Registered)
	assert.True(t, st.Valid)
	assert.True(t, st.Resubscribed)
	assert.True(t, st.Subscribed)
	assert.False(t, st.ReplayRequested)
	hooks := e.x.Webhooks()
	require.Len(t, hooks, 1)
	assert.Equal(t, []string{e.x.Bot().UserID}, hooks[0].Subscriptions)

	e.clock.Advance(time.Minute)
	idA, status := e.mention("@moetronbot moerand")
	require.Equal(t, 200, status)
	receivedA := e.recv.LastEvent()
	require.Equal(t, e.clock.Now(), receivedA)

	e.clock.Advance(15 * time.Minute)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.Equal(t, webhooks.Status{CheckedAt: e.clock.Now(), WebhookID: hooks[0].ID, Valid: true, Subscribed: true}, st,
		"a healthy webhook is left alone")

	// The endpoint goes down: X's deliveries fail, then X marks it invalid.
	e.recv.down.Store(true)
	e.clock.Advance(3 * time.Minute)
	idB, status := e.mention("@moetronbot moename bob")
	require.Equal(t, 503, status)
	e.clock.Advance(time.Minute)
	idC, _ := e.mention("@moetronbot moemess")
	require.NoError(t, e.x.MarkInvalid(hooks[0].ID))
	e.clock.Advance(10 * time.Minute)
	_, err = e.x.Deliver(ctx, []byte(`{"for_user_id":"1"}`))
	require.ErrorIs(t, err, xfake.ErrNoWebhook, "X delivers nothing to an invalid webhook")
	e.recv.down.Store(false)
	require.Equal(t, []string{idA}, e.recv.Tweets())

	e.clock.Advance(time.Minute)
	putsBefore := e.requests(xfake.EndpointWebhookValidate)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.True(t, st.Revalidated)
	assert.True(t, st.Valid)
	assert.False(t, st.Registered)
	assert.True(t, st.Subscribed)
	assert.False(t, st.Resubscribed)
	require.True(t, st.ReplayRequested)
	assert.False(t, st.ReplayPending)
	assert.Equal(t, receivedA, st.ReplayFrom, "the replay starts at the last event received")
	assert.Equal(t, e.clock.Now(), st.ReplayTo)
	assert.NotEmpty(t, st.ReplayJobID)
	assert.Equal(t, putsBefore+1, e.requests(xfake.EndpointWebhookValidate))
	assert.True(t, e.x.Webhooks()[0].Valid)

	e.x.WaitReplays()
	got := e.recv.Tweets()
	assert.Contains(t, got, idB)
	assert.Contains(t, got, idC)
	assert.Equal(t, []string{st.ReplayJobID}, e.recv.Replays())
	reps := e.x.Replays()
	require.Len(t, reps, 1)
	assert.Equal(t, receivedA.UTC().Truncate(time.Minute), reps[0].From)
	assert.Equal(t, e.clock.Now().UTC().Truncate(time.Minute), reps[0].To)

	// Healthy again: no second replay, no PUT.
	e.clock.Advance(15 * time.Minute)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.False(t, st.ReplayRequested)
	assert.False(t, st.Revalidated)
	assert.Len(t, e.x.Replays(), 1)
	assert.Equal(t, putsBefore+1, e.requests(xfake.EndpointWebhookValidate))

	// X's periodic CRC failing invalidates it the same way. The replayed
	// events count as received, so the next replay starts after them.
	lastReplayed := e.recv.LastEvent()
	require.True(t, lastReplayed.After(receivedA))
	e.recv.wrongCRC.Store(true)
	require.Error(t, e.x.RunCRC(ctx))
	require.False(t, e.x.Webhooks()[0].Valid)
	e.recv.wrongCRC.Store(false)
	e.clock.Advance(time.Minute)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.True(t, st.Revalidated)
	assert.True(t, st.ReplayRequested)
	assert.Equal(t, lastReplayed, st.ReplayFrom)
}

// A CRC that keeps failing leaves the replay owed; once the endpoint
// answers again the replay starts where it would have at first.
func TestMonitorKeepsReplayOwedUntilRevalidated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.monitor(nil)
	st, err := m.Check(ctx)
	require.NoError(t, err)
	e.clock.Advance(time.Minute)
	_, _ = e.mention("@moetronbot moerand")
	received := e.recv.LastEvent()

	e.recv.wrongCRC.Store(true)
	require.NoError(t, e.x.MarkInvalid(st.WebhookID))
	e.clock.Advance(20 * time.Minute)
	st, err = m.Check(ctx)
	require.ErrorIs(t, err, webhooks.ErrCRCFailed)
	assert.False(t, st.Valid)
	assert.False(t, st.Revalidated)
	assert.True(t, st.ReplayPending)
	assert.False(t, st.ReplayRequested)
	assert.Empty(t, e.x.Replays())

	e.clock.Advance(20 * time.Minute)
	e.recv.wrongCRC.Store(false)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.True(t, st.Revalidated)
	assert.True(t, st.ReplayRequested)
	assert.Equal(t, received, st.ReplayFrom)
}

// A replay refused (rate limit) is asked for again at the next check.
func TestMonitorRetriesRefusedReplay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.monitor(nil)
	st, err := m.Check(ctx)
	require.NoError(t, err)
	e.clock.Advance(time.Minute)
	_, _ = e.mention("@moetronbot moerand")
	received := e.recv.LastEvent()
	require.NoError(t, e.x.MarkInvalid(st.WebhookID))
	_, err = e.x.InjectFault(xfake.Fault{Kind: xfake.FaultRateLimit, Endpoint: xfake.EndpointWebhookReplay, Times: 1})
	require.NoError(t, err)

	e.clock.Advance(5 * time.Minute)
	st, err = m.Check(ctx)
	require.ErrorIs(t, err, webhooks.ErrRateLimited)
	assert.True(t, st.Revalidated)
	assert.True(t, st.Valid)
	assert.True(t, st.ReplayPending)
	assert.False(t, st.ReplayRequested)

	e.clock.Advance(15 * time.Minute)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.False(t, st.Revalidated, "already valid")
	assert.True(t, st.ReplayRequested)
	assert.Equal(t, received, st.ReplayFrom)
	assert.Len(t, e.x.Replays(), 1)
}

func TestMonitorReplayStart(t *testing.T) {
	window := 24 * time.Hour
	t.Run("no event, no healthy check: the whole window", func(t *testing.T) {
		e := newEnv(t)
		w, err := e.client.Ensure(context.Background(), e.recv.URL())
		require.NoError(t, err)
		require.NoError(t, e.x.MarkInvalid(w.ID))
		st, err := e.monitor(nil).Check(context.Background())
		require.NoError(t, err)
		assert.True(t, st.ReplayRequested)
		assert.Equal(t, e.clock.Now().Add(-window+time.Minute), st.ReplayFrom)
	})
	t.Run("no event: the last healthy check", func(t *testing.T) {
		e := newEnv(t)
		m := e.monitor(nil)
		st, err := m.Check(context.Background())
		require.NoError(t, err)
		healthy := st.CheckedAt
		e.clock.Advance(2 * time.Hour)
		require.NoError(t, e.x.MarkInvalid(st.WebhookID))
		st, err = m.Check(context.Background())
		require.NoError(t, err)
		assert.Equal(t, healthy, st.ReplayFrom)
	})
	t.Run("an event older than the window is capped", func(t *testing.T) {
		e := newEnv(t)
		m := e.monitor(nil)
		st, err := m.Check(context.Background())
		require.NoError(t, err)
		_, _ = e.mention("@moetronbot moerand")
		e.clock.Advance(30 * time.Hour)
		require.NoError(t, e.x.MarkInvalid(st.WebhookID))
		st, err = m.Check(context.Background())
		require.NoError(t, err, "X accepts the capped window")
		assert.Equal(t, e.clock.Now().Add(-window+time.Minute), st.ReplayFrom)
	})
	t.Run("a shorter configured window", func(t *testing.T) {
		e := newEnv(t)
		m := e.monitor(func(c *webhooks.MonitorConfig) { c.MaxReplayWindow = time.Hour; c.LastEvent = nil })
		st, err := m.Check(context.Background())
		require.NoError(t, err)
		e.clock.Advance(3 * time.Hour)
		require.NoError(t, e.x.MarkInvalid(st.WebhookID))
		st, err = m.Check(context.Background())
		require.NoError(t, err)
		assert.Equal(t, e.clock.Now().Add(-59*time.Minute), st.ReplayFrom)
	})
}

// A deleted webhook is registered again and the bot subscribed; a lost
// subscription is restored.
func TestMonitorRegistersAndResubscribes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.monitor(nil)
	st, err := m.Check(ctx)
	require.NoError(t, err)
	first := st.WebhookID

	require.NoError(t, e.client.Unsubscribe(ctx, first, e.x.Bot().UserID))
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.True(t, st.Resubscribed)
	assert.True(t, st.Subscribed)
	assert.False(t, st.Registered)

	require.NoError(t, e.client.Delete(ctx, first))
	e.clock.Advance(time.Minute)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.True(t, st.Registered)
	assert.True(t, st.Resubscribed)
	assert.NotEqual(t, first, st.WebhookID)
	assert.False(t, st.ReplayRequested, "a new webhook id has nothing to replay")
	hooks := e.x.Webhooks()
	require.Len(t, hooks, 1)
	assert.Equal(t, st.WebhookID, hooks[0].ID)
	assert.Equal(t, []string{e.x.Bot().UserID}, hooks[0].Subscriptions)
}

func TestMonitorListFailure(t *testing.T) {
	e := newEnv(t)
	m := e.monitor(nil)
	e.x.Outage(time.Hour)
	st, err := m.Check(context.Background())
	require.ErrorIs(t, err, webhooks.ErrServer)
	assert.Empty(t, st.WebhookID)
	assert.False(t, st.Valid)
	assert.Empty(t, e.x.Webhooks())
}

func TestMonitorRun(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	var seen []webhooks.Status
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := e.monitor(func(c *webhooks.MonitorConfig) {
		c.Interval = 10 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.OnCheck = func(st webhooks.Status, err error) {
			assert.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, st)
			if len(seen) == 3 {
				cancel()
			}
		}
	})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(seen), 3)
	assert.True(t, seen[0].Registered, "the first check runs at once")
	assert.False(t, seen[1].Registered)
	assert.Contains(t, logs.String(), "webhook repaired")
	assert.Contains(t, logs.String(), "webhook healthy")
	for _, s := range e.secrets() {
		assert.NotContains(t, logs.String(), s)
	}
}

func TestMonitorRunLogsFailures(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.x.Outage(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	m := e.monitor(func(c *webhooks.MonitorConfig) {
		c.Interval = time.Hour
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.OnCheck = func(_ webhooks.Status, err error) {
			assert.ErrorIs(t, err, webhooks.ErrServer)
			cancel()
		}
	})
	require.ErrorIs(t, m.Run(ctx), context.Canceled)
	assert.Contains(t, logs.String(), "level=WARN msg=\"webhook check failed\"")
}

func TestNewMonitorValidation(t *testing.T) {
	e := newEnv(t)
	bearerOnly := e.newClient(func(cfg *webhooks.Config) {
		cfg.ConsumerKey, cfg.ConsumerSecret, cfg.AccessToken, cfg.AccessTokenSecret = "", "", "", ""
	})
	cases := map[string]webhooks.MonitorConfig{
		"no client":       {URL: "https://example.com/webhook"},
		"no user auth":    {Client: bearerOnly, URL: "https://example.com/webhook"},
		"no URL":          {Client: e.client},
		"relative URL":    {Client: e.client, URL: "/webhook"},
		"negative":        {Client: e.client, URL: "https://example.com/webhook", Interval: -time.Second},
		"window too tiny": {Client: e.client, URL: "https://example.com/webhook", MaxReplayWindow: time.Second},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := webhooks.NewMonitor(cfg)
			require.ErrorIs(t, err, webhooks.ErrInvalidConfig)
			assert.Nil(t, m)
		})
	}
	_, err := webhooks.NewMonitor(webhooks.MonitorConfig{Client: e.client, URL: "https://example.com/webhook"})
	require.NoError(t, err)
}
