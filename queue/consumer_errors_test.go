package queue_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/moetron/moetron/queue"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPermanent(t *testing.T) {
	assert.NoError(t, queue.Permanent(nil))
	assert.False(t, queue.IsPermanent(nil))
	assert.False(t, queue.IsPermanent(io.EOF))

	err := queue.Permanent(io.EOF)
	assert.True(t, queue.IsPermanent(err))
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, "permanent: EOF", err.Error())
	wrapped := fmt.Errorf("render: %w", err)
	assert.True(t, queue.IsPermanent(wrapped))
	assert.ErrorIs(t, wrapped, io.EOF)
}

func TestRetryAfter(t *testing.T) {
	_, ok := queue.RetryAfterDelay(io.EOF)
	assert.False(t, ok)

	err := queue.RetryAfter(nil, 90*time.Second)
	require.Error(t, err)
	d, ok := queue.RetryAfterDelay(err)
	assert.True(t, ok)
	assert.Equal(t, 90*time.Second, d)
	assert.Equal(t, "retry after 1m30s", err.Error())

	limited := errors.New("429 Too Many Requests")
	err = fmt.Errorf("reply: %w", queue.RetryAfter(limited, time.Minute))
	d, ok = queue.RetryAfterDelay(err)
	assert.True(t, ok)
	assert.Equal(t, time.Minute, d)
	assert.ErrorIs(t, err, limited)
	assert.Contains(t, err.Error(), "retry after 1m0s: 429")
	assert.False(t, queue.IsPermanent(err))

	// The outermost RetryAfter wins.
	d, _ = queue.RetryAfterDelay(queue.RetryAfter(queue.RetryAfter(nil, time.Hour), time.Second))
	assert.Equal(t, time.Second, d)
}

func TestPanicError(t *testing.T) {
	pe := &queue.PanicError{Value: context.DeadlineExceeded}
	assert.ErrorIs(t, pe, context.DeadlineExceeded)
	assert.Equal(t, "handler panic: context deadline exceeded", pe.Error())
	assert.NoError(t, (&queue.PanicError{Value: 42}).Unwrap())
}

func TestDecodePoisonRejectsOtherBodies(t *testing.T) {
	for _, body := range []string{"", "plain text job", `{"msg_type":"tweet"}`, `[1,2]`, `{"moetron_poison":0,"body":"x"}`} {
		rec, err := queue.DecodePoison([]byte(body))
		require.ErrorIs(t, err, queue.ErrNotPoisonRecord, "body %q", body)
		assert.Equal(t, body, rec.Body, "the raw body must stay recoverable")
	}
}
