package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/stream"
	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/webhookserver"
	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/xfake"
)

// Defaults of Config.
const (
	DefaultOutDir  = "out"
	DefaultTimeout = 90 * time.Second
)

// ErrFailed is wrapped by Run's error when the demo ran but an outcome was
// not the expected one (a reply missing, an unexpected reply, a wrong
// decision).
var ErrFailed = errors.New("demo: unexpected outcome")

// Config configures Run. The zero value runs the demo with the defaults.
type Config struct {
	// OutDir receives one image file per reply. Empty means DefaultOutDir.
	OutDir string
	// WorkDir holds the SQLite queue and the spool. Empty means a new
	// temporary directory, removed at the end.
	WorkDir string
	// LibraryPath is the ONNX Runtime library; empty means
	// imagegen.LibraryPath() (ORT_LIB, else where scripts/ort-lib.sh puts it).
	LibraryPath string
	// Timeout bounds the whole run, start-up included. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Logger receives the components' logs; nil discards.
	Logger *slog.Logger
	// Progress, if set, receives one line per step as it happens.
	Progress io.Writer
}

// Timings are the durations of the demo's phases.
type Timings struct {
	Startup  time.Duration // fake X, webhook server, model, worker
	Register time.Duration // registration (CRC round trip) and subscription
	Deliver  time.Duration // all deliveries answered by the webhook
	Replies  time.Duration // from the first delivery to the last reply
	Total    time.Duration
}

// Result is what Run saw.
type Result struct {
	Rows []Row
	// Problems lists every unexpected outcome; empty when the demo passed.
	Problems []string
	Timings  Timings
	// WebhookURL is where the fake X delivered.
	WebhookURL string
	// Device is the ONNX Runtime device the images were generated on.
	Device string
	// Metrics is a summary of the webhook's and the worker's counters.
	Metrics map[string]float64
}

