// Command bot runs the whole bot in one process on one machine with no
// public URL (a home PC with a GPU): it reads X's activity stream, queues
// one job per command in a SQLite file and answers each with a generated
// image. It serves /healthz, /readyz and /metrics on METRICS_ADDR (else
// WEBHOOK_ADDR, default 127.0.0.1:8080). See package botserver.
//
// Configuration comes from the environment (the variables of the README's
// table) or the matching flags; run with -h for the list. The least it
// needs:
//
//	BOT_USER_ID=... X_BEARER_TOKEN=... X_CONSUMER_KEY=... X_CONSUMER_SECRET=... \
//	X_ACCESS_TOKEN=... X_ACCESS_TOKEN_SECRET=... DEVICE=cuda go run ./examples/bot
//
// SIGINT or SIGTERM stops reading the stream, lets the jobs in flight
// finish (or puts them back on the queue) and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/moetron/moetron/botserver"
	"github.com/moetron/moetron/internal/envflag"
	"github.com/moetron/moetron/internal/serve"
	"github.com/moetron/moetron/queue"
)

func main() { serve.Main("bot", run) }

// run serves until ctx ends; it prints where it listens to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := botserver.FromEnv()
	log, err := envflag.Parse(flags(&cfg), args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	srv, err := botserver.New(ctx, cfg, &botserver.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		return err
	}
	c := srv.Config()
	fmt.Fprintf(stdout, "bot: /healthz, /readyz, /metrics on %s\n", srv.Addr())
	fmt.Fprintf(stdout, "bot: delivery %s from %s; answering on %s\n", c.Webhook.Delivery, c.Webhook.WithDefaults().APIBase, srv.Worker().Device())
	err = srv.Run(ctx)
	if errors.Is(err, queue.ErrDrainTimeout) {
		return nil // the unfinished jobs are back on the queue: nothing is lost
	}
	return err
}

// flags binds cfg to the bot's flags (envflag.Parse adds -log-level).
func flags(cfg *botserver.Config) *flag.FlagSet {
	fs := flag.NewFlagSet("bot", flag.ContinueOnError)
	cfg.Flags(fs)
	return fs
}
