package opspage_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/workerserver/opspage"
)

const token = "0123456789abcdef-operator"

func TestPageListsJobsErrorsAndPoison(t *testing.T) {
	r := newRig(t, "")
	ctx := context.Background()
	alice := tweetJob("1001", "111", "alice", "rand", "@bot moerand please")
	bob := tweetJob("1002", "222", "bob", "name", "@bot moename the secret name")
	r.rec.JobDone(ctx, report(t, alice, 4242))
	r.rec.JobDone(ctx, failed(bob, errX))
	r.rec.Wait()
	r.poisonJob(tweetJob("1003", "333", "carol", "mess", "@bot moemess private words"), `permanent: bad text "private words"`)
	_, err := r.q.Enqueue(ctx, []byte(`{"msg_type":"tweet"}`), nil)
	require.NoError(t, err)

	st, hdr, body := r.get(browser(t), "/ops/")
	require.Equal(t, http.StatusOK, st, body)
	assert.Equal(t, "text/html; charset=utf-8", hdr.Get("Content-Type"))
	assert.Equal(t, opspage.ContentSecurityPolicy, hdr.Get("Content-Security-Policy"))
	assert.Equal(t, "DENY", hdr.Get("X-Frame-Options"))
	assert.Equal(t, "no-store", hdr.Get("Cache-Control"))
	assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"))

	assert.Contains(t, body, `<dd id="queue-depth">1</dd>`)
	assert.Contains(t, body, `<dd id="poison-depth">1</dd>`)
	assert.Contains(t, body, `<dd>cpu</dd>`, "the facts are shown")
	assert.Contains(t, body, "@alice")
	assert.Contains(t, body, ">4242<", "the seed")
	assert.Contains(t, body, "1200 ms")
	assert.Contains(t, body, "1500 ms")
	assert.Contains(t, body, `data-outcome="replied"`)
	assert.Contains(t, body, `data-outcome="failed"`)
	assert.Contains(t, body, "@carol", "the poisoned job's user")
	assert.Contains(t, body, "max_dequeue_count")
	assert.Equal(t, 1, strings.Count(body, `class="requeue"`))
	assert.Contains(t, body, `X answered 400: &#34;…&#34;`, "the error, its quotation redacted")

	// No message text, no arguments, nowhere.
	for _, private := range []string{"please", "secret name", "private words", "alice&#39;s DM"} {
		assert.NotContains(t, body, private)
	}

	// The thumbnail is served, and only for a kept job.
	jobs := r.rec.Jobs()
	require.Len(t, jobs, 2)
	st, hdr, img := r.get(browser(t), "/ops/thumb/"+itoa(jobs[1].Seq))
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "image/jpeg", hdr.Get("Content-Type"))
	assert.Equal(t, jobs[1].Thumb, []byte(img))
	assert.Contains(t, body, `src="thumb/`+itoa(jobs[1].Seq)+`"`)
	st, _, _ = r.get(browser(t), "/ops/thumb/"+itoa(jobs[0].Seq)) // the failed job has no image
	assert.Equal(t, http.StatusNotFound, st)
	st, _, _ = r.get(browser(t), "/ops/thumb/x")
	assert.Equal(t, http.StatusNotFound, st)

	st, hdr, css := r.get(browser(t), "/ops/style.css")
	assert.Equal(t, http.StatusOK, st)
	assert.Equal(t, "text/css; charset=utf-8", hdr.Get("Content-Type"))
	assert.Contains(t, css, "table")
	st, hdr, _ = r.get(browser(t), "/ops")
	assert.Equal(t, http.StatusMovedPermanently, st)
	assert.Equal(t, "/ops/", hdr.Get("Location"))
}

