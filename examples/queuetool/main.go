// Command queuetool inspects and repairs a moetron job queue (SQLite or
// Azure Storage): len, peek, poison list, poison requeue ID|-all, purge
// -yes. See queue/queueadmin.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/moetron/moetron/queue/queueadmin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := queueadmin.Run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		if !errors.Is(err, queueadmin.ErrUsage) {
			fmt.Fprintln(os.Stderr, "queuetool:", err)
		}
		os.Exit(2)
	}
}
