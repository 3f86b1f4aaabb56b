// Command ortfetch downloads the pinned ONNX Runtime library (checked by
// sha256) into the cache directory imagegen looks in, and prints its path:
//
//	go run github.com/moetron/moetron/examples/ortfetch
//
// See imagegen/ortfetch.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/moetron/moetron/imagegen/ortfetch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	path, err := ortfetch.Fetch(ctx, ortfetch.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(path)
}
