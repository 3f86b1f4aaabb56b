package main

import (
	"context"
	"os"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/azure"
)

// The Azure row runs against the Azurite instance whose connection string
// is in MOETRON_AZURITE (scripts/bench.sh starts one).
func init() {
	cs := os.Getenv("MOETRON_AZURITE")
	if cs == "" {
		return
	}
	register(backend{"azure (Azurite)", func(ctx context.Context, _, name string) (queue.Queue, func() error, error) {
		q, err := azure.New(azure.Config{ConnectionString: cs, Name: name})
		if err != nil {
			return nil, nil, err
		}
		if err := q.Create(ctx); err != nil {
			return nil, nil, err
		}
		return q, func() error { return q.Destroy(context.Background()) }, nil
	}})
}
