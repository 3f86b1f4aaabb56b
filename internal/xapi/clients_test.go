package xapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/internal/envflag"
	"github.com/moetron/moetron/internal/xapi"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The OAuth 1.0a transport signs so that the fake X, which checks the
// signature the way X does, accepts it; a wrong secret is refused.
func TestOAuth1SignsForX(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	cfg := x.Config()
	get := func(tokenSecret string) int {
		rt := xapi.OAuth1(nil, cfg.ConsumerKey, cfg.ConsumerSecret, cfg.AccessToken, tokenSecret)
		req, err := http.NewRequest(http.MethodGet, x.URL()+"/2/users/me", nil)
		require.NoError(t, err)
		resp, err := xapi.NewHTTPClient(rt, 5*time.Second).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get(cfg.AccessTokenSecret))
	assert.Equal(t, http.StatusUnauthorized, get("wrong-secret"))
}

// A redirect is not followed: the signed request would go elsewhere.
func TestNewHTTPClientKeepsRedirects(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/steal", http.StatusFound))
	defer redirect.Close()
	c := xapi.NewHTTPClient(xapi.OAuth1(nil, "ck", "cs", "at", "ats"), 5*time.Second)
	resp, err := c.Get(redirect.URL + "/2/tweets")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Zero(t, hits.Load())
	assert.Equal(t, 5*time.Second, c.Timeout)
}

func TestStripURL(t *testing.T) {
	const secret = "s3cr3t"
	c := &http.Client{Timeout: time.Second}
	_, err := c.Get("http://127.0.0.1:1/2/tweets?token=" + secret)
	require.Error(t, err)
	require.Contains(t, err.Error(), secret, "the url.Error repeats the URL")
	stripped := xapi.StripURL(err)
	assert.NotContains(t, stripped.Error(), secret)
	assert.NotContains(t, stripped.Error(), "127.0.0.1:1/2/tweets")

	plain := errors.New("plain")
	assert.Same(t, plain, xapi.StripURL(plain))
	wrapped := fmt.Errorf("send: %w", &url.Error{Op: "Post", URL: "https://api.x.com/2/tweets?t=" + secret, Err: context.DeadlineExceeded})
	inner := xapi.StripURL(wrapped)
	assert.ErrorIs(t, inner, context.DeadlineExceeded, "what the wrapper held is kept")
	assert.NotContains(t, inner.Error(), secret)
}

func TestReadBodyCaps(t *testing.T) {
	b, err := xapi.ReadBody(bytes.NewReader(make([]byte, xapi.MaxResponseBytes+10)))
	require.NoError(t, err)
	assert.Len(t, b, xapi.MaxResponseBytes)
	b, err = xapi.ReadBody(strings.NewReader("ok"))
	require.NoError(t, err)
	assert.Equal(t, "ok", string(b))
}

// Every package that checks an X id accepts exactly what xapi.ValidID
// accepts: before, filter took 20-digit ids that reply refused, so a job
// could be queued that the worker could never answer.
func TestPackagesAgreeOnIDs(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	cfg := x.Config()
	rc, err := reply.New(reply.Config{ConsumerKey: cfg.ConsumerKey, ConsumerSecret: cfg.ConsumerSecret,
		AccessToken: cfg.AccessToken, AccessTokenSecret: cfg.AccessTokenSecret, BaseURL: x.URL(),
		Retry: reply.RetryPolicy{MaxAttempts: 1}})
	require.NoError(t, err)
	wc, err := webhooks.New(webhooks.Config{BearerToken: cfg.BearerToken, BaseURL: x.URL()})
	require.NoError(t, err)
	ctx := context.Background()

	for _, tc := range xapi.IDCases {
		t.Run(strconv.Quote(tc.ID), func(t *testing.T) {
			require.Equal(t, tc.Want, xapi.ValidID(tc.ID), tc.Why)

			_, err := filter.New(filter.Config{BotUserID: tc.ID})
			assert.Equal(t, tc.Want, err == nil, "filter.New: %v", err)

			msg, _ := json.Marshal(map[string]string{"msg_type": "tweet", "respond_id": tc.ID,
				"text": "@moetronbot moerand", "user_id": "1247048165561270272"})
			_, err = filter.ParseJob(msg)
			assert.Equal(t, tc.Want, err == nil, "filter.ParseJob: %v", err)
			if !tc.Want && tc.ID != "" {
				assert.ErrorIs(t, err, filter.ErrInvalidID)
			}

			// reply refuses a bad id before sending; a good one reaches X.
			_, err = rc.Reply(ctx, tc.ID, "hello")
			assert.Equal(t, !tc.Want, errors.Is(err, reply.ErrInvalidInput), "reply.Reply: %v", err)

			err = wc.Validate(ctx, tc.ID)
			assert.Equal(t, !tc.Want, errors.Is(err, webhooks.ErrInvalidInput), "webhooks.Validate: %v", err)

			if tc.ID != "" { // empty is "missing", reported by Need
				var p envflag.Problems
				p.UserID(tc.ID, "BOT_USER_ID")
				assert.Equal(t, tc.Want, p.Err(errors.New("config")) == nil, "envflag UserID")

				_, err = reply.New(reply.Config{ConsumerKey: "k", ConsumerSecret: "s", AccessToken: "t",
					AccessTokenSecret: "ts", BotUserID: tc.ID})
				assert.Equal(t, tc.Want, err == nil, "reply.New BotUserID: %v", err)

				_, err = xfake.NewHandler(xfake.Config{BotUserID: tc.ID})
				assert.Equal(t, tc.Want, err == nil, "xfake BotUserID: %v", err)
			}
		})
	}
}

