// Command worker takes jobs off the queue, generates an image for each and
// answers on X. Configuration comes from the environment (DESIGN.md names),
// each value also a flag; see -h. SIGINT or SIGTERM stops taking jobs, lets
// the jobs in flight finish (or releases them after -drain) and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/worker"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Args[1:]); err != nil {
		log.Error("worker stopped", "err", err)
		os.Exit(1)
	}
}

// setting binds a flag named after env, defaulting to env's value or def.
func setting(fs *flag.FlagSet, env, def, usage string) *string {
	v := os.Getenv(env)
	if v == "" {
		v = def
	}
	return fs.String(strings.ToLower(strings.ReplaceAll(env, "_", "-")), v, usage+" (env "+env+")")
}

func run(log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	required := map[string]*string{}
	for _, env := range []string{"BOT_USER_ID", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"} {
		required[env] = setting(fs, env, "", "required")
	}
	apiBase := setting(fs, "X_API_BASE", reply.DefaultBaseURL, "X API base URL")
	modelPath := setting(fs, "MODEL_PATH", "", "ONNX model file; empty means the bundled model")
	ortLib := setting(fs, "ORT_LIB", "", "ONNX Runtime library; empty means "+imagegen.DefaultLibraryPath())
	cudaPlugin := setting(fs, "ORT_CUDA_PLUGIN", "", "CUDA plugin execution provider library")
	device := setting(fs, "DEVICE", imagegen.DeviceAuto, "auto, cpu or cuda")
	metricsAddr := setting(fs, "METRICS_ADDR", "", "address serving /metrics, /healthz and /readyz; empty means none")
	format := fs.String("format", "png", "image format: png or jpeg")
	concurrency := fs.Int("concurrency", 0, "jobs handled at once; 0 means the generator's batch size")
	drain := fs.Duration("drain", 30*time.Second, "how long a shutdown waits for jobs in flight")
	qenv := queueopen.FromEnv()
	qenv.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var missing []string
	for _, env := range []string{"BOT_USER_ID", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"} {
		if *required[env] == "" {
			missing = append(missing, env)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing required settings: %s (set the environment variables or the flags)", strings.Join(missing, ", "))
	}
	if err := qenv.Validate(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	gcfg := imagegen.Config{ModelPath: *modelPath, LibraryPath: *ortLib, CUDAPlugin: *cudaPlugin,
		Device: *device, Logger: log}
	if gcfg.ModelPath == "" {
		gcfg.Model = bundled.Model()
	}
	gen, err := imagegen.New(gcfg)
	if err != nil {
		return err
	}
	defer gen.Close()
	client, err := reply.New(reply.Config{
		ConsumerKey: *required["X_CONSUMER_KEY"], ConsumerSecret: *required["X_CONSUMER_SECRET"],
		AccessToken: *required["X_ACCESS_TOKEN"], AccessTokenSecret: *required["X_ACCESS_TOKEN_SECRET"],
		BotUserID: *required["BOT_USER_ID"], BaseURL: *apiBase, Logger: log,
	})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w, err := worker.New(worker.Config{Generator: gen, Replier: client, BotUserID: *required["BOT_USER_ID"],
		Format: imagegen.Format(*format), Logger: log, Metrics: worker.NewMetrics(reg)})
	if err != nil {
		return err
	}
	q, err := queueopen.Open(ctx, qenv, &queueopen.Options{Logger: log})
	if err != nil {
		return err
	}
	defer q.Close()
	if *concurrency <= 0 {
		*concurrency = gen.MaxBatch()
	}
	c, err := queue.NewConsumer(q.Queue, w, queue.ConsumerConfig{
		Concurrency: *concurrency, BatchSize: min(*concurrency, queue.MaxReceive),
		PoisonFactory: q.PoisonFactory, DrainTimeout: *drain, Logger: log,
	})
	if err != nil {
		return err
	}

	var ready atomic.Bool
	if *metricsAddr != "" {
		srv := metricsServer(*metricsAddr, reg, &ready)
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server failed", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
	}
	log.Info("worker started", "queue", q.Env.String(), "device", gen.Device(), "concurrency", *concurrency,
		"max_batch", gen.MaxBatch(), "model", modelName(*modelPath))
	ready.Store(true)
	err = c.Run(ctx) // returns after the drain once ctx ends
	ready.Store(false)
	if errors.Is(err, queue.ErrDrainTimeout) {
		log.Warn("drain deadline passed; unfinished jobs were released to the queue")
		return nil
	}
	log.Info("worker drained")
	return err
}

func modelName(path string) string {
	if path == "" {
		return "bundled " + bundled.FileName
	}
	return path
}

// metricsServer serves Prometheus metrics and the probes: /healthz answers
// while the process lives, /readyz while the consumer takes jobs.
func metricsServer(addr string, reg *prometheus.Registry, ready *atomic.Bool) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
}
