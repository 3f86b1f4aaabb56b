package intake

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// counts records the Intake's metric hook calls, by hook and label.
type counts struct {
	mu       sync.Mutex
	n        map[string]int // "hook/label" -> sum
	enqueues int            // EnqueueDone calls
}

func newCounts() *counts { return &counts{n: map[string]int{}} }

func (c *counts) add(key string, n int) {
	c.mu.Lock()
	c.n[key] += n
	c.mu.Unlock()
}

func (c *counts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *counts) hooks() *Metrics {
	return &Metrics{
		Event:    func(kind string) { c.add("event/"+kind, 1) },
		Decided:  func(reason string, n int) { c.add("decided/"+reason, n) },
		Enqueued: func(where string, n int) { c.add("enqueued/"+where, n) },
		EnqueueDone: func(time.Duration) {
			c.mu.Lock()
			c.enqueues++
			c.mu.Unlock()
		},
		Drained:      func(n int) { c.add("drained", n) },
		SpoolDamaged: func() { c.add("damaged", 1) },
	}
}

func (c *counts) enqueueCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enqueues
}

// A nil *Metrics and a Metrics with nil fields do nothing.
func TestNilMetricsHooks(t *testing.T) {
	for _, m := range []*Metrics{nil, {}} {
		assert.NotPanics(t, func() {
			m.event("k")
			m.decided("job", 1)
			m.enqueued(WhereQueue, 1)
			m.enqueueDone(time.Millisecond)
			m.drained(1)
			m.spoolDamaged()
		})
	}
}
