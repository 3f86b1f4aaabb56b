package filter

import "time"

// RateLimit is a per-user token bucket: each user may run Burst commands
// at once, and earns one more every Every, up to Burst. The zero value
// means no limit.
type RateLimit struct {
	// Every is the time to earn one command back. 0 means no limit.
	Every time.Duration
	// Burst is the most commands a user may run back to back. 0 means 1
	// when Every is set.
	Burst int
}

// limiter keeps one bucket per user. A bucket that has refilled completely
// is the same as no bucket, so sweep drops those; what remains are users
// active within the last Burst*Every, which bounds memory by activity.
// Not safe for concurrent use; Filter holds a lock.
type limiter struct {
	every     time.Duration
	burst     float64
	buckets   map[string]*bucket
	nextSweep int
}

type bucket struct {
	tokens float64
	last   time.Time
}

const minSweep = 1024

func newLimiter(rl RateLimit) *limiter {
	return &limiter{
		every:     rl.Every,
		burst:     float64(rl.Burst),
		buckets:   make(map[string]*bucket),
		nextSweep: minSweep,
	}
}

// level returns the tokens of b at now (refilled since b.last).
func (l *limiter) level(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.last)
	if elapsed <= 0 {
		return b.tokens
	}
	t := b.tokens + float64(elapsed)/float64(l.every)
	if t > l.burst {
		t = l.burst
	}
	return t
}

// allow takes a token from user's bucket if there is one.
func (l *limiter) allow(user string, now time.Time) bool {
	b, ok := l.buckets[user]
	if !ok {
		if len(l.buckets) >= l.nextSweep {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[user] = b
	}
	t := l.level(b, now)
	if now.After(b.last) {
		b.last = now
	}
	if t < 1 {
		b.tokens = t
		return false
	}
	b.tokens = t - 1
	return true
}

// refund gives user back one token (an event that was taken but could not
// be queued).
func (l *limiter) refund(user string, now time.Time) {
	b, ok := l.buckets[user]
	if !ok {
		return
	}
	b.tokens = l.level(b, now) + 1
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	if now.After(b.last) {
		b.last = now
	}
}

// sweep drops full buckets and sets the next sweep at twice what is left,
// so sweeping costs amortised O(1) per new user.
func (l *limiter) sweep(now time.Time) {
	for u, b := range l.buckets {
		if l.level(b, now) >= l.burst {
			delete(l.buckets, u)
		}
	}
	l.nextSweep = max(2*len(l.buckets), minSweep)
}
