package queue_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
)

func TestDeliveryReplaceSurvivesRedelivery(t *testing.T) {
	mq := newMem(t, "jobs", nil)
	q := newSpy(mq)
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	cfg.RetryBackoff = func(int, error) time.Duration { return 0 }
	var mu sync.Mutex
	var bodies []string
	var dl *queue.Delivery
	c, err := queue.NewConsumer(q, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, string(m.Body))
		if m.DequeueCount == 1 {
			d := queue.DeliveryFrom(ctx)
			dl = d
			if err := d.Replace(ctx, []byte(strings.Repeat("x", queue.MaxBodySize+1))); !errors.Is(err, queue.ErrTooLarge) {
				return queue.Permanent(errors.New("oversized body accepted"))
			}
			if err := d.Replace(ctx, []byte{0xff}); !errors.Is(err, queue.ErrInvalidBody) {
				return queue.Permanent(errors.New("invalid UTF-8 accepted"))
			}
			if err := d.Replace(ctx, []byte("job+done")); err != nil {
				return queue.Permanent(err)
			}
			if string(m.Body) != "job" {
				return queue.Permanent(errors.New("handler's message changed"))
			}
			return errors.New("crash after marking") // redelivered with the new body
		}
		return nil
	}), cfg)
	require.NoError(t, err)
	enqueue(t, mq, "job")
	stop := startConsumer(t, c)
	require.Eventually(t, func() bool { return queueLen(t, mq) == 0 }, waitFor, tick)
	require.NoError(t, stop())

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"job", "job+done"}, bodies)
	// The Replace update's receipt was the one the release used.
	ups := q.Updates()
	require.GreaterOrEqual(t, len(ups), 2)
	assert.Equal(t, ups[0].newReceipt, ups[1].receipt)
	assert.Equal(t, queue.DefaultVisibility, ups[0].vis, "Replace keeps a full lease")
	require.ErrorIs(t, dl.Replace(context.Background(), []byte("late")), queue.ErrDeliveryDone)
}

func TestDeliveryReplaceLeaseLost(t *testing.T) {
	mq := newMem(t, "jobs", nil)
	cfg := fastConfig(newMem(t, "jobs-poison", nil))
	res := make(chan error, 2)
	c, err := queue.NewConsumer(mq, queue.HandlerFunc(func(ctx context.Context, m *queue.Message) error {
		if m.DequeueCount > 1 {
			return nil
		}
		// Someone else took the message over: our receipt is stale.
		_, err := mq.Update(context.Background(), m.ID, m.Receipt, 0, nil)
		if err != nil {
			res <- err
			return err
		}
		res <- queue.DeliveryFrom(ctx).Replace(ctx, []byte("done"))
		res <- context.Cause(ctx)
		<-ctx.Done()
		return ctx.Err()
	}), cfg)
	require.NoError(t, err)
	enqueue(t, mq, "job")
	stop := startConsumer(t, c)
	require.ErrorIs(t, <-res, queue.ErrLeaseLost)
	require.ErrorIs(t, <-res, queue.ErrLeaseLost, "the handler's context is cancelled")
	require.NoError(t, stop())
}
