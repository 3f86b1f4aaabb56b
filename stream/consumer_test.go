package stream

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/xfake"
)

func TestNewValidates(t *testing.T) {
	_, err := New(Config{})
	require.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), "BearerToken")
	assert.Contains(t, err.Error(), "Handle")
	rec := &recorder{}
	_, err = New(Config{BearerToken: "t", Handle: rec.Handle, BackfillMinutes: 6})
	require.ErrorIs(t, err, ErrConfig)
	_, err = New(Config{BearerToken: "t", Handle: rec.Handle, BaseURL: "ftp://x"})
	require.ErrorIs(t, err, ErrConfig)
	c, err := New(Config{BearerToken: "t", Handle: rec.Handle})
	require.NoError(t, err)
	assert.Equal(t, DefaultStallTimeout, c.cfg.StallTimeout)
	assert.ErrorIs(t, c.Ready(), ErrNotConnected)
}

func TestTakesEventsAndSkipsKeepAlives(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{KeepAlive: 5 * time.Millisecond})
	rec := &recorder{}
	hc := &hookCounts{}
	cfg := testConfig(x.URL(), rec.Handle)
	cfg.Metrics = hc.hooks()
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "connected", connected(c))
	require.NoError(t, c.Ready())
	for i := range 3 {
		require.Equal(t, 1, x.DeliverStream(envelope(i)))
	}
	eventually(t, "3 events taken", func() bool { return len(rec.ids()) == 3 })
	assert.Equal(t, []string{uuid(0), uuid(1), uuid(2)}, rec.ids())
	eventually(t, "keep-alives counted", func() bool { return c.Status().Skipped[SkipKeepAlive] > 2 })
	st := c.Status()
	assert.Equal(t, uint64(3), st.Taken)
	assert.False(t, st.LastEvent.IsZero())
	got := hc.snapshot()
	assert.Equal(t, 3, got.taken)
	assert.True(t, got.open)
	assert.Equal(t, st.LastEvent, got.lastTaken)
	assert.Positive(t, got.skipped[SkipKeepAlive])

	// The request was a Bearer GET with no backfill on the first connect.
	cs := x.StreamConnects()
	require.Len(t, cs, 1)
	assert.Equal(t, http.StatusOK, cs[0].Status)
	assert.Empty(t, cs[0].Query.Get("backfill_minutes"))
}

// framingServer serves the given body once, then holds later connections
// open with keep-alives until the client leaves.
func framingServer(t *testing.T, body string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+xfake.DefaultBearerToken {
			http.Error(w, `{"title":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		first := n.Add(1) == 1
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		if first {
			io.WriteString(w, body)
			w.(http.Flusher).Flush()
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				io.WriteString(w, "\n")
				w.(http.Flusher).Flush()
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestLineFraming(t *testing.T) {
	long := `{"data":{"event_type":"post.create","payload":{"text":"` + strings.Repeat("y", 3000) + `"}}}`
	body := strings.Join([]string{
		"",                             // blank keep-alive
		"\r",                           // CRLF keep-alive
		"{}",                           // object keep-alive
		"data: " + string(envelope(1)), // data: prefix
		"data:",                        // empty data line
		"not json at all",              // garbage
		`{"data":{"event_type":`,       // cut JSON
		`{"foo":1}`,                    // JSON, not an envelope
		long,                           // over MaxLineBytes
		string(envelope(2)) + "\r",     // CRLF-terminated event
		`{"errors":[{"title":"rate-warning","detail":"slow down","type":"about:blank"}]}`, // error line, stream goes on
		string(envelope(3)),
		`{"errors":[{"title":"operational-disconnect","detail":"maintenance","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}`,
		string(envelope(4)), // after the disconnect line: not read on this connection
		"",
	}, "\n")
	srv, n := framingServer(t, body)
	rec := &recorder{}
	cfg := testConfig(srv.URL, rec.Handle)
	cfg.MaxLineBytes = 2048
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "reconnected after operational-disconnect", func() bool { return n.Load() >= 2 && c.Status().Connected })
	assert.Equal(t, []string{uuid(1), uuid(2), uuid(3)}, rec.ids())
	st := c.Status()
	assert.GreaterOrEqual(t, st.Skipped[SkipKeepAlive], uint64(4))
	assert.Equal(t, uint64(2), st.Skipped[SkipMalformed])
	assert.Equal(t, uint64(1), st.Skipped[SkipUnknown])
	assert.Equal(t, uint64(1), st.Skipped[SkipOversized])
	assert.Equal(t, uint64(2), st.Skipped[SkipErrorLine])
	assert.Equal(t, 1, st.Reconnects)
}

func TestOversizedLineThenNextTaken(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	rec := &recorder{}
	cfg := testConfig(x.URL(), rec.Handle)
	cfg.MaxLineBytes = 64 << 10
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "connected", connected(c))
	n, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamOversized, Size: 256 << 10})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	x.DeliverStream(envelope(7))
	eventually(t, "event after the oversized line", func() bool { return rec.has(uuid(7)) })
	assert.Equal(t, uint64(1), c.Status().Skipped[SkipOversized])
	assert.Equal(t, 0, c.Status().Reconnects, "an oversized line does not cost the connection")
}

func TestGarbageLines(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	rec := &recorder{}
	c := newConsumer(t, testConfig(x.URL(), rec.Handle))
	running(t, c)
	eventually(t, "connected", connected(c))
	x.DeliverStream(envelope(1))
	_, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamGarbage, Count: 5})
	require.NoError(t, err)
	x.DeliverStream(envelope(2))
	eventually(t, "both events", func() bool { return len(rec.ids()) == 2 })
	st := c.Status()
	assert.Equal(t, uint64(5), st.Skipped[SkipMalformed]+st.Skipped[SkipUnknown])
	assert.Equal(t, 0, st.Reconnects)
}

