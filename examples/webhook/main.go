// Command webhook serves the bot's X webhook: it answers X's CRC challenges,
// verifies and decodes deliveries, and puts one job per command on the queue
// for the worker. It also serves /healthz, /readyz and /metrics.
//
// Configuration comes from the environment (the names of the project's
// design) or the matching flags; run with -h for the list. The least it
// needs:
//
//	X_CONSUMER_SECRET=... BOT_USER_ID=... go run ./examples/webhook
//
// With WEBHOOK_URL, X_BEARER_TOKEN and the OAuth 1.0a values it also
// registers the webhook, subscribes the bot and re-checks both every 15
// minutes. SIGINT or SIGTERM stops it gracefully: no new connections,
// requests in flight finish, the spool is closed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/moetron/moetron/webhookserver"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg := webhookserver.FromEnv()
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	cfg.Flags(fs)
	debug := fs.Bool("debug", os.Getenv("LOG_LEVEL") == "debug", "log debug records (or LOG_LEVEL=debug)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

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
	fmt.Printf("webhook: listening on %s (webhook %s, /healthz, /readyz", srv.Addr(), c.Path)
	if m := srv.MetricsAddr(); m != nil {
		fmt.Printf("; /metrics on %s)\n", m)
	} else {
		fmt.Printf(", /metrics)\n")
	}
	if c.Registers() {
		fmt.Printf("webhook: registering %s with %s\n", c.URL, c.APIBase)
	}
	if err := srv.Serve(ctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
