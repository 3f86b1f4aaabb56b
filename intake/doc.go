// Package intake is the webhook's half of the bot: it takes each verified,
// decoded delivery from events.Handler, runs the filter, and stores one job
// per command so that the delivery can be answered 200.
//
// A delivery is answered 200 only when every job it produced is durable:
// on the queue, or, when the queue cannot be reached, in a local
// append-only spool that is fsynced before Handle returns. A background
// drainer (Run) moves spooled jobs to the queue once it answers again. Only
// when both the queue and the spool fail does Handle return an error, so
// that the webhook answers 503 and X delivers again; the filter is then
// told to Forget the failed jobs, so that the retry is not dropped as a
// duplicate.
//
// After a failed enqueue the intake marks the queue down and spools at once
// (without waiting out EnqueueTimeout on every request) until a drain
// succeeds.
//
// Delivery is at-least-once: a crash while draining sends a segment's jobs
// again, and X itself delivers duplicates across webhook restarts. The
// worker's idempotency checks (package worker) absorb them.
//
//	in, err := intake.New(intake.Config{Queue: q, Filter: f, SpoolDir: dir})
//	h, err := events.NewHandler(events.HandlerConfig{Secrets: secrets, Callback: in.Handle})
//	go in.Run(ctx)
package intake