func TestErrorLineReconnects(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	rec := &recorder{}
	hc := &hookCounts{}
	cfg := testConfig(x.URL(), rec.Handle)
	cfg.Metrics = hc.hooks()
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "connected", connected(c))
	_, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamErrorThenClose, Detail: "planned"})
	require.NoError(t, err)
	eventually(t, "second connection", func() bool { return len(x.StreamConnects()) == 2 && c.Status().Connected })
	st := c.Status()
	assert.Equal(t, uint64(1), st.Skipped[SkipErrorLine])
	assert.Contains(t, st.LastError, "operational-disconnect")
	got := hc.snapshot()
	assert.Equal(t, 1, got.failed[ErrKindStreamError])
	assert.Equal(t, 1, got.reconnecting)
	assert.Equal(t, 1, got.skipped[SkipErrorLine])
	assert.True(t, got.open)
}

func TestStallDetectedAndBackfilled(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	rec := &recorder{}
	cfg := testConfig(x.URL(), rec.Handle)
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "connected", connected(c))
	n, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamStall})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	x.DeliverStream(envelope(1)) // written nowhere: the only stream is stalled
	eventually(t, "the stalled event arrives by backfill", func() bool { return rec.has(uuid(1)) })
	cs := x.StreamConnects()
	require.GreaterOrEqual(t, len(cs), 2)
	assert.Equal(t, "1", cs[1].Query.Get("backfill_minutes"))
	assert.Equal(t, 1, cs[1].Sent)
	assert.Contains(t, c.Status().LastError, "stall")
}

func TestKeepAlivesAreNotAStall(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{KeepAlive: 20 * time.Millisecond})
	rec := &recorder{}
	c := newConsumer(t, testConfig(x.URL(), rec.Handle))
	running(t, c)
	eventually(t, "connected", connected(c))
	_, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamKeepAlivesOnly})
	require.NoError(t, err)
	// Three stall timeouts of keep-alives only: still the one connection.
	time.Sleep(3 * testConfig("", nil).StallTimeout)
	assert.Equal(t, 0, c.Status().Reconnects)
	assert.True(t, c.Status().Connected)
}

func TestDropReconnectsWithBackfill(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	rec := &recorder{}
	c := newConsumer(t, testConfig(x.URL(), rec.Handle))
	running(t, c)
	eventually(t, "connected", connected(c))
	x.DeliverStream(envelope(1))
	eventually(t, "first event", func() bool { return rec.has(uuid(1)) })

	// Hold the next connect for a while so that events published meanwhile
	// reach no stream and only backfill can bring them.
	_, err := x.InjectFault(xfake.Fault{Kind: xfake.FaultDelay, Endpoint: xfake.EndpointActivityStream, Delay: 300 * time.Millisecond, Times: 1})
	require.NoError(t, err)
	_, err = x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamDrop})
	require.NoError(t, err)
	eventually(t, "disconnected", func() bool { return x.StreamConnections() == 0 })
	assert.Equal(t, 0, x.DeliverStream(envelope(2)))
	assert.Equal(t, 0, x.DeliverStream(envelope(3)))
	eventually(t, "missed events restored", func() bool { return rec.has(uuid(2)) && rec.has(uuid(3)) })
	cs := x.StreamConnects()
	require.Len(t, cs, 2)
	assert.Equal(t, "1", cs[1].Query.Get("backfill_minutes"))
}

