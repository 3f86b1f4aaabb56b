package xfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// receiver is a bot's webhook endpoint, written from X's documentation
// with nothing from this package.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string

	mu    sync.Mutex
	mode  string // "ok", "badtoken", "500", "hang", "redirect"
	crcs  []url.Values
	posts []received
	gate  chan struct{} // when set, POSTs wait for it
}

type received struct {
	body []byte
	sig  string
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{t: t, secret: secret, mode: "ok"}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) mac(msg []byte) string {
	m := hmac.New(sha256.New, []byte(rc.secret))
	m.Write(msg)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (rc *receiver) setMode(m string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.mode = m
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	mode, gate := rc.mode, rc.gate
	rc.mu.Unlock()
	if r.Method == http.MethodGet {
		rc.mu.Lock()
		rc.crcs = append(rc.crcs, r.URL.Query())
		rc.mu.Unlock()
		token := r.URL.Query().Get("crc_token")
		switch mode {
		case "badtoken":
			token += "x"
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
			return
		case "hang":
			<-r.Context().Done()
			return
		case "redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"response_token": rc.mac([]byte(token))})
		return
	}
	if gate != nil {
		<-gate
	}
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.posts = append(rc.posts, received{body, r.Header.Get("x-twitter-webhooks-signature")})
	rc.mu.Unlock()
	if mode == "500" {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.posts...)
}

func (f *fixture) register(rawURL string) response {
	f.t.Helper()
	return f.postJSON(f.bearer(), "/2/webhooks", map[string]string{"url": rawURL})
}

func TestWebhookRegistration(t *testing.T) {
	f := start(t, Config{})
	rc := newReceiver(t, f.srv.Config().ConsumerSecret)
	r := f.register(rc.srv.URL + "/webhook")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	data := r.Body["data"].(map[string]any)
	assert.Equal(t, true, data["valid"])
	assert.Equal(t, rc.srv.URL+"/webhook", data["url"])
	id := data["id"].(string)

	require.Len(t, rc.crcs, 1)
	assert.NotEmpty(t, rc.crcs[0].Get("crc_token"))
	assert.NotEmpty(t, rc.crcs[0].Get("nonce"))

	r = f.do(f.bearer(), http.MethodGet, "/2/webhooks", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, map[string]any{"result_count": float64(1)}, r.Body["meta"])
	list := r.Body["data"].([]any)
	require.Len(t, list, 1)
	assert.Equal(t, id, list[0].(map[string]any)["id"])
	assert.Contains(t, list[0].(map[string]any), "created_at")

	r = f.register(rc.srv.URL + "/webhook")
	assert.Contains(t, detail(r), "DuplicateUrlFailed")
	r = f.register(rc.srv.URL + "/other")
	assert.Contains(t, detail(r), "WebhookLimitExceeded")
	r = f.register("ftp://example.com/hook")
	assert.Contains(t, detail(r), "UrlValidationFailed")
	r = f.do(f.bearer(), http.MethodPost, "/2/webhooks", "text/plain", []byte(`{"url":"https://example.com"}`))
	assert.Equal(t, JSONContentTypeMessage, detail(r))

	r = f.do(f.bearer(), http.MethodDelete, "/2/webhooks/"+id, "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, map[string]any{"deleted": true}, r.Body["data"])
	r = f.do(f.bearer(), http.MethodDelete, "/2/webhooks/"+id, "", nil)
	assert.Contains(t, detail(r), "WebhookIdInvalid")
	assert.Empty(t, f.srv.Webhooks())
	r = f.do(f.bearer(), http.MethodGet, "/2/webhooks", "", nil)
	assert.Equal(t, []any{}, r.Body["data"])
}

func TestStrictWebhookURLs(t *testing.T) {
	f := start(t, Config{StrictWebhookURLs: true})
	r := f.register("http://example.com/hook")
	assert.Contains(t, detail(r), "UrlValidationFailed")
	r = f.register("https://example.com:8443/hook")
	assert.Contains(t, detail(r), "UrlValidationFailed")
}

func TestWebhookRegistrationCRCFailures(t *testing.T) {
	f := start(t, Config{CRCTimeout: 50 * time.Millisecond})
	rc := newReceiver(t, f.srv.Config().ConsumerSecret)
	for mode, want := range map[string]string{
		"badtoken": "CrcValidationFailed: URL returned bad response during CRC with error: Invalid response_token",
		"500":      "CrcValidationFailed: URL answered CRC with status 500",
		"hang":     "CrcValidationFailed: CRC request timed out",
		"redirect": "CrcValidationFailed: URL answered CRC with a redirect (302)",
	} {
		t.Run(mode, func(t *testing.T) {
			rc.setMode(mode)
			r := f.register(rc.srv.URL + "/" + mode)
			assert.Equal(t, http.StatusBadRequest, r.Status)
			assert.Equal(t, want, detail(r))
		})
	}
	// A webhook keyed with another secret fails too.
	other := newReceiver(t, "some other secret")
	r := f.register(other.srv.URL)
	assert.Contains(t, detail(r), "Invalid response_token")
	assert.Empty(t, f.srv.Webhooks())
}

func TestWebhookRevalidationAndPeriodicCRC(t *testing.T) {
	f := start(t, Config{})
	rc := newReceiver(t, f.srv.Config().ConsumerSecret)
	r := f.register(rc.srv.URL)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	id := r.Body["data"].(map[string]any)["id"].(string)
	valid := func() bool { return f.srv.Webhooks()[0].Valid }

	// Transient failures are tolerated for 28 hours after the last pass.
	rc.setMode("500")
	assert.Error(t, f.srv.RunCRC(t.Context()))
	assert.True(t, valid())
	f.clock.Advance(29 * time.Hour)
	assert.Error(t, f.srv.RunCRC(t.Context()))
	assert.False(t, valid())

	// PUT re-runs the CRC and re-enables the webhook.
	rc.setMode("ok")
	r = f.do(f.bearer(), http.MethodPut, "/2/webhooks/"+id, "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, map[string]any{"valid": true}, r.Body["data"])
	assert.True(t, valid())

	// A wrong token invalidates at once.
	rc.setMode("badtoken")
	err := f.srv.RunCRC(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Invalid response_token")
	assert.False(t, valid())
	r = f.do(f.bearer(), http.MethodPut, "/2/webhooks/"+id, "", nil)
	assert.Contains(t, detail(r), "CrcValidationFailed")

	rc.setMode("ok")
	assert.NoError(t, f.srv.RunCRC(t.Context()))
	assert.True(t, valid())
	require.NoError(t, f.srv.MarkInvalid(id))
	assert.False(t, valid())
	assert.ErrorIs(t, f.srv.MarkInvalid("1"), ErrUnknownWebhook)
	r = f.do(f.bearer(), http.MethodPut, "/2/webhooks/1", "", nil)
	assert.Contains(t, detail(r), "WebhookIdInvalid")
}

func TestSubscriptions(t *testing.T) {
	f := start(t, Config{MaxSubscriptions: 2})
	rc := newReceiver(t, f.srv.Config().ConsumerSecret)
	r := f.register(rc.srv.URL)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	id := r.Body["data"].(map[string]any)["id"].(string)
	base := "/2/account_activity/webhooks/" + id + "/subscriptions/all"
	bot := f.srv.Bot().UserID

	r = f.do(f.bot, http.MethodGet, base, "", nil)
	assert.Equal(t, map[string]any{"subscribed": false}, r.Body["data"])
	r = f.do(f.bot, http.MethodPost, base, "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, map[string]any{"subscribed": true}, r.Body["data"])
	r = f.do(f.bot, http.MethodGet, base, "", nil)
	assert.Equal(t, map[string]any{"subscribed": true}, r.Body["data"])
	r = f.postJSON(f.bot, base, map[string]any{})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, detail(r), "DuplicateSubscriptionFailed")

	// Subscribing needs user context.
	r = f.do(f.bearer(), http.MethodPost, base, "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.Status)

	for i, tok := range []string{"u2", "u3"} {
		a := Account{UserID: "10" + tok[1:], AccessToken: tok, AccessTokenSecret: tok + "-secret"}
		require.NoError(t, f.srv.AddAccount(a))
		r = f.do(userClient(f.srv, a), http.MethodPost, base, "", nil)
		if i == 0 {
			assert.Equal(t, http.StatusOK, r.Status)
		} else {
			assert.Contains(t, detail(r), "SubscriptionLimitExceeded")
		}
	}

	r = f.do(f.bearer(), http.MethodGet, base+"/list", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	d := r.Body["data"].(map[string]any)
	assert.Equal(t, id, d["webhook_id"])
	assert.Equal(t, rc.srv.URL, d["webhook_url"])
	assert.Equal(t, AppID, d["application_id"])
	assert.Equal(t, []any{map[string]any{"user_id": bot}, map[string]any{"user_id": "102"}}, d["subscriptions"])

	del := "/2/account_activity/webhooks/" + id + "/subscriptions/" + bot + "/all"
	r = f.do(f.bearer(), http.MethodDelete, del, "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, map[string]any{"subscribed": false}, r.Body["data"])
	r = f.do(f.bearer(), http.MethodDelete, del, "", nil)
	assert.Contains(t, detail(r), "SubscriptionNotFound")
	assert.Equal(t, []string{"102"}, f.srv.Webhooks()[0].Subscriptions)
	r = f.do(f.bot, http.MethodPost, "/2/account_activity/webhooks/9/subscriptions/all", "", nil)
	assert.Contains(t, detail(r), "WebhookIdInvalid")
}

func TestDeliverSignsWithConsumerSecret(t *testing.T) {
	f := start(t, Config{ConsumerSecret: "delivery secret"})
	_, err := f.srv.Deliver(t.Context(), []byte(`{}`))
	assert.ErrorIs(t, err, ErrNoWebhook)
	_, err = f.srv.DeliverDuplicate(t.Context())
	assert.ErrorIs(t, err, ErrNoEvent)

	rc := newReceiver(t, "delivery secret")
	r := f.register(rc.srv.URL)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	id := r.Body["data"].(map[string]any)["id"].(string)

	payload := []byte(`{"for_user_id":"1114259648326987776","tweet_create_events":[{"id_str":"1","text":"caf\u00e9 \/ moerand"}]}`)
	status, err := f.srv.Deliver(t.Context(), payload)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	got := rc.received()
	require.Len(t, got, 1)
	assert.Equal(t, payload, got[0].body, "the exact bytes")
	assert.Equal(t, rc.mac(payload), got[0].sig, "verifiable with a plain HMAC-SHA256")
	assert.Equal(t, f.srv.SignPayload(payload), got[0].sig)

	status, err = f.srv.DeliverDuplicate(t.Context())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	got = rc.received()
	require.Len(t, got, 2)
	assert.Equal(t, got[0], got[1])
	require.Len(t, f.srv.Events(), 1, "a duplicate is not a new event")
	ds := f.srv.Deliveries()
	require.Len(t, ds, 2)
	assert.True(t, ds[1].Duplicate)
	assert.Equal(t, id, ds[1].WebhookID)

	rc.setMode("500")
	status, err = f.srv.Deliver(t.Context(), []byte(`{"n":2}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, status)

	// An invalid webhook gets nothing.
	require.NoError(t, f.srv.MarkInvalid(id))
	_, err = f.srv.Deliver(t.Context(), []byte(`{"n":3}`))
	assert.ErrorIs(t, err, ErrNoWebhook)
	assert.Len(t, rc.received(), 3)
}

func TestReplay(t *testing.T) {
	f := start(t, Config{})
	rc := newReceiver(t, f.srv.Config().ConsumerSecret)
	r := f.register(rc.srv.URL)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	id := r.Body["data"].(map[string]any)["id"].(string)

	// Events at three different minutes.
	var times []time.Time
	for _, p := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		times = append(times, f.clock.Now().UTC())
		_, err := f.srv.Deliver(t.Context(), []byte(p))
		require.NoError(t, err)
		f.clock.Advance(10 * time.Minute)
	}
	before := len(rc.received())
	from := times[1].Format("200601021504")
	to := times[2].Format("200601021504")

	// Hold the replayed POSTs to show one job per webhook at a time.
	gate := make(chan struct{})
	rc.mu.Lock()
	rc.gate = gate
	rc.mu.Unlock()
	r = f.postJSON(f.bearer(), "/2/webhooks/replay", map[string]string{"webhook_id": id, "from_date": from, "to_date": to})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	jobID := r.Body["data"].(map[string]any)["job_id"].(string)
	r = f.postJSON(f.bearer(), "/2/webhooks/replay", map[string]string{"webhook_id": id, "from_date": from, "to_date": to})
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Contains(t, detail(r), "ReplayConflictError")
	close(gate)
	f.srv.WaitReplays()

	got := rc.received()[before:]
	require.Len(t, got, 3)
	assert.Equal(t, `{"n":2}`, string(got[0].body))
	assert.Equal(t, `{"n":3}`, string(got[1].body))
	assert.Equal(t, rc.mac(got[1].body), got[1].sig)
	var notice struct {
		Status map[string]string `json:"replay_job_status"`
	}
	require.NoError(t, json.Unmarshal(got[2].body, &notice))
	assert.Equal(t, map[string]string{"webhook_id": id, "job_state": "Complete", "job_state_description": "Job completed successfully", "job_id": jobID}, notice.Status)
	assert.Equal(t, []Replay{{JobID: jobID, WebhookID: id, From: times[1].Truncate(time.Minute), To: times[2].Truncate(time.Minute), Events: 2, Done: true}}, f.srv.Replays())

	for name, body := range map[string]map[string]string{
		"bad date":     {"webhook_id": id, "from_date": "yesterday", "to_date": to},
		"reversed":     {"webhook_id": id, "from_date": to, "to_date": from},
		"too old":      {"webhook_id": id, "from_date": times[0].Add(-25 * time.Hour).Format("200601021504"), "to_date": to},
		"future":       {"webhook_id": id, "from_date": from, "to_date": f.clock.Now().UTC().Add(time.Hour).Format("200601021504")},
		"unknown hook": {"webhook_id": "12", "from_date": from, "to_date": to},
	} {
		r = f.postJSON(f.bearer(), "/2/webhooks/replay", body)
		assert.Equal(t, http.StatusBadRequest, r.Status, name)
	}
}
