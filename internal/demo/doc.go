// Package demo runs the whole bot on one machine against a fake X, with no
// account anywhere: it is what `make demo` (examples/demo) and its test run.
//
// Run starts, in one process:
//
//   - a fake X (package xfake) on a real 127.0.0.1 listener;
//   - the webhook server of package webhookserver with DELIVERY=both: it
//     serves the webhook, configured like examples/webhook with WEBHOOK_URL
//     set, so its start-up check registers the URL with the fake X (a real
//     CRC round trip over HTTP) and creates the bot's X Activity API
//     subscriptions linked to it; and it reads the fake X's persistent
//     stream (GET /2/activity/stream). Both feed the same intake and the
//     same SQLite queue in a temporary directory;
//   - the worker server of package workerserver, configured like
//     examples/worker, on its own handle of the same SQLite file (as a
//     second process would have), generating with the bundled models of
//     the default command table (the portrait for moerand and moename, the
//     CPPN for moemess) on ONNX Runtime's CPU provider and answering
//     through package reply;
//     the webhook wakes it when it enqueues, and both share one Prometheus
//     registry.
//
// It then has the fake X deliver X Activity API events, some through the
// webhook (routed by the subscriptions, signed) and some on the stream: a
// mention with moerand by webhook, one with moemess by stream, a reply to
// the bot's post with moename (post.reply.create) by stream and the same
// post as a mention by webhook (one job), a quote of the bot's post, a DM
// by stream and X's retry of it by webhook, a mention without a command, an
// encrypted XChat message (counted, not answered), a legacy Account Activity
// mention, a mention sent while the stream was down (recovered by the
// consumer's backfill on reconnect), and a POST forged with the wrong
// secret. It reads the filter's decision for each from the webhook's
// Prometheus counters and waits until every expected answer is on the fake
// X and the queue is empty. Each answer must be exactly one post or DM,
// naming the seed the command gives for its job and carrying one image,
// which is saved to the output directory; any other post or DM by the bot
// is a problem too.
//
// Result.WriteTable prints one row per event (event, how it came, decision,
// command, seed, reply, image file), the counters and the timings. Run's error wraps
// ErrFailed when an outcome was not the expected one.
package demo
