package webhookserver

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
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/intake"
	"github.com/moetron/moetron/internal/serve"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/stream"
	"github.com/moetron/moetron/webhooks"
)

// Timeouts of the HTTP servers Run runs, beyond serve's read and idle
// limits. X expects a CRC answer well under 3 s and a delivery answer
// within a few seconds; a POST is answered once its jobs are durable (one
// enqueue, at most the intake's EnqueueTimeout, or one fsync).
const (
	writeTimeout = 15 * time.Second
	// shutdownTimeout bounds the wait for in-flight requests at shutdown.
	shutdownTimeout = 20 * time.Second
)

// Options are the optional parts of New; nil means the zero value.
type Options struct {
	// Queue receives the jobs. Nil means open Config.Queue with
	// queueopen; the server then closes it in Close.
	Queue queue.Queue
	// Filter decides which events are jobs. Nil means a filter of
	// Commands' table for Config.BotUserID.
	Filter *filter.Filter
	// Commands is the command table when Filter is nil. Nil means
	// Config.CommandsFile (COMMANDS_FILE), or commands.Default().
	Commands *commands.Set
	// Notify is called after jobs reach the queue (a same-process
	// queue.Consumer's Wake).
	Notify func()
	// Registry collects the metrics served on /metrics. Nil means a new
	// registry with the Go and process collectors.
	Registry *prometheus.Registry
	// MaxBodyBytes caps a POST body; zero means events.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// HTTPClient makes the calls to X (registration, self-check). Nil means
	// a client with a 30 s timeout.
	HTTPClient *http.Client
	// Listener, if set, is the main listener (Config.Addr is then not
	// listened on), e.g. one opened early so that WEBHOOK_URL can name its
	// port. The server closes it.
	Listener net.Listener
	// MonitorInterval is the time between webhook self-checks when
	// Config.URL is set. Zero means webhooks.DefaultMonitorInterval (15 min).
	MonitorInterval time.Duration
	// MonitorRetry is the wait after a failed check, doubling up to
	// MonitorInterval. Zero means FirstRetry (10 s).
	MonitorRetry time.Duration
	// OnWebhookCheck, if set, is called after every webhook check (the first
	// one registers and subscribes), e.g. to wait for the registration.
	OnWebhookCheck func(webhooks.Status, error)
	// Stream tunes the stream consumer of Delivery stream or both (stall
	// timeout, backoff, line cap, backfill, its own HTTPClient, ...). Its
	// BaseURL, BearerToken, Handle, Metrics and Logger are set by the
	// server; its zero fields take the Config's STREAM_* values. Nil means
	// stream's defaults and those values.
	Stream *stream.Config
	// Logger; nil means no logging.
	Logger *slog.Logger
}

