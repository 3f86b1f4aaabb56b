package events_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secret = "consumer-secret-do-not-log"

type recorder struct {
	payloads []*events.Payload
	raws     [][]byte
	outcomes []events.Outcome
	sigFails []error
	err      error
	panic    bool
}

func newHandler(t *testing.T, rec *recorder, logs *bytes.Buffer, max int64) *events.Handler {
	t.Helper()
	h, err := events.NewHandler(events.HandlerConfig{
		Secrets:      []string{secret, "old-secret"},
		MaxBodyBytes: max,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Callback: func(ctx context.Context, p *events.Payload, raw []byte) error {
			if rec.panic {
				panic("boom")
			}
			rec.payloads = append(rec.payloads, p)
			rec.raws = append(rec.raws, raw)
			return rec.err
		},
		OnSignatureFailure: func(r *http.Request, err error) { rec.sigFails = append(rec.sigFails, err) },
		OnOutcome:          func(ctx context.Context, o events.Outcome) { rec.outcomes = append(rec.outcomes, o) },
	})
	require.NoError(t, err)
	return h
}

func TestHandlerDeliversSignedFixtures(t *testing.T) {
	var logs bytes.Buffer
	rec := &recorder{}
	h := newHandler(t, rec, &logs, 0)
	for _, name := range eventstest.Names() {
		body := eventstest.Fixture(name)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, eventstest.SignedRequest(t, secret, body))
		require.Equal(t, http.StatusOK, w.Code, name)
		require.Equal(t, body, rec.raws[len(rec.raws)-1], "callback gets the exact signed bytes")
	}
	assert.Len(t, rec.payloads, len(eventstest.Names()))
	assert.Equal(t, events.ReasonOK, rec.outcomes[0].Reason)
	assert.NotEmpty(t, rec.outcomes[0].Kinds)

	// The old secret of a rotation is accepted too.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, eventstest.SignedRequest(t, "old-secret", eventstest.Fixture("dm_moerand")))
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestHandlerStatuses(t *testing.T) {
	body := eventstest.Fixture("mention_moerand")
	cases := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		max    int64
		cbErr  error
		panic  bool
		status int
		reason string
	}{
		{"missing signature", func(t *testing.T) *http.Request {
			return httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		}, 0, nil, false, http.StatusUnauthorized, events.ReasonMissingSignature},
		{"empty signature", func(t *testing.T) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
			r.Header.Set(crc.SignatureHeader, "")
			return r
		}, 0, nil, false, http.StatusUnauthorized, events.ReasonMissingSignature},
		{"wrong secret", func(t *testing.T) *http.Request {
			return eventstest.SignedRequest(t, "attacker", body)
		}, 0, nil, false, http.StatusForbidden, events.ReasonBadSignature},
		{"malformed signature", func(t *testing.T) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
			r.Header.Set(crc.SignatureHeader, "sha256=nope")
			return r
		}, 0, nil, false, http.StatusForbidden, events.ReasonBadSignature},
		{"body changed after signing", func(t *testing.T) *http.Request {
			r := eventstest.SignedRequest(t, secret, body)
			r2 := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(append(bytes.Clone(body), ' ')))
			r2.Header = r.Header
			return r2
		}, 0, nil, false, http.StatusForbidden, events.ReasonBadSignature},
		{"over the limit by Content-Length", func(t *testing.T) *http.Request {
			return eventstest.SignedRequest(t, secret, body)
		}, int64(len(body) - 1), nil, false, http.StatusRequestEntityTooLarge, events.ReasonTooLarge},
		{"over the limit, length unknown", func(t *testing.T) *http.Request {
			r := eventstest.SignedRequest(t, secret, body)
			r.ContentLength = -1
			return r
		}, int64(len(body) - 1), nil, false, http.StatusRequestEntityTooLarge, events.ReasonTooLarge},
		{"exactly at the limit", func(t *testing.T) *http.Request {
			return eventstest.SignedRequest(t, secret, body)
		}, int64(len(body)), nil, false, http.StatusOK, events.ReasonOK},
		{"signed array", func(t *testing.T) *http.Request {
			return eventstest.SignedRequest(t, secret, []byte(`[1,2]`))
		}, 0, nil, false, http.StatusBadRequest, events.ReasonMalformed},
		{"signed garbage", func(t *testing.T) *http.Request {
			return eventstest.SignedRequest(t, secret, []byte(`{"tweet_create_events":`))
		}, 0, nil, false, http.StatusBadRequest, events.ReasonMalformed},
		{"callback fails", func(t *testing.T) *http.Request {
			return eventstest.SignedRequest(t, secret, body)
		}, 0, errors.New("queue down"), false, http.StatusServiceUnavailable, events.ReasonCallbackFailed},
		{"callback panics", func(t *testing.T) *http.Request {
			return eventstest.SignedRequest(t, secret, body)
		}, 0, nil, true, http.StatusServiceUnavailable, events.ReasonCallbackFailed},
		{"put", func(t *testing.T) *http.Request {
			return httptest.NewRequest(http.MethodPut, "/webhook", nil)
		}, 0, nil, false, http.StatusMethodNotAllowed, events.ReasonMethodNotAllowed},
		{"crc get", func(t *testing.T) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/webhook?crc_token=abc123", nil)
		}, 0, nil, false, http.StatusOK, events.ReasonCRC},
		{"crc get with a json token", func(t *testing.T) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/webhook?crc_token=%7B%7D", nil)
		}, 0, nil, false, http.StatusBadRequest, events.ReasonCRC},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := &recorder{err: c.cbErr, panic: c.panic}
			h := newHandler(t, rec, &logs, c.max)
			w := httptest.NewRecorder()
			r := c.req(t)
			h.ServeHTTP(w, r)
			assert.Equal(t, c.status, w.Code)
			require.Len(t, rec.outcomes, 1)
			assert.Equal(t, c.status, rec.outcomes[0].Status)
			assert.Equal(t, c.reason, rec.outcomes[0].Reason)
			assert.Equal(t, r.Method, rec.outcomes[0].Method)
			if c.status != http.StatusOK {
				assert.Error(t, rec.outcomes[0].Err)
			}
			if c.reason == events.ReasonMissingSignature || c.reason == events.ReasonBadSignature {
				assert.Len(t, rec.sigFails, 1)
			} else {
				assert.Empty(t, rec.sigFails)
			}
			if c.status == http.StatusOK && r.Method == http.MethodPost {
				assert.Len(t, rec.payloads, 1)
			} else if c.cbErr == nil && !c.panic {
				assert.Empty(t, rec.payloads, "rejected requests never reach the callback")
			}
			// Secrets and MACs stay out of logs and responses.
			for _, out := range []string{logs.String(), w.Body.String()} {
				assert.NotContains(t, out, secret)
				assert.NotContains(t, out, "old-secret")
				if sig := r.Header.Get(crc.SignatureHeader); len(sig) > len("sha256=") {
					assert.NotContains(t, out, strings.TrimPrefix(sig, "sha256="))
				}
			}
		})
	}
}

