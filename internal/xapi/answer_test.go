package xapi

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAnswerBodies(t *testing.T) {
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		status int
		body   string
		msg    string // Message
		code   int
		typ    string
	}{
		{"problem", 403, `{"title":"Forbidden","detail":"not enrolled","type":"https://api.x.com/2/problems/client-forbidden","status":403}`,
			"Forbidden: not enrolled", 0, "https://api.x.com/2/problems/client-forbidden"},
		{"problem, title equals detail", 401, `{"title":"Unauthorized","detail":"Unauthorized","type":"about:blank","status":401}`,
			"Unauthorized", 0, "about:blank"},
		{"problem, title only", 429, `{"title":"Too Many Requests","status":429}`, "Too Many Requests", 0, ""},
		{"v1.1 errors", 401, `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`,
			"Could not authenticate you.", 32, ""},
		{"v1.1 first non-zero code", 403, `{"errors":[{"message":"a"},{"code":187,"message":"Status is a duplicate."}]}`,
			"a; Status is a duplicate.", 187, ""},
		{"v2 errors: detail, type from the entry", 200, `{"errors":[{"title":"Not Found Error","detail":"Could not find user with id: [1].","type":"https://api.twitter.com/2/problems/resource-not-found"}]}`,
			"Could not find user with id: [1].", 0, "https://api.twitter.com/2/problems/resource-not-found"},
		{"v2 entry with a title only", 400, `{"errors":[{"title":"Bad"}]}`, "Bad", 0, ""},
		{"problem first, then the entries", 400, `{"errors":[{"parameters":{"media.media_ids":["1"]},"message":"Your media IDs are invalid."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`,
			"Invalid Request: One or more parameters to your request was invalid.; Your media IDs are invalid.", 0, "https://api.twitter.com/2/problems/invalid-request"},
		{"an entry already said is not repeated", 403, `{"title":"Forbidden","detail":"You are not permitted.","errors":[{"message":"You are not permitted."},{"message":"Other."}]}`,
			"Forbidden: You are not permitted.; Other.", 0, ""},
		{"at most three entries", 400, `{"errors":[{"message":"a1"},{"message":"b2"},{"message":"c3"},{"message":"d4"},{"message":"e5"}]}`,
			"a1; b2; c3 (+2 more)", 0, ""},
		{"empty body", 502, ``, "", 0, ""},
		{"not JSON: a printable hint", 503, "<html><body>Service \t\r\n  Unavailable\x00</body></html>",
			"<html><body>Service Unavailable </body></html>", 0, ""},
		{"not UTF-8", 500, "\xff\xfeoops", "�oops", 0, ""},
		{"JSON but not an object", 500, `"down"`, `"down"`, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := ParseAnswer("POST", "/2/tweets", tc.status, http.Header{}, []byte(tc.body), now)
			assert.Equal(t, tc.msg, Message(&a))
			assert.Equal(t, tc.code, a.Code)
			assert.Equal(t, tc.typ, a.Type)
			assert.Equal(t, tc.status, a.Status)
			if b, ok := ParseBody([]byte(tc.body)); ok {
				assert.Equal(t, Message(&a), b.Message(), "Body and Answer say the same")
			}
		})
	}
	long := ParseAnswer("GET", "/p", 502, nil, []byte(strings.Repeat("x", 500)), now)
	assert.Equal(t, maxHint+1, len([]rune(long.Detail)))
	assert.True(t, strings.HasSuffix(long.Detail, "…"))
}

