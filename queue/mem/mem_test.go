package mem_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newQueue(t *testing.T) (*mem.Queue, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)}
	q, err := mem.New("jobs", &mem.Options{Now: clk.Now})
	require.NoError(t, err)
	return q, clk
}

func TestVisibilityAndReceipts(t *testing.T) {
	ctx := context.Background()
	q, clk := newQueue(t)
	sent, err := q.Enqueue(ctx, []byte("hello"), nil)
	require.NoError(t, err)
	assert.Zero(t, sent.DequeueCount)
	assert.Nil(t, sent.Body)
	assert.Equal(t, clk.t.Add(queue.DefaultTTL), sent.ExpiresAt)

	got, err := q.Receive(ctx, 32, 10*time.Second)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, sent.ID, got[0].ID)
	assert.Equal(t, "hello", string(got[0].Body))
	assert.Equal(t, 1, got[0].DequeueCount)
	assert.NotEqual(t, sent.Receipt, got[0].Receipt)

	clk.Advance(10*time.Second - time.Nanosecond)
	none, err := q.Receive(ctx, 32, 10*time.Second)
	require.NoError(t, err)
	assert.Empty(t, none)

	clk.Advance(time.Nanosecond)
	again, err := q.Receive(ctx, 32, 10*time.Second)
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.Equal(t, 2, again[0].DequeueCount)
	assert.NotEqual(t, got[0].Receipt, again[0].Receipt)

	require.ErrorIs(t, q.Delete(ctx, sent.ID, got[0].Receipt), queue.ErrLeaseLost)
	require.NoError(t, q.Delete(ctx, sent.ID, again[0].Receipt))
	n, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestBodyIsCopied(t *testing.T) {
	ctx := context.Background()
	q, _ := newQueue(t)
	body := []byte("abc")
	_, err := q.Enqueue(ctx, body, nil)
	require.NoError(t, err)
	body[0] = 'X'
	got, err := q.Receive(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "abc", string(got[0].Body))
	got[0].Body[0] = 'Y'
	_, err = q.Update(ctx, got[0].ID, got[0].Receipt, 0, nil)
	require.NoError(t, err)
	again, err := q.Receive(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.Equal(t, "abc", string(again[0].Body))
}

func TestInvalidNames(t *testing.T) {
	for _, name := range []string{"", "ab", "Jobs", "jobs_1", "-jobs", "jobs-", "jo--bs", string(make([]byte, 64))} {
		_, err := mem.New(name, nil)
		assert.ErrorIs(t, err, queue.ErrInvalidArgument, "name %q", name)
	}
	for _, name := range []string{"abc", "moetron", "moetron-poison", "a1-b2-c3"} {
		_, err := mem.New(name, nil)
		assert.NoError(t, err, "name %q", name)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestRandFailureLosesNothing(t *testing.T) {
	ctx := context.Background()
	q, err := mem.New("jobs", &mem.Options{Rand: failingReader{}})
	require.NoError(t, err)
	_, err = q.Enqueue(ctx, []byte("x"), nil)
	require.ErrorContains(t, err, "entropy exhausted")
	n, err := q.Len(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a failed Enqueue must not leave a message behind")
}

func TestRandFailureDuringReceive(t *testing.T) {
	ctx := context.Background()
	r := &limitedReader{n: 2 * 16} // id and receipt of one Enqueue
	q, err := mem.New("jobs", &mem.Options{Rand: r})
	require.NoError(t, err)
	_, err = q.Enqueue(ctx, []byte("x"), nil)
	require.NoError(t, err)
	_, err = q.Receive(ctx, 1, time.Minute)
	require.Error(t, err)
	r.n = 16
	got, err := q.Receive(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, got, 1, "the message must still be deliverable")
	assert.Equal(t, 1, got[0].DequeueCount)
}

type limitedReader struct{ n int }

func (r *limitedReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	q, _ := newQueue(t)
	require.NoError(t, q.Close())
	require.NoError(t, q.Close())
	assert.ErrorIs(t, q.Create(ctx), queue.ErrClosed)
	_, err := q.Enqueue(ctx, []byte("x"), nil)
	assert.ErrorIs(t, err, queue.ErrClosed)
	_, err = q.Receive(ctx, 1, time.Second)
	assert.ErrorIs(t, err, queue.ErrClosed)
	assert.ErrorIs(t, q.Delete(ctx, "a", "b"), queue.ErrClosed)
	_, err = q.Update(ctx, "a", "b", 0, nil)
	assert.ErrorIs(t, err, queue.ErrClosed)
	_, err = q.Len(ctx)
	assert.ErrorIs(t, err, queue.ErrClosed)
}
