package xfake_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/xfake"
)

// streamClient reads one stream line by line, in the background.
type streamClient struct {
	resp   *http.Response
	lines  chan string
	err    chan error
	cancel context.CancelFunc
}

func openStream(t *testing.T, x *xfake.Server, query, auth string) *streamClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", x.URL()+"/2/activity/stream"+query, nil)
	require.NoError(t, err)
	if auth == "" {
		auth = "Bearer " + x.Config().BearerToken
	}
	if auth != "-" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	sc := &streamClient{resp: resp, lines: make(chan string, 1024), err: make(chan error, 1), cancel: cancel}
	if resp.StatusCode == http.StatusOK {
		go func() {
			br := bufio.NewReaderSize(resp.Body, 1<<20)
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					sc.err <- err
					close(sc.lines)
					return
				}
				sc.lines <- l
			}
		}()
	}
	return sc
}

// next returns the next line that is not a keep-alive.
func (sc *streamClient) next(t *testing.T) string {
	t.Helper()
	for {
		select {
		case l, ok := <-sc.lines:
			if !ok {
				t.Fatalf("stream ended: %v", <-sc.err)
			}
			if strings.TrimSpace(l) != "" {
				return l
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no line within 10 s")
		}
	}
}

// ended waits for the stream to end and returns the read error; lines
// not read yet stay in sc.lines.
func (sc *streamClient) ended(t *testing.T) error {
	t.Helper()
	select {
	case err := <-sc.err:
		sc.err <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}
	return nil
}

func startStreamFake(t *testing.T, cfg xfake.Config, o xfake.StreamOptions) *xfake.Server {
	x := xfake.Start(t, cfg)
	if o.KeepAlive == 0 {
		o.KeepAlive = 10 * time.Millisecond
	}
	x.SetStreamOptions(o)
	return x
}

func waitConns(t *testing.T, x *xfake.Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return x.StreamConnections() == n }, 10*time.Second, 2*time.Millisecond)
}

func TestStreamAuth(t *testing.T) {
	x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{})
	assert.Equal(t, http.StatusUnauthorized, openStream(t, x, "", "-").resp.StatusCode)
	assert.Equal(t, http.StatusUnauthorized, openStream(t, x, "", "Bearer nope").resp.StatusCode)
	sc := openStream(t, x, "", `OAuth oauth_consumer_key="k", oauth_token="t"`)
	assert.Equal(t, http.StatusForbidden, sc.resp.StatusCode)
	body, _ := io.ReadAll(sc.resp.Body)
	assert.Contains(t, string(body), "forbidden")
	ok := openStream(t, x, "", "")
	assert.Equal(t, http.StatusOK, ok.resp.StatusCode)
	var statuses []int
	for _, c := range x.StreamConnects() {
		statuses = append(statuses, c.Status)
	}
	assert.Equal(t, []int{401, 401, 403, 200}, statuses)
}

func TestStreamDeliversNDJSONWithKeepAlives(t *testing.T) {
	x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{KeepAlive: 5 * time.Millisecond})
	sc := openStream(t, x, "", "")
	require.Equal(t, http.StatusOK, sc.resp.StatusCode)
	assert.Equal(t, []string{"chunked"}, sc.resp.TransferEncoding)
	assert.Equal(t, "HTTP/1.1", sc.resp.Proto)
	waitConns(t, x, 1)
	// Keep-alives arrive on their own.
	select {
	case l := <-sc.lines:
		assert.Equal(t, "\r\n", l)
	case <-time.After(10 * time.Second):
		t.Fatal("no keep-alive")
	}
	assert.Equal(t, 1, x.DeliverStream([]byte("{\n  \"data\": {\"event_type\": \"post.create\"}\n}")))
	assert.Equal(t, `{"data":{"event_type":"post.create"}}`+"\n", sc.next(t))
	require.Len(t, x.StreamHistoryLines(), 1)
}

