package workerserver_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/xfake"
)

// newServer builds a server against x with the rig's queues, returning New's
// error.
func newServer(t *testing.T, x *xfake.Server, edit func(*workerserver.Config), opts *workerserver.Options) (*workerserver.Server, error) {
	t.Helper()
	lib := needORT(t)
	xc := x.Config()
	cfg := workerserver.Config{
		BotUserID: xc.BotUserID, ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret,
		APIBase: x.URL(), ORTLib: lib, Device: imagegen.DeviceCPU, Concurrency: 1,
		Ledger: workerserver.LedgerMem,
	}
	if edit != nil {
		edit(&cfg)
	}
	if opts == nil {
		opts = &workerserver.Options{}
	}
	opts.Queue, opts.Poison = newMemQueue(t, "jobs"), newMemQueue(t, "jobs-poison")
	srv, err := workerserver.New(context.Background(), cfg, opts)
	if err == nil {
		t.Cleanup(func() { srv.Close() })
	}
	return srv, err
}

func TestNewRefusesCredentialsXRejects(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	const secret = "wrong-SECRET-4f2a"
	_, err := newServer(t, x, func(c *workerserver.Config) { c.AccessTokenSecret = secret }, nil)
	require.ErrorIs(t, err, workerserver.ErrCredentials)
	for _, name := range []string{"401", "X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"} {
		assert.Contains(t, err.Error(), name)
	}
	assert.NotContains(t, err.Error(), secret)
	assert.NotContains(t, err.Error(), x.Config().ConsumerSecret)
}

func TestNewRefusesAnotherAccountsTokens(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	_, err := newServer(t, x, func(c *workerserver.Config) { c.BotUserID = "1247048165561270272" }, nil)
	require.ErrorIs(t, err, workerserver.ErrWrongAccount)
	assert.Contains(t, err.Error(), "@"+xfake.DefaultBotScreenName)
	assert.Contains(t, err.Error(), "BOT_USER_ID 1247048165561270272")
}

func TestNewStartsWhenXCannotBeReached(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	_, err := x.InjectFault(xfake.Fault{Kind: xfake.FaultUnavailable, Endpoint: xfake.EndpointUsersMe})
	require.NoError(t, err)
	var logs syncBuffer
	srv, err := newServer(t, x, nil, &workerserver.Options{
		CredentialCheckTimeout: 300 * time.Millisecond,
		Logger:                 slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err, "an outage of X is not a reason to refuse to start")
	assert.Contains(t, logs.String(), "starting anyway")
	assert.Contains(t, metricsOf(t, srv), `moetron_worker_auth_checks_total{result="unreachable"} 1`)
}

// revoker is a transport that answers 401 to every call while revoked, as X
// does once the bot's tokens are revoked.
type revoker struct {
	revoked atomic.Bool
	calls   atomic.Int64 // answered 401
}

func (rv *revoker) RoundTrip(r *http.Request) (*http.Response, error) {
	if !rv.revoked.Load() {
		return http.DefaultTransport.RoundTrip(r)
	}
	rv.calls.Add(1)
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	body := `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`
	return &http.Response{StatusCode: http.StatusUnauthorized, Status: "401 Unauthorized", Request: r,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body))}, nil
}

func TestUnauthorizedPausesConsumptionAndLeavesJobsQueued(t *testing.T) {
	rv := &revoker{}
	r := newRigWith(t, func(c *workerserver.Config) { c.MaxDequeue = 2 }, func(o *workerserver.Options) {
		o.HTTPClient = &http.Client{Transport: rv, Timeout: 10 * time.Second}
		o.AuthRecheck = 20 * time.Millisecond
	})
	r.start()
	rv.revoked.Store(true)
	job := r.enqueue("1332557345071644680")

	require.Eventually(t, r.srv.Paused, waitFor, tick, "a 401 pauses consumption")
	code, body := r.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "paused")
	code, _ = r.get("/healthz")
	assert.Equal(t, http.StatusOK, code, "alive, just not ready")
	// Re-checks keep failing; meanwhile no job is taken and none is poisoned,
	// although MaxDequeue is 2.
	require.Eventually(t, func() bool { return rv.calls.Load() >= 6 }, waitFor, tick, "GET /2/users/me is asked again")
	assert.True(t, r.srv.Paused())
	assert.Equal(t, 1, r.queueLen(), "the job waits on the queue")
	n, err := r.poison.Len(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "a 401 never poisons")
	m := metricsOf(t, r.srv)
	assert.Contains(t, m, "moetron_worker_auth_paused 1\n")
	assert.Contains(t, m, "moetron_worker_auth_refused_total 1\n")
	assert.Contains(t, m, "moetron_consumer_failed_total 0\n")
	assert.Contains(t, m, "moetron_consumer_received_total 1\n", "one delivery, then the gate held")
	assert.NotContains(t, m, `moetron_worker_auth_checks_total{result="unauthorized"} 0`+"\n")

	// The tokens work again: consumption resumes and the job is answered once.
	rv.revoked.Store(false)
	require.Eventually(t, func() bool { return len(r.x.RepliesTo(job.RespondID)) == 1 && r.queueLen() == 0 },
		waitFor, tick, "the job is answered once X accepts the tokens again")
	assert.False(t, r.srv.Paused())
	r.waitReady(http.StatusOK)
	m = metricsOf(t, r.srv)
	assert.Contains(t, m, "moetron_worker_auth_paused 0\n")
	assert.Contains(t, m, `moetron_worker_auth_checks_total{result="ok"} 2`+"\n", "start-up and the re-check")
	require.NoError(t, r.stop())
}

func metricsOf(t *testing.T, srv *workerserver.Server) string {
	t.Helper()
	rec := &bytes.Buffer{}
	w := &recorder{h: http.Header{}, b: rec}
	srv.Handler().ServeHTTP(w, mustRequest(t, "/metrics"))
	return rec.String()
}

func mustRequest(t *testing.T, path string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, path, nil)
	require.NoError(t, err)
	return req
}

type recorder struct {
	h http.Header
	b *bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.b.Write(p) }
func (r *recorder) WriteHeader(int)             {}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestStartLogsTheAbsoluteQueuePath(t *testing.T) {
	t.Chdir(t.TempDir())
	x := xfake.Start(t, xfake.Config{})
	xc := x.Config()
	var logs syncBuffer
	srv, err := workerserver.New(context.Background(), workerserver.Config{
		BotUserID: xc.BotUserID, ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret, APIBase: x.URL(), ORTLib: needORT(t),
		Device: imagegen.DeviceCPU, Concurrency: 1, Queue: queueOnDisk("rel-queue.db"), MetricsAddr: workerserver.MetricsOff,
	}, &workerserver.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	abs, err := filepath.Abs("rel-queue.db")
	require.NoError(t, err)
	assert.Equal(t, abs, srv.QueuePath())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "worker started") }, waitFor, tick)
	cancel()
	require.NoError(t, <-done)
	assert.Contains(t, logs.String(), "queue_path="+abs)
	assert.Nil(t, srv.Addr(), "METRICS_ADDR=off: no listener")
}
