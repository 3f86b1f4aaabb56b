package serve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var discard = slog.New(slog.DiscardHandler)

func TestNewHTTPServerSetsEveryLimit(t *testing.T) {
	srv := NewHTTPServer(http.NotFoundHandler(), 7*time.Second, discard)
	assert.Equal(t, ReadHeaderTimeout, srv.ReadHeaderTimeout)
	assert.Equal(t, ReadTimeout, srv.ReadTimeout)
	assert.Equal(t, 7*time.Second, srv.WriteTimeout)
	assert.Equal(t, IdleTimeout, srv.IdleTimeout)
	assert.Equal(t, MaxHeaderBytes, srv.MaxHeaderBytes)
	assert.NotNil(t, srv.ErrorLog)
}

func TestNewRegistryHasGoAndProcessCollectors(t *testing.T) {
	mfs, err := NewRegistry().Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	assert.True(t, names["go_goroutines"], "Go collector")
	assert.True(t, names["process_start_time_seconds"] || names["process_cpu_seconds_total"], "process collector")
	var _ prometheus.Gatherer = NewRegistry()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

// A request in flight at Shutdown finishes; after it the listener is closed.
func TestHTTPShutdownWaitsForRequestsInFlight(t *testing.T) {
	ln := listen(t)
	entered, release := make(chan struct{}), make(chan struct{})
	h := StartHTTP("t", time.Minute, discard, Endpoint{Listener: ln, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})})
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- h.Shutdown(5 * time.Second) }()
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	assert.Equal(t, "done", <-got)
	require.NoError(t, <-stopped)
	_, err := net.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "the listener is closed")
	assert.NoError(t, h.Shutdown(time.Second), "a second Shutdown is a no-op")
}

// A request that outlives the deadline is cut off, and Shutdown says so.
func TestHTTPShutdownDeadline(t *testing.T) {
	ln := listen(t)
	entered := make(chan struct{})
	h := StartHTTP("t", time.Minute, discard, Endpoint{Listener: ln, Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})})
	go http.Get("http://" + ln.Addr().String())
	<-entered
	err := h.Shutdown(20 * time.Millisecond)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "t: shutdown")
}

type failingListener struct{ net.Listener }

func (failingListener) Accept() (net.Conn, error) { return nil, errors.New("accept broke") }

func TestHTTPFailedWhenAListenerBreaks(t *testing.T) {
	ln := listen(t)
	defer ln.Close()
	good := listen(t)
	h := StartHTTP("name", time.Minute, discard,
		Endpoint{Listener: good, Handler: http.NotFoundHandler()},
		Endpoint{Listener: failingListener{ln}, Handler: http.NotFoundHandler()})
	select {
	case <-h.Failed():
	case <-time.After(5 * time.Second):
		t.Fatal("Failed never closed")
	}
	err := h.Shutdown(time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "name: serving on "+ln.Addr().String()+": accept broke")
}

func TestHTTPWithoutEndpoints(t *testing.T) {
	h := StartHTTP("t", time.Minute, discard)
	select {
	case <-h.Failed():
		t.Fatal("nothing served, nothing failed")
	default:
	}
	assert.NoError(t, h.Shutdown(time.Second))
}

func TestReadinessAnd(t *testing.T) {
	assert.Equal(t, Ready(), Ready().And(Ready()))
	assert.Equal(t, Degraded("spool"), Ready().And(Degraded("spool")))
	assert.Equal(t, Degraded("spool"), Degraded("spool").And(Ready()))
	assert.Equal(t, NotReady("spool; stream"), Degraded("spool").And(NotReady("stream")))
	assert.Equal(t, NotReady("queue; stream"), NotReady("queue").And(Degraded("stream")))
	assert.Equal(t, NotReady("intake: queue"), NotReady("queue").Prefix("intake").And(Ready().Prefix("worker")))
}

func TestReadyHandler(t *testing.T) {
	for _, c := range []struct {
		rd     Readiness
		code   int
		body   string
		header string
	}{
		{Ready(), 200, "ready\n", "ready"},
		{Degraded("jobs go to the spool"), 200, "degraded: jobs go to the spool\n", "degraded"},
		{NotReady("queue unavailable"), 503, "not ready: queue unavailable\n", "not-ready"},
	} {
		var logged bytes.Buffer
		var deadline time.Time
		h := ReadyHandler(slog.New(slog.NewTextHandler(&logged, nil)), func(ctx context.Context) Readiness {
			deadline, _ = ctx.Deadline()
			return c.rd
		})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		assert.Equal(t, c.code, w.Code, c.rd.State)
		assert.Equal(t, c.body, w.Body.String())
		assert.Equal(t, c.header, w.Header().Get("X-Moetron-Readiness"))
		assert.WithinDuration(t, time.Now().Add(ReadyTimeout), deadline, time.Second, "the check is bounded")
		if c.code == 503 {
			assert.Contains(t, logged.String(), "queue unavailable")
		} else {
			assert.Empty(t, logged.String())
		}
	}
}

func TestHandleHealth(t *testing.T) {
	mux := http.NewServeMux()
	HandleHealth(mux, discard, func(context.Context) Readiness { return NotReady("x") })
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	assert.Equal(t, 200, w.Code)
	assert.Equal(t, "ok\n", w.Body.String())
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	assert.Equal(t, 503, w.Code)
}

func TestExitCode(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ok := func(_ context.Context, args []string, out io.Writer) error {
		io.WriteString(out, args[0])
		return nil
	}
	assert.Equal(t, 0, exitCode(context.Background(), "bin", ok, []string{"hello"}, &stdout, &stderr))
	assert.Equal(t, "hello", stdout.String())
	assert.Empty(t, stderr.String())

	bad := func(context.Context, []string, io.Writer) error { return errors.New("missing BOT_USER_ID") }
	assert.Equal(t, 1, exitCode(context.Background(), "bin", bad, nil, &stdout, &stderr))
	assert.Equal(t, "bin: missing BOT_USER_ID\n", stderr.String())
}

func TestListener(t *testing.T) {
	var l Listener
	assert.Nil(t, l.Addr())
	assert.Nil(t, l.Get())
	l.Close() // nothing to close
	require.NoError(t, l.Listen("127.0.0.1:0"))
	addr := l.Addr()
	require.NotNil(t, addr)
	require.NoError(t, l.Listen("127.0.0.1:0"))
	assert.Equal(t, addr, l.Addr(), "a second Listen keeps the first listener")
	conn, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	conn.Close()
	l.Close()
	_, err = net.Dial("tcp", addr.String())
	assert.Error(t, err, "closed")

	given := listen(t)
	var g Listener
	g.Set(given)
	require.NoError(t, g.Listen("256.0.0.1:1"), "a given listener is kept; nothing is opened")
	assert.Equal(t, given.Addr(), g.Addr())
	g.Close()

	var bad Listener
	assert.Error(t, bad.Listen("256.0.0.1:1"))
	assert.Nil(t, bad.Addr())
}
