package xapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimit is the rate-limit state X reported in an answer's headers.
// Counts are -1 when the header was absent or unreadable; times are zero
// then.
type RateLimit struct {
	Limit, Remaining int
	Reset            time.Time // x-rate-limit-reset (the 15-minute window)
	// The 24-hour caps some endpoints (POST /2/tweets, DMs) report.
	UserDayLimit, UserDayRemaining int
	UserDayReset                   time.Time
	AppDayLimit, AppDayRemaining   int
	AppDayReset                    time.Time
	// RetryAfter is the Retry-After header: seconds, or an HTTP date
	// taken relative to the time the answer was read; 0 if absent, not
	// above 0 or in the past.
	RetryAfter time.Duration
}

// ParseRateLimit reads the x-rate-limit-*, x-user-limit-24hour-*,
// x-app-limit-24hour-* and Retry-After headers of an answer read at now.
func ParseRateLimit(h http.Header, now time.Time) RateLimit {
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
		if err != nil || n < 0 {
			return -1
		}
		return n
	}
	epoch := func(name string) time.Time {
		n, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
		if err != nil || n <= 0 {
			return time.Time{}
		}
		return time.Unix(n, 0)
	}
	rl := RateLimit{
		Limit: num("x-rate-limit-limit"), Remaining: num("x-rate-limit-remaining"), Reset: epoch("x-rate-limit-reset"),
		UserDayLimit: num("x-user-limit-24hour-limit"), UserDayRemaining: num("x-user-limit-24hour-remaining"),
		UserDayReset: epoch("x-user-limit-24hour-reset"),
		AppDayLimit:  num("x-app-limit-24hour-limit"), AppDayRemaining: num("x-app-limit-24hour-remaining"),
		AppDayReset: epoch("x-app-limit-24hour-reset"),
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			if n > 0 {
				rl.RetryAfter = time.Duration(n) * time.Second
			}
		} else if t, err := http.ParseTime(v); err == nil && t.After(now) {
			rl.RetryAfter = t.Sub(now)
		}
	}
	return rl
}

// RetryAt is when a rate-limited request may be sent again: the latest of
// the resets of the windows X sent that are exhausted (remaining 0 or not
// sent) and now + RetryAfter. Zero when X gave no time. See the package
// doc.
func (rl RateLimit) RetryAt(now time.Time) time.Time {
	return rl.latest(now, true)
}

// CapRetryAt is RetryAt for a usage cap: the 15-minute window is left out.
func (rl RateLimit) CapRetryAt(now time.Time) time.Time {
	return rl.latest(now, false)
}

func (rl RateLimit) latest(now time.Time, window bool) time.Time {
	var at time.Time
	take := func(remaining int, reset time.Time) {
		if remaining <= 0 && reset.After(at) {
			at = reset
		}
	}
	if window {
		take(rl.Remaining, rl.Reset)
	}
	take(rl.UserDayRemaining, rl.UserDayReset)
	take(rl.AppDayRemaining, rl.AppDayReset)
	if rl.RetryAfter > 0 {
		take(0, now.Add(rl.RetryAfter))
	}
	return at
}
