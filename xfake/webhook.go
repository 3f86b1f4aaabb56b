package xfake

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook is a registered webhook as the fake sees it.
type Webhook struct {
	ID            string
	URL           string
	Valid         bool
	CreatedAt     time.Time
	Subscriptions []string // subscribed user ids, in order
}

type webhook struct {
	Webhook
	lastOK time.Time // last successful CRC
}

// AppID is the application id the fake reports for the app.
const AppID = "29500000"

// SignatureHeader is the header X signs webhook POSTs with.
const SignatureHeader = "x-twitter-webhooks-signature"

// hmacSHA256 returns "sha256=" + base64(HMAC-SHA256(secret, msg)): both the
// CRC response_token and the webhook POST signature.
func hmacSHA256(secret string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return "sha256=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// randomToken returns a CRC token like X's: URL-safe base64 of 32 random
// bytes.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// crcError is a failed CRC. fatal failures (a wrong response_token on a
// 2xx, a redirect) invalidate a webhook at once; others are tolerated for
// crcGrace since the last success.
type crcError struct {
	fatal  bool
	reason string
}

func (e *crcError) Error() string { return e.reason }

// crcGrace is how long X tolerates transient CRC failures (24 h + 4 h).
const crcGrace = 28 * time.Hour

// runCRC sends one CRC challenge to rawURL and checks the answer.
func (s *Server) runCRC(ctx context.Context, rawURL string) error {
	token := s.newToken()
	q := "crc_token=" + url.QueryEscape(token) + "&nonce=" + url.QueryEscape(s.newToken())
	target := rawURL + "?" + q
	if strings.Contains(rawURL, "?") {
		target = rawURL + "&" + q
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CRCTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return &crcError{fatal: true, reason: "bad URL"}
	}
	req.Header.Set(SignatureHeader, hmacSHA256(s.cfg.ConsumerSecret, []byte(q)))
	client := *s.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return &crcError{reason: "CRC request timed out"}
		}
		return &crcError{reason: "CRC request failed"}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return &crcError{fatal: true, reason: "URL answered CRC with a redirect (" + strconv.Itoa(resp.StatusCode) + ")"}
	case resp.StatusCode != http.StatusOK:
		return &crcError{reason: "URL answered CRC with status " + strconv.Itoa(resp.StatusCode)}
	}
	var ans struct {
		ResponseToken string `json:"response_token"`
	}
	if json.Unmarshal(body, &ans) != nil {
		return &crcError{fatal: true, reason: "URL returned bad response during CRC with error: Invalid JSON"}
	}
	if !hmac.Equal([]byte(ans.ResponseToken), []byte(hmacSHA256(s.cfg.ConsumerSecret, []byte(token)))) {
		return &crcError{fatal: true, reason: "URL returned bad response during CRC with error: Invalid response_token"}
	}
	return nil
}

func (s *Server) webhookLocked(id string) *webhook {
	for _, w := range s.webhooks {
		if w.ID == id {
			return w
		}
	}
	return nil
}

func webhookJSON(w *webhook) map[string]any {
	return map[string]any{"id": w.ID, "url": w.URL, "valid": w.Valid, "created_at": w.CreatedAt.Format("2006-01-02T15:04:05.000Z")}
}

func (s *Server) checkWebhookURL(raw string) error {
	if raw == "" || len(raw) > 200 {
		return errors.New("url must be 1 to 200 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("url must be an absolute http(s) URL")
	}
	if s.cfg.StrictWebhookURLs && (u.Scheme != "https" || u.Port() != "") {
		return errors.New("url must use https and no port")
	}
	return nil
}

func (s *Server) webhookCreate(c *call) {
	var req struct {
		URL string `json:"url"`
	}
	if !decodeJSON(c, &req, false) {
		return
	}
	if err := s.checkWebhookURL(req.URL); err != nil {
		writeErrors(c.w, http.StatusBadRequest, "UrlValidationFailed: "+err.Error())
		return
	}
	s.mu.Lock()
	n := len(s.webhooks)
	dup := slices.ContainsFunc(s.webhooks, func(w *webhook) bool { return w.URL == req.URL })
	s.mu.Unlock()
	switch {
	case dup:
		writeErrors(c.w, http.StatusBadRequest, "DuplicateUrlFailed: a webhook with this URL is already registered")
		return
	case n >= s.cfg.MaxWebhooks:
		writeErrors(c.w, http.StatusBadRequest, "WebhookLimitExceeded: the account already has "+strconv.Itoa(n)+" webhook(s)")
		return
	}
	if err := s.runCRC(c.r.Context(), req.URL); err != nil {
		s.log.Debug("xfake: CRC failed on registration", "url", req.URL, "reason", err.Error())
		writeErrors(c.w, http.StatusBadRequest, "CrcValidationFailed: "+err.Error())
		return
	}
	s.mu.Lock()
	now := s.now().UTC()
	w := &webhook{Webhook: Webhook{ID: s.newID(), URL: req.URL, Valid: true, CreatedAt: now}, lastOK: now}
	s.webhooks = append(s.webhooks, w)
	body := map[string]any{"data": webhookJSON(w)}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, body)
}

func (s *Server) webhookList(c *call) {
	s.mu.Lock()
	data := []map[string]any{}
	for _, w := range s.webhooks {
		data = append(data, webhookJSON(w))
	}
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"result_count": len(data)}})
}