func TestHandlerCRCUsesFirstSecret(t *testing.T) {
	rec := &recorder{}
	h := newHandler(t, rec, &bytes.Buffer{}, 0)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/webhook?crc_token=abc123", nil))
	assert.JSONEq(t, `{"response_token":"`+crc.ResponseToken(secret, "abc123")+`"}`, w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
}

func TestNewHandlerValidates(t *testing.T) {
	cb := func(context.Context, *events.Payload, []byte) error { return nil }
	_, err := events.NewHandler(events.HandlerConfig{Secrets: []string{"s"}})
	assert.ErrorContains(t, err, "Callback")
	_, err = events.NewHandler(events.HandlerConfig{Callback: cb})
	assert.ErrorIs(t, err, crc.ErrNoSecret)
	_, err = events.NewHandler(events.HandlerConfig{Callback: cb, Secrets: []string{"s"}, MaxBodyBytes: -1})
	assert.ErrorContains(t, err, "negative")
	_, err = events.NewHandler(events.HandlerConfig{Callback: cb, Secrets: []string{"s"}, MaxUnverifiedBytes: -1})
	assert.ErrorContains(t, err, "negative")
	_, err = events.NewHandler(events.HandlerConfig{Callback: cb, Secrets: []string{"s"}, UnverifiedWait: -1})
	assert.ErrorContains(t, err, "negative")
	_, err = events.NewHandler(events.HandlerConfig{Callback: cb, Secrets: []string{"s"}, MaxUnverifiedBytes: events.DefaultMaxBodyBytes})
	assert.ErrorContains(t, err, "larger than MaxBodyBytes")
	// A body limit above the default budget raises the default budget.
	_, err = events.NewHandler(events.HandlerConfig{Callback: cb, Secrets: []string{"s"}, MaxBodyBytes: 100 << 20})
	assert.NoError(t, err)
}

// headerOnlyBody is the body of a POST whose headers promised a large body
// that never comes: Read blocks until release is closed.
type headerOnlyBody struct {
	reading func()
	release <-chan struct{}
	once    sync.Once
}

func (b *headerOnlyBody) Read(p []byte) (int, error) {
	b.once.Do(b.reading)
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// TestHandlerPreAuthHeapBounded replays the audit's attack: many unsigned
// POSTs that declare a 1 MiB Content-Length and send no body. Before, each
// one allocated the declared 1 MiB before reading (600 MiB here); now the
// heap held stays under the unverified budget plus slack, and the requests
// that find no room are turned away with 503.
func TestHandlerPreAuthHeapBounded(t *testing.T) {
	const n = 600
	const budget = 16 << 20
	h, err := events.NewHandler(events.HandlerConfig{
		Secrets:            []string{secret},
		MaxUnverifiedBytes: budget,
		UnverifiedWait:     10 * time.Millisecond,
		Callback:           func(context.Context, *events.Payload, []byte) error { return nil },
	})
	require.NoError(t, err)
	reqs := make([]*http.Request, n)
	release := make(chan struct{})
	var reading, finished atomic.Int64
	for i := range reqs {
		r := httptest.NewRequest(http.MethodPost, "/webhook", nil)
		r.Body = io.NopCloser(&headerOnlyBody{reading: func() { reading.Add(1) }, release: release})
		r.ContentLength = events.DefaultMaxBodyBytes
		reqs[i] = r
	}
	var before, during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	var wg sync.WaitGroup
	var busy atomic.Int64
	for _, r := range reqs {
		wg.Go(func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code == http.StatusServiceUnavailable {
				busy.Add(1)
			}
			finished.Add(1)
		})
	}
	require.Eventually(t, func() bool { return reading.Load()+finished.Load() == n },
		60*time.Second, time.Millisecond)
	runtime.GC()
	runtime.ReadMemStats(&during)
	close(release)
	wg.Wait()

	grew := int64(during.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d header-only POSTs: heap in use grew by %.1f MiB; %d answered 503", n, float64(grew)/(1<<20), busy.Load())
	assert.Less(t, grew, int64(budget+48<<20), "heap grew by %d bytes", grew)
	assert.Positive(t, busy.Load())
}

// fuzzMax is FuzzHandler's body limit: above the largest fixture, small
// enough that the fuzzer crosses it.
const fuzzMax = 8 << 10

func FuzzHandler(f *testing.F) {
	for _, name := range eventstest.Names() {
		f.Add(eventstest.Fixture(name), true)
	}
	f.Add([]byte(`[]`), true)
	f.Add([]byte(`{}`), false)
	h, err := events.NewHandler(events.HandlerConfig{
		Secrets:      []string{secret},
		MaxBodyBytes: fuzzMax,
		Callback: func(ctx context.Context, p *events.Payload, raw []byte) error {
			if p == nil {
				return errors.New("nil payload")
			}
			return nil
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		if len(body) > 2*fuzzMax {
			// Past the limit all bodies behave alike; huge ones only make
			// minimizing slow.
			t.Skip()
		}
		r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		if sign {
			require.NoError(t, crc.SignRequest(r, secret))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		_, decodeErr := events.Decode(body)
		var want int
		switch {
		case len(body) > fuzzMax:
			want = http.StatusRequestEntityTooLarge
		case !sign:
			want = http.StatusUnauthorized
		case decodeErr != nil:
			want = http.StatusBadRequest
		default:
			want = http.StatusOK
		}
		if w.Code != want {
			t.Fatalf("status %d, want %d (decode error: %v)", w.Code, want, decodeErr)
		}
	})
}
