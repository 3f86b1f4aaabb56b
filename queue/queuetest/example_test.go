package queuetest_test

import (
	"testing"
	"time"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/queue/queuetest"
)

// A backend of your own passes the suite from a test of its package: Run
// it with a factory of fresh, empty queues on the clock now. (This example
// compiles only; mem's own test runs the suite.)
func ExampleRun() {
	_ = func(t *testing.T) { // func TestConformance(t *testing.T)
		queuetest.Run(t, func(t *testing.T, now func() time.Time) queue.Queue {
			q, err := mem.New("conformance", &mem.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return q
		}, nil)
	}
}
