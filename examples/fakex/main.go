// Command fakex runs the fake X (package xfake) for manual runs: it prints
// the environment to export for the webhook and the worker, and serves a
// control page (-ui, default 127.0.0.1:8090) to deliver mentions and DMs
// and read the bot's replies. See xfake/fakexui.
//
//	go run ./examples/fakex -addr 127.0.0.1:8089
//	curl -d text='@moetronbot moerand' http://127.0.0.1:8090/mention
//	curl http://127.0.0.1:8090/ledger
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/moetron/moetron/xfake"
	"github.com/moetron/moetron/xfake/fakexui"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "address of the fake X API (X_API_BASE)")
	ui := flag.String("ui", "127.0.0.1:8090", "address of the control page")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	x, err := xfake.New(xfake.Config{Addr: *addr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer x.Close()
	hs := &http.Server{Addr: *ui, Handler: fakexui.Handler(x), ReadHeaderTimeout: 10 * time.Second}
	fmt.Print(fakexui.Env(x))
	fmt.Fprintf(os.Stderr, "fakex: control page on http://%s/ (webhook: set WEBHOOK_URL so it registers with the fake)\n", *ui)
	go func() { <-ctx.Done(); hs.Close() }()
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
