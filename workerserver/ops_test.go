package workerserver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/workerserver/opspage"
)

// The operator page is on the metrics listener and lists the jobs the
// worker handled, with their thumbnails.
func TestOperatorPageOnTheListener(t *testing.T) {
	r := newRig(t, func(c *workerserver.Config) { c.MetricsAddr = "127.0.0.1:0" })
	r.start()
	job := r.enqueue("1332557345071644672")
	_, err := r.q.Enqueue(context.Background(), []byte("not a job"), nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(r.x.RepliesTo(job.RespondID)) == 1 && r.queueLen() == 0 },
		waitFor, tick)
	require.NotNil(t, r.srv.Recorder())
	r.srv.Recorder().Wait()
	jobs := r.srv.Recorder().Jobs()
	require.Len(t, jobs, 2)

	base := "http://" + r.srv.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(base + "/ops/")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	assert.Contains(t, page, `data-job="`+job.ID+`" data-outcome="replied"`)
	assert.Contains(t, page, `data-outcome="invalid"`)
	assert.Contains(t, page, "@alice")
	assert.Contains(t, page, `<dd id="poison-depth">1</dd>`, "the invalid message was poisoned")
	assert.Contains(t, page, "<dd>consuming</dd>")
	assert.Contains(t, page, "<dd>cpu</dd>")

	var replied opspage.Entry
	for _, e := range jobs {
		if e.JobID == job.ID {
			replied = e
		}
	}
	require.NotEmpty(t, replied.Thumb, "the replied job has a thumbnail")
	resp, err = client.Get(base + "/ops/thumb/" + itoa(replied.Seq))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
}

func TestOperatorPageOffAndToken(t *testing.T) {
	r := newRig(t, func(c *workerserver.Config) { c.Ops.Page = opspage.PageOff })
	code, _ := r.get("/ops/")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Nil(t, r.srv.OpsPage())
	assert.Nil(t, r.srv.Recorder())

	const tok = "a-long-enough-operator-token"
	r = newRig(t, func(c *workerserver.Config) { c.Ops.Token = tok })
	code, _ = r.get("/ops/")
	assert.Equal(t, http.StatusUnauthorized, code)
	req, _ := http.NewRequest(http.MethodGet, "/ops/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	r.srv.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.NotContains(t, r.srv.Config().String(), tok)
	assert.Contains(t, r.srv.Config().String(), "ops={page=on token=set}")
}

func TestOpsConfigFromTheEnvironment(t *testing.T) {
	env := map[string]string{"OPS_PAGE": "sometimes", "OPS_TOKEN": "short-secret"}
	c := workerserver.FromLookup(func(k string) string { return env[k] })
	err := c.Validate()
	require.ErrorIs(t, err, workerserver.ErrConfig)
	assert.Contains(t, err.Error(), `OPS_PAGE "sometimes" is not on or off`)
	assert.Contains(t, err.Error(), "OPS_TOKEN is shorter than 16 characters")
	assert.NotContains(t, err.Error(), "short-secret")
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
