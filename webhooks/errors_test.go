package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var sentinels = []error{
	webhooks.ErrCRCFailed, webhooks.ErrInvalidURL, webhooks.ErrDuplicateURL, webhooks.ErrWebhookLimit,
	webhooks.ErrWebhookNotFound, webhooks.ErrDuplicateSubscription, webhooks.ErrSubscriptionLimit,
	webhooks.ErrSubscriptionNotFound, webhooks.ErrReplayConflict, webhooks.ErrUnauthorized,
	webhooks.ErrForbidden, webhooks.ErrRateLimited, webhooks.ErrUsageCapped, webhooks.ErrServer,
	webhooks.ErrBadRequest,
}

func TestErrorShapes(t *testing.T) {
	reset := time.Date(2026, 11, 26, 17, 15, 0, 0, time.UTC)
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		status    int
		body      string
		header    map[string]string
		want      error
		reason    string
		code      int
		msg       string
		retryAt   time.Time
		retryable bool
	}{
		{name: "crc", status: 400, want: webhooks.ErrCRCFailed, reason: webhooks.ReasonCRCFailed,
			body: `{"errors":[{"message":"CrcValidationFailed: URL returned bad response during CRC with error: Invalid response_token"}]}`,
			msg:  "400: CrcValidationFailed: URL returned bad response"},
		{name: "url", status: 400, body: `{"errors":[{"message":"UrlValidationFailed: url must use https"}]}`,
			want: webhooks.ErrInvalidURL, reason: webhooks.ReasonURLInvalid},
		{name: "duplicate url", status: 400, body: `{"errors":[{"message":"DuplicateUrlFailed: already"}]}`,
			want: webhooks.ErrDuplicateURL, reason: webhooks.ReasonDuplicateURL},
		{name: "limit", status: 403, body: `{"errors":[{"message":"WebhookLimitExceeded: 1 webhook(s)"}]}`,
			want: webhooks.ErrWebhookLimit, reason: webhooks.ReasonWebhookLimit},
		{name: "webhook id", status: 404, body: `{"errors":[{"message":"WebhookIdInvalid: no webhook"}]}`,
			want: webhooks.ErrWebhookNotFound, reason: webhooks.ReasonWebhookIDInvalid},
		{name: "duplicate subscription", status: 409, body: `{"errors":[{"message":"DuplicateSubscriptionFailed: already subscribed"}]}`,
			want: webhooks.ErrDuplicateSubscription, reason: webhooks.ReasonDuplicateSubscription},
		{name: "subscription limit", status: 400, body: `{"errors":[{"message":"SubscriptionLimitExceeded: 3"}]}`,
			want: webhooks.ErrSubscriptionLimit, reason: webhooks.ReasonSubscriptionLimit},
		{name: "subscription not found", status: 400, body: `{"errors":[{"message":"SubscriptionNotFound: nope"}]}`,
			want: webhooks.ErrSubscriptionNotFound, reason: webhooks.ReasonSubscriptionNotFound},
		{name: "replay conflict reason", status: 409, body: `{"errors":[{"message":"ReplayConflictError: running"}]}`,
			want: webhooks.ErrReplayConflict, reason: webhooks.ReasonReplayConflict, retryable: true},
		{name: "replay conflict v1.1 code", status: 409, body: `{"errors":[{"code":355,"message":"A replay job is already running"}]}`,
			want: webhooks.ErrReplayConflict, code: 355, retryable: true, msg: "(code 355)"},
		{name: "conflict status only", status: 409, body: ``, want: webhooks.ErrReplayConflict, retryable: true},
		{name: "problem 401", status: 401, body: `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`,
			want: webhooks.ErrUnauthorized, msg: "401: Unauthorized"},
		{name: "v1.1 code 32", status: 403, body: `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`,
			want: webhooks.ErrUnauthorized, code: 32},
		{name: "forbidden", status: 403, body: `{"title":"Forbidden","detail":"not enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}`,
			want: webhooks.ErrForbidden, msg: "Forbidden: not enrolled"},
		{name: "rate limit problem", status: 429, body: `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`,
			header: map[string]string{"x-rate-limit-reset": strconv.FormatInt(reset.Unix(), 10)},
			want:   webhooks.ErrRateLimited, retryAt: reset, retryable: true, msg: "retry at 2026-11-26T17:15:00Z"},
		{name: "rate limit code 88 retry-after", status: 429, body: `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`,
			header: map[string]string{"Retry-After": "30"},
			want:   webhooks.ErrRateLimited, code: 88, retryAt: now.Add(30 * time.Second), retryable: true},
		{name: "usage cap", status: 429, body: `{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped"}`,
			want: webhooks.ErrUsageCapped},
		{name: "invalid request", status: 400, body: `{"errors":[{"parameters":{"from_date":["x"]},"message":"from_date must be within the last 24 hours."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`,
			want: webhooks.ErrBadRequest, msg: "from_date must be within the last 24 hours."},
		{name: "503 text", status: 503, body: `upstream unavailable`, want: webhooks.ErrServer, retryable: true},
		{name: "500 empty", status: 500, body: ``, want: webhooks.ErrServer, retryable: true},
		{name: "404 empty", status: 404, body: ``, want: webhooks.ErrWebhookNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(jsonHandler(tc.status, tc.body, tc.header))
			defer srv.Close()
			c, err := webhooks.New(webhooks.Config{BearerToken: "tok", BaseURL: srv.URL, Now: func() time.Time { return now }})
			require.NoError(t, err)
			err = c.Validate(context.Background(), "123")
			require.Error(t, err)
			var ae *webhooks.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.status, ae.Status)
			assert.Equal(t, http.MethodPut, ae.Method)
			assert.Equal(t, "/2/webhooks/123", ae.Path)
			assert.Equal(t, tc.reason, ae.Reason)
			assert.Equal(t, tc.code, ae.Code)
			assert.Equal(t, tc.retryAt, ae.RetryAt.UTC().Truncate(0))
			assert.Equal(t, tc.retryable, ae.Retryable())
			for _, s := range sentinels {
				assert.Equal(t, s == tc.want, errors.Is(err, s), "errors.Is(err, %v)", s)
			}
			assert.Contains(t, err.Error(), "webhooks: PUT /2/webhooks/123: "+strconv.Itoa(tc.status))
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestBadResponse(t *testing.T) {
	for name, body := range map[string]string{"not json": `<html>`, "wrong type": `{"data":"x"}`} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(jsonHandler(200, body, nil))
			defer srv.Close()
			c, err := webhooks.New(webhooks.Config{BearerToken: "tok", BaseURL: srv.URL})
			require.NoError(t, err)
			_, err = c.List(context.Background())
			require.ErrorIs(t, err, webhooks.ErrBadResponse)
			_, err = c.Register(context.Background(), "https://example.com/webhook")
			require.ErrorIs(t, err, webhooks.ErrBadResponse)
		})
	}
	t.Run("valid false", func(t *testing.T) {
		srv := httptest.NewServer(jsonHandler(200, `{"data":{"valid":false}}`, nil))
		defer srv.Close()
		c, err := webhooks.New(webhooks.Config{BearerToken: "tok", BaseURL: srv.URL})
		require.NoError(t, err)
		require.ErrorIs(t, c.Validate(context.Background(), "1"), webhooks.ErrCRCFailed)
	})
	t.Run("register without id", func(t *testing.T) {
		srv := httptest.NewServer(jsonHandler(200, `{"data":{"url":"https://example.com/webhook"}}`, nil))
		defer srv.Close()
		c, err := webhooks.New(webhooks.Config{BearerToken: "tok", BaseURL: srv.URL})
		require.NoError(t, err)
		_, err = c.Register(context.Background(), "https://example.com/webhook")
		require.ErrorIs(t, err, webhooks.ErrBadResponse)
	})
}

