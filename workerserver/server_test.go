package workerserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/xfake"
)

const waitFor, tick = 30 * time.Second, 10 * time.Millisecond

// needORT skips without the ONNX Runtime library, except in CI (CI set),
// where its absence is a failure.
func needORT(t *testing.T) string {
	t.Helper()
	lib := imagegen.LibraryPath()
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the ONNX Runtime library is missing at %s: run scripts/ort-lib.sh", lib)
		}
		t.Skipf("ONNX Runtime library not found at %s; export ORT_LIB=$(bash scripts/ort-lib.sh) (skipping outside CI)", lib)
	}
	return lib
}

// switchQueue is a mem queue that can be taken down: every call then fails
// with queue.ErrUnavailable.
type switchQueue struct {
	*mem.Queue
	down atomic.Bool
}

func (q *switchQueue) err() error {
	if q.down.Load() {
		return queue.ErrUnavailable
	}
	return nil
}

func (q *switchQueue) Receive(ctx context.Context, max int, vis time.Duration) ([]*queue.Message, error) {
	if err := q.err(); err != nil {
		return nil, err
	}
	return q.Queue.Receive(ctx, max, vis)
}

func (q *switchQueue) Len(ctx context.Context) (int, error) {
	if err := q.err(); err != nil {
		return 0, err
	}
	return q.Queue.Len(ctx)
}

// rig is a server under test against a fake X and an in-process queue.
type rig struct {
	t      *testing.T
	x      *xfake.Server
	q      *switchQueue
	poison *mem.Queue
	srv    *workerserver.Server
	done   chan error
	cancel context.CancelFunc
}

func newMemQueue(t *testing.T, name string) *mem.Queue {
	q, err := mem.New(name, nil)
	require.NoError(t, err)
	t.Cleanup(func() { q.Close() })
	return q
}

func newRig(t *testing.T, edit func(*workerserver.Config)) *rig {
	t.Helper()
	return newRigWith(t, edit, nil)
}

// newRigWith is newRig with Options edited too (the queues are the rig's).
func newRigWith(t *testing.T, edit func(*workerserver.Config), editOpts func(*workerserver.Options)) *rig {
	t.Helper()
	lib := needORT(t)
	r := &rig{t: t, x: xfake.Start(t, xfake.Config{})}
	r.q = &switchQueue{Queue: newMemQueue(t, "jobs")}
	r.poison = newMemQueue(t, "jobs-poison")
	xc := r.x.Config()
	cfg := workerserver.Config{
		BotUserID: xc.BotUserID, ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret,
		APIBase: r.x.URL(), ORTLib: lib, Device: imagegen.DeviceCPU, Concurrency: 2,
		Ledger: filepath.Join(t.TempDir(), "ledger.db"), // never the user's state directory
	}
	if edit != nil {
		edit(&cfg)
	}
	opts := &workerserver.Options{
		Queue: r.q, Poison: r.poison,
		MinPollInterval: 5 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond,
	}
	if editOpts != nil {
		editOpts(opts)
	}
	var err error
	r.srv, err = workerserver.New(context.Background(), cfg, opts)
	require.NoError(t, err)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

// start runs the server until stop or the end of the test.
func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.srv.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-r.done })
	r.waitReady(http.StatusOK)
}

// stop cancels Run's context and returns Run's result.
func (r *rig) stop() error {
	r.t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(waitFor):
		r.t.Fatal("Run did not return after its context ended")
		return nil
	}
}

