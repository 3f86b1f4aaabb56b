// Command demo runs the bot end to end on one machine against a fake X: X
// Activity API events by webhook (registered with a real CRC round trip and
// subscribed) and by the persistent stream, a SQLite queue, the worker with
// the bundled models on the CPU (portrait for moerand and moename, CPPN for
// moemess), and replies with images. It prints one
// row per delivered event, saves each generated image under -out, and exits
// non-zero if any reply is missing or unexpected. `make demo` runs it.
//
//	ORT_LIB=$(bash scripts/ort-lib.sh) go run ./examples/demo
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
	"time"

	"github.com/moetron/moetron/internal/demo"
)

func main() {
	out := flag.String("out", demo.DefaultOutDir, "directory for the generated images")
	timeout := flag.Duration("timeout", demo.DefaultTimeout, "give up after this long")
	verbose := flag.Bool("v", false, "log every component's records to stderr")
	quiet := flag.Bool("q", false, "print only the table")
	flag.Parse()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	cfg := demo.Config{
		OutDir:  *out,
		Timeout: *timeout,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	if !*quiet {
		cfg.Progress = os.Stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	res, err := demo.Run(ctx, cfg)
	if res != nil {
		fmt.Println()
		res.WriteTable(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		if errors.Is(err, demo.ErrFailed) {
			os.Exit(1)
		}
		os.Exit(2)
	}
	fmt.Printf("\ndemo: OK in %s; images in %s/\n", time.Since(start).Round(time.Millisecond), *out)
}
