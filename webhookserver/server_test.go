package webhookserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/stream"
	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/webhookserver"
	"github.com/moetron/moetron/xfake"
)

const secret = "test-consumer-secret"

// downQueue is a queue that can be switched off: every call then fails
// with queue.ErrUnavailable, as an unreachable Azure queue would.
type downQueue struct {
	queue.Queue
	down atomic.Bool
}

func (q *downQueue) Len(ctx context.Context) (int, error) {
	if q.down.Load() {
		return 0, fmt.Errorf("test queue switched off: %w", queue.ErrUnavailable)
	}
	return q.Queue.Len(ctx)
}

func (q *downQueue) Enqueue(ctx context.Context, body []byte, o *queue.EnqueueOptions) (*queue.Message, error) {
	if q.down.Load() {
		return nil, fmt.Errorf("test queue switched off: %w", queue.ErrUnavailable)
	}
	return q.Queue.Enqueue(ctx, body, o)
}

func baseConfig(t *testing.T) webhookserver.Config {
	return webhookserver.Config{
		ConsumerSecret: secret,
		BotUserID:      eventstest.BotUserID,
		Addr:           "127.0.0.1:0",
		SpoolDir:       t.TempDir(),
		Queue:          queueEnvMem(),
	}
}

func newServer(t *testing.T, cfg webhookserver.Config, opts *webhookserver.Options) (*webhookserver.Server, *downQueue) {
	t.Helper()
	mq, err := mem.New("jobs", nil)
	require.NoError(t, err)
	t.Cleanup(func() { mq.Close() })
	q := &downQueue{Queue: mq}
	if opts == nil {
		opts = &webhookserver.Options{}
	}
	opts.Queue = q
	srv, err := webhookserver.New(context.Background(), cfg, opts)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return srv, q
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func receiveJobs(t *testing.T, q queue.Queue) []filter.Job {
	t.Helper()
	ms, err := q.Receive(context.Background(), 32, time.Minute)
	require.NoError(t, err)
	var jobs []filter.Job
	for _, m := range ms {
		j, err := filter.DefaultTable().ParseJob(m.Body)
		require.NoError(t, err)
		jobs = append(jobs, j)
	}
	return jobs
}

func TestCRC(t *testing.T) {
	srv, _ := newServer(t, baseConfig(t), nil)
	w := serve(srv.Handler(), httptest.NewRequest("GET", "/webhook?crc_token=abc123", nil))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), crc.ResponseToken(secret, "abc123"))

	w = serve(srv.Handler(), httptest.NewRequest("GET", "/webhook?crc_token=%3Cscript%3E", nil))
	assert.Equal(t, http.StatusBadRequest, w.Code, "a token that is not token-shaped is refused")
}

func TestSignedPostEnqueuesJob(t *testing.T) {
	srv, q := newServer(t, baseConfig(t), nil)
	body := eventstest.Fixture("mention_moerand")
	w := serve(srv.Handler(), eventstest.SignedRequest(t, secret, body))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())

	jobs := receiveJobs(t, q)
	require.Len(t, jobs, 1)
	assert.Equal(t, filter.CommandRand, jobs[0].Command)
	assert.Equal(t, filter.KindTweet, jobs[0].MsgType)

	// The same delivery again is answered 200 and suppressed as a duplicate.
	w = serve(srv.Handler(), eventstest.SignedRequest(t, secret, body))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, receiveJobs(t, q))
}

func TestCustomPath(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Path = "/x/hook"
	srv, q := newServer(t, cfg, nil)
	body := eventstest.Fixture("dm_moerand")
	assert.Equal(t, http.StatusNotFound, serve(srv.Handler(), eventstest.SignedRequest(t, secret, body)).Code)
	r := eventstest.SignedRequest(t, secret, body)
	r.URL.Path = "/x/hook"
	require.Equal(t, http.StatusOK, serve(srv.Handler(), r).Code)
	jobs := receiveJobs(t, q)
	require.Len(t, jobs, 1)
	assert.Equal(t, filter.KindDM, jobs[0].MsgType)
}