func (r *rig) get(path string) (int, string) {
	r.t.Helper()
	rec := httptest.NewRecorder()
	r.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func (r *rig) waitReady(code int) {
	r.t.Helper()
	require.Eventually(r.t, func() bool { c, _ := r.get("/readyz"); return c == code }, waitFor, tick,
		"/readyz never answered %d", code)
}

func (r *rig) enqueue(tweetID string) filter.Job {
	r.t.Helper()
	job := filter.Job{MsgType: filter.KindTweet, RespondID: tweetID, Text: "@moetronbot moerand",
		UserID: "1247048165561270272", ID: "tweet:" + tweetID, Command: "rand",
		ForUserID: xfake.DefaultBotUserID, ScreenName: "alice",
		ReceivedAt: time.Now().UTC().Truncate(time.Second)}
	body, err := job.Body()
	require.NoError(r.t, err)
	_, err = r.q.Enqueue(context.Background(), body, nil)
	require.NoError(r.t, err)
	return job
}

func (r *rig) queueLen() int {
	r.t.Helper()
	n, err := r.q.Queue.Len(context.Background())
	require.NoError(r.t, err)
	return n
}

func TestJobRepliedAndDeleted(t *testing.T) {
	r := newRig(t, func(c *workerserver.Config) { c.MetricsAddr = "127.0.0.1:0" })
	code, _ := r.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "not ready before Run")
	r.start()
	job := r.enqueue("1332557345071644672")
	require.Eventually(t, func() bool { return len(r.x.RepliesTo(job.RespondID)) == 1 && r.queueLen() == 0 },
		waitFor, tick, "no reply, or the job stayed in the queue")
	post := r.x.RepliesTo(job.RespondID)[0]
	assert.Equal(t, xfake.DefaultBotUserID, post.AuthorID)
	require.Len(t, post.MediaIDs, 1)
	n, err := r.poison.Len(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n)

	// The real listener serves the same endpoints, with the job counted.
	addr := r.srv.Addr()
	require.NotNil(t, addr)
	client := &http.Client{Timeout: 5 * time.Second}
	var metrics string
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := client.Get("http://" + addr.String() + path)
		require.NoError(t, err, path)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		metrics = string(b)
	}
	for _, line := range []string{
		"moetron_consumer_received_total 1",
		"moetron_consumer_succeeded_total 1",
		"moetron_consumer_failed_total 0",
		`moetron_consumer_poisoned_total{reason="permanent"} 0`,
		`moetron_consumer_queue_errors_total{op="receive"} 0`,
		"moetron_consumer_handler_seconds_count 1",
		"moetron_consumer_in_flight 0",
		`moetron_worker_jobs_total{outcome="replied"} 1`,
		"# TYPE go_goroutines gauge",
	} {
		assert.Contains(t, metrics, line+"\n")
	}

	require.NoError(t, r.stop())
	_, err = client.Get("http://" + addr.String() + "/healthz")
	assert.Error(t, err, "the listener is closed after Run")
	assert.Error(t, r.srv.Run(context.Background()), "a server runs once")
}

func TestReadyzFollowsTheQueue(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	r.q.down.Store(true)
	code, body := r.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "queue unavailable")
	code, _ = r.get("/healthz")
	assert.Equal(t, http.StatusOK, code, "the process is alive")
	require.Eventually(t, func() bool {
		_, m := r.get("/metrics")
		return !strings.Contains(m, `moetron_consumer_queue_errors_total{op="receive"} 0`+"\n")
	}, waitFor, tick, "failed receives are counted")

	r.q.down.Store(false)
	r.waitReady(http.StatusOK)
	job := r.enqueue("1332557345071644673")
	require.Eventually(t, func() bool { return len(r.x.RepliesTo(job.RespondID)) == 1 && r.queueLen() == 0 },
		waitFor, tick, "the worker recovers with the queue")
	require.NoError(t, r.stop())
	code, _ = r.get("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "not ready once Run returned")
}

// inFlight enqueues a job whose reply X holds for delay, and waits until
// the worker is in that call.
func (r *rig) inFlight(tweetID string, delay time.Duration) filter.Job {
	r.t.Helper()
	_, err := r.x.InjectFault(xfake.Fault{Kind: xfake.FaultDelay, Endpoint: xfake.EndpointTweets, Delay: delay, Times: 1})
	require.NoError(r.t, err)
	job := r.enqueue(tweetID)
	require.Eventually(r.t, func() bool {
		return len(r.x.Uploads()) == 1 && r.srv.InFlight() == 1
	}, waitFor, tick, "the job never reached the reply")
	return job
}