// Run starts a fake X, the webhook server and a worker, plays the scenario
// (see the package doc) and checks every outcome. The error wraps ErrFailed
// when an outcome was wrong (Result then tells which), or is the start-up
// failure.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	if cfg.OutDir == "" {
		cfg.OutDir = DefaultOutDir
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.LibraryPath == "" {
		cfg.LibraryPath = imagegen.LibraryPath()
	}
	if _, err := os.Stat(cfg.LibraryPath); err != nil {
		return nil, fmt.Errorf("demo: ONNX Runtime library %s: %w (run scripts/ort-lib.sh, or set ORT_LIB)", cfg.LibraryPath, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", a...)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	if cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "moetron-demo-")
		if err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.WorkDir = dir
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("demo: output directory: %w", err)
	}
	// Images of an earlier run would be mistaken for this one's.
	old, _ := filepath.Glob(filepath.Join(cfg.OutDir, "[0-9][0-9]-*-seed*.*"))
	for _, f := range old {
		os.Remove(f)
	}

	// X.
	x, err := xfake.New(xfake.Config{Logger: log.With("component", "xfake")})
	if err != nil {
		return nil, fmt.Errorf("demo: starting the fake X: %w", err)
	}
	defer x.Close()
	// X sends a keep-alive about every 20 s; the demo's stream is quicker
	// so that its stall detection can be short.
	x.SetStreamOptions(xfake.StreamOptions{KeepAlive: 200 * time.Millisecond})
	xc := x.Config()
	progress("fake X listening on %s (bot @%s, id %s)", x.URL(), xc.BotScreenName, xc.BotUserID)

	// The webhook, exactly as examples/webhook builds it, on a port the
	// registration URL can name.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	qenv := queueopen.Env{Backend: queueopen.BackendSQLite, Path: filepath.Join(cfg.WorkDir, "queue.db")}
	wcfg := webhookserver.Config{
		Delivery:          webhookserver.DeliveryBoth,
		ConsumerSecret:    xc.ConsumerSecret,
		BotUserID:         xc.BotUserID,
		Queue:             qenv,
		SpoolDir:          filepath.Join(cfg.WorkDir, "spool"),
		URL:               "http://" + ln.Addr().String() + webhookserver.DefaultPath,
		APIBase:           x.URL(),
		ConsumerKey:       xc.ConsumerKey,
		AccessToken:       xc.AccessToken,
		AccessTokenSecret: xc.AccessTokenSecret,
		BearerToken:       xc.BearerToken,
	}
	reg := prometheus.NewRegistry()
	var wserver atomic.Pointer[workerserver.Server]
	checks := make(chan error, 8)
	srv, err := webhookserver.New(ctx, wcfg, &webhookserver.Options{
		Listener: ln,
		Registry: reg,
		Stream: &stream.Config{
			StallTimeout: 2 * time.Second, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		},
		Notify: func() {
			if w := wserver.Load(); w != nil {
				w.Wake()
			}
		},
		OnWebhookCheck: func(st webhooks.Status, err error) {
			if err == nil && !(st.Valid && st.Subscribed) {
				err = fmt.Errorf("webhook check ended with valid=%v subscribed=%v", st.Valid, st.Subscribed)
			}
			select {
			case checks <- err:
			default:
			}
		},
		Logger: log.With("component", "webhook"),
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}

	// The worker, exactly as examples/worker builds it: its own handle on
	// the SQLite file, as a second process would have.
	wsrv, err := workerserver.New(ctx, workerserver.Config{
		BotUserID: xc.BotUserID, ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret, APIBase: x.URL(),
		Queue: qenv, ORTLib: cfg.LibraryPath, Device: imagegen.DeviceCPU,
	}, &workerserver.Options{
		Registry:        reg,
		MinPollInterval: 50 * time.Millisecond,
		MaxPollInterval: 500 * time.Millisecond,
		Logger:          log,
	})
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	wserver.Store(wsrv)
	progress("worker ready: bundled models (moerand, moename: portrait; moemess: CPPN) on %s, ONNX Runtime %s", wsrv.Device(), cfg.LibraryPath)

	// Run both until the scenario is over.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var serveErr, consErr error
	wg.Go(func() { serveErr = srv.Run(runCtx) })
	wg.Go(func() { consErr = wsrv.Run(runCtx) })
	stopAll := func() error {
		stop()
		wg.Wait()
		return errors.Join(serveErr, consErr)
	}

	res := &Result{WebhookURL: wcfg.URL, Device: wsrv.Device()}
	res.Timings.Startup = time.Since(start)
	progress("webhook server listening on %s; registering it with the fake X", srv.Addr())

	t := time.Now()
	select {
	case err := <-checks:
		if err != nil {
			return nil, errors.Join(fmt.Errorf("demo: registering the webhook: %w", err), stopAll())
		}
	case <-ctx.Done():
		return nil, errors.Join(fmt.Errorf("demo: no webhook registration within the timeout: %w", ctx.Err()), stopAll())
	}
	res.Timings.Register = time.Since(t)
	hooks := x.Webhooks()
	if len(hooks) != 1 || !hooks[0].Valid {
		return nil, errors.Join(fmt.Errorf("%w: the fake X holds webhooks %+v after registration", ErrFailed, hooks), stopAll())
	}
	subs := x.ActivitySubscriptions()
	var types []string
	for _, a := range subs {
		if a.WebhookID == hooks[0].ID && a.Filter.UserID == xc.BotUserID {
			types = append(types, a.EventType)
		}
	}
	if len(types) != len(webhooks.DefaultActivityEventTypes) {
		return nil, errors.Join(fmt.Errorf("%w: the fake X holds XAA subscriptions %+v after registration", ErrFailed, subs), stopAll())
	}
	progress("webhook %s registered (CRC passed); X Activity API subscriptions for @%s: %s",
		hooks[0].ID, xc.BotScreenName, strings.Join(types, ", "))

	streamReady := func() bool { return srv.Stream().Ready() == nil }
	sc := &scenario{x: x, reg: reg, webhookURL: wcfg.URL, queue: wsrv.Queue(), outDir: cfg.OutDir, progress: progress,
		streamReady: streamReady}
	if err := sc.waitStream(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("demo: %w", err), stopAll())
	}
	progress("persistent stream connected (GET /2/activity/stream)")
	runErr := sc.run(ctx, res)
	res.Metrics = summary(reg)
	if err := stopAll(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("demo: shutdown: %w", err))
	}
	res.Timings.Total = time.Since(start)
	if runErr != nil {
		return res, runErr
	}
	if len(res.Problems) > 0 {
		return res, fmt.Errorf("%w: %d problem(s)", ErrFailed, len(res.Problems))
	}
	return res, nil
}
