package xfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/internal/xapi"
)

func TestFaultRateLimit(t *testing.T) {
	f := start(t, Config{})
	reset := time.Unix(2000000000, 0)
	_, err := f.srv.InjectFault(Fault{Kind: FaultRateLimit, Endpoint: EndpointTweets, Times: 1, Reset: reset})
	require.NoError(t, err)
	r := f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "a"})
	assert.Equal(t, http.StatusTooManyRequests, r.Status)
	assert.Equal(t, "0", r.Header.Get("x-rate-limit-remaining"))
	assert.Equal(t, "2000000000", r.Header.Get("x-rate-limit-reset"))
	assert.Equal(t, "Too Many Requests", r.Body["title"])
	// Times: 1 is used up; other endpoints were never affected.
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "a"})
	assert.Equal(t, http.StatusCreated, r.Status)
	assert.Len(t, f.srv.Posts(), 1)
}

func TestFaultKinds(t *testing.T) {
	cases := []struct {
		kind   FaultKind
		status int
		check  func(t *testing.T, r response)
	}{
		{FaultUsageCap, http.StatusTooManyRequests, func(t *testing.T, r response) {
			assert.Equal(t, UsageCappedType, r.Body["type"])
			assert.Equal(t, "UsageCapExceeded", r.Body["title"])
		}},
		{FaultUnavailable, http.StatusServiceUnavailable, func(t *testing.T, r response) {
			assert.Equal(t, float64(503), r.Body["status"])
		}},
		{FaultDuplicate, http.StatusForbidden, func(t *testing.T, r response) {
			assert.Equal(t, DuplicateContentDetail, r.Body["detail"])
		}},
	}
	for _, tc := range cases {
		t.Run(tc.kind.String(), func(t *testing.T) {
			f := start(t, Config{})
			id, err := f.srv.InjectFault(Fault{Kind: tc.kind}) // every endpoint, until removed
			require.NoError(t, err)
			for range 2 {
				r := f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "x"})
				assert.Equal(t, tc.status, r.Status)
				tc.check(t, r)
			}
			r := f.do(f.bearer(), http.MethodGet, "/2/webhooks", "", nil)
			assert.Equal(t, tc.status, r.Status)
			f.srv.RemoveFault(id)
			r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "x"})
			assert.Equal(t, http.StatusCreated, r.Status)
		})
	}
}

func TestFaultValidation(t *testing.T) {
	f := start(t, Config{})
	_, err := f.srv.InjectFault(Fault{Kind: FaultUnavailable, Endpoint: "POST /2/tweetz"})
	assert.ErrorContains(t, err, "unknown endpoint")
	_, err = f.srv.InjectFault(Fault{Kind: FaultDelay})
	assert.Error(t, err)
	_, err = f.srv.InjectFault(Fault{})
	assert.Error(t, err)
}

func TestFaultDelay(t *testing.T) {
	f := start(t, Config{})
	var slept []time.Duration
	f.srv.sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}
	_, err := f.srv.InjectFault(Fault{Kind: FaultDelay, Endpoint: EndpointDMSend, Delay: 7 * time.Second, Times: 1})
	require.NoError(t, err)
	r := f.postJSON(f.bot, "/2/dm_conversations/with/5/messages", map[string]any{"text": "slow"})
	assert.Equal(t, http.StatusCreated, r.Status)
	assert.Equal(t, []time.Duration{7 * time.Second}, slept)
	f.postJSON(f.bot, "/2/dm_conversations/with/5/messages", map[string]any{"text": "fast"})
	assert.Len(t, slept, 1)

	// With the real sleep, a client that gives up gets nothing stored.
	f.srv.sleep = xapi.Sleep
	_, err = f.srv.InjectFault(Fault{Kind: FaultDelay, Endpoint: EndpointTweets, Delay: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL()+"/2/tweets", bytes.NewReader([]byte(`{"text":"x"}`)))
	req.Header.Set("Content-Type", "application/json")
	_, err = f.bot.Do(req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	f.srv.ClearFaults()
	assert.Empty(t, f.srv.Posts())
}

func TestFaultResetAfterStore(t *testing.T) {
	f := start(t, Config{})
	_, err := f.srv.InjectFault(Fault{Kind: FaultResetAfterStore, Endpoint: EndpointTweets, Times: 1})
	require.NoError(t, err)
	body, _ := json.Marshal(map[string]any{"text": "stored but unanswered", "reply": map[string]any{"in_reply_to_tweet_id": "77"}})
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL()+"/2/tweets", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	_, err = f.bot.Do(req)
	require.Error(t, err, "the client sees a broken connection")
	var he interface{ Timeout() bool }
	assert.False(t, errors.As(err, &he) && he.Timeout())

	// Yet the post exists: a retry must not post it again.
	replies := f.srv.RepliesTo("77")
	require.Len(t, replies, 1)
	assert.Equal(t, "stored but unanswered", replies[0].Text)
	r := f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "stored but unanswered", "reply": map[string]any{"in_reply_to_tweet_id": "77"}})
	assert.Equal(t, http.StatusForbidden, r.Status, "a naive retry hits duplicate content")
	assert.Len(t, f.srv.RepliesTo("77"), 1)
}