func TestBackfillRefusedReconnectsWithout(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{RefuseBackfill: true})
	var logs strings.Builder
	var mu sync.Mutex
	rec := &recorder{}
	cfg := testConfig(x.URL(), rec.Handle)
	cfg.InitialBackfillMinutes = 2
	cfg.Logger = newTestLogger(&mu, &logs)
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "connected", connected(c))
	cs := x.StreamConnects()
	require.Len(t, cs, 2)
	assert.Equal(t, http.StatusBadRequest, cs[0].Status)
	assert.Equal(t, "2", cs[0].Query.Get("backfill_minutes"))
	assert.Equal(t, http.StatusOK, cs[1].Status)
	assert.Empty(t, cs[1].Query.Get("backfill_minutes"))
	assert.False(t, c.Status().Backfill)

	// A later reconnect does not ask again.
	_, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamDrop})
	require.NoError(t, err)
	eventually(t, "reconnected", func() bool { return len(x.StreamConnects()) == 3 && c.Status().Connected })
	assert.Empty(t, x.StreamConnects()[2].Query.Get("backfill_minutes"))
	mu.Lock()
	assert.Equal(t, 1, strings.Count(logs.String(), "refused backfill"), "logged once")
	mu.Unlock()
}

func TestUnauthorizedStops(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	rec := &recorder{}
	cfg := testConfig(x.URL(), rec.Handle)
	cfg.BearerToken = "wrong-secret-token"
	c := newConsumer(t, cfg)
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(bound):
		t.Fatal("Run kept retrying a 401")
	}
	require.ErrorIs(t, err, ErrUnauthorized)
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusUnauthorized, he.StatusCode)
	assert.NotContains(t, err.Error(), "wrong-secret-token")
	assert.Len(t, x.StreamConnects(), 1)
	assert.ErrorIs(t, c.Ready(), ErrUnauthorized)

	// The fake's one-shot 401 behaves the same with the right token.
	x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamRefuseUnauthorized})
	c2 := newConsumer(t, testConfig(x.URL(), rec.Handle))
	require.ErrorIs(t, c2.Run(context.Background()), ErrUnauthorized)
}

func TestTooManyConnectionsWaitsRetryAfter(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{RetryAfter: 42 * time.Second})
	_, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamRefuseTooMany})
	require.NoError(t, err)
	rec := &recorder{}
	var mu sync.Mutex
	var slept []time.Duration
	cfg := testConfig(x.URL(), rec.Handle)
	cfg.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return ctx.Err()
	}
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "connected after the 429", connected(c))
	mu.Lock()
	assert.Equal(t, []time.Duration{42 * time.Second}, slept)
	mu.Unlock()
	cs := x.StreamConnects()
	require.Len(t, cs, 2)
	assert.Equal(t, http.StatusTooManyRequests, cs[0].Status)
}

func TestRateLimitWithoutHintBacksOffLong(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var slept []time.Duration
	cfg := testConfig(srv.URL, (&recorder{}).Handle)
	cfg.rand = func() float64 { return 0.999999 }
	cfg.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		if len(slept) == 3 {
			return context.Canceled // end the test's Run
		}
		return nil
	}
	c := newConsumer(t, cfg)
	require.NoError(t, c.Run(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, slept, 3)
	assert.InDelta(t, float64(60*time.Second), float64(slept[0]), float64(time.Millisecond))
	assert.InDelta(t, float64(120*time.Second), float64(slept[1]), float64(time.Millisecond))
	assert.InDelta(t, float64(240*time.Second), float64(slept[2]), float64(time.Millisecond))
}

func TestServerErrorsBackOffExponentially(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	var slept []time.Duration
	cfg := testConfig(srv.URL, (&recorder{}).Handle)
	cfg.MinBackoff, cfg.MaxBackoff = time.Second, 8*time.Second
	cfg.rand = func() float64 { return 0 } // the lowest jitter: half the step
	cfg.sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		if len(slept) == 6 {
			return context.Canceled
		}
		return nil
	}
	c := newConsumer(t, cfg)
	require.NoError(t, c.Run(context.Background()))
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	assert.Equal(t, want, slept)
	assert.Equal(t, 5, c.Status().Reconnects)
	assert.Contains(t, c.Ready().Error(), "503")
}

func TestHandleFailuresRetrySameEvent(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	var calls atomic.Int32
	rec := &recorder{fail: func(string) error {
		if calls.Add(1) <= 2 {
			return errors.New("queue and spool down")
		}
		return nil
	}}
	cfg := testConfig(x.URL(), rec.Handle)
	cfg.Concurrency = 1 // the stream's order
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "connected", connected(c))
	x.DeliverStream(envelope(5))
	x.DeliverStream(envelope(6))
	eventually(t, "both taken", func() bool { return len(rec.ids()) == 2 })
	assert.Equal(t, []string{uuid(5), uuid(6)}, rec.ids(), "the failed event is taken once, before the next")
	assert.Equal(t, int32(4), calls.Load())
	st := c.Status()
	assert.Equal(t, uint64(2), st.Taken)
	assert.Equal(t, uint64(2), st.Errors)
}