func TestParseAnswerRetryAt(t *testing.T) {
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	window, day := now.Add(7*time.Minute), now.Add(3*time.Hour)
	exhausted := header("x-rate-limit-remaining", "0", "x-rate-limit-reset", epoch(window),
		"x-app-limit-24hour-remaining", "0", "x-app-limit-24hour-reset", epoch(day))
	windowOnly := header("x-rate-limit-remaining", "0", "x-rate-limit-reset", epoch(window))
	cases := []struct {
		name      string
		status    int
		h         http.Header
		body      string
		capped    bool
		limited   bool
		want      time.Time
		describes string
	}{
		{"429 problem", 429, windowOnly, `{"title":"Too Many Requests","detail":"Too Many Requests","status":429}`, false, true, window,
			"x: GET /p: 429 k: Too Many Requests (retry at 2026-11-26T17:07:00Z)"},
		{"code 88 on another status", 400, windowOnly, `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`, false, true, window,
			"x: GET /p: 400 k: Rate limit exceeded (code 88) (retry at 2026-11-26T17:07:00Z)"},
		{"rate-limit-exceeded type", 400, windowOnly, `{"type":"https://api.x.com/2/problems/rate-limit-exceeded"}`, false, true, window, ""},
		{"429 without headers", 429, header(), `{"title":"Too Many Requests"}`, false, true, time.Time{},
			"x: GET /p: 429 k: Too Many Requests"},
		{"usage cap leaves the window out", 429, windowOnly, `{"title":"UsageCapExceeded","type":"https://api.twitter.com/2/problems/usage-capped"}`, true, true, time.Time{}, ""},
		{"usage cap keeps a day reset", 429, exhausted, `{"title":"UsageCapExceeded","type":"https://api.x.com/2/problems/usage-capped"}`, true, true, day, ""},
		{"usage cap by entry type", 429, header(), `{"errors":[{"type":"https://api.x.com/2/problems/usage-capped"}]}`, true, true, time.Time{}, ""},
		{"not a limit: headers ignored", 403, exhausted, `{"title":"Forbidden"}`, false, false, time.Time{}, "x: GET /p: 403 k: Forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := ParseAnswer("GET", "/p", tc.status, tc.h, []byte(tc.body), now)
			assert.Equal(t, tc.capped, UsageCapped(&a), "UsageCapped")
			assert.Equal(t, tc.limited, RateLimited(&a), "RateLimited")
			assert.Equal(t, tc.want, a.RetryAt.UTC())
			if tc.describes != "" {
				assert.Equal(t, tc.describes, Describe("x", &a, "k"))
			}
		})
	}
}

func TestDescribeLayout(t *testing.T) {
	a := Answer{Method: "PUT", Path: "/2/webhooks/1", Status: 400, Code: 214,
		Errors: []ErrorDetail{{Code: 214, Message: "CrcValidationFailed: bad token"}}}
	assert.Equal(t, "webhooks: PUT /2/webhooks/1: 400: CrcValidationFailed: bad token (code 214)", Describe("webhooks", &a, ""))
	a = Answer{Method: "GET", Path: "/2/users/me", Status: 500}
	assert.Equal(t, "reply: GET /2/users/me: 500 server error", Describe("reply", &a, "server error"))
}

func TestHelpers(t *testing.T) {
	a := ParseAnswer("POST", "/2/tweets", 403, nil, []byte(`{"detail":"You are not allowed to create a Tweet with Duplicate content.","errors":[{"code":187,"message":"x","type":"https://api.twitter.com/2/problems/duplicate"}]}`), time.Time{})
	assert.True(t, HasText(&a, "duplicate content"))
	assert.False(t, HasText(&a, "summoned"))
	assert.True(t, HasCode(&a, 32, 187))
	assert.False(t, HasCode(&a, 88))
	assert.True(t, HasType(&a, "duplicate"))
	assert.False(t, HasType(&a, "plicate"), "a type matches by its last path segment")

	for body, want := range map[string]bool{
		`{"errors":[{"title":"x"}]}`:             true,
		`{"errors":[{"title":"x"}],"data":null}`: true,
		`{"errors":[{"title":"x"}],"data":{}}`:   false,
		`{"data":{"id":"1"}}`:                    false,
		`{"errors":[]}`:                          false,
	} {
		b, ok := ParseBody([]byte(body))
		require.True(t, ok, body)
		assert.Equal(t, want, b.OnlyErrors(), body)
	}
	_, ok := ParseBody([]byte(`<html>`))
	assert.False(t, ok)
	b, ok := ParseBody([]byte(`{"title":"ConnectionException","connection_issue":"TooManyConnections"}`))
	require.True(t, ok)
	assert.Equal(t, "TooManyConnections", b.ConnectionIssue)
}

