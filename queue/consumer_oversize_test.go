package queue_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/sqlite"
)

// foreignBody makes every received message carry body instead of what was
// enqueued: what a queue holds when another writer (a 64 KiB Azure message,
// a row written by another tool) put a body there that this SDK's Enqueue
// would refuse.
type foreignBody struct {
	queue.Queue
	body []byte
}

func (f *foreignBody) Receive(ctx context.Context, max int, vis time.Duration) ([]*queue.Message, error) {
	ms, err := f.Queue.Receive(ctx, max, vis)
	for _, m := range ms {
		m.Body = append([]byte(nil), f.body...)
	}
	return ms, err
}

// refusing is a poison queue whose backend refuses any body over limit
// bytes (a tighter limit than queue.MaxBodySize).
type refusing struct {
	queue.Queue
	limit int

	mu      sync.Mutex
	refused int
}

func (r *refusing) Enqueue(ctx context.Context, body []byte, opts *queue.EnqueueOptions) (*queue.Message, error) {
	if len(body) > r.limit {
		r.mu.Lock()
		r.refused++
		r.mu.Unlock()
		return nil, queue.ErrTooLarge
	}
	return r.Queue.Enqueue(ctx, body, opts)
}

func (r *refusing) Refused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

func sqliteQueues(t *testing.T) (jobs, poison queue.Queue) {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "queue.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	jq, err := s.Queue("jobs")
	require.NoError(t, err)
	pq, err := s.Queue("jobs-poison")
	require.NoError(t, err)
	require.NoError(t, jq.Create(context.Background()))
	require.NoError(t, pq.Create(context.Background()))
	return jq, pq
}

// TestConsumerPoisonsOversizeBodyTruncated: a message whose body is over
// the queue limit is poisoned once with a truncated body and the reason,
// and deleted; before, the poison queue refused it and the consumer
// retried it forever.
func TestConsumerPoisonsOversizeBodyTruncated(t *testing.T) {
	backends := map[string]func(t *testing.T) (queue.Queue, queue.Queue){
		"mem": func(t *testing.T) (queue.Queue, queue.Queue) {
			return newMem(t, "jobs", nil), newMem(t, "jobs-poison", nil)
		},
		"sqlite": sqliteQueues,
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			for _, body := range map[string]string{
				"ascii":   strings.Repeat(`{"text":"x"}`, 6000),   // 72,000 bytes
				"escaped": strings.Repeat("\"é\n", 20000),         // 80,000 bytes, grows when escaped
				"invalid": strings.Repeat("a", 1000) + "\xff\xfe", // fits, but is not UTF-8
			} {
				jobs, poison := open(t)
				q := &foreignBody{Queue: jobs, body: []byte(body)}
				cfg := fastConfig(poison)
				var cnt counters
				cfg.Metrics = cnt.hooks()
				var logs syncBuffer
				cfg.Logger = testLogger(&logs)
				c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
					return queue.Permanent(errors.New("cannot decode job"))
				}), cfg)
				require.NoError(t, err)
				enqueue(t, jobs, "small")
				stop := startConsumer(t, c)
				require.Eventually(t, func() bool { return queueLen(t, poison) == 1 && queueLen(t, jobs) == 0 },
					waitFor, tick, "message not poisoned; logs:\n%s", logs.String())
				require.NoError(t, stop())
				assert.EqualValues(t, 1, cnt.received.Load(), "the message looped")
				assert.EqualValues(t, 1, cnt.poisoned.Load())

				ms, err := poison.Receive(context.Background(), 1, time.Minute)
				require.NoError(t, err)
				require.Len(t, ms, 1)
				require.NoError(t, queue.CheckBody(ms[0].Body))
				rec, err := queue.DecodePoison(ms[0].Body)
				require.NoError(t, err)
				assert.Equal(t, queue.PoisonPermanent, rec.Reason)
				assert.Contains(t, rec.Error, "cannot decode job")
				assert.True(t, rec.BodyTruncated)
				assert.Equal(t, len(body), rec.BodySize)
				assert.True(t, utf8.ValidString(rec.Body))
				if utf8.ValidString(body) {
					assert.True(t, strings.HasPrefix(body, rec.Body), "kept body is not a prefix")
					assert.Greater(t, len(rec.Body), queue.MaxBodySize/8, "kept too little of the body")
				}
			}
		})
	}
}

// TestConsumerDropsWhatPoisonQueueRefuses: when the poison queue refuses
// even the truncated envelope, the message is deleted with an error line
// and the Dropped metric, never retried forever.
func TestConsumerDropsWhatPoisonQueueRefuses(t *testing.T) {
	for _, limit := range []int{8 << 10, 10} {
		jobs := newMem(t, "jobs", nil)
		poison := &refusing{Queue: newMem(t, "jobs-poison", nil), limit: limit}
		q := &foreignBody{Queue: jobs, body: []byte(strings.Repeat("j", 30000))}
		cfg := fastConfig(poison)
		var cnt counters
		var dropped []string
		var mu sync.Mutex
		cfg.Metrics = cnt.hooks()
		cfg.Metrics.Dropped = func(reason string) { mu.Lock(); dropped = append(dropped, reason); mu.Unlock() }
		var logs syncBuffer
		cfg.Logger = testLogger(&logs)
		c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
			return queue.Permanent(errors.New("bad"))
		}), cfg)
		require.NoError(t, err)
		enqueue(t, jobs, "small")
		stop := startConsumer(t, c)
		require.Eventually(t, func() bool { return queueLen(t, jobs) == 0 }, waitFor, tick,
			"limit %d: message kept looping; logs:\n%s", limit, logs.String())
		require.NoError(t, stop())
		assert.EqualValues(t, 1, cnt.received.Load(), "limit %d: the message looped", limit)
		if limit == 10 {
			assert.Equal(t, 0, queueLen(t, poison))
			assert.Zero(t, cnt.poisoned.Load())
			mu.Lock()
			assert.Equal(t, []string{queue.DropRefused}, dropped)
			mu.Unlock()
			assert.Contains(t, logs.String(), "deleted without a poison record")
		} else {
			// The small fallback envelope fits a tighter backend.
			assert.Equal(t, 1, queueLen(t, poison))
			assert.EqualValues(t, 1, cnt.poisoned.Load())
			assert.Equal(t, 1, poison.Refused())
		}
	}
}
