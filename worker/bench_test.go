package worker_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/worker"
)

// BenchmarkWorkerVsGenerator measures jobs per second from queue to reply
// (queue/mem, Consumer, Worker, reply.Client, xfake over loopback HTTP) with
// the bundled model on the CPU, against the generator alone (Generate and
// PNG encoding, the same number of concurrent calls) in the same run, and
// reports the ratio. Each iteration runs one round of jobs through each.
//
//	go test -run '^$' -bench WorkerVsGenerator -benchtime 5x ./worker/
func BenchmarkWorkerVsGenerator(b *testing.B) {
	const round = 8 // jobs per iteration; also the Consumer's concurrency
	r := newBenchRig(b, round)
	ctx := context.Background()
	cmds := imagegen.DefaultCommands()

	var genTime, workTime time.Duration
	next := 1332557345071640000
	genRound := func() {
		var wg sync.WaitGroup
		start := time.Now()
		for i := 0; i < round; i++ {
			next++
			req, err := cmds.Request("rand", "", "tweet:"+strconv.Itoa(next))
			if err != nil {
				b.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.gen.Generate(ctx, req); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		genTime += time.Since(start)
	}
	workRound := func() {
		want := len(r.x.Posts()) + round
		start := time.Now()
		for i := 0; i < round; i++ {
			next++
			r.enqueue(body(b, tweetJob(strconv.Itoa(next))))
		}
		r.c.Wake()
		// Done when every reply is on X and every job is deleted.
		for len(r.x.Posts()) < want || queueLen(b, r.q) > 0 {
			time.Sleep(time.Millisecond)
		}
		workTime += time.Since(start)
	}
	genRound() // warm up both paths
	workRound()
	genTime, workTime = 0, 0
	b.ResetTimer()
	for b.Loop() {
		genRound()
		workRound()
	}
	b.StopTimer()
	n := float64(b.N * round)
	g, w := n/genTime.Seconds(), n/workTime.Seconds()
	b.ReportMetric(g, "gen_jobs/s")
	b.ReportMetric(w, "worker_jobs/s")
	b.ReportMetric(w/g, "worker/gen")
	if r.outcome(worker.OutcomeFailed) > 0 {
		b.Fatalf("%d jobs failed", r.outcome(worker.OutcomeFailed))
	}
}

type benchRig struct {
	*rig
	c *queue.Consumer
}

func newBenchRig(b *testing.B, concurrency int) *benchRig {
	r := newRig(b, rigOpts{})
	c, err := queue.NewConsumer(r.q, r.w, queue.ConsumerConfig{
		Poison: r.poison, Concurrency: concurrency, BatchSize: concurrency,
		MinPollInterval: time.Millisecond, MaxPollInterval: 5 * time.Millisecond,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return &benchRig{rig: r, c: c}
}