// FuzzParseAnswer: any answer parses without panicking into a text that
// names the request and holds no control character.
func FuzzParseAnswer(f *testing.F) {
	f.Add(429, []byte(`{"title":"Too Many Requests","status":429}`), "0", "1790000000", "30")
	f.Add(403, []byte(`{"errors":[{"code":187,"message":"dup"}]}`), "", "", "")
	f.Add(500, []byte("\xff\xfe\x00\x1b[31m"), "", "", "Wed, 21 Oct 2026 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, status int, body []byte, remaining, reset, retryAfter string) {
		h := header("x-rate-limit-remaining", remaining, "x-rate-limit-reset", reset, "Retry-After", retryAfter)
		a := ParseAnswer("GET", "/p", status, h, body, time.Unix(1_800_000_000, 0))
		s := Describe("x", &a, "")
		if !strings.HasPrefix(s, "x: GET /p: ") {
			t.Fatalf("text %q", s)
		}
		if !(UsageCapped(&a) || RateLimited(&a)) && !a.RetryAt.IsZero() {
			t.Fatalf("RetryAt %v on an answer that is no limit", a.RetryAt)
		}
		if _, ok := ParseBody(body); !ok && strings.ContainsFunc(a.Detail, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Fatalf("hint %q holds a control character", a.Detail)
		}
	})
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func TestRetryAt(t *testing.T) {
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	window, day := now.Add(7*time.Minute), now.Add(5*time.Hour)
	cases := []struct {
		name     string
		h        http.Header
		rate     time.Time // RetryAt
		capReset time.Time // CapRetryAt
	}{
		{"no headers: X gave no time", header(), time.Time{}, time.Time{}},
		{"window exhausted", header("x-rate-limit-remaining", "0", "x-rate-limit-reset", epoch(window)), window, time.Time{}},
		{"window reset without a count", header("x-rate-limit-reset", epoch(window)), window, time.Time{}},
		{"window not exhausted: not the cause", header("x-rate-limit-remaining", "5", "x-rate-limit-reset", epoch(window)), time.Time{}, time.Time{}},
		{"retry-after seconds", header("Retry-After", "30"), now.Add(30 * time.Second), now.Add(30 * time.Second)},
		{"retry-after HTTP date", header("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), now.Add(90 * time.Second), now.Add(90 * time.Second)},
		{"retry-after date in the past", header("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), time.Time{}, time.Time{}},
		{"retry-after zero", header("Retry-After", "0"), time.Time{}, time.Time{}},
		{"retry-after negative", header("Retry-After", "-5"), time.Time{}, time.Time{}},
		{"retry-after garbage", header("Retry-After", "soon"), time.Time{}, time.Time{}},
		{"later of window and retry-after (window)", header("x-rate-limit-remaining", "0", "x-rate-limit-reset", epoch(window), "Retry-After", "30"), window, now.Add(30 * time.Second)},
		{"later of window and retry-after (retry-after)", header("x-rate-limit-remaining", "0", "x-rate-limit-reset", epoch(now.Add(10*time.Second)), "Retry-After", "60"), now.Add(time.Minute), now.Add(time.Minute)},
		{"user day exhausted outranks open window", header("x-rate-limit-remaining", "40", "x-rate-limit-reset", epoch(window),
			"x-user-limit-24hour-remaining", "0", "x-user-limit-24hour-reset", epoch(day)), day, day},
		{"app day exhausted, user day open", header("x-app-limit-24hour-remaining", "0", "x-app-limit-24hour-reset", epoch(day.Add(time.Hour)),
			"x-user-limit-24hour-remaining", "3", "x-user-limit-24hour-reset", epoch(day)), day.Add(time.Hour), day.Add(time.Hour)},
		{"bad reset values", header("x-rate-limit-remaining", "0", "x-rate-limit-reset", "-1",
			"x-user-limit-24hour-remaining", "0", "x-user-limit-24hour-reset", "soon"), time.Time{}, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rl := ParseRateLimit(tc.h, now)
			assert.Equal(t, tc.rate, rl.RetryAt(now).UTC(), "RetryAt")
			assert.Equal(t, tc.capReset, rl.CapRetryAt(now).UTC(), "CapRetryAt")
		})
	}
}

func TestParseRateLimitCounts(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	rl := ParseRateLimit(header("x-rate-limit-limit", "100", "x-rate-limit-remaining", " 7 ",
		"x-user-limit-24hour-limit", "abc", "x-app-limit-24hour-remaining", "-3"), now)
	assert.Equal(t, 100, rl.Limit)
	assert.Equal(t, 7, rl.Remaining)
	assert.Equal(t, -1, rl.UserDayLimit, "unreadable")
	assert.Equal(t, -1, rl.UserDayRemaining, "absent")
	assert.Equal(t, -1, rl.AppDayRemaining, "negative")
	assert.True(t, rl.Reset.IsZero())
}
