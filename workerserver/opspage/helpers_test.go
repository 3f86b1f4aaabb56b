package opspage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/workerserver/opspage"
)

// rig is a page over mem queues, served by an httptest server on
// 127.0.0.1.
type rig struct {
	t      *testing.T
	q      *mem.Queue
	poison *mem.Queue
	rec    *opspage.Recorder
	page   *opspage.Page
	srv    *httptest.Server
}

func newRig(t *testing.T, token string) *rig {
	t.Helper()
	q, err := mem.New("jobs", nil)
	require.NoError(t, err)
	pq, err := mem.New("jobs-poison", nil)
	require.NoError(t, err)
	t.Cleanup(func() { q.Close(); pq.Close() })
	r := &rig{t: t, q: q, poison: pq, rec: opspage.NewRecorder(nil)}
	r.page, err = opspage.New(opspage.Config{Queue: q, Poison: pq, Recorder: r.rec, Token: token,
		Facts: func() []opspage.Fact { return []opspage.Fact{{Name: "device", Value: "cpu"}} }})
	require.NoError(t, err)
	r.srv = httptest.NewServer(r.page)
	t.Cleanup(r.srv.Close)
	return r
}

// url is the server's URL of path.
func (r *rig) url(path string) string { return r.srv.URL + path }

// browser is an HTTP client with a cookie jar that does not follow
// redirects, as a test sees a browser's traffic.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches path with c and returns the status, the headers and the body.
func (r *rig) get(c *http.Client, path string, hdr ...string) (int, http.Header, string) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url(path), nil)
	require.NoError(r.t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// post sends a form to path with c; hdr are extra header pairs.
func (r *rig) post(c *http.Client, path string, form url.Values, hdr ...string) (int, http.Header, string) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url(path), strings.NewReader(form.Encode()))
	require.NoError(r.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	return resp.StatusCode, resp.Header, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token of a rendered page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	require.NotNil(t, m, "no CSRF field on the page")
	return m[1]
}

// poisonJob puts a poison envelope holding a job's body on the poison
// queue, as the consumer would, and returns the poison message's id.
func (r *rig) poisonJob(j filter.Job, errText string) string {
	r.t.Helper()
	body, err := j.Body()
	require.NoError(r.t, err)
	env, err := json.Marshal(queue.PoisonRecord{Version: 1, Queue: "jobs", MessageID: "m-" + j.ID, DequeueCount: 5,
		PoisonedAt: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), Reason: queue.PoisonMaxDequeue,
		Error: errText, Body: string(body)})
	require.NoError(r.t, err)
	m, err := r.poison.Enqueue(context.Background(), env, nil)
	require.NoError(r.t, err)
	return m.ID
}

func (r *rig) len(q queue.Queue) int {
	r.t.Helper()
	n, err := q.Len(context.Background())
	require.NoError(r.t, err)
	return n
}

func tweetJob(id, user, screen, command, text string) filter.Job {
	return filter.Job{MsgType: filter.KindTweet, RespondID: id, Text: text, UserID: user, ID: "tweet:" + id,
		Command: command, ScreenName: screen, ReceivedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
}

// pngOf is an encoded side×side PNG in one colour with a white corner.
func pngOf(t testing.TB, side int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	img.Set(0, 0, color.White)
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// report is a worker report of a replied job with an image.
func report(t testing.TB, j filter.Job, seed uint32) worker.JobReport {
	return worker.JobReport{MsgID: "msg-" + j.ID, Job: j, Outcome: worker.OutcomeReplied, Seed: seed, HasSeed: true,
		Attempt: 1, Started: time.Date(2026, 12, 1, 9, 0, 1, 0, time.UTC), Total: 1500 * time.Millisecond,
		Generate: 1200 * time.Millisecond, ReplyID: "9" + j.RespondID,
		Image: &imagegen.Image{Data: pngOf(t, 128, color.RGBA{200, 100, 50, 255}), Format: imagegen.FormatPNG, Seed: seed}}
}

// failed is a worker report of a failed job.
func failed(j filter.Job, err error) worker.JobReport {
	return worker.JobReport{MsgID: "msg-" + j.ID, Job: j, Outcome: worker.OutcomeFailed, Err: err, Attempt: 2,
		Started: time.Date(2026, 12, 1, 9, 0, 2, 0, time.UTC), Total: time.Second}
}

var errX = errors.New(`worker: reply: reply: X answered 400: "the text of alice's DM"`)

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
