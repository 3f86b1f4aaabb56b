package xapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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