// Server is a webhook server: the events handler feeding an intake,
// health and readiness checks and Prometheus metrics, served with timeouts
// and shut down gracefully.
type Server struct {
	cfg     Config
	log     *slog.Logger
	client  *http.Client
	opened  *queueopen.Opened // non-nil when the server opened the queue
	intake  *intake.Intake
	metrics *IntakeMetrics
	mux     *http.ServeMux
	metricH http.Handler

	monitor         *webhooks.Monitor // nil without Config.URL
	monitorInterval time.Duration
	monitorRetry    time.Duration
	onWebhookCheck  func(webhooks.Status, error)
	webhookOK       prometheus.Gauge

	stream *stream.Consumer // nil unless Config.Stream()

	ln, mln   serve.Listener // the main listener, and METRICS_ADDR's
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, opens the queue (unless opts gives one) and the spool,
// and builds the handlers. Call Listen and Run to run it, or mount Handler
// yourself; either way Close it.
func New(ctx context.Context, cfg Config, opts *Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{cfg: cfg, log: opts.Logger, client: opts.HTTPClient,
		monitorInterval: opts.MonitorInterval, monitorRetry: opts.MonitorRetry, onWebhookCheck: opts.OnWebhookCheck}
	if opts.Listener != nil {
		s.ln.Set(opts.Listener)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 30 * time.Second}
	}
	reg := opts.Registry
	if reg == nil {
		reg = serve.NewRegistry()
	}
	f := opts.Filter
	if f == nil {
		var err error
		set := opts.Commands
		if set == nil {
			if set, err = commands.Load(cfg.CommandsFile); err != nil {
				return nil, fmt.Errorf("webhookserver: %w", err)
			}
		}
		rl, _ := cfg.RateLimit() // Validate checked it
		if f, err = filter.New(filter.Config{BotUserID: cfg.BotUserID, Table: set.Table(), RateLimit: rl, Logger: opts.Logger}); err != nil {
			return nil, fmt.Errorf("webhookserver: %w", err)
		}
	}
	q := opts.Queue
	if q == nil {
		o, err := queueopen.Open(ctx, cfg.Queue, &queueopen.Options{Logger: opts.Logger, StartUnavailable: true})
		if err != nil {
			return nil, fmt.Errorf("webhookserver: %w", err)
		}
		s.opened, q = o, o.Queue
	}
	s.metrics = NewIntakeMetrics(reg)
	s.webhookOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "moetron_webhook_registration_ok",
		Help: "1 when the last check found the webhook valid (with WEBHOOK_URL) and the bot's XAA subscriptions in place.",
	})
	if cfg.ManagesSubscriptions() {
		reg.MustRegister(s.webhookOK) // absent, not 0, when the server registers nothing
	}
	in, err := intake.New(intake.Config{
		Queue: q, Filter: f, SpoolDir: cfg.SpoolDir, MaxSpoolBytes: cfg.SpoolMaxBytes, Notify: opts.Notify,
		Metrics: s.metrics.Hooks(), Logger: opts.Logger,
		// The spool is the journal of a SQLite queue the server opened:
		// both on this machine's disk (intake.Config.Journal).
		Journal: s.opened != nil && cfg.Queue.Backend == queueopen.BackendSQLite && cfg.SpoolDir != "",
	})
	if err != nil {
		s.closeQueue()
		return nil, fmt.Errorf("webhookserver: %w", err)
	}
	s.intake = in
	var h http.Handler
	if cfg.Webhook() {
		eh, err := events.NewHandler(events.HandlerConfig{
			Secrets:      append([]string{cfg.ConsumerSecret}, cfg.PreviousSecrets...),
			MaxBodyBytes: opts.MaxBodyBytes,
			Callback:     in.Handle,
			Logger:       opts.Logger,
			OnSignatureFailure: func(*http.Request, error) {
				s.metrics.SignatureFailures.Inc()
			},
			OnOutcome: func(_ context.Context, o events.Outcome) {
				s.metrics.Requests.WithLabelValues(o.Reason).Inc()
			},
		})
		if err != nil {
			in.Close()
			s.closeQueue()
			return nil, fmt.Errorf("webhookserver: %w", err)
		}
		h = eh
	}
	if cfg.Stream() {
		var sc stream.Config
		if opts.Stream != nil {
			sc = *opts.Stream
		}
		setDur := func(p *time.Duration, v time.Duration) {
			if *p == 0 {
				*p = v
			}
		}
		setDur(&sc.StallTimeout, cfg.StreamStallTimeout)
		setDur(&sc.MinBackoff, cfg.StreamMinBackoff)
		setDur(&sc.MaxBackoff, cfg.StreamMaxBackoff)
		if sc.InitialBackfillMinutes == 0 {
			sc.InitialBackfillMinutes = cfg.StreamInitialBackfill
		}
		sc.BaseURL, sc.BearerToken, sc.Handle = cfg.APIBase, cfg.BearerToken, in.Handle
		sc.Metrics, sc.Logger = NewStreamMetrics(reg).Hooks(), opts.Logger
		if s.stream, err = stream.New(sc); err != nil {
			in.Close()
			s.closeQueue()
			return nil, fmt.Errorf("webhookserver: %w", err)
		}
	}
	if cfg.ManagesSubscriptions() {
		if s.monitor, err = s.newMonitor(); err != nil {
			in.Close()
			s.closeQueue()
			return nil, fmt.Errorf("webhookserver: webhook registration: %w", err)
		}
	}
	s.metricH = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	s.mux = http.NewServeMux()
	if h != nil {
		s.mux.Handle(cfg.Path, h)
	}
	serve.HandleHealth(s.mux, s.log, s.Readiness)
	if cfg.MetricsAddr == "" {
		s.mux.Handle("GET /metrics", LocalOnly(s.metricH))
	}
	return s, nil
}

// LocalOnly serves h to clients on this machine only: a peer on a loopback
// address whose request carries no X-Forwarded-For or Forwarded header (a
// reverse proxy in front of the webhook adds one for the public client).
// Everyone else gets 404, as if there were no such path. It guards
// /metrics on the webhook's public listener; METRICS_ADDR moves /metrics
// to a listener of its own instead.
func LocalOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() ||
			r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Readiness is the state /readyz reports: the intake's (ready; degraded