// reply and webhooks read the same answer the same way: the same message,
// in the same order, and the same RetryAt. Before, webhooks put the errors
// entries first and took x-rate-limit-reset even when the day window was
// the one exhausted.
func TestReplyAndWebhooksAgreeOnErrors(t *testing.T) {
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	window, day := now.Add(7*time.Minute), now.Add(5*time.Hour)
	cases := []struct {
		name   string
		status int
		h      map[string]string
		body   string
		msg    string
		retry  time.Time
	}{
		{"problem and entries", 400, nil,
			`{"errors":[{"message":"from_date must be within the last 24 hours."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`,
			"Invalid Request: One or more parameters to your request was invalid.; from_date must be within the last 24 hours.", time.Time{}},
		{"day window outranks the 15-minute one", 429,
			map[string]string{"x-rate-limit-remaining": "3", "x-rate-limit-reset": strconv.FormatInt(window.Unix(), 10),
				"x-app-limit-24hour-remaining": "0", "x-app-limit-24hour-reset": strconv.FormatInt(day.Unix(), 10)},
			`{"title":"Too Many Requests","detail":"Too Many Requests","status":429}`, "Too Many Requests", day},
		{"retry-after as an HTTP date", 429, map[string]string{"Retry-After": now.Add(time.Minute).Format(http.TimeFormat)},
			`{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`, "Rate limit exceeded", now.Add(time.Minute)},
		{"not JSON", 502, nil, "<html>Bad   Gateway</html>", "<html>Bad Gateway</html>", time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.h {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			clock := func() time.Time { return now }
			rc, err := reply.New(reply.Config{ConsumerKey: "k", ConsumerSecret: "s", AccessToken: "t", AccessTokenSecret: "ts",
				BaseURL: srv.URL, Now: clock, Retry: reply.RetryPolicy{MaxAttempts: 1}})
			require.NoError(t, err)
			wc, err := webhooks.New(webhooks.Config{BearerToken: "b", BaseURL: srv.URL, Now: clock})
			require.NoError(t, err)

			_, err = rc.Me(context.Background())
			var re *reply.APIError
			require.ErrorAs(t, err, &re)
			_, err = wc.List(context.Background())
			var we *webhooks.APIError
			require.ErrorAs(t, err, &we)

			assert.Equal(t, tc.msg, xapi.Message(&re.Answer))
			assert.Equal(t, tc.msg, xapi.Message(&we.Answer))
			assert.Equal(t, tc.retry, re.RetryAt.UTC())
			assert.Equal(t, tc.retry, we.RetryAt.UTC())
			// The texts differ only in the package, the request and
			// reply's kind label.
			_, rtail, _ := strings.Cut(re.Error(), ": "+tc.msg)
			_, wtail, _ := strings.Cut(we.Error(), ": "+tc.msg)
			assert.Equal(t, rtail, wtail)
			assert.Contains(t, re.Error(), "reply: GET /2/users/me: "+strconv.Itoa(tc.status))
			assert.Contains(t, we.Error(), "webhooks: GET /2/webhooks: "+strconv.Itoa(tc.status))
		})
	}
}

func TestSleep(t *testing.T) {
	assert.NoError(t, xapi.Sleep(context.Background(), 0))
	assert.NoError(t, xapi.Sleep(context.Background(), time.Millisecond))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, xapi.Sleep(done, 0), context.Canceled)
	assert.ErrorIs(t, xapi.Sleep(done, time.Hour), context.Canceled)
	soon, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	assert.ErrorIs(t, xapi.Sleep(soon, time.Hour), context.DeadlineExceeded)
}