func TestRunDrainsInFlightJobs(t *testing.T) {
	r := newRig(t, func(c *workerserver.Config) { c.DrainTimeout = 20 * time.Second })
	r.start()
	job := r.inFlight("1332557345071644674", time.Second)
	require.NoError(t, r.stop(), "a drain within the timeout is clean")
	assert.Len(t, r.x.RepliesTo(job.RespondID), 1, "the job in flight finished")
	assert.Zero(t, r.queueLen(), "and was deleted")
	_, m := r.get("/metrics")
	assert.Contains(t, m, "moetron_consumer_released_total 0\n")
	assert.Contains(t, m, "moetron_consumer_succeeded_total 1\n")
}

func TestRunReleasesAtDrainDeadline(t *testing.T) {
	r := newRig(t, func(c *workerserver.Config) { c.DrainTimeout = -1 })
	r.start()
	job := r.inFlight("1332557345071644675", 5*time.Second)
	err := r.stop()
	require.Error(t, err)
	assert.True(t, errors.Is(err, queue.ErrDrainTimeout), err)
	assert.Equal(t, 1, r.queueLen(), "the job is back on the queue")
	assert.Empty(t, r.x.RepliesTo(job.RespondID))
	_, m := r.get("/metrics")
	assert.Contains(t, m, "moetron_consumer_released_total 1\n")
}

func TestNewFailsEarly(t *testing.T) {
	full := workerserver.Config{BotUserID: "1114259648326987776", ConsumerKey: "k", ConsumerSecret: "s-SECRET",
		AccessToken: "t-SECRET", AccessTokenSecret: "ts-SECRET", ORTLib: filepath.Join(t.TempDir(), "no-such.so")}

	_, err := workerserver.New(context.Background(), workerserver.Config{}, nil)
	require.ErrorIs(t, err, workerserver.ErrConfig)
	assert.Contains(t, err.Error(), "missing BOT_USER_ID")

	_, err = workerserver.New(context.Background(), full, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), full.ORTLib)
	assert.Contains(t, err.Error(), "ORT_LIB")
	assert.NotContains(t, err.Error(), "SECRET")

	full.ORTLib = needORT(t)
	full.Queue.Backend = "mem"
	_, err = workerserver.New(context.Background(), full, &workerserver.Options{Queue: newMemQueue(t, "jobs")})
	require.ErrorIs(t, err, workerserver.ErrConfig)
	assert.Contains(t, err.Error(), "Options.Poison")
}

func TestOpensAndClosesItsOwnQueue(t *testing.T) {
	lib := needORT(t)
	x := xfake.Start(t, xfake.Config{})
	xc := x.Config()
	path := filepath.Join(t.TempDir(), "q.db")
	srv, err := workerserver.New(context.Background(), workerserver.Config{
		BotUserID: xc.BotUserID, ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret, APIBase: x.URL(), ORTLib: lib,
		Device: imagegen.DeviceCPU, Concurrency: 1, Queue: queueOnDisk(path),
	}, nil)
	assert.Equal(t, path, srv.QueuePath())
	require.NoError(t, err)
	assert.Equal(t, "cpu", srv.Device())
	assert.Equal(t, 1, srv.Concurrency())
	_, err = os.Stat(path)
	require.NoError(t, err, "New opened (created) the SQLite queue")
	require.NoError(t, srv.Close())
	_, err = srv.Queue().Len(context.Background())
	assert.Error(t, err, "Close closed the queue it opened")
	require.NoError(t, srv.Close(), "Close twice")
}

func queueOnDisk(path string) queueopen.Env {
	return queueopen.Env{Backend: queueopen.BackendSQLite, Path: path}
}
