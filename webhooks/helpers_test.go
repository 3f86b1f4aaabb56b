package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/require"
)

// clock is an adjustable clock shared by the fake X and the code under
// test. It starts at the real time because the oauth1 signer stamps
// requests with time.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// receiver is a real webhook endpoint: events.Handler (CRC through package
// crc, signature check, decoding) behind switches that break it.
type receiver struct {
	srv *httptest.Server
	now func() time.Time

	wrongCRC atomic.Bool // answer CRCs with a wrong response_token
	down     atomic.Bool // answer POSTs with 503

	mu       sync.Mutex
	tweetIDs []string  // ids of every tweet received, in order (repeats kept)
	replays  []string  // job ids of replay_job_status notices
	last     time.Time // when the last tweet arrived (clock time)
}

func newReceiver(t *testing.T, secret string, now func() time.Time) *receiver {
	t.Helper()
	r := &receiver{now: now}
	h, err := events.NewHandler(events.HandlerConfig{
		Secrets: []string{secret},
		Callback: func(_ context.Context, p *events.Payload, _ []byte) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, tw := range p.TweetCreateEvents {
				r.tweetIDs = append(r.tweetIDs, tw.ID)
				r.last = r.now()
			}
			if p.ReplayJobStatus != nil {
				r.replays = append(r.replays, p.ReplayJobStatus.JobID)
			}
			return nil
		},
	})
	require.NoError(t, err)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.Method == http.MethodGet && r.wrongCRC.Load():
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"response_token":"sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`))
		case req.Method == http.MethodPost && r.down.Load():
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			h.ServeHTTP(w, req)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/webhook" }

func (r *receiver) Tweets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tweetIDs...)
}

func (r *receiver) Replays() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.replays...)
}

// LastEvent is what the intake would report.
func (r *receiver) LastEvent() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// env is a fake X, a receiver and a fully configured Client.
type env struct {
	t      *testing.T
	clock  *clock
	x      *xfake.Server
	recv   *receiver
	client *webhooks.Client
	logs   *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := newClock()
	x := xfake.Start(t, xfake.Config{Now: clk.Now, TimestampWindow: 72 * time.Hour})
	e := &env{t: t, clock: clk, x: x, logs: &bytes.Buffer{}}
	e.recv = newReceiver(t, x.Config().ConsumerSecret, clk.Now)
	e.client = e.newClient(nil)
	return e
}

// config is the Client config that matches the fake's credentials.
func (e *env) config() webhooks.Config {
	fc := e.x.Config()
	return webhooks.Config{
		BearerToken:       fc.BearerToken,
		ConsumerKey:       fc.ConsumerKey,
		ConsumerSecret:    fc.ConsumerSecret,
		AccessToken:       fc.AccessToken,
		AccessTokenSecret: fc.AccessTokenSecret,
		BaseURL:           e.x.URL(),
		Timeout:           10 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:               e.clock.Now,
	}
}

func (e *env) newClient(edit func(*webhooks.Config)) *webhooks.Client {
	e.t.Helper()
	cfg := e.config()
	if edit != nil {
		edit(&cfg)
	}
	c, err := webhooks.New(cfg)
	require.NoError(e.t, err)
	return c
}

// requests counts the fake's answered requests for one endpoint.
func (e *env) requests(endpoint string) int {
	n := 0
	for _, r := range e.x.Requests() {
		if r.Endpoint == endpoint {
			n++
		}
	}
	return n
}

// mention seeds a post mentioning the bot and delivers it, returning its id
// and Deliver's status.
func (e *env) mention(text string) (string, int) {
	e.t.Helper()
	p := e.x.SeedPost(xfake.Post{AuthorID: "1247048165561270272", Text: text})
	body, err := e.x.MentionPayload(p, xfake.Sender{UserID: "1247048165561270272", ScreenName: "alice"})
	require.NoError(e.t, err)
	status, _ := e.x.Deliver(context.Background(), body)
	return p.ID, status
}

// secrets are the credential values that must never show up in errors or
// logs.
func (e *env) secrets() []string {
	fc := e.x.Config()
	return []string{fc.BearerToken, fc.ConsumerSecret, fc.AccessTokenSecret}
}

// jsonHandler answers every request with status and body, recording the
// last request.
func jsonHandler(status int, body string, header map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func jsonDecode(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}
