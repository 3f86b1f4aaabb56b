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
		UserID:    e.x.Bot().UserID,
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
	assert.Empty(t, hooks[0].Subscriptions, "no AAA subscription without LegacyAAA")
	assert.Equal(t, webhooks.DefaultActivityEventTypes, st.ActivityRepaired)
	e.assertActivity(hooks[0].ID)

	e.clock.Advance(time.Minute)
	idA, status := e.mention("@moetronbot moerand")
	require.Equal(t, 200, status)
	receivedA := e.recv.LastEvent()
	require.Equal(t, e.clock.Now(), receivedA)

	e.clock.Advance(15 * time.Minute)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	require.Len(t, st.Activity, len(webhooks.DefaultActivityEventTypes))
	for _, r := range st.Activity {
		assert.Equal(t, webhooks.ActivityExisting, r.Action)
	}
	st.Activity = nil
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

// assertActivity checks that the fake holds exactly the default XAA
// subscriptions for the bot, delivered to webhookID ("" is the stream).
func (e *env) assertActivity(webhookID string) {
	e.t.Helper()
	subs := e.x.ActivitySubscriptions()
	var types []string
	for _, s := range subs {
		types = append(types, s.EventType)
		assert.Equal(e.t, webhookID, s.WebhookID, s.EventType)
		assert.Equal(e.t, e.x.Bot().UserID, s.Filter.UserID)
		assert.Equal(e.t, "moetron:"+s.EventType, s.Tag)
	}
	assert.ElementsMatch(e.t, webhooks.DefaultActivityEventTypes, types)
}

// A lost XAA subscription is re-created; a deleted webhook is registered
// again and the subscriptions moved to its new id.
func TestMonitorRegistersAndResubscribes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.monitor(nil)
	st, err := m.Check(ctx)
	require.NoError(t, err)
	first := st.WebhookID
	e.assertActivity(first)

	lost := e.x.ActivitySubscriptions()[1]
	require.True(t, e.x.RemoveActivitySubscription(lost.ID))
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.True(t, st.Resubscribed)
	assert.True(t, st.Subscribed)
	assert.False(t, st.Registered)
	assert.Equal(t, []string{lost.EventType}, st.ActivityRepaired)
	e.assertActivity(first)
	assert.Contains(t, e.logs.String(), "xaa subscription repaired")

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
	for _, r := range st.Activity {
		assert.Equal(t, webhooks.ActivityUpdated, r.Action, r.EventType)
	}
	e.assertActivity(st.WebhookID)
	assert.Empty(t, hooks[0].Subscriptions)
}

// Without a URL (stream delivery) only the subscriptions are kept, with no
// webhook_id, and no webhook call is made.
func TestMonitorStreamOnly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.monitor(func(c *webhooks.MonitorConfig) { c.URL = "" })
	st, err := m.Check(ctx)
	require.NoError(t, err)
	assert.True(t, st.Subscribed)
	assert.Empty(t, st.WebhookID)
	e.assertActivity("")
	require.True(t, e.x.RemoveActivitySubscription(e.x.ActivitySubscriptions()[0].ID))
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.Len(t, st.ActivityRepaired, 1)
	e.assertActivity("")
	assert.Empty(t, e.x.Webhooks())
	assert.Zero(t, e.requests(xfake.EndpointWebhookList))
	assert.Zero(t, e.requests(xfake.EndpointSubscriptionCheck))

	e.x.Outage(time.Hour)
	st, err = m.Check(ctx)
	require.ErrorIs(t, err, webhooks.ErrServer)
	assert.False(t, st.Subscribed)
}

// LegacyAAA keeps the AAA subscription too; without it no AAA call is
// made at all.
func TestMonitorLegacyAAA(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.monitor(nil).Check(ctx)
	require.NoError(t, err)
	assert.Zero(t, e.requests(xfake.EndpointSubscriptionCheck)+e.requests(xfake.EndpointSubscribe))

	m := e.monitor(func(c *webhooks.MonitorConfig) { c.LegacyAAA = true })
	st, err := m.Check(ctx)
	require.NoError(t, err)
	assert.True(t, st.Resubscribed)
	assert.Empty(t, st.ActivityRepaired)
	assert.Equal(t, []string{e.x.Bot().UserID}, e.x.Webhooks()[0].Subscriptions)
	st, err = m.Check(ctx)
	require.NoError(t, err)
	assert.False(t, st.Resubscribed)
	assert.True(t, st.Subscribed)
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
	const bot = "1114259648326987776"
	cases := map[string]webhooks.MonitorConfig{
		"no client":        {URL: "https://example.com/webhook", UserID: bot},
		"no user auth":     {Client: bearerOnly, URL: "https://example.com/webhook", UserID: bot},
		"no user id":       {Client: e.client, URL: "https://example.com/webhook"},
		"bad user id":      {Client: e.client, URL: "https://example.com/webhook", UserID: "@moetronbot"},
		"bad event type":   {Client: e.client, UserID: bot, EventTypes: []string{"Mentions"}},
		"legacy, no URL":   {Client: e.client, UserID: bot, LegacyAAA: true},
		"legacy, no oauth": {Client: bearerOnly, URL: "https://example.com/webhook", UserID: bot, EventTypes: []string{"post.create"}, LegacyAAA: true},
		"relative URL":     {Client: e.client, URL: "/webhook", UserID: bot},
		"negative":         {Client: e.client, URL: "https://example.com/webhook", UserID: bot, Interval: -time.Second},
		"window too tiny":  {Client: e.client, URL: "https://example.com/webhook", UserID: bot, MaxReplayWindow: time.Second},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := webhooks.NewMonitor(cfg)
			require.ErrorIs(t, err, webhooks.ErrInvalidConfig)
			assert.Nil(t, m)
		})
	}
	_, err := webhooks.NewMonitor(webhooks.MonitorConfig{Client: e.client, URL: "https://example.com/webhook", UserID: bot})
	require.NoError(t, err)
	_, err = webhooks.NewMonitor(webhooks.MonitorConfig{Client: e.client, UserID: bot})
	require.NoError(t, err, "no URL: stream delivery")
	_, err = webhooks.NewMonitor(webhooks.MonitorConfig{Client: bearerOnly, UserID: bot, EventTypes: []string{"post.create"}})
	require.NoError(t, err, "public events need no user credentials")
}
