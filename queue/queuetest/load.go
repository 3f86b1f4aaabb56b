package queuetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/queue"
)

// Fill enqueues n copies of body using c goroutines. It stops at the first
// error and returns it.
func Fill(ctx context.Context, q queue.Queue, n, c int, body []byte) error {
	if n < 0 || c < 1 {
		return fmt.Errorf("%w: n %d, concurrency %d", queue.ErrInvalidArgument, n, c)
	}
	var next atomic.Int64
	return fanOut(ctx, c, func(ctx context.Context) error {
		for next.Add(1) <= int64(n) {
			if _, err := q.Enqueue(ctx, body, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// Drain receives and deletes n messages using c goroutines, each receiving
// up to batch messages at a time with a long visibility timeout and then
// deleting them one by one (as a worker does). A goroutine that finds the
// queue empty while messages are still owed waits a millisecond and tries
// again, so the queue must hold at least n messages that nobody else takes.
func Drain(ctx context.Context, q queue.Queue, n, c, batch int) error {
	if n < 0 || c < 1 || batch < 1 || batch > queue.MaxReceive {
		return fmt.Errorf("%w: n %d, concurrency %d, batch %d", queue.ErrInvalidArgument, n, c, batch)
	}
	var owed atomic.Int64 // messages no receive has claimed yet
	owed.Store(int64(n))
	claim := func() int {
		for {
			cur := owed.Load()
			if cur <= 0 {
				return 0
			}
			k := min(int64(batch), cur)
			if owed.CompareAndSwap(cur, cur-k) {
				return int(k)
			}
		}
	}
	return fanOut(ctx, c, func(ctx context.Context) error {
		for {
			// Ask only for what is still owed, so no message is left leased.
			want := claim()
			if want == 0 {
				return nil
			}
			ms, err := q.Receive(ctx, want, 10*time.Minute)
			if err != nil {
				owed.Add(int64(want))
				return err
			}
			owed.Add(int64(want - len(ms)))
			if len(ms) == 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Millisecond):
				}
				continue
			}
			for _, m := range ms {
				if err := q.Delete(ctx, m.ID, m.Receipt); err != nil {
					return err
				}
			}
		}
	})
}

// fanOut runs f in c goroutines and returns the first error; the first
// error cancels the others.
func fanOut(ctx context.Context, c int, f func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		once sync.Once
		ferr error
	)
	for range c {
		wg.Go(func() {
			if err := f(ctx); err != nil {
				once.Do(func() { ferr = err; cancel() })
			}
		})
	}
	wg.Wait()
	return ferr
}

// BenchBody is the body the benchmarks enqueue: a job message of typical
// size (about 300 bytes).
var BenchBody = []byte(`{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@bot moename hello","user_id":"1247048165561270272","id":"tweet:1332557345071644672","command":"name","args":"hello","for_user_id":"1114259648326987776","screen_name":"alice","received_at":"2026-11-26T17:00:00Z"}`)

// Bench runs the throughput benchmarks against queues from newQueue (one
// new, empty, created queue per sub-benchmark): Enqueue with 1 and 8
// goroutines, and receive+delete in batches of 32 with 1 and 8 goroutines.
// Each reports msgs/s.
func Bench(b *testing.B, newQueue func(b *testing.B) queue.Queue) {
	ctx := context.Background()
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("Enqueue/c=%d", c), func(b *testing.B) {
			q := newQueue(b)
			b.ResetTimer()
			if err := Fill(ctx, q, b.N, c, BenchBody); err != nil {
				b.Fatal(err)
			}
			reportRate(b)
		})
	}
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("ReceiveDelete/c=%d", c), func(b *testing.B) {
			q := newQueue(b)
			if err := Fill(ctx, q, b.N, 8, BenchBody); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			if err := Drain(ctx, q, b.N, c, queue.MaxReceive); err != nil {
				b.Fatal(err)
			}
			reportRate(b)
		})
	}
}

func reportRate(b *testing.B) {
	b.StopTimer()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "msgs/s")
	}
}