func TestHostileNamesAreEscaped(t *testing.T) {
	r := newRig(t, "")
	ctx := context.Background()
	evil := `<script>alert(1)</script>`
	j := tweetJob("1001", `111"><img src=x onerror=alert(2)>`, evil, `"><svg onload=alert(3)>`, "moerand")
	r.rec.JobDone(ctx, report(t, j, 1))
	pj := tweetJob("1002", "222", `</td><script>alert(4)</script>`, `<b>mess</b>`, "moemess")
	r.poisonJob(pj, "<script>alert(5)</script>")
	_, _, body := r.get(browser(t), "/ops/")
	for _, raw := range []string{"<script>", "<img src=x", "<svg", "</td><script>", "<b>mess"} {
		assert.NotContains(t, body, raw)
	}
	assert.Contains(t, body, "@&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.Contains(t, body, "&lt;b&gt;mess&lt;/b&gt;")
	assert.Contains(t, body, "&lt;script&gt;alert(5)&lt;/script&gt;")
}

func TestRequeueFromTheBrowser(t *testing.T) {
	r := newRig(t, "")
	id := r.poisonJob(tweetJob("1001", "111", "alice", "rand", "moerand"), "X was down")
	b := browser(t)
	_, _, page := r.get(b, "/ops/")
	csrf := csrfOf(t, page)
	assert.Contains(t, page, `name="id" value="`+id+`"`)

	st, hdr, _ := r.post(b, "/ops/requeue", url.Values{"csrf": {csrf}, "id": {id}},
		"Origin", r.srv.URL, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, st)
	assert.Equal(t, "/ops/?requeued="+id, hdr.Get("Location"))
	assert.Equal(t, 0, r.len(r.poison))
	assert.Equal(t, 1, r.len(r.q), "the job is back on the queue")

	_, _, page = r.get(b, "/ops/?requeued="+id)
	assert.Contains(t, page, `<dd id="poison-depth">0</dd>`)
	assert.Contains(t, page, "Requeued poison message "+id)
	_, _, page = r.get(b, "/ops/?requeued="+url.QueryEscape("1: call +1 555 0100 now"))
	assert.NotContains(t, page, `id="notice"`, "no free text in the notice")

	// Again: the id is gone, and the page says so.
	st, _, page = r.post(b, "/ops/requeue", url.Values{"csrf": {csrf}, "id": {id}}, "Origin", r.srv.URL)
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, page, `id="problem"`)
	assert.Contains(t, page, "No poison message has id "+id)
	assert.Contains(t, page, "requeued already, or the id is wrong")

	st, _, page = r.post(b, "/ops/requeue", url.Values{"csrf": {csrf}, "id": {"bad id\n"}}, "Origin", r.srv.URL)
	assert.Equal(t, http.StatusBadRequest, st)
	assert.Contains(t, page, "is not a message id")
}

