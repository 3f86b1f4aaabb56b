package reply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAPIErrorShapes(t *testing.T) {
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	reset := now.Add(7 * time.Minute)
	day := now.Add(5 * time.Hour)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	epoch := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	cases := []struct {
		name     string
		status   int
		h        http.Header
		body     string
		kind     Kind
		sentinel error
		retry    bool
		code     int
		retryAt  time.Time
		inText   string
	}{
		{"problem 401", 401, nil, `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`,
			KindUnauthorized, ErrUnauthorized, false, 0, time.Time{}, "Unauthorized"},
		{"v1 errors 401 code 32", 401, nil, `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`,
			KindUnauthorized, ErrUnauthorized, false, 32, time.Time{}, "Could not authenticate you."},
		{"duplicate 403", 403, nil, `{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}`,
			KindDuplicate, ErrDuplicateContent, false, 0, time.Time{}, "duplicate content"},
		{"v1 duplicate 187", 403, nil, `{"errors":[{"code":187,"message":"Status is a duplicate."}]}`,
			KindDuplicate, ErrDuplicateContent, false, 187, time.Time{}, "Status is a duplicate."},
		{"not summoned 403", 403, nil, `{"title":"Forbidden","detail":"Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.","type":"about:blank","status":403}`,
			KindNotAllowed, ErrNotAllowed, false, 0, time.Time{}, "not allowed"},
		{"dm media 403", 403, nil, `{"detail":"You are not permitted to attach this media to a DM event.","title":"Forbidden","status":403}`,
			KindNotAllowed, ErrNotAllowed, false, 0, time.Time{}, "attach this media"},
		{"expired media 400", 400, nil, `{"errors":[{"parameters":{"media.media_ids":["1"]},"message":"Your media IDs are invalid."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`,
			KindBadRequest, ErrBadRequest, false, 0, time.Time{}, "Invalid Request"},
		{"rate limit 15 min", 429, hdr("x-rate-limit-limit", "100", "x-rate-limit-remaining", "0", "x-rate-limit-reset", epoch(reset)),
			`{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`,
			KindRateLimited, ErrRateLimited, true, 0, reset, "Too Many Requests"},
		{"rate limit 24h user", 429, hdr("x-rate-limit-remaining", "40", "x-rate-limit-reset", epoch(reset),
			"x-user-limit-24hour-remaining", "0", "x-user-limit-24hour-reset", epoch(day)),
			`{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`,
			KindRateLimited, ErrRateLimited, true, 0, day, "retry at"},
		{"rate limit 24h app", 429, hdr("x-rate-limit-remaining", "40", "x-rate-limit-reset", epoch(reset),
			"x-app-limit-24hour-remaining", "0", "x-app-limit-24hour-reset", epoch(day.Add(time.Hour)),
			"x-user-limit-24hour-remaining", "3", "x-user-limit-24hour-reset", epoch(day)),
			`{"title":"Too Many Requests","status":429}`,
			KindRateLimited, ErrRateLimited, true, 0, day.Add(time.Hour), ""},
		{"rate limit v1 code 88 retry-after", 429, hdr("Retry-After", "30"), `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`,
			KindRateLimited, ErrRateLimited, true, 88, now.Add(30 * time.Second), "Rate limit exceeded"},
		{"usage cap", 429, hdr("x-rate-limit-remaining", "0", "x-rate-limit-reset", epoch(reset)),
			`{"account_id":1,"product_name":"standard-basic","title":"UsageCapExceeded","period":"Monthly","scope":"Product","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped"}`,
			KindUsageCapped, ErrUsageCapped, false, 0, time.Time{}, "Usage cap exceeded"},
		{"server 503 html", 503, nil, "<html><body>Service   Unavailable</body></html>",
			KindServer, ErrServer, true, 0, time.Time{}, "Service Unavailable"},
		{"not found", 404, nil, `{"title":"Not Found Error","type":"https://api.x.com/2/problems/resource-not-found","detail":"Could not find user"}`,
			KindNotFound, ErrNotFound, false, 0, time.Time{}, "Could not find user"},
		{"partial read 200", 200, nil, `{"errors":[{"title":"Not Found Error","detail":"Could not find user with id: [1].","type":"https://api.twitter.com/2/problems/resource-not-found","resource_type":"user","resource_id":"1"}]}`,
			KindNotFound, ErrNotFound, false, 0, time.Time{}, "Could not find user"},
		{"empty body 502", 502, nil, "", KindServer, ErrServer, true, 0, time.Time{}, "502"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := parseAPIError("POST", "/2/tweets", tc.status, tc.h, []byte(tc.body), now)
			assert.Equal(t, tc.kind, e.Kind, "kind")
			assert.ErrorIs(t, e, tc.sentinel)
			assert.Equal(t, tc.retry, IsRetryable(e), "retryable")
			assert.Equal(t, tc.code, e.Code)
			assert.True(t, tc.retryAt.Equal(e.RetryAt), "RetryAt %v, want %v", e.RetryAt, tc.retryAt)
			assert.Contains(t, e.Error(), tc.inText)
			assert.Contains(t, e.Error(), "POST /2/tweets")
			at, ok := RateLimitReset(fmt.Errorf("wrapped: %w", e))
			assert.Equal(t, !tc.retryAt.IsZero(), ok)
			assert.True(t, at.Equal(tc.retryAt))
			assert.Equal(t, tc.kind == KindDuplicate, IsDuplicate(e))
			for _, other := range []error{ErrRateLimited, ErrUsageCapped, ErrDuplicateContent, ErrNotAllowed, ErrUnauthorized, ErrServer, ErrBadRequest, ErrNotFound} {
				if other != tc.sentinel {
					assert.NotErrorIs(t, e, other)
				}
			}
		})
	}
}

