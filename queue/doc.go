// Package queue is the durable job queue between the webhook and the worker:
// the Queue interface every backend implements, the rules for what a message
// body may hold, and the Consumer, the worker loop that runs a Handler on
// every message with the reliability of the Azure Functions queue trigger.
//
// # The Queue interface
//
// Queue has Azure Storage Queue semantics, whatever the backend:
//
//   - Delivery is at least once. Receive hides a message for a visibility
//     timeout and returns it with a fresh receipt and an incremented
//     DequeueCount; unless it is deleted with that receipt before the
//     timeout ends, it is delivered again.
//   - A receipt dies when the message is received again or updated: Update
//     returns the new receipt, which must be used from then on. A stale
//     receipt gives ErrLeaseLost, which means "someone else owns it now" and
//     is not a failure of the caller.
//   - Receive never blocks: it returns an empty slice when nothing is
//     visible. Polling is the caller's business (the Consumer does it).
//   - Order is not guaranteed.
//   - EnqueueOptions.DedupKey, an opaque key the caller chooses (a job's
//     idempotency id), makes a second Enqueue with the same key within the
//     backend's dedup window (DefaultDedupWindow, 24 h) store nothing and
//     return the first message's id with Message.Duplicate set, even after
//     the first was deleted. SQLite and mem honour it; Azure cannot and
//     ignores it (best effort), so it is a guard, not a promise of
//     exactly-once.
//
// Errors are the sentinels of this package (ErrLeaseLost, ErrTooLarge,
// ErrInvalidBody, ErrQueueNotFound, ErrInvalidArgument, ErrClosed,
// ErrUnavailable); test them with errors.Is.
//
// # Message bodies
//
// The queue does not know what a job means; it carries bytes. The rules
// that concern it, from the project's message contract:
//
//   - A body is UTF-8, at most MaxBodySize (48 KiB) bytes, so that it fits an
//     Azure message once base64-encoded. CheckBody tests both; every backend
//     refuses other bodies with ErrTooLarge or ErrInvalidBody, and nothing
//     is enqueued.
//   - One job per message, as a JSON object (see the filter package for its
//     fields). Backends store the bytes as given; a reader must also accept
//     a body that is the base64 of that JSON (what Azure Functions and some
//     SDKs write). Decoding jobs is filter.ParseJob's work, not the queue's.
//   - On Azure the body is written as plain JSON text by default (what the
//     original Python bot wrote); base64 is an option of queue/azure.
//
// # Backends
//
//	queue/sqlite  the default: an embedded SQLite file shared by the webhook
//	              and the worker on one machine (Store.Queue(name))
//	queue/mem     in-process, for tests and the one-process demo
//	queue/azure   Azure Storage Queue (and Azurite), for workers on other
//	              machines competing for one queue
//
// queue/queuetest runs the same conformance suite against all three.
//
// # The Consumer
//
// NewConsumer(q, h, cfg) builds a worker loop; Run(ctx) runs it. Handler
// has one method, Handle(ctx, m); HandlerFunc adapts a function. The zero
// ConsumerConfig gives the Azure Functions defaults, except where noted:
//
// Fetching. Receive asks for up to BatchSize (16) messages, never more than
// there are free slots in the Concurrency semaphore, so a received message
// starts at once and no lease is held by a message that waits. A new batch
// is fetched when the number in flight is at or below NewBatchThreshold
// (BatchSize/2 × GOMAXPROCS). A GPU worker sets Concurrency to 1.
//
// Idle polling. An empty Receive is followed by a wait of
// MinPollInterval + rand(0.8..1.2) × 2^(k-1) × MinPollInterval after the
// k-th empty poll in a row, at most MaxPollInterval; a poll that finds work
// resets it. MaxPollInterval defaults to 2 s rather than Azure's 1 min,
// because a bot's answers are interactive and an idle poll is cheap (Azure
// bills 43,200 transactions a day for a 2 s poll). Wake, called by an
// enqueuer in the same process, cuts the wait short.
//
// Leases. Each message is received with Visibility (10 min) and renewed at
// half of it while the handler runs, each renewal with the receipt the last
// one returned; the final delete or update uses the newest receipt too. Long
// GPU work therefore never loses its message, and a crashed worker's
// message comes back after at most Visibility. If a renewal reports
// ErrLeaseLost, the handler's context is cancelled with a cause wrapping
// ErrLeaseLost (see context.Cause), the loss is logged and counted, and the
// consumer leaves the message to its new owner. A failing renewal for
// another reason is retried every Visibility/10 (at most 5 s).
//
// Results. nil deletes the message (a lost lease on delete is logged and
// counted, nothing more). An error makes the message visible again after
// RetryBackoff(attempt, err) (5 s doubling per attempt, ±20% jitter, capped
// at 5 min; Azure's default is 0). A failure on attempt MaxDequeueCount (5)
// poisons the message; so does a Permanent error, at once. A message that
// arrives with DequeueCount above MaxDequeueCount (earlier attempts crashed
// without reporting) is poisoned without running. A panic in a handler
// becomes a *PanicError, logged with its stack, and counts as a failure.
//
// Poison queue. Poisoned messages go to ConsumerConfig.Poison or, when that
// is nil, to PoisonFactory(q.Name() + "-poison"), which is opened on first
// use and Created if missing. One of the two is required: the Queue
// interface cannot open sibling queues itself. The poison message is a JSON
// envelope, a PoisonRecord: queue, message id, dequeue count, times, reason,
// the error text (cut to 1 KiB) and the original body as a JSON string, so
// DecodePoison gives the body back byte for byte. A body too large to
// envelope (only possible near the 48 KiB limit with heavy escaping) is
// copied verbatim and the error is only logged; DecodePoison then reports
// ErrNotPoisonRecord and still returns the body. A body that no queue would
// accept (over 48 KiB or not UTF-8, which only a foreign writer can leave)
// is poisoned in an envelope with BodyTruncated, BodySize and as much of
// the body as fits. If the poison queue still refuses the body for its size
// or encoding (a backend with a tighter limit), a 4 KiB truncated envelope
// is tried, and when that is refused too the message is deleted with an
// error log line and ConsumerMetrics.Dropped: such a message never loops.
// Poison messages never
// expire. The original is deleted only after the poison copy is durable;
// if the poison queue cannot be written, the message is released and
// poisoned on a later arrival.
//
// # Deferred messages (rate limits)
//
// A rate-limited job has not failed. Its handler returns
// RetryAfter(err, until-reset), and the consumer puts the message back for
// exactly that long without counting an attempt. Because Azure increments
// the dequeue count on every receive and offers no way to lower it, a
// deferral enqueues a copy of the body with that delay (keeping the
// original's expiry) and then deletes the original: the copy starts again
// at dequeue count 0. Consequences: the message id changes (jobs carry their
// own idempotency key), earlier failures are forgotten, and if the original
// cannot be deleted after the copy was written, the job exists twice
// (at-least-once, as always). If the copy cannot be written, the original is
// released with the delay instead, and that deferral does count.
//
// For a short wait a handler may instead hold the message: its lease is
// renewed automatically, and DeliveryFrom(ctx).Extend(ctx, d) hides it for
// d at once (renewals then continue from the new expiry), which saves
// renewals during a long known wait. The Delivery also reports the attempt
// number and lease expiry, and DeliveryFrom(ctx).Replace(ctx, body) rewrites
// the message's body while keeping the lease (the worker uses it to mark a
// job done before it is deleted, so a crash in between cannot answer twice).
// A handler never deletes its message or touches the receipt itself: the
// Consumer owns the receipt.
//
// # Stopping
//
// When Run's context ends (or Shutdown is called) the consumer stops
// fetching and drains: it waits for in-flight handlers, up to DrainTimeout
// (30 s) or until Shutdown's context ends. Then it cancels the handlers
// still running (cause ErrDrainTimeout) and makes their messages visible at
// once, so another worker can take them; Run and Shutdown return an error
// wrapping ErrDrainTimeout. A handler that ignores cancellation is not
// waited for; when it finally returns, its result is discarded. Handler
// contexts carry Run's context values but not its cancellation, so a
// graceful drain lets work finish.
//
// Queue failures never end Run: a failed Receive is logged and retried with
// the idle backoff, and the messages stay in the queue. Deletes, releases
// and poison writes are retried with backoff for up to OpTimeout (30 s) and
// never past the message's lease; a delete that still fails means the
// message is delivered again later.
//
// # Observability
//
// The Consumer logs to ConsumerConfig.Logger (nil: nothing) and calls the
// optional ConsumerMetrics hooks (received, succeeded, failed, deferred,
// poisoned, released, lease renewed, lease lost, handler latency, queue
// errors), for the worker binary to wire to Prometheus.
//
// Speed: BenchmarkConsumerOverhead compares the consumer with an empty
// handler against a bare Receive+Delete loop on queue/mem in the same run;
// the consumer adds a goroutine, a lease timer and a context per message,
// a few microseconds.
package queue
