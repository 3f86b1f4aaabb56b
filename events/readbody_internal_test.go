package events

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/crc"
)

// TestReadBodyMatchesReadAll checks readBody against io.ReadAll whatever
// the declared size says: right, too small, too large or unknown; and that
// every byte it holds is accounted in the budget.
func TestReadBodyMatchesReadAll(t *testing.T) {
	ctx := context.Background()
	bigger := string(bytes.Repeat([]byte("abc"), initialBodyBuffer)) // grows past the first buffer
	for _, body := range []string{"", "x", `{"for_user_id":"1"}`, string(bytes.Repeat([]byte("ab"), 3000)), bigger} {
		for _, size := range []int64{-1, 0, 1, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 7} {
			if size < -1 {
				continue
			}
			for name, r := range map[string]func() io.Reader{
				"reader":  func() io.Reader { return bytes.NewReader([]byte(body)) },
				"onebyte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader([]byte(body))) },
				"dataerr": func() io.Reader { return iotest.DataErrReader(bytes.NewReader([]byte(body))) },
			} {
				b := newBudget(4<<20, time.Second)
				got, held, err := readBody(ctx, r(), size, 1<<20, b)
				require.NoError(t, err, "%s size %d", name, size)
				require.Equal(t, body, string(got), "%s size %d", name, size)
				require.EqualValues(t, cap(got), held, "%s size %d: held is the buffer", name, size)
				require.Equal(t, held, b.held.Load())
				b.release(held)
				require.Zero(t, b.held.Load())
			}
		}
	}
	boom := errors.New("boom")
	b := newBudget(1<<20, time.Second)
	_, held, err := readBody(ctx, iotest.ErrReader(boom), 10, 100, b)
	require.ErrorIs(t, err, boom)
	require.Equal(t, held, b.held.Load(), "held is reported on error too")
}

// TestReadBodyCapsUpfrontAllocation: a Content-Length is only a claim; the
// first buffer is at most initialBodyBuffer, and growth waits for bytes.
func TestReadBodyCapsUpfrontAllocation(t *testing.T) {
	b := newBudget(8<<20, time.Second)
	got, held, err := readBody(context.Background(), bytes.NewReader([]byte("tiny")), 1<<20, 1<<20, b)
	require.NoError(t, err)
	assert.Equal(t, "tiny", string(got))
	assert.LessOrEqual(t, cap(got), initialBodyBuffer)
	assert.LessOrEqual(t, held, int64(initialBodyBuffer))
	assert.LessOrEqual(t, b.peak.Load(), int64(initialBodyBuffer))
}

// TestReadBodyBusy: a buffer that cannot get its bytes within ctx fails
// with errBusy and holds nothing extra.
func TestReadBodyBusy(t *testing.T) {
	b := newBudget(100<<10, time.Millisecond)
	require.NoError(t, b.acquire(context.Background(), 90<<10))
	_, held, err := readBody(context.Background(), bytes.NewReader(make([]byte, 50<<10)), 50<<10, 1<<20, b)
	require.ErrorIs(t, err, errBusy)
	assert.Zero(t, held)
	assert.EqualValues(t, 90<<10, b.held.Load())
}

// stallingBody gives pre bytes, then blocks until release is closed, then
// ends early (the client lied about its length or hung up).
type stallingBody struct {
	pre     []byte
	stalled func()
	release <-chan struct{}
	once    sync.Once
}

func (s *stallingBody) Read(p []byte) (int, error) {
	if len(s.pre) > 0 {
		n := copy(p, s.pre)
		s.pre = s.pre[n:]
		return n, nil
	}
	s.once.Do(s.stalled)
	<-s.release
	return 0, io.ErrUnexpectedEOF
}

// TestHandlerBoundsUnverifiedBytes: many unsigned POSTs that declare a
// large body and then stall (some after sending part of it) never hold
// more buffer bytes than MaxUnverifiedBytes; the ones that find no room get
// 503 with Retry-After at once rather than waiting; everything is given
// back afterwards and a normal signed POST still works.
func TestHandlerBoundsUnverifiedBytes(t *testing.T) {
	const budgetBytes = 4 << 20
	var delivered atomic.Int64
	h, err := NewHandler(HandlerConfig{
		Secrets:            []string{"s3cret"},
		MaxUnverifiedBytes: budgetBytes,
		UnverifiedWait:     20 * time.Millisecond,
		Callback: func(context.Context, *Payload, []byte) error {
			delivered.Add(1)
			return nil
		},
	})
	require.NoError(t, err)

	const n = 300
	release := make(chan struct{})
	var stalled, finished atomic.Int64
	codes := make(chan *httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := range n {
		var pre []byte
		if i%3 == 0 {
			pre = make([]byte, 200<<10) // makes the buffer grow past 64 KiB
		}
		r := httptest.NewRequest(http.MethodPost, "/webhook", nil)
		r.Body = io.NopCloser(&stallingBody{pre: pre, stalled: func() { stalled.Add(1) }, release: release})
		r.ContentLength = DefaultMaxBodyBytes
		wg.Go(func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			finished.Add(1)
			codes <- w
		})
	}
	require.Eventually(t, func() bool { return stalled.Load()+finished.Load() == n },
		30*time.Second, time.Millisecond, "every request either stalls holding its buffer or is turned away")
	held := h.unverified.held.Load()
	close(release)
	wg.Wait()
	close(codes)

	assert.LessOrEqual(t, h.unverified.peak.Load(), int64(budgetBytes))
	assert.LessOrEqual(t, held, int64(budgetBytes))
	assert.Greater(t, held, int64(0))
	busy := 0
	for w := range codes {
		switch w.Code {
		case http.StatusServiceUnavailable:
			busy++
			assert.Equal(t, busyRetryAfter, w.Header().Get("Retry-After"))
		case http.StatusBadRequest: // the stalled body ended early
		default:
			t.Errorf("status %d", w.Code)
		}
	}
	assert.Greater(t, busy, 0, "%d stalled requests fit a %d-byte budget", n, budgetBytes)
	assert.Zero(t, h.unverified.held.Load(), "bytes leaked from the budget")

	body := []byte(`{"for_user_id":"1","tweet_create_events":[]}`)
	r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	require.NoError(t, crc.SignRequest(r, "s3cret"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.EqualValues(t, 1, delivered.Load())
	assert.Zero(t, h.unverified.held.Load())
}
