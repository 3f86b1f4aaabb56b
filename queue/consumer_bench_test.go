package queue_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/queue"
)

// deleteCounter counts successful deletes and closes done at target.
type deleteCounter struct {
	queue.Queue
	n, target atomic.Int64
	done      chan struct{}
}

func (d *deleteCounter) Delete(ctx context.Context, id, receipt string) error {
	err := d.Queue.Delete(ctx, id, receipt)
	if err == nil && d.n.Add(1) == d.target.Load() {
		close(d.done)
	}
	return err
}

func filledQueue(b *testing.B, n int) *deleteCounter {
	b.Helper()
	q := newMem(b, "bench", nil)
	body := []byte(`{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@bot moerand","user_id":"1247048165561270272"}`)
	for range n {
		if _, err := q.Enqueue(context.Background(), body, nil); err != nil {
			b.Fatal(err)
		}
	}
	dc := &deleteCounter{Queue: q, done: make(chan struct{})}
	dc.target.Store(int64(n))
	return dc
}

// BenchmarkConsumerOverhead measures the Consumer's cost per message with an
// empty handler on queue/mem ("consumer"), against the same backend driven
// by a bare Receive(32)+Delete loop ("raw") in the same run. The difference
// is the consumer's overhead: goroutine, lease renewer, context and
// bookkeeping per message.
func BenchmarkConsumerOverhead(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		q := filledQueue(b, b.N)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for q.n.Load() < int64(b.N) {
			ms, err := q.Receive(ctx, queue.MaxReceive, 10*time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range ms {
				if err := q.Delete(ctx, m.ID, m.Receipt); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	for _, conc := range []int{0, 1} {
		name := "consumer"
		if conc > 0 {
			name += "-concurrency" + strconv.Itoa(conc)
		}
		b.Run(name, func(b *testing.B) {
			q := filledQueue(b, b.N)
			cfg := queue.ConsumerConfig{
				Poison:          newMem(b, "bench-poison", nil),
				BatchSize:       queue.MaxReceive,
				Concurrency:     conc,
				MinPollInterval: time.Millisecond,
				MaxPollInterval: 10 * time.Millisecond,
			}
			if conc == 1 {
				cfg.BatchSize = 1
			}
			c, err := queue.NewConsumer(q, queue.HandlerFunc(func(context.Context, *queue.Message) error {
				return nil
			}), cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			res := make(chan error, 1)
			b.ReportAllocs()
			b.ResetTimer()
			go func() { res <- c.Run(ctx) }()
			<-q.done
			b.StopTimer()
			cancel()
			if err := <-res; err != nil {
				b.Fatal(err)
			}
		})
	}
}
