// Package webhookserver is the webhook half of the bot as a ready server: it
// reads the configuration, opens the queue and the spool, and serves X's
// webhook next to health, readiness and metrics endpoints, so that a binary
// (examples/webhook, examples/demo) or a user's own main only loads a Config
// and calls Run.
//
// # Endpoints
//
//	WEBHOOK_PATH (default /webhook)  GET: CRC challenge; POST: deliveries
//	                                 (events.Handler calling intake.Handle);
//	                                 not served with DELIVERY=stream
//	GET /healthz                     200 while the process serves
//	GET /readyz                      200 when the queue answers (and, with
//	                                 stream delivery, the stream is
//	                                 connected), else 503
//	GET /metrics                     Prometheus: here for local clients only (LocalOnly), or on METRICS_ADDR
//
// The metrics are IntakeMetrics (requests by outcome, signature failures,
// events by kind, filter decisions including duplicates, jobs enqueued by
// where, enqueue latency, spool drains), moetron_webhook_registration_ok,
// StreamMetrics with stream delivery (moetron_stream_connected,
// _reconnects_total, _events_taken_total, _lines_skipped_total,
// _errors_total, _last_event_age_seconds), and the Go and process
// collectors unless Options.Registry is given. The intake and stream
// packages only call hooks (intake.Metrics, stream.Metrics); this server
// owns the Prometheus collectors and feeds them through IntakeMetrics.Hooks
// and StreamMetrics.Hooks.
//
// # Delivery
//
// DELIVERY (flag -delivery) says how X's events arrive:
//
//	webhook (default)  X POSTs to WEBHOOK_PATH; needs X_CONSUMER_SECRET
//	stream             the server reads X's activity stream
//	                   (GET /2/activity/stream, package stream) with
//	                   X_BEARER_TOKEN; no public URL, no webhook route, and
//	                   X_CONSUMER_SECRET is not needed
//	both               both, into the same intake
//
// The stream consumer hands each event to the same intake.Handle as the
// webhook, so one event that arrives both ways (or twice on the stream,
// after a backfill) becomes one job through the filter's duplicate
// suppression. It runs under Run's context, finishes the event in hand
// at shutdown, and reconnects on its own (see package stream); a 401 or
// 403 from X stops Run with an error matching stream.ErrUnauthorized.
// Options.Stream tunes it; so do STREAM_STALL_TIMEOUT, STREAM_MIN_BACKOFF,
// STREAM_MAX_BACKOFF (Go durations; defaults 30s, 1s, 64s) and
// STREAM_INITIAL_BACKFILL_MINUTES (0 to 5, default 0: the backfill asked for
// on the first connection, to read what arrived while the process was down).
//
// # Configuration
//
// Config holds the environment variables' values; FromEnv reads them and Config.Flags binds
// each to a flag (-x-consumer-secret, -bot-user-id, -webhook-addr, ...).
// BOT_USER_ID is required, X_CONSUMER_SECRET for webhook delivery and
// X_BEARER_TOKEN for stream delivery; Validate names every
// missing variable in one error and never shows a secret. WEBHOOK_ADDR
// defaults to :8080, or :$PORT when PORT is set. The queue settings are
// queueopen's (QUEUE_BACKEND, QUEUE_NAME, QUEUE_PATH,
// AZURE_STORAGE_CONNECTION_STRING). SPOOL_DIR defaults to "moetron-spool"
// next to the SQLite queue file, else to a state directory.
//
// When WEBHOOK_URL is set (with X_BEARER_TOKEN and the four OAuth values),
// Run runs a webhooks.Monitor once the listener is up: its first check
// registers the URL (X's CRC round trip reaches this server), subscribes the
// bot, and then it re-checks every 15 minutes, re-validating, re-subscribing
// and asking X to replay what was missed since intake.LastEvent. A failed
// check is logged and retried after FirstRetry (10 s), doubling up to the
// interval, so a start-up while X is briefly down still registers soon; it
// never stops the server. moetron_webhook_registration_ok shows the last
// check's result.
//
// # Serving
//
// Run runs http.Servers with header, read, write (15 s) and idle timeouts
// and a 64 KiB header limit; the POST body limit is the events handler's
// (Options.MaxBodyBytes, default 1 MiB). When its context ends it stops
// accepting, lets requests in flight finish (at most 20 s), stops the spool
// drainer and closes the spool and the queue. Only main handles signals:
// pass it a signal.NotifyContext. (Serve is Run's old, deprecated name.)
//
//	cfg := webhookserver.FromEnv()
//	srv, err := webhookserver.New(ctx, cfg, &webhookserver.Options{Logger: log})
//	if err != nil { ... }
//	err = srv.Run(ctx)
package webhookserver