func TestRejections(t *testing.T) {
	srv, q := newServer(t, baseConfig(t), &webhookserver.Options{MaxBodyBytes: 4096})
	body := eventstest.Fixture("mention_moerand")

	bad := eventstest.SignedRequest(t, "another-secret", body)
	assert.Equal(t, http.StatusForbidden, serve(srv.Handler(), bad).Code)

	missing := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
	assert.Equal(t, http.StatusUnauthorized, serve(srv.Handler(), missing).Code)

	big := append([]byte(`{"pad":"`), bytes.Repeat([]byte("a"), 8192)...)
	big = append(big, `"}`...)
	assert.Equal(t, http.StatusRequestEntityTooLarge, serve(srv.Handler(), eventstest.SignedRequest(t, secret, big)).Code)

	assert.Equal(t, http.StatusMethodNotAllowed, serve(srv.Handler(), httptest.NewRequest("PUT", "/webhook", nil)).Code)
	assert.Empty(t, receiveJobs(t, q), "no rejected request may enqueue")
}

func TestDefaultBodyLimit(t *testing.T) {
	srv, _ := newServer(t, baseConfig(t), nil)
	big := append([]byte(`{"pad":"`), bytes.Repeat([]byte("a"), events.DefaultMaxBodyBytes)...)
	big = append(big, `"}`...)
	assert.Equal(t, http.StatusRequestEntityTooLarge, serve(srv.Handler(), eventstest.SignedRequest(t, secret, big)).Code)
}

