package reply

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Test credentials. The secrets are distinctive so a leak is easy to grep.
const (
	testConsumerKey    = "ck-test-key"
	testConsumerSecret = "CS-SECRET-do-not-leak-7f3a"
	testAccessToken    = "1234-at-test-token"
	testTokenSecret    = "TS-SECRET-do-not-leak-91bc"
	testBotID          = "999"
)

var secrets = []string{testConsumerSecret, testTokenSecret}

// fakeClock is a controllable clock; Sleep advances it and records waits.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	f.now = f.now.Add(d)
	return nil
}

func (f *fakeClock) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// logBuffer collects JSON log records at debug level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type testEnv struct {
	srv   *httptest.Server
	c     *Client
	clock *fakeClock
	logs  *logBuffer
	calls atomic.Int32 // requests that reached the server
}

// newEnv starts a server that checks every request's OAuth 1.0a
// signature, then hands it to h; mods adjust the Config.
func newEnv(t *testing.T, h http.Handler, mods ...func(*Config)) *testEnv {
	t.Helper()
	env := &testEnv{clock: newFakeClock(), logs: &logBuffer{}}
	env.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.calls.Add(1)
		if err := verifyOAuth(r); err != nil {
			t.Errorf("%s %s: %v", r.Method, r.URL.Path, err)
			http.Error(w, `{"title":"Unauthorized","status":401,"detail":"bad signature","type":"about:blank"}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(env.srv.Close)
	cfg := Config{
		ConsumerKey: testConsumerKey, ConsumerSecret: testConsumerSecret,
		AccessToken: testAccessToken, AccessTokenSecret: testTokenSecret,
		BotUserID: testBotID,
		BaseURL:   env.srv.URL,
		Logger:    slog.New(slog.NewJSONHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:       env.clock.Now,
		Sleep:     env.clock.Sleep,
		Jitter:    func(d time.Duration) time.Duration { return d },
		Timeout:   5 * time.Second,
	}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.c = c
	return env
}

// assertNoSecrets fails if any secret appears in s.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			t.Errorf("%s contains a secret: %q", what, s)
		}
	}
}

func pct(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// verifyOAuth checks the Authorization header: shape, consumer key, token,
// method, and the HMAC-SHA1 signature over method, URL and query (bodies
// here are JSON or multipart, which OAuth 1.0a does not sign).
func verifyOAuth(r *http.Request) error {
	h := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(h, "OAuth ")
	if !ok {
		return fmt.Errorf("authorization header %q is not OAuth", h)
	}
	params := map[string]string{}
	for _, kv := range strings.Split(rest, ", ") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return fmt.Errorf("malformed OAuth param %q", kv)
		}
		uv, err := url.QueryUnescape(v[1 : len(v)-1])
		if err != nil {
			return err
		}
		params[k] = uv
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_signature_method", "oauth_timestamp", "oauth_token", "oauth_version"} {
		if params[k] == "" {
			return fmt.Errorf("missing %s", k)
		}
	}
	if params["oauth_consumer_key"] != testConsumerKey || params["oauth_token"] != testAccessToken || params["oauth_signature_method"] != "HMAC-SHA1" {
		return fmt.Errorf("wrong key, token or method")
	}
	sig := params["oauth_signature"]
	delete(params, "oauth_signature")
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	var pairs []string
	for k, v := range params {
		pairs = append(pairs, pct(k)+"="+pct(v))
	}
	sort.Strings(pairs)
	base := r.Method + "&" + pct("http://"+r.Host+r.URL.Path) + "&" + pct(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(pct(testConsumerSecret)+"&"+pct(testTokenSecret)))
	mac.Write([]byte(base))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(want), []byte(sig)) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

// pngBytes returns a valid PNG of about n bytes or more (noise resists
// compression).
func pngBytes(t testing.TB, side int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = uint8(x)
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// hangUp closes the connection without answering (the request was read).
func hangUp(t *testing.T, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Fatal("response writer cannot hijack")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// httptestRecorder is a throwaway ResponseWriter for letting a handler
// act on a request whose real answer is a fault.
func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
