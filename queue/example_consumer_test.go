package queue_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
)

// A worker: handle each job, and let the Consumer delete it on success.
func ExampleConsumer() {
	jobs, _ := mem.New("jobs", nil)
	poison, _ := mem.New("jobs-poison", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	h := queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		fmt.Printf("job %s, attempt %d\n", m.Body, m.DequeueCount)
		cancel() // the example stops after one job; Run drains it first
		return nil
	})
	c, err := queue.NewConsumer(jobs, h, queue.ConsumerConfig{
		Poison:      poison,
		Concurrency: 1, // one GPU: one job at a time
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := jobs.Enqueue(ctx, []byte(`{"id":"tweet:1"}`), nil); err != nil {
		fmt.Println(err)
		return
	}
	c.Wake() // an enqueuer in the same process skips the poll delay
	if err := c.Run(ctx); err != nil {
		fmt.Println(err)
	}
	n, _ := jobs.Len(context.Background())
	fmt.Println("left in queue:", n)
	// Output:
	// job {"id":"tweet:1"}, attempt 1
	// left in queue: 0
}

// A handler that hits a rate limit defers the job until the limit resets.
// The deferral does not count toward MaxDequeueCount.
func ExampleRetryAfter() {
	jobs, _ := mem.New("jobs", nil)
	poison, _ := mem.New("jobs-poison", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tries := 0
	h := queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		tries++
		if tries == 1 {
			reset := 20 * time.Millisecond // from x-rate-limit-reset in real life
			fmt.Println("rate limited; deferring")
			return queue.RetryAfter(errors.New("429 Too Many Requests"), reset)
		}
		fmt.Printf("replied on try %d, dequeue count %d\n", tries, m.DequeueCount)
		cancel()
		return nil
	})
	c, err := queue.NewConsumer(jobs, h, queue.ConsumerConfig{
		Poison:          poison,
		MaxDequeueCount: 1,
		MaxPollInterval: 10 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = jobs.Enqueue(ctx, []byte(`{"id":"dm:7"}`), nil)
	_ = c.Run(ctx)
	// Output:
	// rate limited; deferring
	// replied on try 2, dequeue count 1
}

// A job that can never succeed goes to the poison queue at once, with the
// error recorded next to the original body.
func ExamplePermanent() {
	jobs, _ := mem.New("jobs", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var poison *mem.Queue
	h := queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		cancel()
		return queue.Permanent(errors.New("unknown command"))
	})
	c, err := queue.NewConsumer(jobs, h, queue.ConsumerConfig{
		PoisonFactory: func(name string) (queue.Queue, error) {
			q, err := mem.New(name, nil)
			poison = q
			return q, err
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = jobs.Enqueue(ctx, []byte(`{"text":"@bot hello"}`), nil)
	_ = c.Run(ctx)

	ms, _ := poison.Receive(context.Background(), 1, time.Minute)
	rec, _ := queue.DecodePoison(ms[0].Body)
	fmt.Println(poison.Name())
	fmt.Println(rec.Reason, "|", rec.Error, "|", rec.Body)
	// Output:
	// jobs-poison
	// permanent | permanent: unknown command | {"text":"@bot hello"}
}
