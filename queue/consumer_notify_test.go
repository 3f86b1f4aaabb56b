package queue_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
)

// fakeNotifier is a queue.Notifier the test drives.
type fakeNotifier struct {
	ch   chan struct{}
	subs atomic.Int64
}

func (n *fakeNotifier) Changes(ctx context.Context) <-chan struct{} {
	n.subs.Add(1)
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-n.ch:
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// notifyingQueue is a queue that is also a Notifier.
type notifyingQueue struct {
	*spy
	*fakeNotifier
}

func TestConsumerWakesOnNotification(t *testing.T) {
	for _, viaConfig := range []bool{false, true} {
		name := "queue is a Notifier"
		if viaConfig {
			name = "ConsumerConfig.Notifier"
		}
		t.Run(name, func(t *testing.T) {
			sp := newSpy(newMem(t, "jobs", nil))
			n := &fakeNotifier{ch: make(chan struct{})}
			var q queue.Queue = notifyingQueue{sp, n}
			cfg := queue.ConsumerConfig{Poison: newMem(t, "jobs-poison", nil),
				MinPollInterval: time.Hour, MaxPollInterval: time.Hour}
			var notified atomic.Int64
			cfg.Metrics = &queue.ConsumerMetrics{Notified: func() { notified.Add(1) }}
			if viaConfig {
				q, cfg.Notifier = sp, n
			}
			c, err := queue.NewConsumer(q, queue.HandlerFunc(func(context.Context, *queue.Message) error { return nil }), cfg)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			eventuallyTrue(t, func() bool { return len(sp.Receives()) == 1 })
			require.EqualValues(t, 1, n.subs.Load())
			for i := 2; i <= 4; i++ {
				select {
				case n.ch <- struct{}{}:
				case <-time.After(10 * time.Second):
					t.Fatal("the consumer does not listen")
				}
				eventuallyTrue(t, func() bool { return len(sp.Receives()) == i })
			}
			assert.EqualValues(t, 3, notified.Load())
			cancel()
			require.NoError(t, <-done)
		})
	}
}

func TestConsumerWithoutNotifierOnlyPolls(t *testing.T) {
	sp := newSpy(newMem(t, "jobs", nil))
	c, err := queue.NewConsumer(sp, queue.HandlerFunc(func(context.Context, *queue.Message) error { return nil }),
		queue.ConsumerConfig{Poison: newMem(t, "jobs-poison", nil), MinPollInterval: time.Hour, MaxPollInterval: time.Hour})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	eventuallyTrue(t, func() bool { return len(sp.Receives()) == 1 })
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, sp.Receives(), 1)
	cancel()
	require.NoError(t, <-done)
}

func eventuallyTrue(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