// pathWebhook finds the webhook named by the {id} path value, writing X's
// WebhookIdInvalid error when there is none. It returns a copy of the URL.
func (s *Server) pathWebhook(c *call) (id, rawURL string, ok bool) {
	id = c.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhookLocked(id)
	if w == nil {
		writeErrors(c.w, http.StatusBadRequest, "WebhookIdInvalid: no webhook with id "+strconv.Quote(id))
		return "", "", false
	}
	return id, w.URL, true
}

func (s *Server) webhookValidate(c *call) {
	id, rawURL, ok := s.pathWebhook(c)
	if !ok {
		return
	}
	err := s.runCRC(c.r.Context(), rawURL)
	s.mu.Lock()
	if w := s.webhookLocked(id); w != nil {
		w.Valid = err == nil
		if err == nil {
			w.lastOK = s.now()
		}
	}
	s.mu.Unlock()
	if err != nil {
		writeErrors(c.w, http.StatusBadRequest, "CrcValidationFailed: "+err.Error())
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{"valid": true}})
}

func (s *Server) webhookDelete(c *call) {
	id, _, ok := s.pathWebhook(c)
	if !ok {
		return
	}
	s.mu.Lock()
	s.webhooks = slices.DeleteFunc(s.webhooks, func(w *webhook) bool { return w.ID == id })
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{"deleted": true}})
}

func (s *Server) subscribe(c *call) {
	var ignored map[string]any
	if !decodeJSON(c, &ignored, true) {
		return
	}
	id := c.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhookLocked(id)
	switch {
	case w == nil:
		writeErrors(c.w, http.StatusBadRequest, "WebhookIdInvalid: no webhook with id "+strconv.Quote(id))
	case slices.Contains(w.Subscriptions, c.user.UserID):
		writeErrors(c.w, http.StatusBadRequest, "DuplicateSubscriptionFailed: user "+c.user.UserID+" is already subscribed")
	case s.subscriptionCountLocked() >= s.cfg.MaxSubscriptions:
		writeErrors(c.w, http.StatusBadRequest, "SubscriptionLimitExceeded: the limit is "+strconv.Itoa(s.cfg.MaxSubscriptions))
	default:
		w.Subscriptions = append(w.Subscriptions, c.user.UserID)
		writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{"subscribed": true}})
	}
}

func (s *Server) subscriptionCountLocked() int {
	n := 0
	for _, w := range s.webhooks {
		n += len(w.Subscriptions)
	}
	return n
}

func (s *Server) subscriptionCheck(c *call) {
	id := c.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhookLocked(id)
	if w == nil {
		writeErrors(c.w, http.StatusBadRequest, "WebhookIdInvalid: no webhook with id "+strconv.Quote(id))
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{"subscribed": slices.Contains(w.Subscriptions, c.user.UserID)}})
}

func (s *Server) subscriptionList(c *call) {
	id := c.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhookLocked(id)
	if w == nil {
		writeErrors(c.w, http.StatusBadRequest, "WebhookIdInvalid: no webhook with id "+strconv.Quote(id))
		return
	}
	subs := []map[string]string{}
	for _, u := range w.Subscriptions {
		subs = append(subs, map[string]string{"user_id": u})
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{
		"application_id": AppID, "webhook_id": w.ID, "webhook_url": w.URL, "subscriptions": subs,
	}})
}

func (s *Server) unsubscribe(c *call) {
	id, uid := c.r.PathValue("id"), c.r.PathValue("user_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhookLocked(id)
	switch {
	case w == nil:
		writeErrors(c.w, http.StatusBadRequest, "WebhookIdInvalid: no webhook with id "+strconv.Quote(id))
	case !slices.Contains(w.Subscriptions, uid):
		writeErrors(c.w, http.StatusBadRequest, "SubscriptionNotFound: user "+strconv.Quote(uid)+" is not subscribed")
	default:
		w.Subscriptions = slices.DeleteFunc(w.Subscriptions, func(u string) bool { return u == uid })
		writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{"subscribed": false}})
	}
}

// Webhooks returns the registered webhooks.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Webhook, len(s.webhooks))
	for i, w := range s.webhooks {
		out[i] = w.Webhook
		out[i].Subscriptions = slices.Clone(w.Subscriptions)
	}
	return out
}

// MarkInvalid marks a webhook invalid, as X does after a failed CRC: it
// gets no deliveries until PUT /2/webhooks/{id} passes a CRC again.
func (s *Server) MarkInvalid(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhookLocked(id)
	if w == nil {
		return fmt.Errorf("%w: %q", ErrUnknownWebhook, id)
	}
	w.Valid = false
	return nil
}

// RunCRC runs X's periodic CRC against every registered webhook, as X does
// on its own schedule. A wrong response_token or a redirect marks the webhook
// invalid at once; timeouts and other statuses only once no CRC has passed
// for 28 hours (on the configured clock). A pass marks it valid. The error
// joins every failure.
func (s *Server) RunCRC(ctx context.Context) error {
	type target struct{ id, url string }
	var ts []target
	s.mu.Lock()
	for _, w := range s.webhooks {
		ts = append(ts, target{w.ID, w.URL})
	}
	s.mu.Unlock()
	var errs []error
	for _, t := range ts {
		err := s.runCRC(ctx, t.url)
		s.mu.Lock()
		if w := s.webhookLocked(t.id); w != nil {
			var ce *crcError
			switch {
			case err == nil:
				w.Valid, w.lastOK = true, s.now()
			case errors.As(err, &ce) && ce.fatal, s.now().Sub(w.lastOK) > crcGrace:
				w.Valid = false
			}
		}
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: %w", t.id, err))
		}
	}
	return errors.Join(errs...)
}