func TestHealthAndReadiness(t *testing.T) {
	cfg := baseConfig(t)
	cfg.SpoolMaxBytes = 400 // room for one spooled job (279 bytes), not two
	srv, q := newServer(t, cfg, nil)
	w := serve(srv.Handler(), httptest.NewRequest("GET", "/healthz", nil))
	assert.Equal(t, http.StatusOK, w.Code)

	w = serve(srv.Handler(), httptest.NewRequest("GET", "/readyz", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "ready\n", w.Body.String())
	assert.Equal(t, "ready", w.Header().Get("X-Moetron-Readiness"))

	// The queue is down but the spool takes jobs: degraded, still 200.
	q.down.Store(true)
	w = serve(srv.Handler(), httptest.NewRequest("GET", "/readyz", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "degraded", w.Header().Get("X-Moetron-Readiness"))
	assert.Contains(t, w.Body.String(), "spool")
	assert.Equal(t, http.StatusOK, serve(srv.Handler(), eventstest.SignedRequest(t, secret, eventstest.Fixture("mention_moerand"))).Code)

	// The spool is full: the next delivery gets 503, and so does /readyz.
	assert.Equal(t, http.StatusServiceUnavailable,
		serve(srv.Handler(), eventstest.SignedRequest(t, secret, eventstest.Fixture("mention_moemess"))).Code)
	w = serve(srv.Handler(), httptest.NewRequest("GET", "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "not-ready", w.Header().Get("X-Moetron-Readiness"))
	assert.NotContains(t, w.Body.String(), "switched off", "queue errors stay in the log")
	assert.Equal(t, http.StatusOK, serve(srv.Handler(), httptest.NewRequest("GET", "/healthz", nil)).Code,
		"liveness does not depend on the queue")

	q.down.Store(false)
	assert.Equal(t, http.StatusOK, serve(srv.Handler(), httptest.NewRequest("GET", "/readyz", nil)).Code)
}

func TestQueueDownSpools(t *testing.T) {
	srv, q := newServer(t, baseConfig(t), nil)
	q.down.Store(true)
	w := serve(srv.Handler(), eventstest.SignedRequest(t, secret, eventstest.Fixture("mention_moemess")))
	require.Equal(t, http.StatusOK, w.Code, "a spooled job is durable")
	q.down.Store(false)
	n, err := srv.Intake().Drain(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	jobs := receiveJobs(t, q)
	require.Len(t, jobs, 1)
	assert.Equal(t, filter.CommandMess, jobs[0].Command)
}

func metricsText(t *testing.T, h http.Handler) string {
	t.Helper()
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.RemoteAddr = "127.0.0.1:40000" // /metrics on the main listener is for this machine only
	w := serve(h, r)
	require.Equal(t, http.StatusOK, w.Code)
	return w.Body.String()
}

func TestMetrics(t *testing.T) {
	srv, _ := newServer(t, baseConfig(t), nil)
	h := srv.Handler()
	body := eventstest.Fixture("mention_moerand")
	serve(h, eventstest.SignedRequest(t, secret, body))
	serve(h, eventstest.SignedRequest(t, secret, body))
	serve(h, eventstest.SignedRequest(t, secret, eventstest.Fixture("retweet_of_command")))
	serve(h, eventstest.SignedRequest(t, "wrong", body))

	text := metricsText(t, h)
	for _, want := range []string{
		`moetron_webhook_requests_total{outcome="ok"} 3`,
		`moetron_webhook_requests_total{outcome="bad_signature"} 1`,
		`moetron_webhook_signature_failures_total 1`,
		`moetron_webhook_events_total{kind="tweet_create_events"} 3`,
		`moetron_webhook_decisions_total{reason="job"} 1`,
		`moetron_webhook_decisions_total{reason="duplicate"} 1`,
		`moetron_webhook_decisions_total{reason="retweet"} 1`,
		`moetron_webhook_jobs_enqueued_total{where="queue"} 1`,
		`moetron_webhook_enqueue_seconds_count 1`,
		`go_goroutines`,
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, secret)
}

func TestServeSeparateMetricsAndShutdown(t *testing.T) {
	cfg := baseConfig(t)
	cfg.MetricsAddr = "127.0.0.1:0"
	srv, q := newServer(t, cfg, nil)
	require.NoError(t, srv.Listen())
	base := "http://" + srv.Addr().String()
	mbase := "http://" + srv.MetricsAddr().String()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	body := eventstest.Fixture("mention_moename")
	req, err := http.NewRequest("POST", base+"/webhook", bytes.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, crc.SignRequest(req, secret))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, receiveJobs(t, q), 1)

	resp, err = http.Get(base + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "with METRICS_ADDR, /metrics is not on the main listener")
	resp, err = http.Get(mbase + "/metrics")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(b), `moetron_webhook_requests_total{outcome="ok"} 1`)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	_, err = net.DialTimeout("tcp", srv.Addr().String(), time.Second)
	assert.Error(t, err, "listener still open after shutdown")
}

func TestShutdownWaitsForInFlight(t *testing.T) {
	mq, err := mem.New("jobs", nil)
	require.NoError(t, err)
	defer mq.Close()
	slow := &slowQueue{Queue: mq, entered: make(chan struct{}), release: make(chan struct{})}
	cfg := baseConfig(t)
	srv, err := webhookserver.New(context.Background(), cfg, &webhookserver.Options{Queue: slow})
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	req, err := http.NewRequest("POST", "http://"+srv.Addr().String()+"/webhook",
		bytes.NewReader(eventstest.Fixture("mention_moerand")))
	require.NoError(t, err)
	require.NoError(t, crc.SignRequest(req, secret))
	status := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-slow.entered
	cancel() // shutdown starts while the POST waits in Enqueue
	select {
	case <-done:
		t.Fatal("Serve returned before the request in flight finished")
	case <-time.After(200 * time.Millisecond):
	}
	close(slow.release)
	assert.Equal(t, http.StatusOK, <-status)
	require.NoError(t, <-done)
	n, err := mq.Len(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

type slowQueue struct {
	queue.Queue
	entered, release chan struct{}
	once             atomic.Bool
}

func (q *slowQueue) Enqueue(ctx context.Context, body []byte, o *queue.EnqueueOptions) (*queue.Message, error) {
	if q.once.CompareAndSwap(false, true) {
		close(q.entered)
	}
	<-q.release
	return q.Queue.Enqueue(ctx, body, o)
}

func TestRegistersWithX(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	xc := x.Config()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := baseConfig(t)
	cfg.ConsumerSecret = xc.ConsumerSecret
	cfg.BotUserID = xc.BotUserID
	cfg.URL = "http://" + ln.Addr().String() + "/webhook"
	cfg.APIBase = x.URL()
	cfg.ConsumerKey, cfg.AccessToken, cfg.AccessTokenSecret, cfg.BearerToken =
		xc.ConsumerKey, xc.AccessToken, xc.AccessTokenSecret, xc.BearerToken

	checked := make(chan error, 4)
	srv, q := newServer(t, cfg, &webhookserver.Options{Listener: ln,
		OnWebhookCheck: func(st webhooks.Status, err error) {
			if err == nil && !(st.Valid && st.Subscribed) {
				err = fmt.Errorf("check ended with %+v", st)
			}
			checked <- err
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	select {
	case err := <-checked:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("no webhook check within 15 s")
	}
	hooks := x.Webhooks()
	require.Len(t, hooks, 1)
	assert.Equal(t, cfg.URL, hooks[0].URL)
	assert.True(t, hooks[0].Valid, "registered after a real CRC round trip")
	assert.Len(t, x.ActivitySubscriptions(), len(webhooks.DefaultActivityEventTypes), "the XAA subscriptions are made")
	assert.Empty(t, hooks[0].Subscriptions, "no AAA subscription by default")
	assert.Contains(t, metricsText(t, srv.Handler()), "moetron_webhook_registration_ok 1")

	p := x.SeedPost(xfake.Post{Text: "@" + xc.BotScreenName + " moename sakura", AuthorID: "2244994945"})
	payload, err := x.MentionPayload(p, xfake.Sender{UserID: "2244994945", ScreenName: "alice"})
	require.NoError(t, err)
	status, err := x.Deliver(context.Background(), payload)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	jobs := receiveJobs(t, q)
	require.Len(t, jobs, 1)
	assert.Equal(t, "sakura", jobs[0].Args)
	assert.Equal(t, p.ID, jobs[0].RespondID)
}

func TestRegistrationConfigErrorsAtNew(t *testing.T) {
	cfg := baseConfig(t)
	cfg.URL = "https://bot.example.com/webhook"
	cfg.BearerToken = "bearer with space"
	cfg.ConsumerKey, cfg.AccessToken, cfg.AccessTokenSecret = "k", "t", "ts"
	mq, err := mem.New("jobs", nil)
	require.NoError(t, err)
	defer mq.Close()
	_, err = webhookserver.New(context.Background(), cfg, &webhookserver.Options{Queue: mq})
	require.Error(t, err)
	assert.True(t, errors.Is(err, webhooks.ErrInvalidConfig), err)
	assert.NotContains(t, err.Error(), "bearer with space")
}

func TestNewOpensQueueFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := baseConfig(t)
	cfg.Queue.Backend, cfg.Queue.Path = "sqlite", dir+"/q.db"
	cfg.SpoolDir = ""
	srv, err := webhookserver.New(context.Background(), cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, dir+"/moetron-spool", srv.Config().SpoolDir)
	w := serve(srv.Handler(), eventstest.SignedRequest(t, secret, eventstest.Fixture("mention_moerand")))
	require.Equal(t, http.StatusOK, w.Code)
	require.NoError(t, srv.Close())
	require.NoError(t, srv.Close(), "Close twice")
	assert.True(t, strings.HasSuffix(srv.Config().Queue.Path, "q.db"))
}

func TestRegistrationRetriesWhileXIsDown(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	xc := x.Config()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg := baseConfig(t)
	cfg.ConsumerSecret, cfg.BotUserID = xc.ConsumerSecret, xc.BotUserID
	cfg.URL = "http://" + ln.Addr().String() + "/webhook"
	cfg.APIBase = x.URL()
	cfg.ConsumerKey, cfg.AccessToken, cfg.AccessTokenSecret, cfg.BearerToken =
		xc.ConsumerKey, xc.AccessToken, xc.AccessTokenSecret, xc.BearerToken

	x.Outage(time.Hour)
	checks := make(chan error, 16)
	srv, _ := newServer(t, cfg, &webhookserver.Options{Listener: ln, MonitorInterval: time.Hour, MonitorRetry: 100 * time.Millisecond,
		OnWebhookCheck: func(st webhooks.Status, err error) {
			if err == nil && !(st.Valid && st.Subscribed) {
				err = fmt.Errorf("check ended with %+v", st)
			}
			checks <- err
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	select {
	case err := <-checks:
		require.Error(t, err, "the first check must fail while X is down")
	case <-time.After(15 * time.Second):
		t.Fatal("no webhook check within 15 s")
	}
	assert.Contains(t, metricsText(t, srv.Handler()), "moetron_webhook_registration_ok 0")
	x.EndOutage()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case err := <-checks:
			if err != nil {
				continue
			}
			hooks := x.Webhooks()
			require.Len(t, hooks, 1)
			assert.True(t, hooks[0].Valid)
			assert.Len(t, x.ActivitySubscriptions(), len(webhooks.DefaultActivityEventTypes), "the XAA subscriptions are made")
			assert.Empty(t, hooks[0].Subscriptions, "no AAA subscription by default")
			return
		case <-deadline:
			t.Fatal("the webhook was not registered after X came back")
		}
	}
}

// streamSetup is a fake X with its stream and a server reading it.
func streamSetup(t *testing.T, delivery string) (*xfake.Server, *webhookserver.Server, *downQueue, func() error) {
	t.Helper()
	x := xfake.Start(t, xfake.Config{})
	x.SetStreamOptions(xfake.StreamOptions{KeepAlive: 20 * time.Millisecond})
	cfg := baseConfig(t)
	cfg.Delivery = delivery
	cfg.APIBase = x.URL()
	cfg.BearerToken = x.Config().BearerToken
	if delivery == webhookserver.DeliveryStream {
		cfg.ConsumerSecret = ""
	}
	srv, q := newServer(t, cfg, &webhookserver.Options{Stream: &stream.Config{
		StallTimeout: time.Second, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}})
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("Serve did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return x, srv, q, stop
}

func waitJobs(t *testing.T, q queue.Queue, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		l, err := q.Len(context.Background())
		return err == nil && l >= n
	}, 15*time.Second, 5*time.Millisecond)
}

func TestStreamDelivery(t *testing.T) {
	x, srv, q, stop := streamSetup(t, webhookserver.DeliveryStream)
	require.Eventually(t, func() bool {
		return serve(srv.Handler(), httptest.NewRequest("GET", "/readyz", nil)).Code == http.StatusOK
	}, 15*time.Second, 5*time.Millisecond, "ready once the stream is connected")

	require.Equal(t, 1, x.DeliverStream(eventstest.Fixture("xaa_post_mention_create")))
	waitJobs(t, q, 1)
	jobs := receiveJobs(t, q)
	require.Len(t, jobs, 1)
	assert.Equal(t, filter.CommandName, jobs[0].Command)
	assert.Equal(t, "hello!", jobs[0].Args)

	// Stream-only: no webhook route, but health and metrics are served.
	w := serve(srv.Handler(), eventstest.SignedRequest(t, secret, eventstest.Fixture("mention_moerand")))
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, http.StatusOK, serve(srv.Handler(), httptest.NewRequest("GET", "/healthz", nil)).Code)
	m := metricsText(t, srv.Handler())
	assert.Contains(t, m, "moetron_stream_connected 1")
	assert.Contains(t, m, "moetron_stream_events_taken_total 1")
	assert.Equal(t, uint64(1), srv.Stream().Status().Taken)

	// When the stream drops, /readyz says so until it is back.
	x.Outage(time.Hour)
	x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamDrop})
	require.Eventually(t, func() bool {
		w := serve(srv.Handler(), httptest.NewRequest("GET", "/readyz", nil))
		return w.Code == http.StatusServiceUnavailable && strings.Contains(w.Body.String(), "stream")
	}, 15*time.Second, 5*time.Millisecond)
	x.EndOutage()
	require.Eventually(t, func() bool { return srv.Stream().Ready() == nil }, 15*time.Second, 5*time.Millisecond)

	require.NoError(t, stop())
	// The fake notices the closed connection shortly after.
	assert.Eventually(t, func() bool { return x.StreamConnections() == 0 }, 15*time.Second, 5*time.Millisecond,
		"the stream is closed at shutdown")
}

func TestBothDeliveriesMakeOneJob(t *testing.T) {
	x, srv, q, _ := streamSetup(t, webhookserver.DeliveryBoth)
	require.Eventually(t, func() bool { return srv.Stream().Ready() == nil }, 15*time.Second, 5*time.Millisecond)
	body := eventstest.Fixture("xaa_post_mention_create")
	require.Equal(t, 1, x.DeliverStream(body))
	waitJobs(t, q, 1)
	w := serve(srv.Handler(), eventstest.SignedRequest(t, secret, body))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, 1, x.DeliverStream(body)) // and the stream repeats it
	require.Eventually(t, func() bool { return srv.Stream().Status().Taken == 2 }, 15*time.Second, 5*time.Millisecond)
	assert.Len(t, receiveJobs(t, q), 1, "the same event by webhook and twice by stream is one job")
	assert.Contains(t, metricsText(t, srv.Handler()), `moetron_webhook_decisions_total{reason="duplicate"} 2`)
}

func TestStreamAuthFailureStopsRun(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	cfg := baseConfig(t)
	cfg.Delivery = webhookserver.DeliveryStream
	cfg.APIBase = x.URL()
	cfg.BearerToken = "not-the-bearer-token"
	srv, _ := newServer(t, cfg, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Run(context.Background()) }()
	select {
	case err := <-done:
		require.ErrorIs(t, err, stream.ErrUnauthorized)
		assert.NotContains(t, err.Error(), "not-the-bearer-token")
		assert.Contains(t, err.Error(), "401")
	case <-time.After(15 * time.Second):
		t.Fatal("Serve kept running with a refused bearer token")
	}
}

func TestDeliveryConfig(t *testing.T) {
	base := webhookserver.Config{BotUserID: "12", Queue: queueEnvMem()}
	c := base
	c.Delivery = webhookserver.DeliveryStream
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), webhookserver.EnvBearerToken)
	assert.NotContains(t, err.Error(), webhookserver.EnvConsumerSecret, "stream delivery needs no consumer secret")
	c.BearerToken = "b"
	require.NoError(t, c.Validate())
	assert.False(t, c.Webhook())
	assert.True(t, c.Stream())

	c.URL = "https://bot.example.com/webhook"
	c.ConsumerKey, c.AccessToken, c.AccessTokenSecret = "k", "t", "s"
	require.ErrorContains(t, c.Validate(), "serves no webhook")

	c = base
	c.Delivery = webhookserver.DeliveryBoth
	err = c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), webhookserver.EnvBearerToken)
	assert.Contains(t, err.Error(), webhookserver.EnvConsumerSecret)

	c.Delivery = "pigeon"
	require.ErrorContains(t, c.Validate(), "DELIVERY")

	got := webhookserver.FromLookup(lookup(map[string]string{"DELIVERY": "both"}))
	assert.Equal(t, webhookserver.DeliveryBoth, got.Delivery)
	assert.Equal(t, webhookserver.DeliveryWebhook, webhookserver.Config{}.WithDefaults().Delivery)
	s := webhookserver.Config{Delivery: "stream", BearerToken: "very-secret"}.String()
	assert.Contains(t, s, "delivery=stream")
	assert.Contains(t, s, "bearer_token=set")
	assert.NotContains(t, s, "very-secret")
}

