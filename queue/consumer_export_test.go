package queue

import (
	"sync"
	"time"
)

// This file gives the external tests (package queue_test) access to the
// Consumer's clock and randomness.

// SetConsumerClock makes c use clk. Call it before Run.
func SetConsumerClock(c *Consumer, clk *FakeClock) { c.clk = clk }

// SetConsumerRand makes c use r for jitter. Call it before Run.
func SetConsumerRand(c *Consumer, r func() float64) {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	c.rnd = r
}

// FakeClock is a manually advanced clock. Timers fire on Advance.
type FakeClock struct {
	mu        sync.Mutex
	now       time.Time
	timers    []*fakeTimer
	requested []time.Duration
}

// NewFakeClock returns a clock stopped at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now returns the clock's time.
func (f *FakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer implements clock.
func (f *FakeClock) NewTimer(d time.Duration) timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{clk: f, at: f.now.Add(d), d: d, ch: make(chan time.Time, 1)}
	f.requested = append(f.requested, d)
	if d <= 0 {
		t.fired = true
		t.ch <- f.now
		return t
	}
	f.timers = append(f.timers, t)
	return t
}

// Advance moves the clock forward and fires the timers that are due.
func (f *FakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.timers[:0]
	for _, t := range f.timers {
		if !t.at.After(f.now) {
			t.fired = true
			t.ch <- f.now
			continue
		}
		kept = append(kept, t)
	}
	f.timers = kept
}

// Requested returns the durations of every timer asked for so far, in order.
func (f *FakeClock) Requested() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.requested...)
}

// Pending returns the remaining durations of the timers not yet fired or
// stopped.
func (f *FakeClock) Pending() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	for _, t := range f.timers {
		out = append(out, t.at.Sub(f.now))
	}
	return out
}

type fakeTimer struct {
	clk   *FakeClock
	at    time.Time
	d     time.Duration
	ch    chan time.Time
	fired bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	if t.fired {
		return false
	}
	for i, x := range t.clk.timers {
		if x == t {
			t.clk.timers = append(t.clk.timers[:i], t.clk.timers[i+1:]...)
			break
		}
	}
	t.fired = true
	return true
}
