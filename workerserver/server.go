package workerserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/internal/serve"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/worker/ledgerfile"
	"github.com/moetron/moetron/worker/ledgertable"
	"github.com/moetron/moetron/workerserver/opspage"
)

// Timeouts of the metrics server, beyond serve's read and idle limits.
const (
	writeTimeout = 30 * time.Second
	// shutdownTimeout bounds the wait for metrics requests in flight once
	// the consumer has drained.
	shutdownTimeout = 5 * time.Second
)

// Options are the optional parts of New; nil means the zero value.
type Options struct {
	// Queue is an already open job queue. Nil means open Config.Queue with
	// queueopen; the server then closes it. A given Queue needs Poison or
	// PoisonFactory and is not closed by the server.
	Queue queue.Queue
	// Poison is the poison queue for Options.Queue.
	Poison queue.Queue
	// PoisonFactory opens the poison queue by name for Options.Queue (see
	// queue.ConsumerConfig.PoisonFactory).
	PoisonFactory func(name string) (queue.Queue, error)
	// Generator renders the images: an *imagegen.Generator or any
	// worker.Generator (a MaxBatch() int method, if it has one, sets the
	// default concurrency; else 1). Nil means load Config.ModelPath (or the
	// bundled model) on Config.Device, plus the commands' own models; the
	// server then closes them. A given Generator is shared, not closed,
	// and Config's and the commands' model settings are ignored.
	Generator worker.Generator
	// Commands is the command table. Nil means Config.CommandsFile
	// (COMMANDS_FILE), or commands.Default() without one.
	Commands *commands.Set
	// Handler sends each job's answer (see JobHandler); nil means a reply
	// or DM on X with the image.
	Handler JobHandler
	// HTTPClient supplies the transport (and the timeout) of the calls to
	// X; nil means reply's defaults.
	HTTPClient *http.Client
	// Registry collects the metrics served on /metrics. Nil means a new
	// registry with the Go and process collectors.
	Registry *prometheus.Registry
	// MinPollInterval and MaxPollInterval bound the idle polling of the
	// queue; zero means queue.ConsumerConfig's defaults (100 ms, 2 s).
	// Demos and tests set them lower; Wake cuts a wait short anyway.
	MinPollInterval time.Duration
	MaxPollInterval time.Duration
	// Logger receives the server's and its components' records; nil
	// discards them.
	Logger *slog.Logger
	// CredentialCheckTimeout bounds New's check of the OAuth tokens (GET
	// /2/users/me). Zero means DefaultCredentialCheckTimeout; negative
	// skips the check (tests, offline demos).
	CredentialCheckTimeout time.Duration
	// AuthRecheck is the first wait before the tokens are checked again
	// after a 401 paused consumption; it doubles up to MaxAuthRecheck.
	// Zero means DefaultAuthRecheck.
	AuthRecheck time.Duration
}

// Server is the worker half of the bot: a queue.Consumer running a
// worker.Worker (imagegen for the image, reply for X), with health,
// readiness and Prometheus metrics.
type Server struct {
	cfg      Config
	log      *slog.Logger
	reg      *prometheus.Registry
	opened   *queueopen.Opened   // non-nil when the server opened the queue
	q        queue.Queue         // the job queue
	onnx     *imagegen.Generator // the ONNX generator the server loaded (nil with Options.Generator)
	ownGen   bool                // the server loaded gen and closes it
	wmet     *WorkerMetrics      // job outcomes and latencies
	cmet     *ConsumerMetrics    // the consumer's hooks
	gate     *authGate           // pauses consumption while X refuses the tokens
	consumer *queue.Consumer     // runs the worker
	mux      *http.ServeMux      // /metrics, /healthz, /readyz
	conc     int                 // the consumer's concurrency
	running  atomic.Bool         // the consumer takes jobs
	started  atomic.Bool         // Run was called
	ln       serve.Listener      // the metrics listener, once Listen ran
	closing  sync.Once           // Close runs once
	closeErr error               // Close's result
	cleanups []func() error      // what Close releases, in order

	gen  worker.Generator // the generator in use (Options.Generator, onnx, or a router over the commands' models)
	rcfg reply.Config     // the reply client's configuration

	rec *opspage.Recorder // the operator page's job list (nil with OPS_PAGE=off)
	ops *opspage.Page     // the operator page (nil with OPS_PAGE=off)
}

