package stream

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// hookCounts records the Consumer's metric hook calls.
type hookCounts struct {
	mu sync.Mutex
	hookSnap
}

// hookSnap is what the hooks saw.
type hookSnap struct {
	open         bool // the last Connected value
	reconnecting int
	taken        int
	lastTaken    time.Time
	skipped      map[string]int
	failed       map[string]int
}

func (h *hookCounts) hooks() *Metrics {
	h.skipped, h.failed = map[string]int{}, map[string]int{}
	return &Metrics{
		Connected:    func(open bool) { h.mu.Lock(); h.open = open; h.mu.Unlock() },
		Reconnecting: func() { h.mu.Lock(); h.reconnecting++; h.mu.Unlock() },
		Taken:        func(at time.Time) { h.mu.Lock(); h.taken++; h.lastTaken = at; h.mu.Unlock() },
		Skipped:      func(reason string) { h.mu.Lock(); h.skipped[reason]++; h.mu.Unlock() },
		Failed:       func(kind string, _ error) { h.mu.Lock(); h.failed[kind]++; h.mu.Unlock() },
	}
}

// snapshot returns a copy, safe to read while the Consumer runs.
func (h *hookCounts) snapshot() hookSnap {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := hookSnap{open: h.open, reconnecting: h.reconnecting, taken: h.taken, lastTaken: h.lastTaken,
		skipped: map[string]int{}, failed: map[string]int{}}
	for k, v := range h.skipped {
		c.skipped[k] = v
	}
	for k, v := range h.failed {
		c.failed[k] = v
	}
	return c
}

// A nil *Metrics and a Metrics with nil fields do nothing.
func TestNilMetricsHooks(t *testing.T) {
	for _, m := range []*Metrics{nil, {}} {
		assert.NotPanics(t, func() {
			m.connected(true)
			m.reconnecting()
			m.taken(time.Now())
			m.skipped(SkipKeepAlive)
			m.failed(ErrKindHTTP, errors.New("x"))
		})
	}
}

func TestReasonListsAreDistinct(t *testing.T) {
	for _, l := range [][]string{SkipReasons(), ErrorKinds()} {
		seen := map[string]bool{}
		for _, v := range l {
			assert.False(t, seen[v], v)
			seen[v] = true
		}
	}
	assert.Len(t, SkipReasons(), 6)
	assert.Len(t, ErrorKinds(), 7)
}