func TestStreamTooManyConnections(t *testing.T) {
	x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{RetryAfter: 1500 * time.Millisecond})
	openStream(t, x, "", "")
	openStream(t, x, "", "")
	waitConns(t, x, 2)
	third := openStream(t, x, "", "")
	require.Equal(t, http.StatusTooManyRequests, third.resp.StatusCode)
	assert.Equal(t, "2", third.resp.Header.Get("Retry-After"))
	body, _ := io.ReadAll(third.resp.Body)
	assert.Contains(t, string(body), "TooManyConnections")
	assert.Equal(t, 2, x.DeliverStream([]byte(`{"data":{}}`)))
}

func TestStreamBackfill(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	x := startStreamFake(t, xfake.Config{Now: clock}, xfake.StreamOptions{})
	x.DeliverStream([]byte(`{"n":1}`)) // 10:00
	advance(3 * time.Minute)
	x.DeliverStream([]byte(`{"n":2}`)) // 10:03
	advance(90 * time.Second)
	x.DeliverStream([]byte(`{"n":3}`)) // 10:04:30; now 10:04:30

	sc := openStream(t, x, "?backfill_minutes=2", "")
	require.Equal(t, http.StatusOK, sc.resp.StatusCode)
	assert.Equal(t, `{"n":2}`+"\n", sc.next(t))
	assert.Equal(t, `{"n":3}`+"\n", sc.next(t))

	sc = openStream(t, x, "?start_time=2026-12-02T09:00:00Z", "") // before the history: all of it
	assert.Equal(t, `{"n":1}`+"\n", sc.next(t))

	assert.Equal(t, http.StatusBadRequest, openStream(t, x, "?backfill_minutes=6", "").resp.StatusCode)
	advance(3 * time.Minute) // 10:07:30: {"n":1} is older than 5 minutes now
	x.DeliverStream([]byte(`{"n":4}`))
	hist := x.StreamHistoryLines()
	require.Len(t, hist, 3)
	assert.Equal(t, `{"n":2}`, string(hist[0].Line))
}

func TestStreamRefuseBackfill(t *testing.T) {
	x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{RefuseBackfill: true})
	sc := openStream(t, x, "?backfill_minutes=5", "")
	require.Equal(t, http.StatusBadRequest, sc.resp.StatusCode)
	body, _ := io.ReadAll(sc.resp.Body)
	assert.Contains(t, string(body), "backfill_minutes")
	assert.Contains(t, string(body), "not authorized")
	assert.Equal(t, http.StatusOK, openStream(t, x, "?backfill_minutes=0", "").resp.StatusCode)
}

