// Package stream consumes X's activity stream, GET /2/activity/stream of
// the X Activity API: the outbound alternative to the webhook, so a bot on
// a machine with no public URL (a home GPU PC) still gets its events.
//
// A Consumer connects with the app's Bearer token, reads newline-delimited
// JSON envelopes (the same bytes a webhook POST carries), decodes each with
// events.Decode and hands it to Config.Handle, which is intake.Handle in
// the webhook server: the stream and the webhook feed the same intake.
//
// # Lines
//
// Blank lines and {} are keep-alives. A "data:" prefix is stripped. An
// {"errors":[...]} line is a *StreamError, logged and counted; one titled
// operational-disconnect makes the consumer reconnect. A line longer than
// MaxLineBytes, a malformed line, or a JSON object that is not an envelope
// is skipped and counted by reason (Status.Skipped, the Metrics.Skipped hook); the
// lines after it are read as usual.
//
// # Delivery guarantee
//
// An event counts as taken only once Handle returned nil. If Handle fails
// (queue and spool both down), the consumer calls it again with the same
// event, backing off, until it succeeds or Run's context ends; it never
// drops the event silently. Up to Concurrency events (16) are in Handle at
// once while the stream is read on, so that a durable store commits several
// together (SQLite's group commit); when every slot is taken, reading waits,
// so a failing store stops the stream instead of piling events up. With
// Concurrency 1, events are handled in stream order, one at a time. The
// calls in flight when the context ends get a context that is not
// canceled, so a store in progress completes, and Run returns after them. Events may arrive twice (backfill, X's own
// retries, webhook and stream both on): the filter's duplicate suppression
// handles that downstream.
//
// # Reconnecting
//
//   - No byte for StallTimeout (30 s; X sends a keep-alive every ~20 s), no
//     response headers within it, X closing the stream, a read error or an
//     operational-disconnect line: reconnect at once if the connection had
//     worked, else after a jittered exponential backoff (MinBackoff 1 s,
//     doubling to MaxBackoff 64 s, times a random factor in [0.5, 1)).
//   - 5xx, other 4xx and connect errors: the same backoff.
//   - 429 (TooManyConnections or a rate limit): wait until the time X gave:
//     the latest of Retry-After (seconds or an HTTP date) and the reset of
//     each exhausted window (x-rate-limit-reset and the 24-hour resets,
//     with their remaining count 0 or not sent), the rule reply and
//     webhooks apply too; if X gave none, RateLimitWait (60 s) doubling up
//     to MaxRateLimitWait.
//   - 401 and 403: Run returns an *HTTPError that matches ErrUnauthorized;
//     retrying a wrong or user-context token cannot help.
//
// # Gap recovery
//
// On a reconnect the consumer asks for backfill_minutes = the minutes since
// X was last heard from (any byte, keep-alives included) plus 10 s, rounded
// up, at most BackfillMinutes (5). It uses backfill_minutes rather than
// start_time because X documents backfill_minutes' range and counts it on
// its own clock, while start_time's meaning on a live stream is not
// documented and would depend on this machine's clock. Measuring from the
// last byte instead of the last event keeps the window small on a quiet
// account. Self-serve apps get 400 naming backfill: the consumer logs that
// once, stops asking, and reconnects at once. Without backfill (or after a
// gap over 5 minutes) events of the gap are lost to the stream; X's replay
// or a mentions lookup must recover them.
//
// # Observability
//
// Status reports the connection state, reconnects, the last event and data
// times, events taken, skipped lines by reason and the last error; Ready is
// nil only while connected. Config.Metrics takes optional hooks
// (connected, reconnecting, taken, skipped by reason, failed by kind) that
// the caller wires to its metrics; the package itself depends on no metrics
// library (webhookserver turns them into Prometheus' moetron_stream_*
// collectors). The bearer token never appears in a log or an error. The package logs nothing unless Config.Logger is set.
//
// # HTTP
//
// NewHTTPClient forces HTTP/1.1, turns compression off and bounds only the
// dial and the TLS handshake: X may send the response headers with its
// first keep-alive, so there is no header timeout apart from StallTimeout,
// and no overall timeout.
package stream