// With stream delivery and the bot's OAuth 1.0a credentials the server
// makes the XAA subscriptions itself, without a webhook, so that X feeds
// the stream: an event published by the fake's routing becomes a job.
func TestStreamDeliveryManagesSubscriptions(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	x.SetStreamOptions(xfake.StreamOptions{KeepAlive: 20 * time.Millisecond})
	xc := x.Config()
	cfg := baseConfig(t)
	cfg.Delivery = webhookserver.DeliveryStream
	cfg.APIBase, cfg.BearerToken = x.URL(), xc.BearerToken
	cfg.ConsumerKey, cfg.ConsumerSecret = xc.ConsumerKey, xc.ConsumerSecret
	cfg.AccessToken, cfg.AccessTokenSecret = xc.AccessToken, xc.AccessTokenSecret
	require.True(t, cfg.ManagesSubscriptions())
	srv, q := newServer(t, cfg, &webhookserver.Options{Stream: &stream.Config{
		StallTimeout: time.Second, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}})
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool {
		return len(x.ActivitySubscriptions()) == len(webhooks.DefaultActivityEventTypes) && srv.Stream().Ready() == nil
	}, 15*time.Second, 5*time.Millisecond)
	for _, a := range x.ActivitySubscriptions() {
		assert.Empty(t, a.WebhookID, "stream subscriptions have no webhook")
		assert.Equal(t, cfg.BotUserID, a.Filter.UserID)
	}
	require.Eventually(t, func() bool {
		return strings.Contains(metricsText(t, srv.Handler()), "moetron_webhook_registration_ok 1")
	}, 15*time.Second, 5*time.Millisecond)

	alice := xfake.Sender{UserID: "2244994945", ScreenName: "alice"}
	body, err := x.ReplyEvent(x.SeedPost(xfake.Post{AuthorID: alice.UserID, Text: "@moetronbot moerand again",
		InReplyToTweetID: "2130000000000000000"}), alice)
	require.NoError(t, err)
	pub, err := x.PublishEvent(context.Background(), body)
	require.NoError(t, err)
	require.True(t, pub.Stream)
	waitJobs(t, q, 1)
	jobs := receiveJobs(t, q)
	require.Len(t, jobs, 1)
	assert.Equal(t, filter.CommandRand, jobs[0].Command)
}

