package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidation(t *testing.T) {
	const secret = "s3cr3t-value-that-must-not-leak"
	cases := []struct {
		name    string
		cfg     webhooks.Config
		want    []string
		hasUser bool
	}{
		{name: "empty", cfg: webhooks.Config{}, want: []string{"BearerToken (X_BEARER_TOKEN)"}},
		{name: "partial oauth", cfg: webhooks.Config{BearerToken: secret, ConsumerKey: "k", ConsumerSecret: secret},
			want: []string{"incomplete", "AccessToken (X_ACCESS_TOKEN)", "AccessTokenSecret (X_ACCESS_TOKEN_SECRET)"}},
		{name: "every problem at once", cfg: webhooks.Config{AccessTokenSecret: secret, BaseURL: "ftp://" + secret, Timeout: -1},
			want: []string{"BearerToken", "ConsumerKey (X_CONSUMER_KEY)", "ConsumerSecret (X_CONSUMER_SECRET)",
				"AccessToken (X_ACCESS_TOKEN)", "BaseURL (X_API_BASE)", "Timeout"}},
		{name: "space in bearer", cfg: webhooks.Config{BearerToken: secret + " x"}, want: []string{"BearerToken", "spaces"}},
		{name: "newline in token secret", cfg: webhooks.Config{BearerToken: "b", ConsumerKey: "k", ConsumerSecret: "c",
			AccessToken: "a", AccessTokenSecret: secret + "\n"}, want: []string{"AccessTokenSecret", "control"}},
		{name: "base URL with query", cfg: webhooks.Config{BearerToken: "b", BaseURL: "https://api.x.com/?t=" + secret},
			want: []string{"BaseURL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := webhooks.New(tc.cfg)
			require.ErrorIs(t, err, webhooks.ErrInvalidConfig)
			assert.Nil(t, c)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), secret)
		})
	}

	t.Run("bearer only is enough", func(t *testing.T) {
		c, err := webhooks.New(webhooks.Config{BearerToken: "b"})
		require.NoError(t, err)
		assert.False(t, c.HasUserAuth())
	})
	t.Run("all five", func(t *testing.T) {
		c, err := webhooks.New(webhooks.Config{BearerToken: "b", ConsumerKey: "k", ConsumerSecret: "c",
			AccessToken: "a", AccessTokenSecret: "s"})
		require.NoError(t, err)
		assert.True(t, c.HasUserAuth())
	})
}

func TestRegisterListValidateDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	none, err := e.client.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, none)

	w, err := e.client.Register(ctx, e.recv.URL())
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9]{1,19}$`, w.ID)
	assert.Equal(t, e.recv.URL(), w.URL)
	assert.True(t, w.Valid)
	assert.WithinDuration(t, e.clock.Now(), w.CreatedAt, time.Second)

	list, err := e.client.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, *w, list[0])

	found, err := e.client.Find(ctx, e.recv.URL())
	require.NoError(t, err)
	require.NotNil(t, found)
	assert.Equal(t, w.ID, found.ID)
	missing, err := e.client.Find(ctx, e.recv.URL()+"/other")
	require.NoError(t, err)
	assert.Nil(t, missing)

	require.NoError(t, e.x.MarkInvalid(w.ID))
	list, err = e.client.List(ctx)
	require.NoError(t, err)
	assert.False(t, list[0].Valid)
	require.NoError(t, e.client.Validate(ctx, w.ID))
	assert.True(t, e.x.Webhooks()[0].Valid)

	// A failed CRC on PUT leaves it invalid and says why.
	e.recv.wrongCRC.Store(true)
	err = e.client.Validate(ctx, w.ID)
	require.ErrorIs(t, err, webhooks.ErrCRCFailed)
	assert.False(t, e.x.Webhooks()[0].Valid)
	e.recv.wrongCRC.Store(false)

	require.NoError(t, e.client.Delete(ctx, w.ID))
	assert.Empty(t, e.x.Webhooks())
	err = e.client.Delete(ctx, w.ID)
	require.ErrorIs(t, err, webhooks.ErrWebhookNotFound)
	var ae *webhooks.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, webhooks.ReasonWebhookIDInvalid, ae.Reason)
	assert.Equal(t, http.MethodDelete, ae.Method)
	assert.Equal(t, "/2/webhooks/"+w.ID, ae.Path)
	require.ErrorIs(t, e.client.Validate(ctx, w.ID), webhooks.ErrWebhookNotFound)

	for _, r := range e.x.Requests() {
		assert.Equal(t, "bearer", r.Auth, "%s %s", r.Method, r.Path)
	}
}

func TestRegisterCRCFailure(t *testing.T) {
	e := newEnv(t)
	e.recv.wrongCRC.Store(true)
	w, err := e.client.Register(context.Background(), e.recv.URL())
	require.ErrorIs(t, err, webhooks.ErrCRCFailed)
	assert.Nil(t, w)
	var ae *webhooks.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, webhooks.ReasonCRCFailed, ae.Reason)
	assert.Contains(t, err.Error(), "response_token")
	assert.False(t, ae.Retryable())
	assert.Empty(t, e.x.Webhooks())

	// Ensure fails the same way and registers nothing.
	_, err = e.client.Ensure(context.Background(), e.recv.URL())
	require.ErrorIs(t, err, webhooks.ErrCRCFailed)
	assert.Empty(t, e.x.Webhooks())
}

func TestEnsureIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, err := e.client.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
	second, err := e.client.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
	assert.Equal(t, first.ID, second.ID)
	assert.Len(t, e.x.Webhooks(), 1)
	assert.Equal(t, 1, e.requests(xfake.EndpointWebhookCreate), "the second Ensure must not register again")
	assert.Equal(t, 0, e.requests(xfake.EndpointWebhookValidate))

	// Registering the same URL directly is X's DuplicateUrlFailed.
	_, err = e.client.Register(ctx, e.recv.URL())
	require.ErrorIs(t, err, webhooks.ErrDuplicateURL)

	// An invalid webhook is re-validated, not registered anew.
	require.NoError(t, e.x.MarkInvalid(first.ID))
	third, err := e.client.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
	assert.Equal(t, first.ID, third.ID)
	assert.True(t, third.Valid)
	assert.True(t, e.x.Webhooks()[0].Valid)
	assert.Equal(t, 1, e.requests(xfake.EndpointWebhookValidate))

	// Another URL on a one-webhook tier is refused, not swapped in.
	_, err = e.client.Ensure(ctx, e.recv.srv.URL+"/elsewhere")
	require.ErrorIs(t, err, webhooks.ErrWebhookLimit)
	assert.Equal(t, first.ID, e.x.Webhooks()[0].ID)
}

// A Register that loses a race with another registration of the same URL
// ends with the existing webhook.
func TestEnsureRace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other, err := e.client.Register(ctx, e.recv.URL())
	require.NoError(t, err)
	// A proxy that hides the webhook from the first list, as if the other
	// registration landed between List and Register.
	lists := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/2/webhooks" && lists == 0 {
			lists++
			jsonHandler(200, `{"data":[],"meta":{"result_count":0}}`, nil)(w, r)
			return
		}
		e.x.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	c := e.newClient(func(cfg *webhooks.Config) { cfg.BaseURL = proxy.URL })
	got, err := c.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
	assert.Equal(t, other.ID, got.ID)
	assert.Len(t, e.x.Webhooks(), 1)
}

func TestSubscriptions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, err := e.client.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
	bot := e.x.Bot().UserID

	ok, err := e.client.CheckSubscription(ctx, w.ID)
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, e.client.Subscribe(ctx, w.ID))
	err = e.client.Subscribe(ctx, w.ID)
	require.ErrorIs(t, err, webhooks.ErrDuplicateSubscription)
	require.NoError(t, e.client.EnsureSubscribed(ctx, w.ID), "subscribing twice is not an error")
	assert.Equal(t, []string{bot}, e.x.Webhooks()[0].Subscriptions)

	ok, err = e.client.CheckSubscription(ctx, w.ID)
	require.NoError(t, err)
	assert.True(t, ok)

	subs, err := e.client.ListSubscriptions(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, &webhooks.Subscriptions{ApplicationID: xfake.AppID, WebhookID: w.ID, WebhookURL: w.URL,
		UserIDs: []string{bot}}, subs)

	require.NoError(t, e.client.Unsubscribe(ctx, w.ID, bot))
	ok, err = e.client.CheckSubscription(ctx, w.ID)
	require.NoError(t, err)
	assert.False(t, ok)
	require.ErrorIs(t, e.client.Unsubscribe(ctx, w.ID, bot), webhooks.ErrSubscriptionNotFound)
	subs, err = e.client.ListSubscriptions(ctx, w.ID)
	require.NoError(t, err)
	assert.Empty(t, subs.UserIDs)

	require.NoError(t, e.client.EnsureSubscribed(ctx, w.ID))
	assert.Equal(t, []string{bot}, e.x.Webhooks()[0].Subscriptions)

	// Subscribing and checking act as the user (OAuth 1.0a); the rest is
	// app-only.
	for _, r := range e.x.Requests() {
		want := "bearer"
		if r.Endpoint == xfake.EndpointSubscribe || r.Endpoint == xfake.EndpointSubscriptionCheck {
			want = "oauth1"
			assert.Equal(t, bot, r.UserID)
		}
		assert.Equal(t, want, r.Auth, "%s %s", r.Method, r.Path)
	}

	// Unknown webhook ids.
	require.ErrorIs(t, e.client.Subscribe(ctx, "1"), webhooks.ErrWebhookNotFound)
	_, err = e.client.ListSubscriptions(ctx, "1")
	require.ErrorIs(t, err, webhooks.ErrWebhookNotFound)
}

func TestSubscriptionLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	x := xfake.Start(t, xfake.Config{Now: e.clock.Now, TimestampWindow: time.Hour, MaxSubscriptions: 1})
	c := e.newClient(func(cfg *webhooks.Config) { cfg.BaseURL = x.URL() })
	w, err := c.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
	require.NoError(t, x.AddAccount(xfake.Account{UserID: "42", AccessToken: "42-tok", AccessTokenSecret: "other"}))
	other := e.newClient(func(cfg *webhooks.Config) {
		cfg.BaseURL, cfg.AccessToken, cfg.AccessTokenSecret = x.URL(), "42-tok", "other"
	})
	require.NoError(t, other.Subscribe(ctx, w.ID))
	require.ErrorIs(t, c.EnsureSubscribed(ctx, w.ID), webhooks.ErrSubscriptionLimit)
}

func TestNoUserAuth(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.newClient(func(cfg *webhooks.Config) {
		cfg.ConsumerKey, cfg.ConsumerSecret, cfg.AccessToken, cfg.AccessTokenSecret = "", "", "", ""
	})
	w, err := c.Ensure(ctx, e.recv.URL())
	require.NoError(t, err, "webhook management needs only the bearer token")
	before := len(e.x.Requests())
	require.ErrorIs(t, c.Subscribe(ctx, w.ID), webhooks.ErrNoUserAuth)
	require.ErrorIs(t, c.EnsureSubscribed(ctx, w.ID), webhooks.ErrNoUserAuth)
	_, err = c.CheckSubscription(ctx, w.ID)
	require.ErrorIs(t, err, webhooks.ErrNoUserAuth)
	assert.Len(t, e.x.Requests(), before, "nothing may be sent without credentials")
	_, err = c.ListSubscriptions(ctx, w.ID)
	require.NoError(t, err)
}

func TestInvalidInputSendsNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	calls := map[string]func() error{
		"register empty":      func() error { _, err := e.client.Register(ctx, ""); return err },
		"register relative":   func() error { _, err := e.client.Register(ctx, "/webhook"); return err },
		"register ftp":        func() error { _, err := e.client.Register(ctx, "ftp://example.com/w"); return err },
		"register too long":   func() error { _, err := e.client.Register(ctx, "https://e.com/"+strings.Repeat("a", 200)); return err },
		"ensure userinfo":     func() error { _, err := e.client.Ensure(ctx, "https://u:p@example.com/w"); return err },
		"validate empty":      func() error { return e.client.Validate(ctx, "") },
		"validate path":       func() error { return e.client.Validate(ctx, "1/../../2/tweets") },
		"delete letters":      func() error { return e.client.Delete(ctx, "abc") },
		"subscribe long":      func() error { return e.client.Subscribe(ctx, strings.Repeat("1", 20)) },
		"check empty":         func() error { _, err := e.client.CheckSubscription(ctx, ""); return err },
		"list subs query":     func() error { _, err := e.client.ListSubscriptions(ctx, "1?x=y"); return err },
		"unsubscribe user":    func() error { return e.client.Unsubscribe(ctx, "1", "alice") },
		"replay zero from":    func() error { _, err := e.client.Replay(ctx, "1", time.Time{}, now); return err },
		"replay zero to":      func() error { _, err := e.client.Replay(ctx, "1", now, time.Time{}); return err },
		"replay backwards":    func() error { _, err := e.client.Replay(ctx, "1", now, now.Add(-time.Hour)); return err },
		"replay bad webhook":  func() error { _, err := e.client.Replay(ctx, "x", now.Add(-time.Hour), now); return err },
		"subscribe no digits": func() error { return e.client.EnsureSubscribed(ctx, " ") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, call(), webhooks.ErrInvalidInput)
		})
	}
	assert.Empty(t, e.x.Requests())
}

func TestReplayAgainstFake(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, err := e.client.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
	start := e.clock.Now()
	id1, status := e.mention("@moetronbot moerand")
	require.Equal(t, http.StatusOK, status)
	e.clock.Advance(2 * time.Minute)
	id2, _ := e.mention("@moetronbot moename bob")
	e.clock.Advance(2 * time.Minute)
	require.Equal(t, []string{id1, id2}, e.recv.Tweets())

	// Only the second event's minute.
	job, err := e.client.Replay(ctx, w.ID, start.Add(2*time.Minute), e.clock.Now())
	require.NoError(t, err)
	assert.NotEmpty(t, job.JobID)
	assert.WithinDuration(t, e.clock.Now(), job.CreatedAt, time.Second)
	e.x.WaitReplays()
	assert.Equal(t, []string{id1, id2, id2}, e.recv.Tweets())
	assert.Equal(t, []string{job.JobID}, e.recv.Replays())

	reps := e.x.Replays()
	require.Len(t, reps, 1)
	assert.Equal(t, start.Add(2*time.Minute).UTC().Truncate(time.Minute), reps[0].From)
	assert.Equal(t, e.clock.Now().UTC().Truncate(time.Minute), reps[0].To)

	// X refuses a window older than 24 hours.
	_, err = e.client.Replay(ctx, w.ID, e.clock.Now().Add(-25*time.Hour), e.clock.Now())
	require.ErrorIs(t, err, webhooks.ErrBadRequest)
	_, err = e.client.Replay(ctx, "1", start, e.clock.Now())
	require.ErrorIs(t, err, webhooks.ErrWebhookNotFound)
}

// The body of each call, as X documents it, decoded field by field; and the
// other shapes X has documented for replay.
func TestReplayAnswerShapes(t *testing.T) {
	now := time.Date(2026, 11, 26, 17, 4, 59, 0, time.UTC)
	for name, body := range map[string]string{
		"wrapped": `{"data":{"job_id":"1588","created_at":"2026-11-26T17:05:00.000Z"}}`,
		"bare":    `{"job_id":"1588","created_at":"2026-11-26T17:05:00.000Z"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var got map[string]any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, "/2/webhooks/replay", r.URL.Path)
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
				require.NoError(t, jsonDecode(r, &got))
				jsonHandler(200, body, nil)(w, r)
			}))
			defer srv.Close()
			c, err := webhooks.New(webhooks.Config{BearerToken: "tok", BaseURL: srv.URL})
			require.NoError(t, err)
			job, err := c.Replay(context.Background(), "77", now.Add(-90*time.Minute).In(time.FixedZone("X", 3600)), now)
			require.NoError(t, err)
			assert.Equal(t, "1588", job.JobID)
			assert.Equal(t, time.Date(2026, 11, 26, 17, 5, 0, 0, time.UTC), job.CreatedAt)
			assert.Equal(t, map[string]any{"webhook_id": "77", "from_date": "202611261534", "to_date": "202611261704"}, got)
		})
	}
	t.Run("no job id", func(t *testing.T) {
		srv := httptest.NewServer(jsonHandler(200, `{"data":{}}`, nil))
		defer srv.Close()
		c, err := webhooks.New(webhooks.Config{BearerToken: "tok", BaseURL: srv.URL})
		require.NoError(t, err)
		_, err = c.Replay(context.Background(), "77", now.Add(-time.Hour), now)
		require.ErrorIs(t, err, webhooks.ErrBadResponse)
	})
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := webhooks.New(webhooks.Config{BearerToken: "tok-secret", BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	_, err = c.List(context.Background())
	require.Error(t, err)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Contains(t, err.Error(), "GET /2/webhooks")
	assert.NotContains(t, err.Error(), "tok-secret")
	var ae *webhooks.APIError
	assert.False(t, errors.As(err, &ae))
}

func TestRedirectNotFollowed(t *testing.T) {
	target := httptest.NewServer(jsonHandler(200, `{"data":[]}`, nil))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL+"/2/webhooks", http.StatusFound))
	defer srv.Close()
	c, err := webhooks.New(webhooks.Config{BearerToken: "tok", BaseURL: srv.URL})
	require.NoError(t, err)
	_, err = c.List(context.Background())
	var ae *webhooks.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusFound, ae.Status)
	// List sends a query; the error names the path without it.
	assert.Equal(t, "/2/webhooks", ae.Path)
	assert.Contains(t, err.Error(), "webhooks: GET /2/webhooks: 302")
}

func TestInspect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, err := e.client.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)

	states, err := e.client.Inspect(ctx)
	require.NoError(t, err)
	require.Len(t, states, 1)
	assert.Equal(t, w.ID, states[0].ID)
	assert.Empty(t, states[0].Subscribers)
	require.NotNil(t, states[0].BotSubscribed)
	assert.False(t, *states[0].BotSubscribed)

	require.NoError(t, e.client.EnsureSubscribed(ctx, w.ID))
	states, err = e.client.Inspect(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{e.x.Bot().UserID}, states[0].Subscribers)
	assert.True(t, *states[0].BotSubscribed)

	bearerOnly := e.newClient(func(cfg *webhooks.Config) {
		cfg.ConsumerKey, cfg.ConsumerSecret, cfg.AccessToken, cfg.AccessTokenSecret = "", "", "", ""
	})
	states, err = bearerOnly.Inspect(ctx)
	require.NoError(t, err)
	assert.Nil(t, states[0].BotSubscribed)
	assert.Equal(t, []string{e.x.Bot().UserID}, states[0].Subscribers)
}
