// Command moegen generates one image as the bot would, without X: from a
// command text (moegen -o sakura.png moename sakura) or a seed (moegen
// -seed 42 -psi 0.7). See imagegen/moegen.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/moetron/moetron/imagegen/moegen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := moegen.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, moegen.ErrUsage) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
}
