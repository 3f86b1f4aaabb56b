package botserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moetron/moetron/internal/serve"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/stream"
	"github.com/moetron/moetron/webhookserver"
	"github.com/moetron/moetron/workerserver"
)

// shutdownTimeout bounds the wait for HTTP requests in flight at shutdown,
// once intake and the worker have stopped.
const shutdownTimeout = 5 * time.Second

// writeTimeout is the listener's: the webhook's, which also bounds a
// /metrics scrape.
const writeTimeout = 15 * time.Second

// Options are the optional parts of New; nil means the zero value.
type Options struct {
	// Listener, if set, is the listener of every endpoint (Config.Addr is
	// then not listened on). The server closes it.
	Listener net.Listener
	// Registry collects the metrics of both halves. Nil means a new one
	// with the Go and process collectors.
	Registry *prometheus.Registry
	// Stream tunes the stream consumer beyond what Config says (see
	// webhookserver.Options.Stream). Nil means the defaults.
	Stream *stream.Config
	// MinPollInterval and MaxPollInterval bound the worker's idle polling
	// (zero: the queue's defaults). Intake wakes the worker after every
	// enqueue anyway.
	MinPollInterval, MaxPollInterval time.Duration
	// Logger receives every component's records; nil discards them.
	Logger *slog.Logger
}

// Server is the whole bot in one process: intake (the stream consumer,
// and the webhook path with DELIVERY webhook or both) putting jobs on one
// queue, and the worker answering them, with one listener for /metrics,
// /healthz and /readyz.
type Server struct {
	cfg     Config
	log     *slog.Logger
	opened  *queueopen.Opened
	intake  *webhookserver.Server
	worker  *workerserver.Server
	mux     *http.ServeMux
	idle    *idleListener // intake's own listener, never accepting
	ln      serve.Listener
	mu      sync.Mutex // guards started
	started bool
	closing sync.Once
	closeE  error
}

