// Package workerserver is the worker half of the bot as a ready server: it
// reads the configuration, opens the queue, loads the model, and runs a
// queue.Consumer whose handler is a worker.Worker (imagegen renders the
// image, reply answers on X), next to health, readiness and metrics
// endpoints, so that a binary (examples/worker, examples/demo) or a user's
// own main only loads a Config and calls Run.
//
// # Configuration
//
// Config holds the design's names; FromEnv reads them and Config.Flags binds
// each to a flag named after it (-bot-user-id, -x-consumer-key, -model-path,
// ...). BOT_USER_ID and the four OAuth 1.0a values (X_CONSUMER_KEY,
// X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET) are required;
// Validate names every missing variable in one error and never shows a
// secret, and Config.String (also what %v prints) shows secrets only as
// set or unset. The rest have defaults:
//
//	X_API_BASE            https://api.x.com
//	QUEUE_*, AZURE_...    queueopen's (SQLite ./moetron-queue.db)
//	MODEL_PATH            the bundled model
//	ORT_LIB               imagegen.DefaultLibraryPath(), where make ort puts it
//	ORT_CUDA_PLUGIN       none: CUDA the classic way
//	DEVICE                auto (CUDA when it loads, else CPU)
//	METRICS_ADDR          none: no listener (Handler still serves)
//	WORKER_CONCURRENCY    the generator's batch size
//	WORKER_DRAIN_TIMEOUT  30s
//	WORKER_VISIBILITY     10m (the lease, renewed while a job runs)
//	IMAGE_FORMAT          png
//
// The last four are the worker's own names, not the design's; a value that
// does not parse is reported by Validate with the other problems.
//
// # Endpoints
//
//	GET /healthz   200 while the process lives
//	GET /readyz    200 while Run consumes and the queue answers a Len within
//	               ReadyTimeout, else 503
//	GET /metrics   Prometheus
//
// The metrics are worker.Metrics (moetron_worker_*: jobs by outcome,
// generation and reply latency), ConsumerMetrics (moetron_consumer_*:
// received, succeeded, failed, deferred, poisoned by reason, released, lease
// renewed and lost, queue errors by operation, handler latency),
// moetron_consumer_in_flight, and the Go and process collectors unless
// Options.Registry is given.
//
// # Lifecycle
//
// New builds everything and fails early: a missing ONNX Runtime library, a
// model that does not load or a queue that cannot be opened is an error of
// New, not of Run. Run serves METRICS_ADDR (an http.Server with the
// timeouts of the constants) and consumes until its context ends; then it
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
