package intake_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/intake"
	"github.com/moetron/moetron/queue/mem"
)

// One delivery in, one job on the queue: Handle is the callback of the
// webhook's events.Handler and of the stream consumer alike, and returns
// once the job is durable (here on an in-memory queue; with the queue down,
// in the spool). The same event again is dropped as a duplicate.
func ExampleIntake_Handle() {
	spool, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(spool)
	q, _ := mem.New("jobs", nil)
	f, _ := filter.New(filter.Config{BotUserID: eventstest.BotUserID, Table: filter.DefaultTable()})
	in, err := intake.New(intake.Config{Queue: q, Filter: f, SpoolDir: spool})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer in.Close()

	ctx := context.Background()
	p, _ := events.Decode(eventstest.Fixture("mention_moerand"))
	for range 2 {
		if err := in.Handle(ctx, p, nil); err != nil {
			fmt.Println(err)
		}
	}
	msgs, _ := q.Receive(ctx, 10, time.Minute)
	job, _ := filter.ParseJob(msgs[0].Body)
	fmt.Println(len(msgs), job.Command, in.Readiness(ctx).State)
	// Output: 1 rand ready
}

// Metrics are plain hooks: count what you like, with no metrics library
// (webhookserver.IntakeMetrics turns them into Prometheus collectors).
// A nil *Metrics, or a nil field, is a no-op.
func ExampleMetrics() {
	q, _ := mem.New("jobs", nil)
	f, _ := filter.New(filter.Config{BotUserID: eventstest.BotUserID, Table: filter.DefaultTable()})
	decisions := map[string]int{}
	enqueued := 0
	in, err := intake.New(intake.Config{Queue: q, Filter: f, Metrics: &intake.Metrics{
		// Without a spool or Run, only this goroutine's Handle calls the
		// hooks; a server with concurrent deliveries needs counters safe
		// for concurrent use (Prometheus' are).
		Decided:  func(reason string, n int) { decisions[reason] += n },
		Enqueued: func(where string, n int) { enqueued += n },
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer in.Close()
	p, _ := events.Decode(eventstest.Fixture("mention_moerand"))
	for range 2 {
		_ = in.Handle(context.Background(), p, nil)
	}
	fmt.Println(decisions[string(filter.ReasonJob)], decisions[string(filter.ReasonDuplicate)], enqueued)
	// Output: 1 1 1
}