func TestCancelReturnsPromptly(t *testing.T) {
	t.Run("connected", func(t *testing.T) {
		x := startFake(t, xfake.StreamOptions{KeepAlive: time.Hour})
		c := newConsumer(t, testConfig(x.URL(), (&recorder{}).Handle))
		stop := running(t, c)
		eventually(t, "connected", connected(c))
		require.NoError(t, stop())
		assert.False(t, c.Status().Connected)
	})
	t.Run("backing off", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}))
		t.Cleanup(srv.Close)
		cfg := testConfig(srv.URL, (&recorder{}).Handle)
		cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
		c := newConsumer(t, cfg)
		stop := running(t, c)
		eventually(t, "failed once", func() bool { return c.Status().Errors > 0 })
		require.NoError(t, stop())
	})
	t.Run("handle failing", func(t *testing.T) {
		x := startFake(t, xfake.StreamOptions{})
		rec := &recorder{fail: func(string) error { return errors.New("down") }}
		cfg := testConfig(x.URL(), rec.Handle)
		cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
		c := newConsumer(t, cfg)
		stop := running(t, c)
		eventually(t, "connected", connected(c))
		x.DeliverStream(envelope(1))
		eventually(t, "handle failed", func() bool { return c.Status().Errors > 0 })
		require.NoError(t, stop())
		assert.Equal(t, uint64(0), c.Status().Taken)
	})
}

func TestRunTwice(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	c := newConsumer(t, testConfig(x.URL(), (&recorder{}).Handle))
	running(t, c)
	eventually(t, "connected", connected(c))
	assert.ErrorIs(t, c.Run(context.Background()), ErrRunning)
}

// TestChaos drops and stalls the stream at random points while 50 events
// flow: every event reaches Handle at least once, and the distinct ids are
// exactly the 50.
func TestChaos(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{KeepAlive: 20 * time.Millisecond})
	rec := &recorder{}
	cfg := testConfig(x.URL(), rec.Handle)
	cfg.StallTimeout = 250 * time.Millisecond
	cfg.Concurrency = 8
	c := newConsumer(t, cfg)
	running(t, c)
	eventually(t, "connected", connected(c))

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	faults, lastConns := 0, 0
	for i := range 50 {
		x.DeliverStream(envelope(i))
		// Every fourth event or so, once the previous fault has cost its
		// connection, break the stream again.
		if i%4 == 3 {
			eventually(t, "the previous fault took effect", func() bool {
				return len(x.StreamConnects()) > lastConns && c.Status().Connected
			})
			lastConns = len(x.StreamConnects())
			var f xfake.StreamFault
			switch rng.IntN(3) {
			case 0:
				f = xfake.StreamFault{Kind: xfake.StreamDrop}
			case 1:
				f = xfake.StreamFault{Kind: xfake.StreamDrop, AfterLines: 1 + rng.IntN(2)}
			default:
				f = xfake.StreamFault{Kind: xfake.StreamStall}
			}
			n, err := x.InjectStreamFault(f)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			faults++
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
	}
	require.GreaterOrEqual(t, faults, 10)
	eventually(t, "all 50 events", func() bool {
		seen := map[string]bool{}
		for _, id := range rec.ids() {
			seen[id] = true
		}
		return len(seen) == 50
	})
	seen := map[string]int{}
	for _, id := range rec.ids() {
		seen[id]++
	}
	for i := range 50 {
		assert.GreaterOrEqual(t, seen[uuid(i)], 1, "event %d", i)
	}
	assert.Len(t, seen, 50)
	assert.GreaterOrEqual(t, c.Status().Reconnects, 10)
	t.Logf("faults=%d reconnects=%d deliveries=%d distinct=%d", faults, c.Status().Reconnects, len(rec.ids()), len(seen))
}

// With Concurrency above 1 several events are in Handle at once (so that
// a durable store can commit them together), no more than Concurrency, and
// Run returns only after the calls in flight have returned.
func TestConcurrentHandle(t *testing.T) {
	x := startFake(t, xfake.StreamOptions{})
	release := make(chan struct{})
	var in, peak atomic.Int32
	var done atomic.Int32
	cfg := testConfig(x.URL(), func(ctx context.Context, p *events.Payload, raw []byte) error {
		n := in.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-release
		in.Add(-1)
		done.Add(1)
		return nil
	})
	cfg.Concurrency = 4
	c := newConsumer(t, cfg)
	stop := running(t, c)
	eventually(t, "connected", connected(c))
	for i := range 6 {
		x.DeliverStream(envelope(100 + i))
	}
	eventually(t, "four in flight", func() bool { return in.Load() == 4 })
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case <-stopped:
		t.Fatal("Run returned with Handle calls in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-stopped)
	assert.Equal(t, int32(4), peak.Load(), "never more than Concurrency at once")
	assert.Equal(t, done.Load(), int32(c.Status().Taken))
	assert.GreaterOrEqual(t, done.Load(), int32(4))
}
