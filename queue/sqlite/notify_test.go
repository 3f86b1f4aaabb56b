package sqlite_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/sqlite"
)

// The tests below never time anything: they wait (boundedly) for a
// notification that must come, and count notifications over a quiet
// period in which none may come.

// watchModes are the ways Changes can watch. In "auto" the poll fallback
// is set to an hour, so a test passes only if inotify (on Linux) works.
var watchModes = []struct {
	name string
	opts sqlite.Options
}{
	{"auto", sqlite.Options{ChangePoll: time.Hour}},
	{"poll", sqlite.Options{Watch: sqlite.WatchPoll, ChangePoll: 5 * time.Millisecond}},
}

// twoHandles opens the same file twice, as the webhook and the worker
// processes do, and creates the queue "jobs" in it. The first handle
// (the watcher) uses opts.
func twoHandles(t *testing.T, opts sqlite.Options) (watcher, writer *sqlite.Store, wq, xq *sqlite.Queue) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.db")
	watcher, err := sqlite.Open(path, &opts)
	require.NoError(t, err)
	t.Cleanup(func() { watcher.Close() })
	writer, err = sqlite.Open(path, nil)
	require.NoError(t, err)
	t.Cleanup(func() { writer.Close() })
	wq, err = watcher.Queue("jobs")
	require.NoError(t, err)
	xq, err = writer.Queue("jobs")
	require.NoError(t, err)
	require.NoError(t, wq.Create(context.Background()))
	return watcher, writer, wq, xq
}

// count drains ch for d and returns how many values came.
func count(ch <-chan struct{}, d time.Duration) int {
	n := 0
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return n
			}
			n++
		case <-t.C:
			return n
		}
	}
}

func TestChangesReportsAnotherHandlesEnqueue(t *testing.T) {
	for _, m := range watchModes {
		t.Run(m.name, func(t *testing.T) {
			_, _, wq, xq := twoHandles(t, m.opts)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ch := wq.Changes(ctx)
			require.Zero(t, count(ch, 100*time.Millisecond), "nothing was written yet")

			_, err := xq.Enqueue(ctx, []byte("job"), nil)
			require.NoError(t, err)
			select {
			case _, ok := <-ch:
				require.True(t, ok, "channel closed instead of notifying")
			case <-time.After(10 * time.Second):
				t.Fatal("no notification within 10 s of another handle's Enqueue")
			}
			// What the notification announced can be received.
			ms, err := wq.Receive(ctx, 1, time.Minute)
			require.NoError(t, err)
			require.Len(t, ms, 1)
		})
	}
}

func TestChangesQuietWhileConsumersPollAnEmptyQueue(t *testing.T) {
	for _, m := range watchModes {
		t.Run(m.name, func(t *testing.T) {
			_, _, wq, xq := twoHandles(t, m.opts)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			ch := wq.Changes(ctx)
			// An idle consumer's calls: empty Receives (with their purge)
			// and Len, from both handles. None may write the file, or a
			// consumer woken by Changes would wake itself for ever.
			for range 20 {
				for _, q := range []*sqlite.Queue{wq, xq} {
					ms, err := q.Receive(ctx, 16, time.Minute)
					require.NoError(t, err)
					require.Empty(t, ms)
					_, err = q.Len(ctx)
					require.NoError(t, err)
				}
			}
			assert.Zero(t, count(ch, 300*time.Millisecond), "notifications while nothing was written")
		})
	}
}

func TestChangesClosedByContextAndClose(t *testing.T) {
	for _, m := range watchModes {
		t.Run(m.name, func(t *testing.T) {
			watcher, _, wq, _ := twoHandles(t, m.opts)
			ctx, cancel := context.WithCancel(context.Background())
			ch1 := wq.Changes(ctx)
			ch2 := watcher.Changes(context.Background())
			cancel()
			waitClosed(t, ch1)
			require.NoError(t, watcher.Close())
			waitClosed(t, ch2)
			waitClosed(t, watcher.Changes(context.Background())) // after Close
		})
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed within 10 s")
		}
	}
}

// TestConsumerPicksUpAnotherHandlesJobWithoutPolling runs a Consumer whose
// poll interval is an hour: after its first, empty, Receive only a
// notification can make it receive again.
func TestConsumerPicksUpAnotherHandlesJobWithoutPolling(t *testing.T) {
	for _, m := range watchModes {
		t.Run(m.name, func(t *testing.T) {
			_, _, wq, xq := twoHandles(t, m.opts)
			rq := &countingQueue{Queue: wq}
			handled := make(chan string, 4)
			var notified atomic.Int64
			c, err := queue.NewConsumer(rq, queue.HandlerFunc(func(_ context.Context, msg *queue.Message) error {
				handled <- string(msg.Body)
				return nil
			}), queue.ConsumerConfig{
				Poison:          wq, // never used
				Notifier:        wq, // rq hides it, as the worker's gated queue does
				MinPollInterval: time.Hour, MaxPollInterval: time.Hour,
				Metrics: &queue.ConsumerMetrics{Notified: func() { notified.Add(1) }},
			})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			defer func() {
				cancel()
				require.NoError(t, <-done)
			}()
			waitFor(t, "the first Receive", func() bool { return rq.n.Load() >= 1 })
			// Idle: no more Receives and no notifications.
			time.Sleep(300 * time.Millisecond)
			require.EqualValues(t, 1, rq.n.Load(), "an idle consumer received again without a change")
			require.Zero(t, notified.Load())

			_, err = xq.Enqueue(context.Background(), []byte("hello"), nil)
			require.NoError(t, err)
			select {
			case body := <-handled:
				assert.Equal(t, "hello", body)
			case <-time.After(10 * time.Second):
				t.Fatal("job enqueued by another handle not handled within 10 s")
			}
			// The consumer's own writes (the receive, the delete) wake it
			// a bounded number of times, then it is quiet again.
			waitFor(t, "the delete", func() bool { n, _ := wq.Len(context.Background()); return n == 0 })
			time.Sleep(300 * time.Millisecond)
			before := rq.n.Load()
			time.Sleep(300 * time.Millisecond)
			assert.Equal(t, before, rq.n.Load(), "the consumer keeps waking itself")
			assert.LessOrEqual(t, before, int64(6))
		})
	}
}

// countingQueue counts Receives and hides the Notifier of the queue it
// wraps.
type countingQueue struct {
	queue.Queue
	n atomic.Int64
}

func (q *countingQueue) Receive(ctx context.Context, max int, vis time.Duration) ([]*queue.Message, error) {
	q.n.Add(1)
	return q.Queue.Receive(ctx, max, vis)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
