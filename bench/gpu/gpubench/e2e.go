package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moetron/moetron/imagegen"
)

// e2eResult is one throughput measurement through the public imagegen API.
type e2eResult struct {
	IPS       float64 // images per second, Generate (PNG encoding included)
	MeanBatch float64 // images per session run during the timed part
	MaxBatch  int     // Stats.MaxBatch: the largest batch run
	Cap       int     // Generator.MaxBatch: the effective cap
}

// e2eThroughput runs callers goroutines in a closed loop, each calling
// Generate until images images are done in total (after one warm-up call
// per caller), and reports images per second and the batches formed.
func e2eThroughput(g *imagegen.Generator, callers, images int) (e2eResult, error) {
	ctx := context.Background()
	run := func(total int) (time.Duration, error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		start := time.Now()
		for range callers {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(total) {
						return
					}
					img, err := g.Generate(ctx, imagegen.Request{Seed: uint32(i), Psi: imagegen.PsiTruncated})
					if err != nil {
						errs <- err
						return
					}
					if len(img.Data) == 0 {
						errs <- fmt.Errorf("seed %d: empty image", i)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		return time.Since(start), <-errs
	}
	if _, err := run(callers); err != nil {
		return e2eResult{}, err
	}
	before := g.Stats()
	d, err := run(images)
	if err != nil {
		return e2eResult{}, err
	}
	after := g.Stats()
	runs := after.Runs - before.Runs
	return e2eResult{
		IPS:       float64(images) / d.Seconds(),
		MeanBatch: float64(after.Images-before.Images) / float64(max(runs, 1)),
		MaxBatch:  after.MaxBatch,
		Cap:       g.MaxBatch(),
	}, nil
}

// e2eLatency times calls sequential single-image calls (one caller, so
// every call is a lone batch of 1); encode selects Generate over
// GenerateRGBA.
func e2eLatency(g *imagegen.Generator, warm, calls int, encode bool) ([]time.Duration, error) {
	ctx := context.Background()
	one := func(seed uint32) error {
		req := imagegen.Request{Seed: seed, Psi: imagegen.PsiTruncated}
		if encode {
			_, err := g.Generate(ctx, req)
			return err
		}
		_, err := g.GenerateRGBA(ctx, req)
		return err
	}
	for i := range warm {
		if err := one(uint32(i)); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, calls)
	for i := range out {
		t := time.Now()
		if err := one(uint32(1000 + i)); err != nil {
			return nil, err
		}
		out[i] = time.Since(t)
	}
	return out, nil
}
