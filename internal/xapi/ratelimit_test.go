package xapi

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

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