// New validates cfg, opens the queue and loads the model (unless opts gives
// them), builds the reply client, the worker and the consumer, and registers
// the metrics. Call Run to consume, or Close to release it unused.
func New(ctx context.Context, cfg Config, opts *Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{cfg: cfg, log: opts.Logger, reg: opts.Registry}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.reg == nil {
		s.reg = serve.NewRegistry()
	}
	if err := s.build(ctx, opts); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

// build does New's work; on error the caller releases what was built.
func (s *Server) build(ctx context.Context, opts *Options) error {
	cfg := s.cfg
	if opts.Queue != nil && opts.Poison == nil && opts.PoisonFactory == nil {
		return fmt.Errorf("%w: Options.Queue needs Options.Poison or Options.PoisonFactory", ErrConfig)
	}
	s.rcfg = reply.Config{
		ConsumerKey: cfg.ConsumerKey, ConsumerSecret: cfg.ConsumerSecret,
		AccessToken: cfg.AccessToken, AccessTokenSecret: cfg.AccessTokenSecret,
		BotUserID: cfg.BotUserID, BaseURL: cfg.APIBase, HTTPClient: opts.HTTPClient,
		Logger: s.log.With("component", "reply"),
	}
	client, err := reply.New(s.rcfg)
	if err != nil {
		return fmt.Errorf("workerserver: %w", err)
	}

	set := opts.Commands
	if set == nil {
		if set, err = commands.Load(cfg.CommandsFile); err != nil {
			return fmt.Errorf("workerserver: %w", err)
		}
	}
	if err := s.loadGenerator(opts.Generator, set); err != nil {
		return err
	}

	var ledger worker.Ledger
	if table, ok := cfg.ledgerTable(); ok {
		lt, err := ledgertable.Open(ctx, cfg.Queue.ConnectionString, table, nil)
		if err != nil {
			return fmt.Errorf("workerserver: job ledger (%s): %w", EnvLedger, err)
		}
		ledger = lt
		s.cleanups = append(s.cleanups, lt.Close)
	} else if cfg.Ledger != LedgerMem {
		lf, err := ledgerfile.Open(cfg.Ledger, nil)
		if err != nil {
			return fmt.Errorf("workerserver: job ledger (%s): %w", EnvLedger, err)
		}
		ledger = lf
		s.cleanups = append(s.cleanups, lf.Close)
	}
	s.wmet = NewWorkerMetrics(s.reg)
	s.cmet = NewConsumerMetrics(s.reg)
	first := opts.AuthRecheck
	if first <= 0 {
		first = DefaultAuthRecheck
	}
	s.gate = newAuthGate(client, cfg.BotUserID, s.log.With("component", "auth"), newAuthMetrics(s.reg), first)
	rep, err := s.answerer(client, set, opts.Handler)
	if err != nil {
		return err
	}
	w, err := worker.New(worker.Config{
		Generator: s.gen, Replier: rep, BotUserID: cfg.BotUserID, Format: imagegen.Format(cfg.Format),
		Table: set.Table(), Commands: set.Generation(),
		Metrics: s.wmet.Hooks(), Logger: s.log.With("component", "worker"), Ledger: ledger,
		ClaimedRetry: min(worker.DefaultClaimedRetry, cfg.Visibility),
		Observer:     s.opsObserver(),
	})
	if err != nil {
		return fmt.Errorf("workerserver: %w", err)
	}

	ccfg := queue.ConsumerConfig{
		Visibility: cfg.Visibility, DrainTimeout: cfg.DrainTimeout, MaxDequeueCount: cfg.MaxDequeue,
		MinPollInterval: opts.MinPollInterval, MaxPollInterval: opts.MaxPollInterval,
		Metrics: s.cmet.Hooks(), Logger: s.log.With("component", "consumer"),
	}
	s.q = opts.Queue
	if s.q == nil {
		o, err := queueopen.Open(ctx, cfg.Queue, &queueopen.Options{Logger: s.log.With("component", "queue")})
		if err != nil {
			return fmt.Errorf("workerserver: %w", err)
		}
		s.opened, s.q, ccfg.PoisonFactory = o, o.Queue, o.PoisonFactory
		s.cleanups = append(s.cleanups, o.Close)
	} else {
		ccfg.Poison, ccfg.PoisonFactory = opts.Poison, opts.PoisonFactory
	}
	s.conc = cfg.Concurrency
	if s.conc == 0 {
		s.conc = 1
		if b, ok := s.gen.(interface{ MaxBatch() int }); ok {
			s.conc = b.MaxBatch()
		}
	}
	ccfg.Concurrency, ccfg.BatchSize = s.conc, min(s.conc, queue.MaxReceive)
	// The gated wrapper hides the queue's Notifier (SQLite's change watch,
	// which lets an idle worker take a new job at once): pass it on.
	if n, ok := s.q.(queue.Notifier); ok {
		ccfg.Notifier = n
	}
	if s.consumer, err = queue.NewConsumer(gatedQueue{Queue: s.q, gate: s.gate}, authHandler{next: s.knownCommands(w, set), gate: s.gate}, ccfg); err != nil {
		return fmt.Errorf("workerserver: %w", err)
	}
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "moetron_consumer_in_flight", Help: "Jobs being handled now.",
	}, func() float64 { return float64(s.consumer.InFlight()) }))

	s.mux = http.NewServeMux()
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	serve.HandleHealth(s.mux, s.log, s.Readiness)
	if err := s.mountOps(ccfg.Poison, ccfg.PoisonFactory); err != nil {
		return err
	}
	return s.checkAtStart(ctx, client, opts.CredentialCheckTimeout)
}

