package botserver_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/botserver"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/stream"
	"github.com/moetron/moetron/webhookserver"
	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/xfake"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// One process reads the stream, queues the job and answers it: the fake X
// publishes a mention on the stream (the subscriptions the bot made without
// a webhook), and the bot replies once with an image. /readyz is 200 only
// while both halves run; cancelling Run stops it cleanly.
func TestRunAnswersFromTheStream(t *testing.T) {
	lib := imagegen.LibraryPath()
	if _, err := os.Stat(lib); err != nil {
		t.Skip("no ONNX Runtime: set ORT_LIB or run make ort")
	}
	x := xfake.Start(t, xfake.Config{})
	x.SetStreamOptions(xfake.StreamOptions{KeepAlive: 200 * time.Millisecond})
	xc := x.Config()
	cfg := botserver.Config{
		Webhook: webhookserver.Config{
			BotUserID: xc.BotUserID, APIBase: x.URL(), BearerToken: xc.BearerToken,
			ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
			AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret,
			Queue:    queueopen.Env{Backend: queueopen.BackendMem},
			SpoolDir: t.TempDir(),
		},
		Worker: workerserver.Config{ORTLib: lib, Device: imagegen.DeviceCPU, Ledger: workerserver.LedgerMem},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, err := botserver.New(context.Background(), cfg, &botserver.Options{
		Listener: ln, Stream: &stream.Config{StallTimeout: 2 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second},
	})
	require.NoError(t, err)
	base := "http://" + srv.Addr().String()
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code == http.StatusOK {
		t.Fatal("/readyz is 200 before Run")
	}
	assert.Contains(t, rec.Body.String(), "worker: not consuming", "the reason names the half")
	assert.Equal(t, "not-ready", rec.Header().Get("X-Moetron-Readiness"))
	ctx, cancel := context.WithCancel(context.Background())
	done, stopped := make(chan error, 1), make(chan struct{})
	go func() {
		done <- srv.Run(ctx)
		close(stopped)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})

	require.Eventually(t, func() bool {
		st, _ := get(t, base+"/readyz")
		return st == http.StatusOK && len(x.ActivitySubscriptions()) == 4
	}, 30*time.Second, 50*time.Millisecond, "ready, with the XAA subscriptions made")

	author := xfake.Sender{UserID: "2000000000000000001", ScreenName: "alice"}
	p := x.SeedPost(xfake.Post{AuthorID: author.UserID, Text: "@" + xc.BotScreenName + " moerand"})
	env, err := x.MentionEvent(p, author)
	require.NoError(t, err)
	pub, err := x.PublishEvent(ctx, env)
	require.NoError(t, err)
	require.True(t, pub.Stream, "the bot's subscriptions feed the stream: %+v", pub)
	require.Eventually(t, func() bool { return len(x.RepliesTo(p.ID)) > 0 }, time.Minute, 50*time.Millisecond)
	_, err = x.PublishEvent(ctx, env) // X delivering it again
	require.NoError(t, err)

	st, body := get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, st)
	for _, name := range []string{"moetron_stream_connected 1", "moetron_webhook_jobs_enqueued_total", "moetron_worker_jobs_total", "go_goroutines"} {
		assert.Contains(t, body, name)
	}
	require.Eventually(t, func() bool {
		_, b := get(t, base+"/metrics")
		return strings.Contains(b, `moetron_webhook_decisions_total{reason="duplicate"} 1`)
	}, 10*time.Second, 50*time.Millisecond)
	r := x.RepliesTo(p.ID)
	require.Len(t, r, 1)
	assert.Len(t, r[0].MediaIDs, 1)

	// The worker's operator page is on the same listener.
	require.Eventually(t, func() bool {
		st, body = get(t, base+"/ops/")
		return st == http.StatusOK && strings.Contains(body, `data-outcome="replied"`)
	}, 10*time.Second, 50*time.Millisecond, "the page lists the job: %d %s", st, body)
	assert.Contains(t, body, "@alice")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if st, _ := get(t, base+"/healthz"); st == http.StatusOK {
		t.Error("still serving after Run returned")
	}
}

// Missing settings are one error that names them all.
func ExampleConfig_Validate() {
	cfg := botserver.FromLookup(func(k string) string {
		return map[string]string{"BOT_USER_ID": "1114259648326987776", "X_CONSUMER_KEY": "ck"}[k]
	})
	fmt.Println(cfg.Validate())
	// Output: botserver: invalid configuration: missing X_CONSUMER_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET, X_BEARER_TOKEN
}

// The whole bot in a main of your own: read the environment, serve until
// SIGINT or SIGTERM (examples/bot is this).
func Example() {
	ctx, stop := signalContext()
	defer stop()
	srv, err := botserver.New(ctx, botserver.FromEnv(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
