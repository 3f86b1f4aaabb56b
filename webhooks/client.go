package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// Webhook is a webhook registered for the app.
type Webhook struct {
	ID        string
	URL       string
	Valid     bool      // false once X's CRC failed; no deliveries until re-validated
	CreatedAt time.Time // zero if X did not say
}

// UnmarshalJSON reads X's webhook object, tolerating a created_at that is
// missing or in an unexpected layout (it is informational).
func (w *Webhook) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID        string `json:"id"`
		URL       string `json:"url"`
		Valid     bool   `json:"valid"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*w = Webhook{ID: raw.ID, URL: raw.URL, Valid: raw.Valid}
	if t, err := time.Parse(time.RFC3339Nano, raw.CreatedAt); err == nil {
		w.CreatedAt = t
	}
	return nil
}

// Subscriptions is the answer of ListSubscriptions.
type Subscriptions struct {
	ApplicationID string
	WebhookID     string
	WebhookURL    string
	UserIDs       []string // subscribed users, in X's order
}

// ReplayJob is the answer of Replay: X re-delivers the window's events in
// the background and ends with a replay_job_status delivery naming JobID.
type ReplayJob struct {
	JobID     string
	CreatedAt time.Time // zero if X did not say
}

// auth says how a request is authenticated.
type auth int

const (
	authApp  auth = iota // Bearer token
	authUser             // OAuth 1.0a
)

// do makes one exchange and decodes a 2xx JSON answer into out (when not
// nil). Failures are *APIError, or a transport error naming method and
// path, or ErrBadResponse.
func (c *Client) do(ctx context.Context, a auth, method, target string, body any, out any) error {
	// Errors and logs name the path only: the query (ids, pagination
	// tokens) stays out of them, as in reply and stream.
	path, _, _ := strings.Cut(target, "?")
	hc := c.app
	if a == authUser {
		if c.user == nil {
			return fmt.Errorf("%w: %s %s needs them", ErrNoUserAuth, method, path)
		}
		hc = c.user
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("webhooks: encode %s %s body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+target, rd)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrInvalidInput, method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if a == authApp {
		req.Header.Set("Authorization", c.bearer)
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "x api request failed", "method", method, "path", path)
		return fmt.Errorf("webhooks: %s %s: %w", method, path, xapi.StripURL(err))
	}
	defer resp.Body.Close()
	b, err := xapi.ReadBody(resp.Body)
	c.log.DebugContext(ctx, "x api request", "method", method, "path", path, "status", resp.StatusCode,
		"elapsed", time.Since(start))
	if err != nil {
		return fmt.Errorf("webhooks: %s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseAPIError(method, path, resp.StatusCode, resp.Header, b, c.now())
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrBadResponse, method, path, err)
	}
	return nil
}

// checkID refuses ids that are not X's (xapi.ValidID), so that nothing
// else can reach a URL path.
func checkID(what, id string) error {
	if !xapi.ValidID(id) {
		return fmt.Errorf("%w: %s must be an X id: 1 to 19 decimal digits, no leading zero", ErrInvalidInput, what)
	}
	return nil
}

// checkURL refuses a webhook URL that X would refuse for sure: empty, over
// 200 characters, not absolute http(s). X itself also wants https and no
// port; that is left to X so that fakes and tunnels can use http.
func checkURL(raw string) error {
	if raw == "" || len(raw) > 200 {
		return fmt.Errorf("%w: webhook URL must be 1 to 200 characters", ErrInvalidInput)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return fmt.Errorf("%w: webhook URL must be an absolute https URL without user info", ErrInvalidInput)
	}
	return nil
}

// Register registers url as a webhook (POST /2/webhooks). X first sends a
// CRC GET to url; if the answer is wrong the error matches ErrCRCFailed. A
// URL already registered matches ErrDuplicateURL (Ensure handles that).
func (c *Client) Register(ctx context.Context, url string) (*Webhook, error) {
	if err := checkURL(url); err != nil {
		return nil, err
	}
	var out struct {
		Data *Webhook `json:"data"`
	}
	if err := c.do(ctx, authApp, http.MethodPost, "/2/webhooks", map[string]string{"url": url}, &out); err != nil {
		return nil, err
	}
	if out.Data == nil || out.Data.ID == "" {
		return nil, fmt.Errorf("%w: POST /2/webhooks: no webhook id", ErrBadResponse)
	}
	if out.Data.URL == "" {
		out.Data.URL = url
	}
	c.log.InfoContext(ctx, "webhook registered", "webhook_id", out.Data.ID, "url", out.Data.URL)
	return out.Data, nil
}

// List returns the app's webhooks (GET /2/webhooks), with their validity.
func (c *Client) List(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Data []Webhook `json:"data"`
	}
	q := "?webhook_config.fields=" + url.QueryEscape("created_at,id,url,valid")
	if err := c.do(ctx, authApp, http.MethodGet, "/2/webhooks"+q, nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// Find returns the registered webhook whose URL is exactly url, or nil if
// there is none.
func (c *Client) Find(ctx context.Context, url string) (*Webhook, error) {
	hooks, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	return findURL(hooks, url), nil
}

func findURL(hooks []Webhook, url string) *Webhook {
	for i := range hooks {
		if hooks[i].URL == url {
			w := hooks[i]
			return &w
		}
	}
	return nil
}

// Validate makes X re-run the CRC against the webhook (PUT
// /2/webhooks/:id). It returns nil once the webhook is valid again; a failed
// CRC matches ErrCRCFailed, an unknown id ErrWebhookNotFound.
func (c *Client) Validate(ctx context.Context, webhookID string) error {
	if err := checkID("webhook id", webhookID); err != nil {
		return err
	}
	path := "/2/webhooks/" + webhookID
	var out struct {
		Data struct {
			Valid *bool `json:"valid"`
		} `json:"data"`
	}
	if err := c.do(ctx, authApp, http.MethodPut, path, nil, &out); err != nil {
		return err
	}
	if out.Data.Valid != nil && !*out.Data.Valid {
		return &APIError{Reason: ReasonCRCFailed,
			Answer: xapi.Answer{Method: http.MethodPut, Path: path, Status: http.StatusOK, Detail: "X answered valid:false"}}
	}
	c.log.InfoContext(ctx, "webhook validated", "webhook_id", webhookID)
	return nil
}

// Delete removes the webhook (DELETE /2/webhooks/:id), and with it every
// subscription to it.
func (c *Client) Delete(ctx context.Context, webhookID string) error {
	if err := checkID("webhook id", webhookID); err != nil {
		return err
	}
	var out struct {
		Data struct {
			Deleted *bool `json:"deleted"`
		} `json:"data"`
	}
	path := "/2/webhooks/" + webhookID
	if err := c.do(ctx, authApp, http.MethodDelete, path, nil, &out); err != nil {
		return err
	}
	if out.Data.Deleted != nil && !*out.Data.Deleted {
		return fmt.Errorf("%w: DELETE %s: X answered deleted:false", ErrBadResponse, path)
	}
	c.log.InfoContext(ctx, "webhook deleted", "webhook_id", webhookID)
	return nil
}

func subscriptionPath(webhookID string) string {
	return "/2/account_activity/webhooks/" + webhookID + "/subscriptions/all"
}

// Subscribe subscribes the user of the OAuth 1.0a credentials (the bot) to
// the webhook's Account Activity (POST .../subscriptions/all). Subscribing
// again matches ErrDuplicateSubscription; EnsureSubscribed treats that as
// success.
func (c *Client) Subscribe(ctx context.Context, webhookID string) error {
	if err := checkID("webhook id", webhookID); err != nil {
		return err
	}
	var out struct {
		Data struct {
			Subscribed *bool `json:"subscribed"`
		} `json:"data"`
	}
	path := subscriptionPath(webhookID)
	if err := c.do(ctx, authUser, http.MethodPost, path, struct{}{}, &out); err != nil {
		return err
	}
	if out.Data.Subscribed != nil && !*out.Data.Subscribed {
		return fmt.Errorf("%w: POST %s: X answered subscribed:false", ErrBadResponse, path)
	}
	c.log.InfoContext(ctx, "subscribed to webhook", "webhook_id", webhookID)
	return nil
}

// EnsureSubscribed subscribes the bot unless it already is: X's
// DuplicateSubscriptionFailed answer counts as success.
func (c *Client) EnsureSubscribed(ctx context.Context, webhookID string) error {
	err := c.Subscribe(ctx, webhookID)
	if errors.Is(err, ErrDuplicateSubscription) {
		c.log.DebugContext(ctx, "already subscribed to webhook", "webhook_id", webhookID)
		return nil
	}
	return err
}

// CheckSubscription reports whether the user of the OAuth 1.0a credentials
// is subscribed to the webhook (GET .../subscriptions/all).
func (c *Client) CheckSubscription(ctx context.Context, webhookID string) (bool, error) {
	if err := checkID("webhook id", webhookID); err != nil {
		return false, err
	}
	var out struct {
		Data struct {
			Subscribed *bool `json:"subscribed"`
		} `json:"data"`
	}
	path := subscriptionPath(webhookID)
	if err := c.do(ctx, authUser, http.MethodGet, path, nil, &out); err != nil {
		if errors.Is(err, ErrSubscriptionNotFound) {
			return false, nil
		}
		return false, err
	}
	if out.Data.Subscribed == nil {
		return false, fmt.Errorf("%w: GET %s: no subscribed field", ErrBadResponse, path)
	}
	return *out.Data.Subscribed, nil
}

// ListSubscriptions lists every user subscribed to the webhook (GET
// .../subscriptions/all/list, app-only).
func (c *Client) ListSubscriptions(ctx context.Context, webhookID string) (*Subscriptions, error) {
	if err := checkID("webhook id", webhookID); err != nil {
		return nil, err
	}
	var out struct {
		Data *struct {
			ApplicationID string `json:"application_id"`
			WebhookID     string `json:"webhook_id"`
			WebhookURL    string `json:"webhook_url"`
			Subscriptions []struct {
				UserID string `json:"user_id"`
			} `json:"subscriptions"`
		} `json:"data"`
	}
	path := subscriptionPath(webhookID) + "/list"
	if err := c.do(ctx, authApp, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	if out.Data == nil {
		return nil, fmt.Errorf("%w: GET %s: no data", ErrBadResponse, path)
	}
	s := &Subscriptions{ApplicationID: out.Data.ApplicationID, WebhookID: out.Data.WebhookID,
		WebhookURL: out.Data.WebhookURL, UserIDs: []string{}}
	for _, u := range out.Data.Subscriptions {
		s.UserIDs = append(s.UserIDs, u.UserID)
	}
	return s, nil
}

// Unsubscribe removes userID's subscription to the webhook (DELETE
// .../subscriptions/:user_id/all, app-only). A user who is not subscribed
// matches ErrSubscriptionNotFound.
func (c *Client) Unsubscribe(ctx context.Context, webhookID, userID string) error {
	if err := checkID("webhook id", webhookID); err != nil {
		return err
	}
	if err := checkID("user id", userID); err != nil {
		return err
	}
	path := "/2/account_activity/webhooks/" + webhookID + "/subscriptions/" + userID + "/all"
	if err := c.do(ctx, authApp, http.MethodDelete, path, nil, nil); err != nil {
		return err
	}
	c.log.InfoContext(ctx, "unsubscribed from webhook", "webhook_id", webhookID, "user_id", userID)
	return nil
}

// ReplayDateLayout is the yyyymmddhhmm (UTC) form of the replay window.
const ReplayDateLayout = "200601021504"

// Replay asks X to deliver again the events of [from, to] that it delivered
// or tried to deliver to the webhook (POST /2/webhooks/replay). X counts
// whole minutes, both ends inclusive, so from and to are cut down to the
// minute in UTC. X accepts only the last 24 hours and one job per webhook at
// a time (else ErrReplayConflict). The events arrive asynchronously, oldest
// first, followed by a replay_job_status delivery.
func (c *Client) Replay(ctx context.Context, webhookID string, from, to time.Time) (*ReplayJob, error) {
	if err := checkID("webhook id", webhookID); err != nil {
		return nil, err
	}
	if from.IsZero() || to.IsZero() {
		return nil, fmt.Errorf("%w: replay needs both from and to", ErrInvalidInput)
	}
	from, to = from.UTC().Truncate(time.Minute), to.UTC().Truncate(time.Minute)
	if to.Before(from) {
		return nil, fmt.Errorf("%w: replay window ends (%s) before it starts (%s)", ErrInvalidInput,
			to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	body := map[string]string{"webhook_id": webhookID,
		"from_date": from.Format(ReplayDateLayout), "to_date": to.Format(ReplayDateLayout)}
	// X has documented both {"data":{"job_id","created_at"}} and a bare
	// {"job_id","created_at"}: read either.
	type job struct {
		JobID     string `json:"job_id"`
		CreatedAt string `json:"created_at"`
	}
	var out struct {
		Data *job `json:"data"`
		job
	}
	if err := c.do(ctx, authApp, http.MethodPost, "/2/webhooks/replay", body, &out); err != nil {
		return nil, err
	}
	j := out.job
	if out.Data != nil {
		j = *out.Data
	}
	if strings.TrimSpace(j.JobID) == "" {
		return nil, fmt.Errorf("%w: POST /2/webhooks/replay: no job_id", ErrBadResponse)
	}
	rj := &ReplayJob{JobID: j.JobID}
	if t, err := time.Parse(time.RFC3339Nano, j.CreatedAt); err == nil {
		rj.CreatedAt = t
	}
	c.log.InfoContext(ctx, "replay requested", "webhook_id", webhookID, "job_id", rj.JobID,
		"from", from, "to", to)
	return rj, nil
}

// Ensure makes url a registered, valid webhook and returns it: it reuses a
// webhook already registered for exactly url (re-validating it if X marked
// it invalid), and registers url otherwise. Calling it again changes
// nothing.
func (c *Client) Ensure(ctx context.Context, url string) (*Webhook, error) {
	w, _, err := c.ensure(ctx, url, nil)
	return w, err
}

// ensureAction says what ensure did.
type ensureAction int

const (
	ensureReused ensureAction = iota
	ensureRegistered
	ensureRevalidated
)

// ensure is Ensure with an optional list already fetched (nil: fetch).
func (c *Client) ensure(ctx context.Context, url string, hooks []Webhook) (*Webhook, ensureAction, error) {
	if err := checkURL(url); err != nil {
		return nil, 0, err
	}
	if hooks == nil {
		var err error
		if hooks, err = c.List(ctx); err != nil {
			return nil, 0, err
		}
	}
	if w := findURL(hooks, url); w != nil {
		if w.Valid {
			return w, ensureReused, nil
		}
		if err := c.Validate(ctx, w.ID); err != nil {
			return w, 0, err
		}
		w.Valid = true
		return w, ensureRevalidated, nil
	}
	w, err := c.Register(ctx, url)
	if errors.Is(err, ErrDuplicateURL) {
		// Registered by someone else between List and Register.
		again, lerr := c.Find(ctx, url)
		if lerr == nil && again != nil {
			return c.ensure(ctx, url, []Webhook{*again})
		}
	}
	if err != nil {
		return nil, 0, err
	}
	return w, ensureRegistered, nil
}

// WebhookState is one webhook with its subscriptions, as Inspect reports it.
type WebhookState struct {
	Webhook
	// Subscribers are the subscribed user ids (ListSubscriptions).
	Subscribers []string
	// BotSubscribed is CheckSubscription for the user of the OAuth 1.0a
	// credentials; nil when the Client has none.
	BotSubscribed *bool
}

// Inspect lists every webhook with its subscribers and, when the Client
// holds user credentials, whether that user (the bot) is subscribed: the
// "status" view of an operator tool.
func (c *Client) Inspect(ctx context.Context) ([]WebhookState, error) {
	hooks, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]WebhookState, 0, len(hooks))
	for _, w := range hooks {
		st := WebhookState{Webhook: w}
		subs, err := c.ListSubscriptions(ctx, w.ID)
		if err != nil {
			return nil, err
		}
		st.Subscribers = subs.UserIDs
		if c.HasUserAuth() {
			ok, err := c.CheckSubscription(ctx, w.ID)
			if err != nil {
				return nil, err
			}
			st.BotSubscribed = &ok
		}
		out = append(out, st)
	}
	return out, nil
}
