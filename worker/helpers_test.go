package worker_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/xfake"
)

const waitFor, tick = 20 * time.Second, 5 * time.Millisecond

var (
	genOnce sync.Once
	gen     *imagegen.Generator
	genErr  error
)

// needGenerator returns the process-wide generator of the bundled model,
// skipping the test when no ONNX Runtime library is available (failing in
// CI, where scripts/ort-lib.sh always provides one).
func needGenerator(t testing.TB) *imagegen.Generator {
	t.Helper()
	lib := imagegen.LibraryPath()
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the ONNX Runtime library is missing at %s: run scripts/ort-lib.sh", lib)
		}
		t.Skipf("ONNX Runtime library not found at %s; run `make ort` or export ORT_LIB=$(bash scripts/ort-lib.sh) (skipping outside CI)", lib)
	}
	genOnce.Do(func() {
		gen, genErr = imagegen.New(imagegen.Config{Model: bundled.Model(), IntraOpThreads: 1, MaxBatch: 4, EncodeWorkers: 2})
	})
	require.NoError(t, genErr)
	return gen
}

// countingGen counts Generate calls.
type countingGen struct {
	worker.Generator
	mu    sync.Mutex
	calls int
}

func (g *countingGen) Generate(ctx context.Context, req imagegen.Request) (*imagegen.Image, error) {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	return g.Generator.Generate(ctx, req)
}

func (g *countingGen) Calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// rig is one worker under test: a fake X, a reply client, a mem queue and
// its poison queue.
type rig struct {
	t      testing.TB
	x      *xfake.Server
	client *reply.Client
	gen    *countingGen
	q      queue.Queue
	poison *mem.Queue
	met    *jobCounts
	w      *worker.Worker
	cfg    worker.Config
}

type rigOpts struct {
	q       queue.Queue      // nil: a fresh mem queue
	replier worker.Replier   // nil: the reply client
	now     func() time.Time // nil: time.Now
}

func newRig(t testing.TB, o rigOpts) *rig {
	t.Helper()
	r := &rig{t: t}
	r.x = xfake.Start(t, xfake.Config{})
	xc := r.x.Config()
	var err error
	r.client, err = reply.New(reply.Config{
		ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret,
		BotUserID: xc.BotUserID, BaseURL: r.x.URL(),
		Retry: reply.RetryPolicy{MaxAttempts: 2, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
	})
	require.NoError(t, err)
	r.gen = &countingGen{Generator: needGenerator(t)}
	r.q = o.q
	if r.q == nil {
		r.q = newMem(t, "jobs", nil)
	}
	r.poison = newMem(t, "jobs-poison", nil)
	r.met = &jobCounts{outcomes: map[string]int{}}
	var rp worker.Replier = r.client
	if o.replier != nil {
		rp = o.replier
	}
	r.cfg = worker.Config{Generator: r.gen, Replier: rp, BotUserID: xc.BotUserID, Metrics: r.met.hooks(), Now: o.now}
	r.w, err = worker.New(r.cfg)
	require.NoError(t, err)
	return r
}

func newMem(t testing.TB, name string, now func() time.Time) *mem.Queue {
	t.Helper()
	q, err := mem.New(name, &mem.Options{Now: now})
	require.NoError(t, err)
	t.Cleanup(func() { q.Close() })
	return q
}

// consumer returns a Consumer of the rig's queue running the worker (h nil)
// or h; each change adjusts the configuration first.
func (r *rig) consumer(h queue.Handler, change ...func(*queue.ConsumerConfig)) *queue.Consumer {
	r.t.Helper()
	if h == nil {
		h = r.w
	}
	cfg := queue.ConsumerConfig{
		Poison: r.poison, Concurrency: 4, BatchSize: 4,
		MinPollInterval: 5 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond,
		RetryBackoff: func(int, error) time.Duration { return 0 },
		DrainTimeout: -1,
	}
	for _, f := range change {
		f(&cfg)
	}
	c, err := queue.NewConsumer(r.q, h, cfg)
	require.NoError(r.t, err)
	return c
}

// run starts a consumer and returns its stop function.
func (r *rig) run(c *queue.Consumer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	r.t.Cleanup(stop)
	return stop
}

func (r *rig) enqueue(body []byte) {
	r.t.Helper()
	_, err := r.q.Enqueue(context.Background(), body, nil)
	require.NoError(r.t, err)
}

func (r *rig) waitEmpty() {
	r.t.Helper()
	require.Eventually(r.t, func() bool {
		n, err := r.q.Len(context.Background())
		return err == nil && n == 0
	}, waitFor, tick)
}

func (r *rig) outcome(o string) int {
	r.met.mu.Lock()
	defer r.met.mu.Unlock()
	return r.met.outcomes[o]
}

// jobCounts records the Worker's metric hook calls.
type jobCounts struct {
	mu                 sync.Mutex
	outcomes           map[string]int
	generated, replied int
}

func (c *jobCounts) hooks() *worker.Metrics {
	return &worker.Metrics{
		Job:       func(o string) { c.mu.Lock(); c.outcomes[o]++; c.mu.Unlock() },
		Generated: func(time.Duration) { c.mu.Lock(); c.generated++; c.mu.Unlock() },
		Replied:   func(time.Duration) { c.mu.Lock(); c.replied++; c.mu.Unlock() },
	}
}

// calls returns how many Generate and reply calls the hooks saw.
func (c *jobCounts) calls() (generated, replied int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generated, c.replied
}

func tweetJob(respondID string) filter.Job {
	return filter.Job{MsgType: filter.KindTweet, RespondID: respondID, Text: "@moetronbot moerand",
		UserID: "1247048165561270272", ID: "tweet:" + respondID, Command: "rand",
		ForUserID: xfake.DefaultBotUserID, ScreenName: "alice",
		ReceivedAt: time.Now().UTC().Truncate(time.Second)}
}

func dmJob(eventID string) filter.Job {
	return filter.Job{MsgType: filter.KindDM, RespondID: eventID, Text: "moemess",
		UserID: "1247048165561270272", ID: "dm:" + eventID, Command: "mess",
		ForUserID: xfake.DefaultBotUserID, ScreenName: "alice",
		ReceivedAt: time.Now().UTC().Truncate(time.Second)}
}

func body(t testing.TB, j filter.Job) []byte {
	t.Helper()
	b, err := j.Body()
	require.NoError(t, err)
	return b
}

// requirePNG checks that an uploaded image is a PNG of the bundled model's size.
func requirePNG(t testing.TB, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, bundled.Size, img.Bounds().Dx())
	require.Equal(t, bundled.Size, img.Bounds().Dy())
}
