// Package queuetest is the conformance suite and the load helpers shared by
// every queue.Queue backend.
//
// A backend's test calls Run with a Factory that makes a new, empty queue for
// each case:
//
//	func TestConformance(t *testing.T) {
//		queuetest.Run(t, func(t *testing.T, now func() time.Time) queue.Queue {
//			q, err := mem.New("jobs", &mem.Options{Now: now})
//			require.NoError(t, err)
//			return q
//		}, nil)
//	}
//
// The suite checks the contract written on queue.Queue, which is Azure
// Storage Queue's: visibility timeouts, receipts that change on every
// receive and update, dequeue counts, time-to-live, enqueue delays, body and
// argument limits, context cancellation and competing receivers. It assumes
// no ordering.
//
// Time: by default each case gets its own fake clock, passed to the Factory
// as now, and the suite steps it instead of sleeping, so the whole suite runs
// in milliseconds. A backend whose clock cannot be replaced (Azure on
// Azurite) sets Options.RealTime; the suite then sleeps for real. Real-time
// cases use whole seconds (1 to 2 s visibility, as Azure counts in seconds)
// and run in parallel, so the suite takes a few seconds.
//
// Fill, Drain and Bench measure throughput the same way for every backend;
// the bench/queuebench program prints them as one table.
package queuetest