// A server that registers nothing has no registration metric at all (a 0
// would page someone for a check that never runs).
func TestRegistrationMetricAbsentWithoutRegistration(t *testing.T) {
	srv, _ := newServer(t, baseConfig(t), nil)
	assert.NotContains(t, metricsText(t, srv.Handler()), "moetron_webhook_registration_ok")
}

// X_CONSUMER_SECRET_PREVIOUS keeps POSTs signed with the old secret
// accepted during a rotation; the new secret answers CRC.
func TestSecretRotationFromEnvironment(t *testing.T) {
	cfg := webhookserver.FromLookup(func(k string) string {
		return map[string]string{
			"X_CONSUMER_SECRET": "new-secret", "X_CONSUMER_SECRET_PREVIOUS": " old-secret, ,older-secret",
			"BOT_USER_ID": eventstest.BotUserID,
		}[k]
	})
	assert.Equal(t, []string{"old-secret", "older-secret"}, cfg.PreviousSecrets)
	cfg.Queue = queueEnvMem()
	srv, q := newServer(t, cfg, nil)
	for i, s := range []string{"new-secret", "old-secret", "older-secret"} {
		body := eventstest.Fixture([]string{"mention_moerand", "mention_moemess", "mention_moename"}[i])
		w := serve(srv.Handler(), eventstest.SignedRequest(t, s, body))
		require.Equal(t, http.StatusOK, w.Code, s)
	}
	assert.Len(t, receiveJobs(t, q), 3)
	w := serve(srv.Handler(), eventstest.SignedRequest(t, "not-a-secret-of-ours", eventstest.Fixture("dm_moerand")))
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.NotContains(t, cfg.String(), "old-secret")
}

// /metrics on the public listener answers only local clients that did not
// come through a proxy.
func TestMetricsOnMainListenerAreLocalOnly(t *testing.T) {
	srv, _ := newServer(t, baseConfig(t), nil)
	for _, tc := range []struct {
		remote, fwd string
		want        int
	}{
		{"127.0.0.1:5000", "", http.StatusOK},
		{"[::1]:5000", "", http.StatusOK},
		{"203.0.113.9:5000", "", http.StatusNotFound},
		{"127.0.0.1:5000", "203.0.113.9", http.StatusNotFound},
		{"10.1.2.3:5000", "", http.StatusNotFound},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = tc.remote
		if tc.fwd != "" {
			r.Header.Set("X-Forwarded-For", tc.fwd)
		}
		w := serve(srv.Handler(), r)
		assert.Equal(t, tc.want, w.Code, "%s fwd=%q", tc.remote, tc.fwd)
		if tc.want == http.StatusNotFound {
			assert.NotContains(t, w.Body.String(), "moetron_")
		}
	}
}
