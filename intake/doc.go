// Package intake is the webhook's half of the bot: it takes each verified,
// decoded delivery from events.Handler, runs the filter, and stores one job
// per command so that the delivery can be answered 200.
//
// A delivery is answered 200 only when every job it produced is durable:
// on the queue, or in a local append-only spool that is synced before
// Handle returns: when the queue cannot be reached, or always with
// Config.Journal (see Journal first below). A background
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
// # Journal first
//
// With Config.Journal (the webhook server sets it for a SQLite queue it
// opens, since spool and queue then share one machine's disk) the spool is
// the first stop of every job, and the queue the second. Handle appends a
// delivery's jobs to the spool and answers once they are synced: appends
// that arrive while a write is in progress share the next write and its
// one fdatasync (group commit), so a delivery waits for a sync of a few
// hundred bytes, not for a queue transaction. Run, woken by each append,
// moves the journaled jobs to the queue at once when idle and at most
// every 20 ms under load, up to 256 jobs a move: one transaction on a
// queue that implements BatchEnqueuer (queue/sqlite), concurrent Enqueue
// calls on any other. The job id is the queue's dedup key, so the move is
// idempotent: a crash between a move and the spool noting it (kill -9
// leaves the journal as it was) moves those jobs again at the next start
// and the queue stores them once. Close moves what is left (for at most
// 10 s) before it closes the spool. The queue holding a job at most about
// 20 ms after its 200 is the price; a worker still picks it up within
// milliseconds of the move.
//
// A spool directory serves one process: on Linux it is locked while open,
// and a second webhook on the same SPOOL_DIR fails at start.
//
// Delivery is at-least-once: a crash while draining sends a segment's jobs
// again, and X itself delivers duplicates across webhook restarts. The
// worker's idempotency checks (package worker) absorb them.
//
//	in, err := intake.New(intake.Config{Queue: q, Filter: f, SpoolDir: dir})
//	h, err := events.NewHandler(events.HandlerConfig{Secrets: secrets, Callback: in.Handle})
//	go in.Run(ctx)
package intake
