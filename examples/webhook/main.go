// Command webhook serves the bot's X webhook: it answers X's CRC challenges,
// verifies and decodes deliveries, and puts one job per command on the queue
// for the worker. It also serves /healthz, /readyz and /metrics.
//
// Configuration comes from the environment (the variables of the README's
// table) or the matching flags; run with -h for the list. The least it
// needs:
//
//	X_CONSUMER_SECRET=... BOT_USER_ID=... go run ./examples/webhook
//
// With WEBHOOK_URL, X_BEARER_TOKEN and the OAuth 1.0a values it also
// registers the webhook, subscribes the bot and re-checks both every 15
// minutes. With DELIVERY=stream it needs no public URL and no consumer
// secret: it reads X's activity stream with the app's Bearer token
// (DELIVERY=both does both):
//
//	DELIVERY=stream X_BEARER_TOKEN=... BOT_USER_ID=... go run ./examples/webhook
//
// The subscriptions must then exist without a webhook_id. SIGINT or SIGTERM stops it gracefully: no new connections,
// requests in flight finish, the spool is closed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/moetron/moetron/internal/envflag"
	"github.com/moetron/moetron/internal/serve"
	"github.com/moetron/moetron/webhookserver"
)

func main() { serve.Main("webhook", run) }

// run serves until ctx ends; it prints where it listens to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := webhookserver.FromEnv()
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	cfg.Flags(fs)
	log, err := envflag.Parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}

	srv, err := webhookserver.New(ctx, cfg, &webhookserver.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		return err
	}
	c := srv.Config()
	log.Info("configuration", "config", c.String())
	if c.Webhook() {
		fmt.Fprintf(stdout, "webhook: listening on %s (webhook %s, /healthz, /readyz", srv.Addr(), c.Path)
	} else {
		fmt.Fprintf(stdout, "webhook: listening on %s (/healthz, /readyz", srv.Addr())
	}
	if m := srv.MetricsAddr(); m != nil {
		fmt.Fprintf(stdout, "; /metrics on %s)\n", m)
	} else {
		fmt.Fprintf(stdout, ", /metrics)\n")
	}
	if c.Registers() {
		fmt.Fprintf(stdout, "webhook: registering %s with %s\n", c.URL, c.APIBase)
	}
	if c.Stream() {
		fmt.Fprintf(stdout, "webhook: reading the activity stream of %s\n", c.APIBase)
	}
	if err := srv.Run(ctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