func TestOutage(t *testing.T) {
	f := start(t, Config{})
	f.srv.Outage(time.Minute)
	r := f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "x"})
	assert.Equal(t, http.StatusServiceUnavailable, r.Status)
	assert.NotEmpty(t, r.Header.Get("x-rate-limit-limit"))
	r = f.do(nil, http.MethodGet, "/2/webhooks", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, r.Status, "before authentication")
	f.clock.Advance(time.Minute)
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "y"})
	assert.Equal(t, http.StatusCreated, r.Status, r.Raw)

	f.srv.Outage(time.Hour)
	f.srv.EndOutage()
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "z"})
	assert.Equal(t, http.StatusCreated, r.Status)
}

func TestEnforcedRateLimit(t *testing.T) {
	f := start(t, Config{EnforceRateLimits: true, TimestampWindow: time.Hour})
	for i := range 15 {
		r := f.postJSON(f.bot, "/2/dm_conversations/with/5/messages", map[string]any{"text": strconv.Itoa(i)})
		require.Equal(t, http.StatusCreated, r.Status)
		assert.Equal(t, strconv.Itoa(14-i), r.Header.Get("x-rate-limit-remaining"))
	}
	r := f.postJSON(f.bot, "/2/dm_conversations/with/5/messages", map[string]any{"text": "16th"})
	assert.Equal(t, http.StatusTooManyRequests, r.Status)
	reset, err := strconv.ParseInt(r.Header.Get("x-rate-limit-reset"), 10, 64)
	require.NoError(t, err)
	assert.Equal(t, f.clock.Now().Add(15*time.Minute).Unix(), reset)
	f.clock.Advance(15 * time.Minute)
	r = f.postJSON(f.bot, "/2/dm_conversations/with/5/messages", map[string]any{"text": "next window"})
	assert.Equal(t, http.StatusCreated, r.Status)
	assert.Len(t, f.srv.DMs(), 16)
}

func TestNotFound(t *testing.T) {
	f := start(t, Config{})
	r := f.do(nil, http.MethodGet, "/1.1/statuses/update.json", "", nil)
	assert.Equal(t, http.StatusNotFound, r.Status)
	assert.NotEmpty(t, r.Header.Get("x-rate-limit-reset"))
	r = f.do(nil, http.MethodPatch, "/2/tweets", "", nil)
	assert.Equal(t, http.StatusNotFound, r.Status)
}

func TestConfigValidation(t *testing.T) {
	_, err := New(Config{BotUserID: "bot"})
	assert.ErrorContains(t, err, "BotUserID")
	_, err = NewHandler(Config{SigningBaseURL: "api.x.com"})
	assert.ErrorContains(t, err, "SigningBaseURL")
	_, err = NewHandler(Config{TimestampWindow: -1})
	assert.Error(t, err)
	s, err := NewHandler(Config{})
	require.NoError(t, err)
	assert.Equal(t, "", s.URL())
	assert.Equal(t, DefaultConsumerSecret, s.Config().ConsumerSecret)
	assert.Error(t, s.AddAccount(Account{UserID: "1", AccessToken: DefaultAccessToken, AccessTokenSecret: "x"}))
}
