package stream

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/xfake"
)

// bound is the longest any test waits for something to happen.
const bound = 15 * time.Second

// envelope returns a post.mention.create line for event i.
func envelope(i int) []byte {
	return fmt.Appendf(nil, `{"data":{"event_uuid":"%d","filter":{"user_id":"1114259648326987776"},"event_type":"post.mention.create","payload":{"id":"%d","text":"@moetronbot moerand %d","author_id":"1247048165561270272","created_at":"2026-12-02T10:00:00.000Z","entities":{"mentions":[{"start":0,"end":11,"username":"moetronbot","id":"1114259648326987776"}]}},"includes":{"users":[{"id":"1247048165561270272","username":"alice","name":"Alice"}]}}}`,
		1900000000000000000+i, 1900000000000000000+i, i)
}

func uuid(i int) string { return fmt.Sprint(1900000000000000000 + i) }

// recorder is a Handle that records the event uuids it took.
type recorder struct {
	mu   sync.Mutex
	seen []string
	fail func(uuid string) error // optional: a non-nil error refuses the event
}

func (r *recorder) Handle(_ context.Context, p *events.Payload, _ []byte) error {
	id := p.XAA.EventUUID
	if r.fail != nil {
		if err := r.fail(id); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.seen = append(r.seen, id)
	r.mu.Unlock()
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func (r *recorder) has(id string) bool {
	for _, s := range r.ids() {
		if s == id {
			return true
		}
	}
	return false
}

func startFake(t *testing.T, opts xfake.StreamOptions) *xfake.Server {
	t.Helper()
	if opts.KeepAlive == 0 {
		opts.KeepAlive = 20 * time.Millisecond
	}
	x := xfake.Start(t, xfake.Config{})
	x.SetStreamOptions(opts)
	return x
}

// testConfig is a fast configuration against base.
func testConfig(base string, h Handler) Config {
	return Config{
		BaseURL: base, BearerToken: xfake.DefaultBearerToken, Handle: h,
		Concurrency:  1, // the tests check the stream's order; TestConcurrentHandle and TestChaos do not
		StallTimeout: 400 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	}
}

// running starts c.Run and returns a stop function that cancels it and
// returns Run's error, failing the test if Run does not return in time.
func running(t *testing.T, c *Consumer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(bound):
				t.Fatal("Run did not return after its context ended")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func newConsumer(t *testing.T, cfg Config) *Consumer {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, bound, 5*time.Millisecond, what)
}

func connected(c *Consumer) func() bool { return func() bool { return c.Status().Connected } }

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newTestLogger(mu *sync.Mutex, b *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu, b}, nil))
}