func TestRequeueRefusesForgedRequests(t *testing.T) {
	r := newRig(t, "")
	id := r.poisonJob(tweetJob("1001", "111", "alice", "rand", "moerand"), "X was down")
	b := browser(t)
	_, _, page := r.get(b, "/ops/")
	csrf := csrfOf(t, page)
	other := browser(t) // another cookie, hence another token
	_, _, otherPage := r.get(other, "/ops/")
	otherCSRF := csrfOf(t, otherPage)
	require.NotEqual(t, csrf, otherCSRF)

	for _, c := range []struct {
		name   string
		client *http.Client
		form   url.Values
		hdr    []string
	}{
		{"no token", b, url.Values{"id": {id}}, nil},
		{"forged token", b, url.Values{"id": {id}, "csrf": {strings.Repeat("A", len(csrf))}}, nil},
		{"token of another cookie", b, url.Values{"id": {id}, "csrf": {otherCSRF}}, nil},
		{"no cookie", &http.Client{}, url.Values{"id": {id}, "csrf": {csrf}}, nil},
		{"cross-site fetch", b, url.Values{"id": {id}, "csrf": {csrf}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"cross-origin form", b, url.Values{"id": {id}, "csrf": {csrf}}, []string{"Origin", "http://evil.example"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, _, body := r.post(c.client, "/ops/requeue", c.form, c.hdr...)
			assert.Equal(t, http.StatusForbidden, st, body)
			assert.Contains(t, body, "requeue refused")
			assert.Equal(t, 1, r.len(r.poison), "nothing was requeued")
			assert.Equal(t, 0, r.len(r.q))
		})
	}

	// GET cannot requeue.
	st, _, _ := r.get(b, "/ops/requeue?id="+id+"&csrf="+csrf)
	assert.Equal(t, http.StatusMethodNotAllowed, st)
	assert.Equal(t, 1, r.len(r.poison))

	// An oversized form is refused before anything is read.
	st, _, _ = r.post(b, "/ops/requeue", url.Values{"id": {id}, "csrf": {csrf}, "pad": {strings.Repeat("x", opspage.MaxFormBytes)}},
		"Origin", r.srv.URL)
	assert.Equal(t, http.StatusBadRequest, st)
	assert.Equal(t, 1, r.len(r.poison))
}

func TestTokenAccess(t *testing.T) {
	r := newRig(t, token)
	id := r.poisonJob(tweetJob("1001", "111", "alice", "rand", "moerand"), "X was down")

	st, hdr, body := r.get(browser(t), "/ops/")
	assert.Equal(t, http.StatusUnauthorized, st)
	assert.Contains(t, hdr.Get("WWW-Authenticate"), "Basic")
	assert.Contains(t, body, opspage.EnvToken)
	assert.NotContains(t, body, token)
	st, _, _ = r.get(browser(t), "/ops/", "Authorization", "Bearer wrong-token-of-some-length")
	assert.Equal(t, http.StatusUnauthorized, st)
	st, _, _ = r.get(browser(t), "/ops/thumb/1")
	assert.Equal(t, http.StatusUnauthorized, st, "every route needs the token")

	st, _, body = r.get(browser(t), "/ops/", "Authorization", "Bearer "+token)
	assert.Equal(t, http.StatusOK, st)
	assert.Nil(t, csrfRE.FindStringSubmatch(body), "a bearer page carries no CSRF token")

	// The browser's Basic login: the page, and requeue with the CSRF token.
	b := browser(t)
	send := func(method, path string, form url.Values) (int, string) {
		req, err := http.NewRequest(method, r.url(path), strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("anyone", token)
		resp, err := b.Do(req)
		require.NoError(t, err)
		return resp.StatusCode, readAll(t, resp)
	}
	st, page := send(http.MethodGet, "/ops/", nil)
	require.Equal(t, http.StatusOK, st)
	csrf := csrfOf(t, page)
	st, _ = send(http.MethodPost, "/ops/requeue", url.Values{"id": {id}})
	assert.Equal(t, http.StatusForbidden, st, "Basic auth without the CSRF token")
	assert.Equal(t, 1, r.len(r.poison))
	st, _ = send(http.MethodPost, "/ops/requeue", url.Values{"id": {id}, "csrf": {csrf}})
	assert.Equal(t, http.StatusSeeOther, st)
	assert.Equal(t, 0, r.len(r.poison))
	id = r.poisonJob(tweetJob("1002", "222", "bob", "rand", "moerand"), "X was down")

	// A script with the Bearer token needs no CSRF token.
	st, _, body = r.post(&http.Client{}, "/ops/requeue", url.Values{"id": {"no-such-id"}}, "Authorization", "Bearer "+token)
	assert.Equal(t, http.StatusNotFound, st)
	assert.Contains(t, body, "No poison message has id no-such-id")
	st, _, body = r.post(&http.Client{}, "/ops/requeue", url.Values{"id": {id}}, "Authorization", "Bearer "+token)
	assert.Equal(t, http.StatusOK, st, body)
	assert.Equal(t, "requeued "+id+"\n", body)
	assert.Equal(t, 0, r.len(r.poison))
	assert.Equal(t, 2, r.len(r.q))
}

func TestLoopbackOnlyWithoutToken(t *testing.T) {
	r := newRig(t, "")
	// A DNS-rebinding site reaches 127.0.0.1 under its own name.
	st, _, body := r.get(browser(t), "/ops/", "Host", "evil.example:9091")
	assert.Equal(t, http.StatusForbidden, st)
	assert.Contains(t, body, "loopback")
	for _, host := range []string{"localhost:9091", "127.0.0.1", "[::1]:9091", "LOCALHOST"} {
		st, _, _ = r.get(browser(t), "/ops/", "Host", host)
		assert.Equal(t, http.StatusOK, st, host)
	}

	// A connection that came in on another address of the machine.
	for _, local := range []string{"10.1.2.3:9091", "[2001:db8::1]:9091"} {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9091/ops/", nil)
		tcp, err := net.ResolveTCPAddr("tcp", local)
		require.NoError(t, err)
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, tcp))
		w := httptest.NewRecorder()
		r.page.ServeHTTP(w, req)
		assert.Equal(t, http.StatusForbidden, w.Code, local)
		assert.NotContains(t, w.Body.String(), "poison-depth")
	}
	// No connection at all (a handler called in process): refused too.
	w := httptest.NewRecorder()
	r.page.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/ops/", nil))
	assert.Equal(t, http.StatusForbidden, w.Code)
}

func TestNewNamesEveryProblem(t *testing.T) {
	_, err := opspage.New(opspage.Config{Token: "short"})
	require.ErrorIs(t, err, opspage.ErrConfig)
	for _, want := range []string{"Queue is required", "Poison is required", "shorter than 16"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "short\"")
	q, _ := mem.New("jobs", nil)
	defer q.Close()
	_, err = opspage.New(opspage.Config{Queue: q, Poison: q, Token: token})
	assert.NoError(t, err)
}

func TestEnv(t *testing.T) {
	e := opspage.FromLookup(func(k string) string {
		return map[string]string{opspage.EnvPage: "maybe", opspage.EnvToken: "tiny-secret"}[k]
	})
	err := e.Validate()
	require.ErrorIs(t, err, opspage.ErrConfig)
	assert.Contains(t, err.Error(), `OPS_PAGE "maybe" is not on or off`)
	assert.Contains(t, err.Error(), "OPS_TOKEN is shorter than 16")
	assert.NotContains(t, err.Error(), "tiny-secret")
	assert.Equal(t, "page=on token=set", e.String())
	assert.True(t, e.On())

	e = opspage.Env{Page: opspage.PageOff, Token: token}
	require.NoError(t, e.Validate())
	assert.False(t, e.On())
	assert.Equal(t, "page=off token=set", e.String())
	assert.NoError(t, opspage.Env{}.Validate())
	assert.Equal(t, "page=on token=unset", opspage.Env{}.String())
}
