package xfake

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/stretchr/testify/require"
)

// testClock is an adjustable clock. It starts at the real time because the
// oauth1 client stamps requests with time.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a started fake with a bot client and a bearer client.
type fixture struct {
	t     *testing.T
	srv   *Server
	clock *testClock
	bot   *http.Client
}

func start(t *testing.T, cfg Config) *fixture {
	t.Helper()
	clk := newClock()
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	srv := Start(t, cfg)
	return &fixture{t: t, srv: srv, clock: clk, bot: userClient(srv, srv.Bot())}
}

func userClient(srv *Server, a Account) *http.Client {
	cfg := oauth1.NewConfig(srv.Config().ConsumerKey, srv.Config().ConsumerSecret)
	return cfg.Client(context.Background(), oauth1.NewToken(a.AccessToken, a.AccessTokenSecret))
}

type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (f *fixture) do(c *http.Client, method, path, contentType string, body []byte) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL()+path, bytes.NewReader(body))
	require.NoError(f.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(f.t, json.Unmarshal(raw, &r.Body), "body: %s", raw)
	}
	return r
}

func (f *fixture) postJSON(c *http.Client, path string, v any) response {
	f.t.Helper()
	b, err := json.Marshal(v)
	require.NoError(f.t, err)
	return f.do(c, http.MethodPost, path, "application/json", b)
}

// bearer is a client that adds the app's Bearer token.
func (f *fixture) bearer() *http.Client {
	return &http.Client{Transport: bearerTransport(f.srv.Config().BearerToken)}
}

type bearerTransport string

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// pngBytes encodes a w×h PNG.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// multipartBody builds a multipart/form-data body from fields; the "media"
// field is sent as a file part.
func multipartBody(t testing.TB, fields map[string][]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		var w io.Writer
		var err error
		if k == "media" {
			w, err = mw.CreateFormFile(k, "image")
		} else {
			w, err = mw.CreateFormField(k)
		}
		require.NoError(t, err)
		_, err = w.Write(v)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

// upload uploads img in one shot and returns the media id.
func (f *fixture) upload(c *http.Client, img []byte, category string) string {
	f.t.Helper()
	body, ct := multipartBody(f.t, map[string][]byte{"media": img, "media_category": []byte(category)})
	r := f.do(c, http.MethodPost, "/2/media/upload", ct, body)
	require.Equal(f.t, http.StatusOK, r.Status, r.Raw)
	return r.Body["data"].(map[string]any)["id"].(string)
}

func detail(r response) string {
	if errs, ok := r.Body["errors"].([]any); ok && len(errs) > 0 {
		return errs[0].(map[string]any)["message"].(string)
	}
	if d, ok := r.Body["detail"].(string); ok {
		return d
	}
	return ""
}

func lastRequest(s *Server) Request {
	rs := s.Requests()
	return rs[len(rs)-1]
}
