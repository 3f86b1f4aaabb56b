// Package demo runs the whole bot on one machine against a fake X, with no
// account anywhere: it is what `make demo` (examples/demo) and its test run.
//
// Run starts, in one process:
//
//   - a fake X (package xfake) on a real 127.0.0.1 listener;
//   - the webhook server of package webhookserver, configured like
//     examples/webhook with WEBHOOK_URL set, so its start-up webhook check
//     registers the URL with the fake X (a real CRC round trip over HTTP)
//     and subscribes the bot; its queue is a SQLite file in a temporary
//     directory;
//   - the worker server of package workerserver, configured like
//     examples/worker, on its own handle of the same SQLite file (as a
//     second process would have), generating with the bundled CPPN model
//     on ONNX Runtime's CPU provider and answering through package reply;
//     the webhook wakes it when it enqueues, and both share one Prometheus
//     registry.
//
// It then has the fake X deliver signed events, each through the webhook
// (mentions with moerand, moemess and moename, an X retry of the last
// delivery, a DM, a mention without a command, a retweet, the bot's own
// echoed reply, a like) plus one POST forged with the wrong secret, reads
// the filter's decision for each from the webhook's Prometheus counters, and
// waits until every expected answer is on the fake X and the queue is empty.
// Each answer must be exactly one post or DM, naming the seed the command
// gives for its job and carrying one image, which is saved to the output
// directory; any other post or DM by the bot is a problem too.
//
// Result.WriteTable prints one row per event (event, decision, command,
// seed, reply, image file), the counters and the timings. Run's error wraps
// ErrFailed when an outcome was not the expected one.
package demo