// checkAtStart checks the OAuth tokens with GET /2/users/me: refused
// credentials (401, 403) or another account than BOT_USER_ID are New's
// error, since every job would fail with them. If X cannot be reached
// within timeout (network, 5xx; the reply client retries those), the
// worker starts anyway with a warning: an outage of X must not become a
// crash loop, and a 401 later pauses consumption instead of failing jobs.
func (s *Server) checkAtStart(ctx context.Context, client *reply.Client, timeout time.Duration) error {
	if timeout < 0 {
		return nil
	}
	if timeout == 0 {
		timeout = DefaultCredentialCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	result, err := checkCredentials(cctx, client, s.cfg.BotUserID)
	s.gate.met.checks.WithLabelValues(result).Inc()
	switch result {
	case CheckOK:
		s.log.Info("OAuth credentials checked: they are the bot's", "bot_user_id", s.cfg.BotUserID)
		return nil
	case CheckUnreachable:
		if ctx.Err() != nil {
			return fmt.Errorf("workerserver: %w", ctx.Err())
		}
		s.log.Warn("could not reach X to check the OAuth credentials; starting anyway "+
			"(a 401 while working pauses consumption)", "err", err)
		return nil
	}
	return err
}

// Readiness is the state /readyz reports: ready while Run consumes, X
// accepts the OAuth tokens and the queue answers; else not ready, saying
// which.
func (s *Server) Readiness(ctx context.Context) serve.Readiness {
	if s.gate.Paused() {
		return serve.NotReady("paused: X refused the OAuth credentials (401); jobs wait on the queue")
	}
	if !s.running.Load() {
		return serve.NotReady("not consuming")
	}
	if _, err := s.q.Len(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err)
		return serve.NotReady("queue unavailable")
	}
	return serve.Ready()
}

// Config returns the configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handler serves /metrics, /healthz (200 while the process lives) and
// /readyz (200 while Run consumes, X accepts the tokens and the queue
// answers, else 503).
func (s *Server) Handler() http.Handler { return s.mux }

// Registry returns the registry the metrics are served from.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// WorkerMetrics returns the worker's collectors (jobs by outcome, latencies).
func (s *Server) WorkerMetrics() *WorkerMetrics { return s.wmet }

// ConsumerMetrics returns the consumer's collectors.
func (s *Server) ConsumerMetrics() *ConsumerMetrics { return s.cmet }

// Queue returns the job queue.
func (s *Server) Queue() queue.Queue { return s.q }

// Paused reports whether job consumption is paused because X refused the
// OAuth credentials (a 401); it resumes by itself once GET /2/users/me
// passes again.
func (s *Server) Paused() bool { return s.gate.Paused() }