// while the queue is down but the spool takes the jobs; not ready when a
// delivery would get 503), and with the stream, degraded while it is not
// connected (not ready for a stream-only server).
func (s *Server) Readiness(ctx context.Context) serve.Readiness {
	ir := s.intake.Readiness(ctx)
	rd := serve.Readiness{State: ir.State, Reason: ir.Reason}
	if s.stream != nil {
		if err := s.stream.Ready(); err != nil {
			if s.cfg.Webhook() {
				rd = rd.And(serve.Degraded("stream not connected"))
			} else {
				rd = rd.And(serve.NotReady("stream not connected"))
			}
		}
	}
	return rd
}

// Stream returns the stream consumer (nil unless Config.Delivery is
// stream or both), for its Status.
func (s *Server) Stream() *stream.Consumer { return s.stream }

// Config returns the configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handler serves the webhook path, /healthz, /readyz and, unless
// MetricsAddr is set, /metrics.
func (s *Server) Handler() http.Handler { return s.mux }

// MetricsHandler serves the Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler { return s.metricH }

// Intake returns the intake that stores the jobs (for LastEvent, Drain).
func (s *Server) Intake() *intake.Intake { return s.intake }

// Metrics returns the intake's and the webhook's Prometheus collectors.
func (s *Server) Metrics() *IntakeMetrics { return s.metrics }

// Listen opens the listener on Config.Addr (unless Options.Listener gave
// one) and, if set, the one on Config.MetricsAddr, so that Addr reports the
// real address (useful with port 0) before Run runs.
func (s *Server) Listen() error {
	if err := s.ln.Listen(s.cfg.Addr); err != nil {
		return fmt.Errorf("webhookserver: listen on %s: %w", s.cfg.Addr, err)
	}
	if s.cfg.MetricsAddr != "" {
		if err := s.mln.Listen(s.cfg.MetricsAddr); err != nil {
			s.ln.Close()
			return fmt.Errorf("webhookserver: listen on %s for metrics: %w", s.cfg.MetricsAddr, err)
		}
	}
	return nil
}

// Addr is the address of the main listener (nil before Listen).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// MetricsAddr is the address of the metrics listener (nil when /metrics is
// served on the main listener, or before Listen).
func (s *Server) MetricsAddr() net.Addr { return s.mln.Addr() }

// Run runs the server until ctx ends (calling Listen first if needed):
// the HTTP listeners, the spool drainer, with Config.URL the webhook
// registration and its periodic self-check, and with Delivery stream or
// both the stream consumer. If the consumer stops for good (X refused the
// bearer token) Run shuts down and returns its error. When ctx ends it
// stops accepting, waits up to 20 s for requests in flight, stops the
// drainer and closes the server. It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	if err := s.Listen(); err != nil {
		return err
	}
	eps := []serve.Endpoint{{Listener: s.ln.Get(), Handler: s.mux}}
	if mln := s.mln.Get(); mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metricH)
		eps = append(eps, serve.Endpoint{Listener: mln, Handler: mux})
	}
	hs := serve.StartHTTP("webhookserver", writeTimeout, s.log, eps...)

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	streamErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.intake.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("spool drainer stopped", "err", err)
		}
	})
	if s.monitor != nil {
		wg.Go(func() { s.manageWebhook(bg) })
	}
	if s.stream != nil {
		// The consumer stops when bg ends, after the event in flight is
		// stored; an auth failure stops the server with its error.
		wg.Go(func() {
			if err := s.stream.Run(bg); err != nil {
				streamErr <- fmt.Errorf("webhookserver: stream: %w", err)
			}
		})
	}

	var err error
	select {
	case <-ctx.Done():
	case <-hs.Failed():
	case err = <-streamErr:
	}
	s.log.Info("shutting down")
	err = errors.Join(err, hs.Shutdown(shutdownTimeout))
	stopBG()
	wg.Wait()
	return errors.Join(err, s.Close())
}

// Serve is Run.
//
// Deprecated: use Run, the name every moetron server uses.
func (s *Server) Serve(ctx context.Context) error { return s.Run(ctx) }

// Close closes the listeners, the spool and the queue if the server opened
// it. Spooled jobs stay on disk for the next start. It is safe to call more
// than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.ln.Close()
		s.mln.Close()
		var errs []error
		if err := s.intake.Close(); err != nil {
			errs = append(errs, fmt.Errorf("webhookserver: closing spool: %w", err))
		}
		if err := s.closeQueue(); err != nil {
			errs = append(errs, fmt.Errorf("webhookserver: closing queue: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Server) closeQueue() error {
	if s.opened == nil {
		return nil
	}
	return s.opened.Close()
}