func TestStreamFaultsOnOpenStreams(t *testing.T) {
	line := func(i int) []byte { return []byte(`{"data":{"i":` + string(rune('0'+i)) + `}}`) }
	t.Run("drop now", func(t *testing.T) {
		x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{})
		sc := openStream(t, x, "", "")
		waitConns(t, x, 1)
		n, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamDrop})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		err = sc.ended(t)
		require.Error(t, err)
		assert.NotErrorIs(t, err, io.EOF, "a reset, not a clean end")
	})
	t.Run("drop after lines", func(t *testing.T) {
		x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{})
		sc := openStream(t, x, "", "")
		waitConns(t, x, 1)
		x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamDrop, AfterLines: 2})
		for i := range 3 {
			x.DeliverStream(line(i))
		}
		require.Error(t, sc.ended(t))
		// A reset may discard what the client had not read yet; the third
		// line was never written.
		for l := range sc.lines {
			assert.NotEqual(t, string(line(2))+"\n", l)
		}
		waitConns(t, x, 0)
	})
	t.Run("stall", func(t *testing.T) {
		x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{KeepAlive: 5 * time.Millisecond})
		sc := openStream(t, x, "", "")
		waitConns(t, x, 1)
		x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamStall})
		time.Sleep(50 * time.Millisecond)
		for len(sc.lines) > 0 { // what was sent before the stall
			<-sc.lines
		}
		require.Empty(t, sc.err)
		x.DeliverStream(line(1))
		select {
		case l := <-sc.lines:
			t.Fatalf("a stalled stream sent %q", l)
		case <-time.After(100 * time.Millisecond):
		}
		assert.Equal(t, 1, x.StreamConnections(), "the connection stays open")
	})
	t.Run("keep-alives only", func(t *testing.T) {
		x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{KeepAlive: 5 * time.Millisecond})
		sc := openStream(t, x, "", "")
		waitConns(t, x, 1)
		x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamKeepAlivesOnly})
		x.DeliverStream(line(1))
		deadline := time.After(100 * time.Millisecond)
		keepAlives := 0
		for done := false; !done; {
			select {
			case l := <-sc.lines:
				require.Equal(t, "\r\n", l)
				keepAlives++
			case <-deadline:
				done = true
			}
		}
		assert.Positive(t, keepAlives)
	})
	t.Run("garbage, oversized, error then close", func(t *testing.T) {
		x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{KeepAlive: time.Hour})
		sc := openStream(t, x, "", "")
		waitConns(t, x, 1)
		x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamGarbage, Count: 5})
		x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamOversized, Size: 100000})
		x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamErrorThenClose, Detail: "bye"})
		for range 5 {
			l := sc.next(t)
			var v struct {
				Data struct {
					EventType string `json:"event_type"`
				} `json:"data"`
			}
			assert.True(t, json.Unmarshal([]byte(l), &v) != nil || v.Data.EventType == "", "garbage line %q", l)
		}
		big := sc.next(t)
		assert.Len(t, big, 100000+1)
		assert.True(t, json.Valid([]byte(big)))
		errLine := sc.next(t)
		assert.Contains(t, errLine, `"errors"`)
		assert.Contains(t, errLine, "operational-disconnect")
		assert.ErrorIs(t, sc.ended(t), io.EOF, "a clean end after the error line")
	})
}

func TestStreamConnectFaults(t *testing.T) {
	x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{})
	for i := range 3 {
		x.DeliverStream([]byte(`{"i":` + string(rune('0'+i)) + `}`))
	}
	n, err := x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamRefuseTooMany})
	require.NoError(t, err)
	assert.Zero(t, n)
	x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamRefuseUnauthorized})
	x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamDuplicateOnConnect, Count: 2})

	r := openStream(t, x, "", "")
	assert.Equal(t, http.StatusTooManyRequests, r.resp.StatusCode)
	assert.NotEmpty(t, r.resp.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusUnauthorized, openStream(t, x, "", "").resp.StatusCode)
	sc := openStream(t, x, "", "")
	require.Equal(t, http.StatusOK, sc.resp.StatusCode)
	assert.Equal(t, `{"i":1}`+"\n", sc.next(t))
	assert.Equal(t, `{"i":2}`+"\n", sc.next(t))
	assert.Equal(t, http.StatusOK, openStream(t, x, "", "").resp.StatusCode, "faults are one-shot")

	_, err = x.InjectStreamFault(xfake.StreamFault{Kind: 99})
	assert.Error(t, err)
}

func TestStreamGenericFaultsApply(t *testing.T) {
	x := startStreamFake(t, xfake.Config{}, xfake.StreamOptions{})
	_, err := x.InjectFault(xfake.Fault{Kind: xfake.FaultUnavailable, Endpoint: xfake.EndpointActivityStream, Times: 1})
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, openStream(t, x, "", "").resp.StatusCode)
	assert.Equal(t, http.StatusOK, openStream(t, x, "", "").resp.StatusCode)
}

func TestStreamCloseEndsStreams(t *testing.T) {
	x, err := xfake.New(xfake.Config{})
	require.NoError(t, err)
	x.SetStreamOptions(xfake.StreamOptions{KeepAlive: time.Hour})
	sc := openStream(t, x, "", "")
	waitConns(t, x, 1)
	done := make(chan error, 1)
	go func() { done <- x.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for the open stream")
	}
	require.Error(t, sc.ended(t))
}