// QueuePath returns the absolute path of the SQLite queue file the server
// opened, or "" for another backend or an Options.Queue.
func (s *Server) QueuePath() string {
	if s.opened == nil || s.opened.Env.Backend != queueopen.BackendSQLite {
		return ""
	}
	if p, err := filepath.Abs(s.opened.Env.Path); err == nil {
		return p
	}
	return s.opened.Env.Path
}

// Device returns the device the generator runs on ("cpu" or "cuda"), or
// "custom" for an Options.Generator that does not say.
func (s *Server) Device() string {
	if d, ok := s.gen.(interface{ Device() string }); ok {
		return d.Device()
	}
	return "custom"
}

// Concurrency returns how many jobs are handled at once.
func (s *Server) Concurrency() int { return s.conc }

// InFlight returns the number of jobs being handled now.
func (s *Server) InFlight() int { return s.consumer.InFlight() }

// Wake makes a consumer waiting between polls receive at once, e.g. after a
// same-process webhook enqueued a job (webhookserver.Options.Notify).
func (s *Server) Wake() { s.consumer.Wake() }

// Listen opens the listener on Config.MetricsAddr, unless it is empty or
// MetricsOff, so that Addr
// reports the real address (useful with port 0) before Run. Run calls it.
func (s *Server) Listen() error {
	if s.cfg.MetricsAddr == "" || s.cfg.MetricsAddr == MetricsOff {
		return nil
	}
	if err := s.ln.Listen(s.cfg.MetricsAddr); err != nil {
		return fmt.Errorf("workerserver: listen on %s (%s; %q disables the listener): %w", s.cfg.MetricsAddr, EnvMetricsAddr, MetricsOff, err)
	}
	return nil
}

// Addr is the metrics listener's address (nil without MetricsAddr, or
// before Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves the endpoints on MetricsAddr (if set) and consumes jobs until
// ctx ends. Then it stops taking jobs and drains: the jobs in flight finish,
// or at DrainTimeout are cancelled and released to the queue, and Run
// returns an error wrapping queue.ErrDrainTimeout. It closes the server
// before returning; after a clean drain it returns nil. A Server runs once.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return fmt.Errorf("workerserver: %w", queue.ErrConsumerRunning)
	}
	defer s.Close()
	if err := s.Listen(); err != nil {
		return err
	}
	ln := s.ln.Get()

	cctx, stop := context.WithCancel(ctx)
	defer stop()
	var eps []serve.Endpoint
	if ln != nil {
		eps = append(eps, serve.Endpoint{Listener: ln, Handler: s.mux})
	}
	hs := serve.StartHTTP("workerserver", writeTimeout, s.log, eps...)
	go func() {
		select {
		case <-hs.Failed():
			stop() // no metrics means no readiness probe: stop and say so
		case <-cctx.Done():
		}
	}()

	attrs := []any{"config", s.cfg.String(), "device", s.Device(), "concurrency", s.conc}
	if p := s.QueuePath(); p != "" {
		attrs = append(attrs, "queue_path", p)
	}
	if a := s.Addr(); a != nil {
		attrs = append(attrs, "health_addr", a.String())
	}
	s.log.Info("worker started", attrs...)
	s.gate.start(cctx)
	s.running.Store(true)
	err := s.consumer.Run(cctx)
	s.running.Store(false)
	stop()
	s.gate.stop()
	if errors.Is(err, queue.ErrDrainTimeout) {
		s.log.Warn("drain deadline passed; unfinished jobs were released to the queue")
	} else if err == nil {
		s.log.Info("worker drained")
	}

	return errors.Join(err, hs.Shutdown(shutdownTimeout))
}

// Close stops a running consumer (draining as Run does), then closes the
// metrics listener, the generator and the queue if the server made them.
// Run calls it before returning; it is safe to call more than once.
func (s *Server) Close() error {
	s.closing.Do(func() {
		if s.consumer != nil {
			s.consumer.Shutdown(context.Background())
		}
		s.closeErr = s.release()
	})
	return s.closeErr
}

func (s *Server) release() error {
	s.ln.Close()
	var errs []error
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		if err := s.cleanups[i](); err != nil {
			errs = append(errs, fmt.Errorf("workerserver: close: %w", err))
		}
	}
	s.cleanups = nil
	return errors.Join(errs...)
}
