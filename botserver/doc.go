// Package botserver runs the whole bot in one process, for one machine
// with no public URL: a home PC with a GPU. It composes the two halves the
// example binaries run apart, the way the demo (internal/demo) does:
//
//	X ──GET /2/activity/stream──▶ webhookserver (stream consumer, filter,
//	                               intake) ──▶ queue (SQLite) ──▶ workerserver
//	                               (model, reply) ──▶ X
//
// Intake reads X's activity stream (package stream) with the app's Bearer
// token and puts one job per command on the queue; its Notify wakes the
// worker at once. Both halves share one open queue, one Prometheus
// registry and one listener:
//
//	GET /healthz   200 while the process serves
//	GET /readyz    200 when the queue answers, the stream is connected and
//	               the worker consumes; else 503 naming the half that is not
//	GET /metrics   both halves' metrics (moetron_stream_*, moetron_webhook_*,
//	               moetron_worker_*, moetron_consumer_*)
//	/ops/          the worker's operator page (package workerserver/opspage;
//	               loopback connections only unless OPS_TOKEN is set, also
//	               when this listener is public)
//
// With DELIVERY=webhook or both, the same listener also serves the webhook
// path.
//
// # Configuration
//
// The environment variables (each also a flag, see Config.Flags) are those
// of examples/webhook and examples/worker: BOT_USER_ID, X_CONSUMER_KEY,
// X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET (the worker
// answers with them, and with them intake keeps the bot's X Activity API
// subscriptions itself), X_BEARER_TOKEN (reads the stream), X_API_BASE,
// QUEUE_BACKEND, QUEUE_NAME, QUEUE_PATH, AZURE_STORAGE_CONNECTION_STRING,
// MODEL_PATH, ORT_LIB, ORT_CUDA_PLUGIN, DEVICE, IMAGE_FORMAT, WORKER_*,
// SPOOL_DIR, STREAM_*, DELIVERY and METRICS_ADDR. What differs from the
// two binaries:
//
//   - DELIVERY defaults to stream.
//   - STREAM_INITIAL_BACKFILL_MINUTES defaults to 5 (FromEnv): after a
//     crash or a restart the bot reads the last five minutes again. What it
//     had already answered becomes a job again, and the worker's job ledger
//     (WORKER_LEDGER, by default a file beside the SQLite queue) answers it
//     with nothing: one answer per command across the restart.
//   - The one listener is METRICS_ADDR when set, else WEBHOOK_ADDR (or
//     :$PORT); with neither, 127.0.0.1:8080 for stream delivery (nothing
//     outside needs to reach it) and :8080 when the webhook is served.
//
// A missing required value is one error naming every missing variable;
// secrets never appear in logs, errors or -h.
//
// # Lifecycle
//
// Run serves until its context ends (only main handles signals: pass a
// signal.NotifyContext), or until a half stops for good (X refused the
// Bearer token: Run returns that error). Then intake stores the event in
// hand and stops reading, and the worker drains: jobs in flight finish, or
// at WORKER_DRAIN_TIMEOUT go back to the queue. Jobs on the queue wait for
// the next start.
package botserver
