package serve

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a binary's body: it serves until ctx ends, reading its
// flags from args and printing where it listens to stdout.
type RunFunc func(ctx context.Context, args []string, stdout io.Writer) error

// Main runs run with a context that ends at SIGINT or SIGTERM (run then
// stops gracefully and returns) and exits: 0, or 1 after printing "name:
// error" to standard error.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitCode(ctx, name, run, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func exitCode(ctx context.Context, name string, run RunFunc, args []string, stdout, stderr io.Writer) int {
	if err := run(ctx, args, stdout); err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	return 0
}
