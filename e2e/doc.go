// Package e2e holds moetron's end-to-end tests: the real webhook, worker and
// one-process bot binaries (examples/webhook, examples/worker,
// examples/bot), built once by TestMain,
// run as separate processes against the fake X of package xfake and a real
// queue (a SQLite file, or Azure Storage Queue on Azurite).
//
// The tests play X: xfake signs and delivers Account Activity events to the
// webhook over loopback (or publishes X Activity API events the way the
// subscriptions the webhook made say: a signed POST, or a stream line), the worker answers through xfake's API, and the
// assertions read xfake's ledger (RepliesTo, DMsTo, Uploads): exactly one
// reply with an image per command, whatever was killed on the way.
//
// The tests:
//
//	TestHappyPath                 mentions and DMs answered once each, SQLite and Azurite
//	TestWebhookAnswers            CRC, 401/403/400/413, duplicates; only real deliveries become jobs; metrics
//	TestDuplicateDeliveriesAnsweredOnce  X repeating deliveries, before and after the answer
//	TestPoisonJob                 non-jobs on the queue end on <queue>-poison, reason "permanent"
//	TestRateLimitStorm            every X endpoint 429: jobs deferred, then answered; nothing poisoned
//	TestXOutage                   X answers 503 for 6 s: retried, answered after, nothing poisoned
//	TestWorkerKilled              worker SIGKILLed 20 times while 50 commands flow
//	TestWebhookKilled             webhook SIGKILLed 3 times mid-stream; every 200 answered once
//	TestWebhookKilledUnderLoad    webhook SIGKILLed 3 times under 32 clients' load; every 200 a job on the queue, once
//	TestQueueOutage               Azurite stopped mid-stream, webhook killed with jobs in its spool
//	TestCheckExactlyOnceCatchesBadAnswers  the ledger check itself catches doubles, missing images, silence
//	TestXAAHappyPath              X Activity API: mention, reply, quote, DM answered once, over the
//	                              webhook and the stream (DELIVERY), SQLite and Azurite
//	TestXAAStreamChaos            the stream dropped or stalled 12 times (seeded) while 50 commands flow
//	TestXAADuplicates             one post as mention and reply; one event on webhook and stream (both)
//	TestXAAStreamBadInput         garbage, oversized, unknown and error lines skipped and counted
//	TestXAAStreamUnauthorized     a refused bearer token ends the webhook non-zero, token not shown
//	TestBotBinary                 examples/bot on the stream, SIGKILLed once mid-flow: all answered once
//	TestScaleOut                  two webhook replicas, three workers on one Azure queue (table ledger),
//	                              200 commands, a worker SIGKILLed every few seconds: each answered once
//	TestOperatorPage              the worker's /ops/ page in headless Chromium: the DOM lists the
//	                              answered jobs with thumbnails; a job X's outage poisoned is requeued
//	                              with the page's button, the poison count drops, it is answered once
//	                              (MOETRON_SCREENSHOT=docs/operator-page.png saves the README's screenshot)
//	TestREADME*                   every command README.md shows, run as written: readme_parse_test.go
//	                              lists them and says which test runs each; TestREADMECoverage fails
//	                              on a command without an entry (make bench: under CI or with
//	                              MOETRON_README_BENCH=1; MOETRON_README checks another README file)
//
// What runs where:
//
//   - go test ./e2e: everything, including the crash tests (the worker killed
//     with SIGKILL twenty times, the webhook killed and Azurite stopped mid
//     stream). A few minutes on two cores.
//   - go test -short ./e2e: the happy paths (TestXAAHappyPath,
//     TestXAADuplicates, TestBotBinary and TestOperatorPage too) and the
//     protocol checks only.
//
// Tests that need something missing skip and say what: the binaries (when
// examples/webhook or examples/worker do not build), ONNX Runtime (ORT_LIB or
// the library scripts/ort-lib.sh fetches), Azurite (MOETRON_AZURITE_BIN for a
// private instance, MOETRON_AZURITE for the shared one), Chromium (chromium on
// PATH, which make test installs with apt-get, or MOETRON_CHROMIUM; in CI its
// absence fails the test).
//
// Every process listens on 127.0.0.1 only; every wait is bounded.
package e2e
