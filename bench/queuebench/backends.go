package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/queue/sqlite"
)

// backend is one row of the table. open returns a new, created, empty queue
// named name (file-backed backends keep their files under dir) and a
// function that releases it.
type backend struct {
	name string
	open func(ctx context.Context, dir, name string) (queue.Queue, func() error, error)
}

// registry holds the backends in table order. A backend that needs
// something from the environment (Azure: MOETRON_AZURITE with a connection
// string) registers from an init function in its own file, and only when
// that is present.
var registry []backend

func register(b backend) { registry = append(registry, b) }

func init() {
	register(backend{"mem", func(ctx context.Context, _, name string) (queue.Queue, func() error, error) {
		q, err := mem.New(name, nil)
		if err != nil {
			return nil, nil, err
		}
		return q, q.Close, nil
	}})
	register(backend{"sqlite", openSQLite(0)})
	register(backend{"sqlite-nobatch", openSQLite(1)})
}

func openSQLite(maxBatch int) func(ctx context.Context, dir, name string) (queue.Queue, func() error, error) {
	return func(ctx context.Context, dir, name string) (queue.Queue, func() error, error) {
		path := filepath.Join(dir, fmt.Sprintf("%s-batch%d.db", name, maxBatch))
		s, err := sqlite.Open(path, &sqlite.Options{MaxBatch: maxBatch})
		if err != nil {
			return nil, nil, err
		}
		q, err := s.Queue(name)
		if err == nil {
			err = q.Create(ctx)
		}
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		return q, s.Close, nil
	}
}

func selectBackends(only string) ([]backend, error) {
	if only == "" {
		return registry, nil
	}
	var out []backend
	for _, name := range strings.Split(only, ",") {
		found := false
		for _, b := range registry {
			if b.name == strings.TrimSpace(name) {
				out = append(out, b)
				found = true
			}
		}
		if !found {
			var known []string
			for _, b := range registry {
				known = append(known, b.name)
			}
			return nil, fmt.Errorf("unknown backend %q (registered: %s)", name, strings.Join(known, ", "))
		}
	}
	return out, nil
}
