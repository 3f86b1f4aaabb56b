// Package opspage is the worker's operator page: one server-rendered HTML
// page (html/template, no script, no front-end build) on the worker's
// metrics listener at /ops/ that shows
//
//   - the depth of the job queue and of its poison queue, and status lines
//     the worker adds (device, jobs in flight, paused or consuming);
//   - the recent jobs (default the last 50): time, user (handle and id),
//     tweet or DM, command, seed, generation and total latency, outcome,
//     attempt, and a thumbnail of the image;
//   - the last failed jobs with their error (default 20, kept apart so that
//     a run of successes does not push them out);
//   - the first poison messages (default 20) with reason, tries and error,
//     each with a requeue button that puts the job back on the queue
//     (queueadmin.Admin.Requeue: the original body, byte for byte).
//
// A Recorder keeps the jobs: a bounded ring in memory, fed by the worker's
// observer seam (worker.Config.Observer), each image kept as a JPEG
// thumbnail of at most 96 pixels a side and 16 KiB, so the whole record
// stays under a megabyte. Nothing is written to disk; a restart starts an
// empty list.
//
// # What it shows, and what not
//
// The page names users (id and handle) and commands: what an operator
// needs to answer "did alice get her image?". It never shows a message's
// text, a command's arguments or the reply text, and it replaces every
// quoted string in an error text with "…" (see Redact), since the parser
// quotes the text it could not read. The worker's log and queuetool's
// poison list, for an operator with a shell, have the rest. No token or
// secret is ever on the page. Every value passes through html/template's
// escaping.
//
// # Access
//
// The listener is the worker's METRICS_ADDR: 127.0.0.1:9091 by default,
// loopback only. The page decides per request:
//
//   - OPS_TOKEN unset: only a connection that arrived on a loopback
//     address and whose Host header names a loopback address (localhost,
//     127.0.0.1, [::1]) sees the page; anything else gets 403. Opening
//     METRICS_ADDR wider (:9091, for an orchestrator's probes) thus does not
//     open the page, and the Host check stops a DNS-rebinding site from
//     reading it through the operator's browser. From another machine,
//     tunnel: ssh -L 9091:127.0.0.1:9091 worker-host, then open
//     http://127.0.0.1:9091/ops/.
//   - OPS_TOKEN set (at least 16 characters): every request needs it,
//     loopback or not: "Authorization: Bearer <token>" from a script, or
//     as the password of the Basic login the browser asks for (any user
//     name). Over plain HTTP the token crosses the network in clear: put
//     TLS in front of a non-loopback listener.
//   - OPS_PAGE=off: no page at all (404).
//
// Requeue is a POST only. From a browser (loopback or Basic access) it
// must pass http.CrossOriginProtection (Sec-Fetch-Site, else Origin
// against Host) and carry the form's CSRF token: an HMAC, keyed with a
// random key of this process, of a random nonce the page set in an
// HttpOnly, SameSite=Strict cookie. A forged or missing token, or a
// cross-origin POST, gets 403 and changes nothing. A Bearer request (which
// no browser sends by itself) needs no CSRF token:
//
//	curl -H "Authorization: Bearer $OPS_TOKEN" -d id=42 http://127.0.0.1:9091/ops/requeue
//
// An id that is not on the poison queue gets 404 with a sentence saying
// so. A restart changes the CSRF key: a page loaded before it must be
// reloaded.
//
// Every response sets Content-Security-Policy (the page's own stylesheet,
// images and form only; no script, no framing), X-Frame-Options DENY,
// X-Content-Type-Options nosniff, Referrer-Policy same-origin and
// Cache-Control no-store. The requeue form body is capped at 4 KiB.
//
// # Configuration
//
//	OPS_PAGE    on (default) or off
//	OPS_TOKEN   the operator token (a secret; see Access). Unset: loopback only.
//
// Env reads them (FromLookup, Flags: -ops-page, -ops-token); workerserver
// embeds it in its Config, so the worker binary and botserver take them.
//
// # Use
//
// workerserver mounts the page on its listener by itself. Elsewhere:
//
//	rec := opspage.NewRecorder(nil)
//	w, _ := worker.New(worker.Config{..., Observer: rec})
//	page, _ := opspage.New(opspage.Config{Queue: q, Poison: pq, Recorder: rec, Token: env.Token})
//	mux.Handle(opspage.Path, page)
//	mux.Handle("GET /ops", page)
package opspage
