// Package workerserver is the worker half of the bot as a ready server: it
// reads the configuration, opens the queue, loads the model, and runs a
// queue.Consumer whose handler is a worker.Worker (imagegen renders the
// image, reply answers on X), next to health, readiness and metrics
// endpoints, so that a binary (examples/worker, examples/demo) or a user's
// own main only loads a Config and calls Run.
//
// # Configuration
//
// Config holds the environment variables' values; FromEnv reads them and Config.Flags binds
// each to a flag named after it (-bot-user-id, -x-consumer-key, -model-path,
// ...). BOT_USER_ID and the four OAuth 1.0a values (X_CONSUMER_KEY,
// X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET) are required;
// Validate names every missing variable in one error and never shows a
// secret, and Config.String (also what %v prints) shows secrets only as
// set or unset. The rest have defaults:
//
//	X_API_BASE            https://api.x.com
//	QUEUE_*, AZURE_...    queueopen's (SQLite $XDG_STATE_HOME/moetron/queue.db,
//	                      else ~/.local/state/moetron/queue.db)
//	MODEL_PATH            the bundled models: each command's own (the
//	                      default table: bundled:portrait for rand and
//	                      name, bundled:cppn for mess), else
//	                      bundled:portrait; see commands.Command.ModelFor.
//	                      A file or a bundled:NAME reference.
//	ORT_LIB               imagegen.DefaultLibraryPath(), where make ort puts it,
//	                      else the system's libonnxruntime.so
//	ORT_CUDA_PLUGIN       none: CUDA the classic way
//	DEVICE                auto (CUDA when it loads, else CPU)
//	METRICS_ADDR          127.0.0.1:9091 (loopback); "off": no listener
//	                      (Handler still serves). A Config built in code
//	                      with MetricsAddr empty has no listener either.
//	WORKER_CONCURRENCY    the generator's batch size
//	WORKER_DRAIN_TIMEOUT  30s
//	WORKER_VISIBILITY     10m (the lease, renewed while a job runs)
//	IMAGE_FORMAT          png
//	OPS_PAGE              on: the operator page at /ops/ ("off": none)
//	OPS_TOKEN             unset: /ops/ answers loopback connections only
//
// A value that does not parse is reported by Validate with the other problems.
//
// # Endpoints
//
//	GET /healthz   200 while the process lives
//	GET /readyz    200 "ready" while Run consumes, X accepts the OAuth
//	               tokens and the queue answers a Len within 2 s, else 503
//	               "not ready: <why>" (X-Moetron-Readiness: ready or
//	               not-ready, as webhookserver's)
//	GET /metrics   Prometheus
//	/ops/          the operator page (package workerserver/opspage): recent
//	               jobs with thumbnails, last errors, queue and poison depth,
//	               requeue of poison messages; loopback only unless
//	               OPS_TOKEN is set
//
// The listener is on by default (METRICS_ADDR unset means
// DefaultMetricsAddr, loopback only) because orchestrators probe /healthz
// and /readyz; expose it wider with METRICS_ADDR=:9091 or turn it off with
// METRICS_ADDR=off.
//
// # OAuth credentials
//
// New checks the tokens with GET /2/users/me (OAuth 1.0a user context)
// before it returns: a 401 or 403 is ErrCredentials and an id other than
// BOT_USER_ID is ErrWrongAccount, each naming the settings to fix and
// never a value. When X cannot be reached within
// Options.CredentialCheckTimeout (network failure, 5xx; the reply client
// retries them), New logs a warning and starts anyway: an outage of X
// must not turn into a crash loop, and the check below catches bad tokens
// once X answers.
//
// A 401 while working is not the job's fault: the job goes back to the
// queue as a deferral (queue.RetryAfter, which does not count toward
// WORKER_MAX_DEQUEUE, so revoked tokens never fill the poison queue), the
// consumer stops taking jobs (its Receive waits), /readyz answers 503
// "paused", and GET /2/users/me is asked again with backoff
// (Options.AuthRecheck, doubling up to MaxAuthRecheck). When it passes,
// consumption resumes by itself. Metrics: moetron_worker_auth_paused (1
// while paused), moetron_worker_auth_refused_total (jobs that met a 401)
// and moetron_worker_auth_checks_total{result} (ok, unauthorized,
// wrong_account, unreachable).
//
// The metrics are WorkerMetrics (moetron_worker_*: jobs by outcome,
// generation and reply latency), ConsumerMetrics (moetron_consumer_*:
// received, succeeded, failed, deferred, poisoned by reason, released, lease
// renewed and lost, queue errors by operation, handler latency),
// moetron_consumer_in_flight, and the Go and process collectors unless
// Options.Registry is given. The libraries only call hooks
// (worker.Metrics, queue.ConsumerMetrics); this server owns the Prometheus
// collectors and feeds them through WorkerMetrics.Hooks and
// ConsumerMetrics.Hooks.
//
// # Lifecycle
//
// New builds everything and fails early: a missing ONNX Runtime library, a
// model that does not load, a queue that cannot be opened or OAuth tokens X
// refuses is an error of New, not of Run. Run logs the absolute path of
// the SQLite queue file (QueuePath) with its start line, so that an
// operator sees at once whether the webhook and the worker share a queue. Run serves METRICS_ADDR (an http.Server with
// header, read, write and idle timeouts) and consumes until its context ends; then it
// stops taking jobs, lets those in flight finish for up to DrainTimeout,
// releases the rest to the queue (Run's error then wraps
// queue.ErrDrainTimeout: nothing is lost, another worker takes them), shuts
// the listener down and closes what New opened. Only main handles signals:
// pass Run a signal.NotifyContext.
//
// Options inject what a process shares: an open queue (the server then
// neither opens nor closes one), a generator, the HTTP client to X, the
// Prometheus registry and the logger (nil: the server is silent).
//
//	cfg := workerserver.FromEnv()
//	srv, err := workerserver.New(ctx, cfg, &workerserver.Options{Logger: log})
//	if err != nil { ... }
//	err = srv.Run(ctx)
package workerserver
