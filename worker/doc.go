// Package worker is the job handler of the bot's worker: it turns one queue
// message into one image reply on X, exactly once as far as X lets a client
// know. Run it with a queue.Consumer:
//
//	w, err := worker.New(worker.Config{Generator: gen, Replier: x, BotUserID: botID})
//	c, err := queue.NewConsumer(q, w, queue.ConsumerConfig{Concurrency: gen.MaxBatch(), PoisonFactory: pf})
//	err = c.Run(ctx)
//
// # What Handle does
//
//  1. Parse the message with filter.Table.ParseJob (every accepted form,
//     base64 and the original bot's included). A message that is not a job,
//     names an unknown command, or whose reply text cannot be rendered is
//     invalid: Handle returns queue.Permanent and the Consumer moves it to
//     the poison queue with the error.
//  2. A message that carries the done marker ("done":"<reply id>", see
//     below) was answered already: Handle returns nil and it is deleted.
//  3. Claim the job id in the Ledger (Config.Ledger; a MemLedger by
//     default, a worker/ledgerfile file in workerserver). Two messages with
//     the same job id (a webhook retry, a spool drained after an enqueue
//     whose answer was lost, a duplicate across webhook and stream) thus
//     get one answer whatever their dequeue counts: a copy whose job is
//     being answered right now is put back (queue.RetryAfter for
//     ClaimedRetry, outcome in_flight); a copy of an answered job is only
//     deleted; a copy of a job whose earlier claim ended without a known
//     outcome (a killed process, an uncertain post) reads back first.
//  4. Seed and psi come from the imagegen.Commands table with the job id as
//     the key, so rand and mess draw the same "random" seed on every delivery
//     of a job and a redelivered job regenerates the same image and text.
//  5. A redelivered job (dequeue count above 1, marked for read-back by a
//     deferral, or unfinished in the ledger) first asks X whether its answer exists: FindReply for a reply
//     to respond_id since received_at minus ReadBackMargin, FindDM for a DM to
//     user_id with the same text (the text holds the seed and a request id
//     derived from the job id, so it identifies this job). Found: the job is
//     marked done and deleted without generating anything.
//  6. Generate the image. Concurrent Handle calls (the Consumer's
//     Concurrency) are batched by the imagegen.Generator.
//  7. Reply: a tweet job with ReplyWithImage(respond_id), a DM job with
//     DMWithImage(user_id), with the Replier's template text.
//  8. Record the answer in the ledger, mark done, then return nil: the message body is replaced by the job
//     plus "done":"<reply id>" with queue.Delivery.Replace, which keeps the
//     lease. A crash between the reply and the Consumer's delete thus leaves
//     a message that step 2 only deletes. If the marker cannot be written the
//     job still succeeds; a redelivery reads back (step 5).
//
// # Errors from X
//
//	rate limit (429)            queue.RetryAfter until X's reset (+1 s; RateLimitWait if X sent none)
//	usage cap (429 usage-capped) like a rate limit when the reset is known and within
//	                            MaxUsageCapWait (24 h), else the job ends (nil), logged at Error
//	duplicate content, not allowed (403), not found (404)
//	                            the job ends (nil): sending again cannot succeed
//	*reply.UncertainError, 5xx, network, 401
//	                            an error: the Consumer retries with backoff, then poisons;
//	                            the retry reads back first (step 5)
//	other refusals (400, text or image too large)
//	                            queue.Permanent: poisoned at once, kept for inspection
//
// A rate limit is a deferral, not a failure. Delivery.Extend would keep the
// job's dequeue count from growing only while the handler holds it, tying up
// a Consumer slot (and, on a 24-hour limit, the drain) for the whole wait;
// returning RetryAfter frees the slot and the Consumer re-enqueues the job
// with the delay and a fresh dequeue count, so waiting never poisons a job.
// Because the copy starts at count 0, the worker first replaces the body with
// the job plus "redelivered":true, which makes the next delivery read back
// before answering.
//
// A usage cap usually resets at the start of the next day or month. A job
// that waits for a month is stale (and queue messages live 7 days), so only
// a cap that resets soon is waited for.
//
// Every outcome is reported to the Config.Metrics hooks (Metrics.Job, see
// Outcomes; the package depends on no metrics library, workerserver turns
// the hooks into Prometheus' moetron_worker_* collectors) and logged once
// with the job id, never with credentials.
//
// # Observer
//
// Config.Observer, when set, is told how each Handle call ended: a
// JobReport with the job, the outcome and its error, the seed, the
// generation and total latency, the image and the reply id. It is the seam
// for views of single jobs that metrics cannot give; package
// workerserver/opspage keeps the last jobs with a thumbnail of each image
// for the worker's operator page. It runs before Handle returns, so it must
// be quick; a panic in it is logged and does not change the job's result.
package worker