func TestUsageCapKeepsDayReset(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := http.Header{}
	h.Set("x-app-limit-24hour-remaining", "0")
	h.Set("x-app-limit-24hour-reset", strconv.FormatInt(now.Add(3*time.Hour).Unix(), 10))
	e := parseAPIError("POST", "/2/tweets", 429, h, []byte(`{"title":"UsageCapExceeded","type":"https://api.x.com/2/problems/usage-capped"}`), now)
	require.Equal(t, KindUsageCapped, e.Kind)
	at, ok := RateLimitReset(e)
	require.True(t, ok)
	assert.Equal(t, now.Add(3*time.Hour).Unix(), at.Unix())
	assert.False(t, IsRetryable(e))
}

func TestIsRetryableOthers(t *testing.T) {
	assert.False(t, IsRetryable(nil))
	assert.False(t, IsRetryable(ErrImageTooLarge))
	assert.True(t, IsRetryable(&TransportError{Method: "GET", Path: "/x", Err: errors.New("connection reset by peer")}))
	assert.False(t, IsRetryable(&TransportError{Method: "GET", Path: "/x", Err: context.Canceled}))
	u := &UncertainError{Op: "post", InReplyToTweetID: "5", Err: &TransportError{Sent: true, Err: errors.New("EOF")}}
	assert.False(t, IsRetryable(u))
	assert.ErrorIs(t, u, ErrUncertain)
	assert.Contains(t, u.Error(), "in reply to 5")
	_, ok := RateLimitReset(u)
	assert.False(t, ok)
}

func FuzzParseAPIError(f *testing.F) {
	f.Add(429, []byte(`{"title":"Too Many Requests","status":429}`))
	f.Add(403, []byte(`{"errors":[{"code":187,"message":"dup"}]}`))
	f.Add(500, []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		e := parseAPIError("GET", "/p", status, http.Header{}, body, time.Unix(0, 0))
		if e.Status != status || e.Error() == "" {
			t.Fatal("bad parse")
		}
		if status >= 500 && e.Kind != KindServer && e.Kind != KindUsageCapped && e.Kind != KindRateLimited {
			t.Fatalf("5xx classified %v", e.Kind)
		}
	})
}