// Wrong credentials against the fake: the errors say 401 and the logs
// record the calls, but neither holds any credential.
func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	wrong := "wrong-bearer-3f9a1c"
	wrongSecret := "wrong-token-secret-77ab"
	c := e.newClient(func(cfg *webhooks.Config) {
		cfg.BearerToken, cfg.AccessTokenSecret = wrong, wrongSecret
	})
	_, err := c.Register(ctx, e.recv.URL())
	require.ErrorIs(t, err, webhooks.ErrUnauthorized)
	errs := []error{err}
	_, err = c.List(ctx)
	errs = append(errs, err)

	good, err := e.client.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
	err = c.Subscribe(ctx, good.ID)
	require.ErrorIs(t, err, webhooks.ErrUnauthorized)
	errs = append(errs, err)
	_, err = c.CheckSubscription(ctx, good.ID)
	errs = append(errs, err)

	// And successful calls with the right credentials, logged at debug.
	require.NoError(t, e.client.EnsureSubscribed(ctx, good.ID))
	_, err = e.client.Replay(ctx, good.ID, e.clock.Now().Add(-time.Hour), e.clock.Now())
	require.NoError(t, err)
	e.x.WaitReplays()

	secrets := append(e.secrets(), wrong, wrongSecret)
	for _, err := range errs {
		require.Error(t, err)
		for _, s := range secrets {
			assert.NotContains(t, err.Error(), s)
		}
	}
	logs := e.logs.String()
	assert.Contains(t, logs, "path=/2/webhooks")
	assert.Contains(t, logs, "status=401")
	assert.Contains(t, logs, "webhook registered")
	for _, s := range secrets {
		assert.NotContains(t, logs, s)
	}
	assert.NotContains(t, logs, "Bearer")
	assert.NotContains(t, logs, "oauth_signature")
}

// Faults the fake injects come back as the matching sentinels.
func TestFaultsFromFake(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.x.InjectFault(xfake.Fault{Kind: xfake.FaultRateLimit, Endpoint: xfake.EndpointWebhookList, Times: 1,
		Reset: e.clock.Now().Add(7 * time.Minute)})
	require.NoError(t, err)
	_, err = e.client.List(ctx)
	require.ErrorIs(t, err, webhooks.ErrRateLimited)
	var ae *webhooks.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, e.clock.Now().Add(7*time.Minute).Unix(), ae.RetryAt.Unix())

	_, err = e.x.InjectFault(xfake.Fault{Kind: xfake.FaultUsageCap, Endpoint: xfake.EndpointWebhookCreate, Times: 1})
	require.NoError(t, err)
	_, err = e.client.Register(ctx, e.recv.URL())
	require.ErrorIs(t, err, webhooks.ErrUsageCapped)

	e.x.Outage(time.Minute)
	_, err = e.client.Ensure(ctx, e.recv.URL())
	require.ErrorIs(t, err, webhooks.ErrServer)
	e.x.EndOutage()
	_, err = e.client.Ensure(ctx, e.recv.URL())
	require.NoError(t, err)
}
