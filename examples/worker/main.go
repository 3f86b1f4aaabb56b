// Command worker takes jobs off the queue, generates an image for each and
// answers on X. It also serves /healthz, /readyz and /metrics on
// METRICS_ADDR (default 127.0.0.1:9091, loopback only; METRICS_ADDR=off
// turns the listener off), and there the operator page at /ops/ (recent
// jobs, poison queue, requeue; OPS_PAGE, OPS_TOKEN: see package
// workerserver/opspage).
//
// Before taking jobs it checks the OAuth tokens with GET /2/users/me and
// exits 1 if X refuses them or they belong to another account than
// BOT_USER_ID; if X cannot be reached it starts anyway with a warning. A
// 401 later pauses consumption (jobs stay on the queue, /readyz answers
// 503) until the tokens pass again. The SQLite queue's absolute path is
// printed at start: the webhook must print the same one.
//
// Configuration comes from the environment (the variables of the README's
// table) or the matching flags; run with -h for the list. The least it
// needs is the bot's id and its OAuth 1.0a values:
//
//	BOT_USER_ID=... X_CONSUMER_KEY=... X_CONSUMER_SECRET=... \
//	X_ACCESS_TOKEN=... X_ACCESS_TOKEN_SECRET=... go run ./examples/worker
//
// The bundled model and the ONNX Runtime library that make ort fetched are
// the defaults. SIGINT or SIGTERM stops taking jobs, lets the jobs in flight
// finish (or releases them to the queue after -worker-drain-timeout) and
// exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/moetron/moetron/internal/envflag"
	"github.com/moetron/moetron/internal/serve"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/workerserver"
)

func main() { serve.Main("worker", run) }

// run consumes until ctx ends; it prints where the metrics are to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := workerserver.FromEnv()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	cfg.Flags(fs)
	log, err := envflag.Parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	srv, err := workerserver.New(ctx, cfg, &workerserver.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		return err
	}
	if a := srv.Addr(); a != nil {
		fmt.Fprintf(stdout, "worker: /metrics, /healthz, /readyz on %s\n", a)
		if srv.OpsPage() != nil {
			fmt.Fprintf(stdout, "worker: operator page http://%s/ops/\n", a)
		}
	}
	if p := srv.QueuePath(); p != "" {
		fmt.Fprintf(stdout, "worker: SQLite queue %s\n", p)
	}
	fmt.Fprintf(stdout, "worker: consuming on %s with %d at once\n", srv.Device(), srv.Concurrency())
	err = srv.Run(ctx)
	if errors.Is(err, queue.ErrDrainTimeout) {
		return nil // the unfinished jobs are back on the queue: nothing is lost
	}
	return err
}