// New validates cfg, opens the queue once for both halves, loads the model
// and builds intake and the worker. Call Run to serve, or Close to release
// it unused.
func New(ctx context.Context, cfg Config, opts *Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{cfg: cfg, log: opts.Logger, idle: newIdleListener()}
	if opts.Listener != nil {
		s.ln.Set(opts.Listener)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = serve.NewRegistry()
	}
	o, err := queueopen.Open(ctx, cfg.Webhook.Queue, &queueopen.Options{Logger: s.log.With("component", "queue")})
	if err != nil {
		return nil, fmt.Errorf("botserver: %w", err)
	}
	s.opened = o
	wcfg := cfg.Worker
	wcfg.MetricsAddr = "" // served here
	s.worker, err = workerserver.New(ctx, wcfg, &workerserver.Options{
		Queue: o.Queue, PoisonFactory: o.PoisonFactory, Registry: reg,
		MinPollInterval: opts.MinPollInterval, MaxPollInterval: opts.MaxPollInterval,
		Logger: s.log.With("component", "worker"),
	})
	if err != nil {
		o.Close()
		return nil, fmt.Errorf("botserver: %w", err)
	}
	hcfg := cfg.Webhook
	hcfg.MetricsAddr = "" // one listener: /metrics on the intake's handler
	s.intake, err = webhookserver.New(ctx, hcfg, &webhookserver.Options{
		Queue: o.Queue, Registry: reg, Notify: s.worker.Wake, Listener: s.idle,
		Stream: opts.Stream, Logger: s.log.With("component", "intake"),
	})
	if err != nil {
		s.worker.Close()
		o.Close()
		return nil, fmt.Errorf("botserver: %w", err)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /readyz", serve.ReadyHandler(s.log, s.Readiness))
	s.mux.Handle("/", s.intake.Handler()) // /healthz, /metrics, the webhook path
	if page := s.worker.OpsPage(); page != nil {
		// The worker's operator page: it lets in only loopback connections
		// (or OPS_TOKEN holders), also when this listener is public.
		s.mux.Handle("GET /ops", page)
		s.mux.Handle("/ops/", page)
	}
	return s, nil
}

// Readiness is the state /readyz reports: the worse of intake's (the
// queue answers and, with the stream, it is connected) and the worker's
// (it consumes), each reason naming its half.
func (s *Server) Readiness(ctx context.Context) serve.Readiness {
	return s.intake.Readiness(ctx).Prefix("intake").And(s.worker.Readiness(ctx).Prefix("worker"))
}

// Config returns the configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handler serves /readyz, /healthz, /metrics and, with DELIVERY webhook or
// both, the webhook path.
func (s *Server) Handler() http.Handler { return s.mux }

// Intake returns the intake half (for its Stream status and Intake).
func (s *Server) Intake() *webhookserver.Server { return s.intake }

// Worker returns the worker half (for its Device and metrics).
func (s *Server) Worker() *workerserver.Server { return s.worker }

// Listen opens the listener on Config.Addr (unless Options.Listener gave
// one), so that Addr reports the real address before Run.
func (s *Server) Listen() error {
	if err := s.ln.Listen(s.cfg.Addr()); err != nil {
		return fmt.Errorf("botserver: listen on %s: %w", s.cfg.Addr(), err)
	}
	return nil
}

// Addr is the listener's address (nil before Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx ends or a half stops for good (X refused the bearer
// token): the endpoints, intake (stream, spool drainer, subscriptions) and
// the worker. Then both halves stop together: intake stores the event in
// hand and stops reading, the worker finishes the jobs in flight or, at
// WORKER_DRAIN_TIMEOUT, releases them to the queue (the error then wraps
// queue.ErrDrainTimeout; nothing is lost). It closes the server before
// returning; after a clean stop it returns nil. A Server runs once.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return fmt.Errorf("botserver: %w", queue.ErrConsumerRunning)
	}
	s.started = true
	s.mu.Unlock()
	defer s.Close()
	if err := s.Listen(); err != nil {
		return err
	}
	ln := s.ln.Get()

	hs := serve.StartHTTP("botserver", writeTimeout, s.log, serve.Endpoint{Listener: ln, Handler: s.mux})
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var intakeErr, workerErr error
	wg.Go(func() {
		intakeErr = s.intake.Run(rctx)
		if intakeErr != nil {
			s.log.Error("intake stopped", "err", intakeErr)
		}
		stop()
	})
	wg.Go(func() {
		workerErr = s.worker.Run(rctx)
		if workerErr != nil && !errors.Is(workerErr, queue.ErrDrainTimeout) {
			s.log.Error("worker stopped", "err", workerErr)
		}
		stop()
	})
	s.log.Info("bot started", "addr", ln.Addr().String(), "config", s.cfg.String())
	select {
	case <-rctx.Done():
	case <-hs.Failed():
		stop()
	}
	wg.Wait()
	return errors.Join(intakeErr, workerErr, hs.Shutdown(shutdownTimeout))
}

// Close releases both halves and the queue; Run calls it. It is safe to
// call more than once.
func (s *Server) Close() error {
	s.closing.Do(func() {
		s.ln.Close()
		s.closeE = errors.Join(s.intake.Close(), s.worker.Close(), s.opened.Close())
	})
	return s.closeE
}

// idleListener is the listener handed to the intake half: the bot serves
// the intake's handler on its own listener, so this one never accepts; it
// only returns once closed.
type idleListener struct {
	once   sync.Once
	closed chan struct{}
}

func newIdleListener() *idleListener { return &idleListener{closed: make(chan struct{})} }

func (l *idleListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}

func (l *idleListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *idleListener) Addr() net.Addr { return idleAddr{} }

type idleAddr struct{}

func (idleAddr) Network() string { return "none" }
func (idleAddr) String() string  { return "in-process" }
