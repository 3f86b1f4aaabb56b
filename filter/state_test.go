package filter

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)} }

func TestDedupTTL(t *testing.T) {
	c := newClock()
	d := newDedup(10, time.Minute)
	d.add("a", c.now())
	assert.True(t, d.has("a", c.now()))
	assert.False(t, d.has("b", c.now()))
	c.advance(59 * time.Second)
	assert.True(t, d.has("a", c.now()))
	c.advance(time.Second)
	assert.False(t, d.has("a", c.now()), "expired at exactly ttl")
	d.add("b", c.now())
	assert.Equal(t, 1, d.len(), "adding evicts expired keys")
}

func TestDedupBounded(t *testing.T) {
	c := newClock()
	d := newDedup(3, time.Hour)
	for i := range 10 {
		d.add(fmt.Sprint(i), c.now())
		c.advance(time.Second)
		assert.LessOrEqual(t, d.len(), 3)
		assert.LessOrEqual(t, len(d.fifo), 3, "the ring never outgrows max")
	}
	for i := range 7 {
		assert.False(t, d.has(fmt.Sprint(i), c.now()), "oldest keys go first: %d", i)
	}
	for i := 7; i < 10; i++ {
		assert.True(t, d.has(fmt.Sprint(i), c.now()), "newest keys stay: %d", i)
	}
}

func TestDedupForgetAndReAdd(t *testing.T) {
	c := newClock()
	d := newDedup(2, time.Hour)
	d.add("a", c.now())
	assert.True(t, d.forget("a"))
	assert.False(t, d.forget("a"), "second forget finds nothing")
	assert.False(t, d.has("a", c.now()))
	// Re-adding leaves a stale ring entry for "a" at the front; evicting
	// it must not drop the new "a".
	c.advance(time.Minute)
	d.add("a", c.now())
	d.add("b", c.now())
	assert.True(t, d.has("a", c.now()), "the stale entry must not evict the live key")
	assert.True(t, d.has("b", c.now()))
	d.add("c", c.now())
	assert.False(t, d.has("a", c.now()), "now a is the oldest live key")
	assert.True(t, d.has("b", c.now()))
	assert.True(t, d.has("c", c.now()))
	assert.LessOrEqual(t, len(d.fifo), 2)
}

func TestLimiterBucket(t *testing.T) {
	c := newClock()
	l := newLimiter(RateLimit{Every: 10 * time.Second, Burst: 3})
	for i := range 3 {
		assert.True(t, l.allow("u", c.now()), "burst token %d", i)
	}
	assert.False(t, l.allow("u", c.now()), "burst spent")
	assert.True(t, l.allow("v", c.now()), "users have separate buckets")
	c.advance(9 * time.Second)
	assert.False(t, l.allow("u", c.now()), "not yet a whole token")
	c.advance(time.Second)
	assert.True(t, l.allow("u", c.now()), "one token after Every")
	assert.False(t, l.allow("u", c.now()))
	c.advance(time.Hour)
	for i := range 3 {
		assert.True(t, l.allow("u", c.now()), "refills up to burst only: %d", i)
	}
	assert.False(t, l.allow("u", c.now()))
	l.refund("u", c.now())
	assert.True(t, l.allow("u", c.now()), "refund gives a token back")
	assert.False(t, l.allow("u", c.now()))
}

func TestLimiterClockBackwards(t *testing.T) {
	c := newClock()
	l := newLimiter(RateLimit{Every: time.Second, Burst: 1})
	require.True(t, l.allow("u", c.now()))
	c.advance(-time.Hour)
	assert.False(t, l.allow("u", c.now()), "a clock going back earns nothing")
	c.advance(time.Hour + time.Second)
	assert.True(t, l.allow("u", c.now()))
}

func TestLimiterSweepBoundsMemory(t *testing.T) {
	c := newClock()
	l := newLimiter(RateLimit{Every: time.Second, Burst: 2})
	for i := range 5000 {
		l.allow(fmt.Sprint(i), c.now())
		c.advance(time.Second) // every earlier bucket is full again
	}
	assert.LessOrEqual(t, len(l.buckets), minSweep+1, "full buckets are swept")
	// Active users keep their state through a sweep.
	c2 := newClock()
	l2 := newLimiter(RateLimit{Every: time.Hour, Burst: 1})
	require.True(t, l2.allow("active", c2.now()))
	for i := range 3 * minSweep {
		l2.allow(fmt.Sprint(i), c2.now())
	}
	assert.False(t, l2.allow("active", c2.now()), "a sweep must not reset a non-full bucket")
}
