package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/moetron/moetron/internal/xapi"
)

// X Activity API (XAA) event types the bot subscribes to. X's create
// endpoint knows about forty more; any dot-separated lower-case name is
// accepted here and left to X to judge.
const (
	EventPostMention = "post.mention.create"
	EventPostReply   = "post.reply.create"
	EventPostQuote   = "post.quote.create"
	EventPostCreate  = "post.create"
	EventDMReceived  = "dm.received"
	EventChatRecv    = "chat.received"
)

// DefaultActivityEventTypes is the set a command bot needs to see what the
// Account Activity API delivered it: explicit @mentions, direct replies to
// its posts, quotes of its posts and legacy DMs. chat.received (encrypted
// XChat DMs) is left out: its payload cannot be read without the XChat keys.
var DefaultActivityEventTypes = []string{EventPostMention, EventPostReply, EventPostQuote, EventDMReceived}

// ActivityPath is the XAA subscription collection.
const ActivityPath = "/2/activity/subscriptions"

// Filter directions X accepts.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// ActivityFilter selects the events of a subscription. X refuses any other
// key. UserID is the user the events are about (the bot); Direction is
// "", DirectionInbound or DirectionOutbound; Keyword (1 to 150 characters)
// is for news.new only.
type ActivityFilter struct {
	UserID    string `json:"user_id,omitempty"`
	Direction string `json:"direction,omitempty"`
	Keyword   string `json:"keyword,omitempty"`
}

// ActivitySubscription is one XAA subscription as X reports it.
type ActivitySubscription struct {
	ID        string // subscription_id
	EventType string
	Filter    ActivityFilter
	Tag       string // "" when none
	// WebhookID is the webhook the events go to; "" means stream delivery
	// only (GET /2/activity/stream).
	WebhookID string
	CreatedAt time.Time // zero if X did not say
	UpdatedAt time.Time // zero if X did not say
}

// NewActivitySubscription is the body of a create call.
type NewActivitySubscription struct {
	EventType string
	Filter    ActivityFilter
	Tag       string // optional, 1 to 200 characters
	WebhookID string // optional; "" for stream delivery
}

// ActivityUpdate changes a subscription: only the tag and the webhook can
// change (to change the event type or filter, delete and create). A nil
// field is left as it is; at least one must be set.
type ActivityUpdate struct {
	Tag       *string
	WebhookID *string
}

// ActivityListOptions pages through the subscriptions. Zero values mean
// X's defaults (first page, X's page size).
type ActivityListOptions struct {
	MaxResults      int    // 1 to 1000; 0 means X's default
	PaginationToken string // meta.next_token of the previous page
}

// ActivityPage is one page of ListActivitySubscriptions.
type ActivityPage struct {
	Subscriptions []ActivitySubscription
	NextToken     string // "" on the last page
	// Total is meta.total_subscriptions (all of the app's subscriptions),
	// -1 when X did not say.
	Total int
}

// ActivityDeleteFailure is one id a bulk delete did not remove.
type ActivityDeleteFailure struct {
	SubscriptionID string
	Reason         string
	Message        string
}

// ActivityBulkDelete is the answer of DeleteActivitySubscriptions: X
// removes what it can and reports the rest per id.
type ActivityBulkDelete struct {
	Deleted []string
	Failed  []ActivityDeleteFailure
	Total   int // remaining subscriptions; -1 when X did not say
}

// MaxBulkDelete is the most ids one bulk delete takes.
const MaxBulkDelete = 100

// publicEventTypes may be created with the app's Bearer token; every other
// type is private to the filtered user and needs that user's context.
var publicEventTypes = map[string]bool{
	"post.create": true, "post.delete": true, "news.new": true,
	"spaces.start": true, "spaces.end": true, "broadcast.start": true, "broadcast.end": true,
}

// IsPublicEventType reports whether X lets the app's Bearer token create a
// subscription to eventType (posts and profile changes anyone can see).
// Private types (mentions, replies, quotes, DMs, chats, likes, follows,
// mutes, blocks) need the filtered user's own token: this package signs
// them with the OAuth 1.0a credentials.
func IsPublicEventType(eventType string) bool {
	return publicEventTypes[eventType] || strings.HasPrefix(eventType, "profile.update.")
}

// checkEventType accepts X's dot-separated lower-case names.
func checkEventType(t string) error {
	ok := t != "" && len(t) <= 64 && t[0] != '.' && t[len(t)-1] != '.' && !strings.Contains(t, "..")
	for i := 0; ok && i < len(t); i++ {
		c := t[i]
		ok = (c >= 'a' && c <= 'z') || c == '.' || c == '_'
	}
	if !ok {
		return fmt.Errorf("%w: event type must be X's dot-separated lower-case name (e.g. %s)", ErrInvalidInput, EventPostMention)
	}
	return nil
}

// checkSubscriptionID refuses a subscription id that could do anything in
// a URL but name one subscription. X documents no pattern, so anything of 1
// to 64 letters, digits, '-' and '_' passes.
func checkSubscriptionID(id string) error {
	ok := id != "" && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_'
	}
	if !ok {
		return fmt.Errorf("%w: subscription id must be 1 to 64 letters, digits, '-' or '_'", ErrInvalidInput)
	}
	return nil
}

func checkTag(tag string) error {
	if n := utf8.RuneCountInString(tag); n < 1 || n > 200 || !utf8.ValidString(tag) {
		return fmt.Errorf("%w: tag must be 1 to 200 characters of UTF-8", ErrInvalidInput)
	}
	return nil
}

func (f ActivityFilter) check() error {
	if f.UserID != "" {
		if err := checkID("filter user id", f.UserID); err != nil {
			return err
		}
	}
	switch f.Direction {
	case "", DirectionInbound, DirectionOutbound:
	default:
		return fmt.Errorf("%w: filter direction must be %q or %q", ErrInvalidInput, DirectionInbound, DirectionOutbound)
	}
	if f.Keyword != "" && utf8.RuneCountInString(f.Keyword) > 150 {
		return fmt.Errorf("%w: filter keyword must be 1 to 150 characters", ErrInvalidInput)
	}
	if f.UserID == "" && f.Keyword == "" {
		return fmt.Errorf("%w: filter needs a user id (or a keyword for news.new)", ErrInvalidInput)
	}
	return nil
}

// activityWire is a subscription object as X writes it.
type activityWire struct {
	SubscriptionID string         `json:"subscription_id"`
	ID             string         `json:"id"`
	EventType      string         `json:"event_type"`
	Filter         ActivityFilter `json:"filter"`
	Tag            string         `json:"tag"`
	WebhookID      string         `json:"webhook_id"`
	CreatedAt      string         `json:"created_at"`
	UpdatedAt      string         `json:"updated_at"`
}

func (w activityWire) subscription() ActivitySubscription {
	s := ActivitySubscription{ID: w.SubscriptionID, EventType: w.EventType, Filter: w.Filter, Tag: w.Tag, WebhookID: w.WebhookID}
	if s.ID == "" {
		s.ID = w.ID
	}
	if t, err := time.Parse(time.RFC3339Nano, w.CreatedAt); err == nil {
		s.CreatedAt = t
	}
	if t, err := time.Parse(time.RFC3339Nano, w.UpdatedAt); err == nil {
		s.UpdatedAt = t
	}
	return s
}

// activityMeta is the meta object X puts next to data.
type activityMeta struct {
	Total       *int   `json:"total_subscriptions"`
	NextToken   string `json:"next_token"`
	ResultCount *int   `json:"result_count"`
}

func total(ps ...*int) int {
	for _, p := range ps {
		if p != nil {
			return *p
		}
	}
	return -1
}

// decodeOne reads the data member of a create or update answer in any of
// the three shapes X has documented: {"subscription":{...}} (the OpenAPI
// spec, sometimes with "total_subscriptions" beside it), the bare object
// (quickstart), and a one-element array (quickstart, once).
func decodeOne(method, path string, data json.RawMessage) (ActivitySubscription, *int, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s %s: %s", ErrBadResponse, method, path, why) }
	data = bytes.TrimSpace(data)
	var w activityWire
	var inner *int
	switch {
	case len(data) == 0 || string(data) == "null":
		return ActivitySubscription{}, nil, bad("no data")
	case data[0] == '[':
		var arr []activityWire
		if err := json.Unmarshal(data, &arr); err != nil {
			return ActivitySubscription{}, nil, bad(err.Error())
		}
		if len(arr) != 1 {
			return ActivitySubscription{}, nil, bad(fmt.Sprintf("data holds %d subscriptions, want 1", len(arr)))
		}
		w = arr[0]
	default:
		var obj struct {
			Subscription *activityWire `json:"subscription"`
			Total        *int          `json:"total_subscriptions"`
			activityWire
		}
		if err := json.Unmarshal(data, &obj); err != nil {
			return ActivitySubscription{}, nil, bad(err.Error())
		}
		w, inner = obj.activityWire, obj.Total
		if obj.Subscription != nil {
			w = *obj.Subscription
		}
	}
	s := w.subscription()
	if s.ID == "" {
		return ActivitySubscription{}, nil, bad("no subscription_id")
	}
	return s, inner, nil
}

// activityDo is do for the XAA endpoints: it names X's subscription
// failures with the reasons this package's sentinels know. X's own reason
// names for XAA are not documented; a 404 is a missing subscription (not a
// webhook), a 409 or a message about a duplicate is DuplicateSubscription.
func (c *Client) activityDo(ctx context.Context, a auth, method, path string, body, out any) error {
	err := c.do(ctx, a, method, path, body, out)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Reason != "" {
		return err
	}
	switch text := strings.ToLower(xapi.Message(&ae.Answer)); {
	case ae.Status == http.StatusNotFound:
		ae.Reason = ReasonSubscriptionNotFound
	case ae.Status == http.StatusConflict,
		strings.Contains(text, "duplicate") && strings.Contains(text, "subscription"):
		ae.Reason = ReasonDuplicateActivity
	}
	return err
}

// CreateActivitySubscription creates one XAA subscription (POST
// /2/activity/subscriptions) and returns it with meta.total_subscriptions
// (-1 when X did not say). Private event types are signed with the OAuth
// 1.0a user credentials (ErrNoUserAuth without them), and X wants
// Filter.UserID to be that user; public ones (IsPublicEventType) use the
// Bearer token. A subscription that exists already matches
// ErrDuplicateSubscription.
func (c *Client) CreateActivitySubscription(ctx context.Context, n NewActivitySubscription) (*ActivitySubscription, int, error) {
	if err := checkEventType(n.EventType); err != nil {
		return nil, -1, err
	}
	if err := n.Filter.check(); err != nil {
		return nil, -1, err
	}
	body := map[string]any{"event_type": n.EventType, "filter": n.Filter}
	if n.Tag != "" {
		if err := checkTag(n.Tag); err != nil {
			return nil, -1, err
		}
		body["tag"] = n.Tag
	}
	if n.WebhookID != "" {
		if err := checkID("webhook id", n.WebhookID); err != nil {
			return nil, -1, err
		}
		body["webhook_id"] = n.WebhookID
	}
	a := authUser
	if IsPublicEventType(n.EventType) {
		a = authApp
	}
	var out struct {
		Data json.RawMessage `json:"data"`
		Meta activityMeta    `json:"meta"`
	}
	if err := c.activityDo(ctx, a, http.MethodPost, ActivityPath, body, &out); err != nil {
		return nil, -1, err
	}
	s, inner, err := decodeOne(http.MethodPost, ActivityPath, out.Data)
	if err != nil {
		return nil, -1, err
	}
	c.log.InfoContext(ctx, "activity subscription created", "subscription_id", s.ID, "event_type", s.EventType,
		"user_id", s.Filter.UserID, "webhook_id", s.WebhookID, "tag", s.Tag)
	return &s, total(out.Meta.Total, inner), nil
}

// ListActivitySubscriptions returns one page of the app's XAA
// subscriptions (GET /2/activity/subscriptions, Bearer). o may be nil.
func (c *Client) ListActivitySubscriptions(ctx context.Context, o *ActivityListOptions) (*ActivityPage, error) {
	q := url.Values{}
	if o != nil {
		if o.MaxResults < 0 || o.MaxResults > 1000 {
			return nil, fmt.Errorf("%w: max results must be 1 to 1000", ErrInvalidInput)
		}
		if o.MaxResults > 0 {
			q.Set("max_results", strconv.Itoa(o.MaxResults))
		}
		if o.PaginationToken != "" {
			if len(o.PaginationToken) > 512 || !headerSafe(o.PaginationToken) {
				return nil, fmt.Errorf("%w: pagination token is malformed", ErrInvalidInput)
			}
			q.Set("pagination_token", o.PaginationToken)
		}
	}
	path := ActivityPath
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Data []activityWire `json:"data"`
		Meta activityMeta   `json:"meta"`
	}
	if err := c.activityDo(ctx, authApp, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	p := &ActivityPage{Subscriptions: make([]ActivitySubscription, 0, len(out.Data)), NextToken: out.Meta.NextToken,
		Total: total(out.Meta.Total)}
	for _, w := range out.Data {
		p.Subscriptions = append(p.Subscriptions, w.subscription())
	}
	return p, nil
}

// maxActivityPages bounds AllActivitySubscriptions: 1,000 pages of 1,000
// is more than any tier allows.
const maxActivityPages = 1000

// AllActivitySubscriptions lists every XAA subscription of the app,
// following meta.next_token page by page.
func (c *Client) AllActivitySubscriptions(ctx context.Context) ([]ActivitySubscription, error) {
	var all []ActivitySubscription
	opts := &ActivityListOptions{MaxResults: 1000}
	seen := map[string]bool{}
	for range maxActivityPages {
		p, err := c.ListActivitySubscriptions(ctx, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Subscriptions...)
		if p.NextToken == "" {
			return all, nil
		}
		if seen[p.NextToken] {
			return nil, fmt.Errorf("%w: GET %s: next_token repeats", ErrBadResponse, ActivityPath)
		}
		seen[p.NextToken] = true
		opts.PaginationToken = p.NextToken
	}
	return nil, fmt.Errorf("%w: GET %s: more than %d pages", ErrBadResponse, ActivityPath, maxActivityPages)
}

// UpdateActivitySubscription changes a subscription's tag or webhook (PUT
// /2/activity/subscriptions/:id, Bearer) and returns it as X reports it.
func (c *Client) UpdateActivitySubscription(ctx context.Context, id string, u ActivityUpdate) (*ActivitySubscription, error) {
	if err := checkSubscriptionID(id); err != nil {
		return nil, err
	}
	body := map[string]string{}
	if u.Tag != nil {
		if err := checkTag(*u.Tag); err != nil {
			return nil, err
		}
		body["tag"] = *u.Tag
	}
	if u.WebhookID != nil {
		if err := checkID("webhook id", *u.WebhookID); err != nil {
			return nil, err
		}
		body["webhook_id"] = *u.WebhookID
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: an update needs a tag or a webhook id", ErrInvalidInput)
	}
	path := ActivityPath + "/" + id
	var out struct {
		Data json.RawMessage `json:"data"`
	}
	if err := c.activityDo(ctx, authApp, http.MethodPut, path, body, &out); err != nil {
		return nil, err
	}
	s, _, err := decodeOne(http.MethodPut, path, out.Data)
	if err != nil {
		return nil, err
	}
	c.log.InfoContext(ctx, "activity subscription updated", "subscription_id", s.ID, "event_type", s.EventType,
		"webhook_id", s.WebhookID, "tag", s.Tag)
	return &s, nil
}

// DeleteActivitySubscription removes one subscription (DELETE
// /2/activity/subscriptions/:id, Bearer) and returns how many the app has
// left (-1 when X did not say). An unknown id matches
// ErrSubscriptionNotFound.
func (c *Client) DeleteActivitySubscription(ctx context.Context, id string) (int, error) {
	if err := checkSubscriptionID(id); err != nil {
		return -1, err
	}
	path := ActivityPath + "/" + id
	var out struct {
		Data struct {
			Deleted *bool `json:"deleted"`
		} `json:"data"`
		Meta activityMeta `json:"meta"`
	}
	if err := c.activityDo(ctx, authApp, http.MethodDelete, path, nil, &out); err != nil {
		return -1, err
	}
	if out.Data.Deleted != nil && !*out.Data.Deleted {
		return -1, fmt.Errorf("%w: DELETE %s: X answered deleted:false", ErrBadResponse, path)
	}
	c.log.InfoContext(ctx, "activity subscription deleted", "subscription_id", id)
	return total(out.Meta.Total), nil
}

// DeleteActivitySubscriptions removes 1 to MaxBulkDelete subscriptions in
// one call (DELETE /2/activity/subscriptions?ids=..., Bearer). X deletes
// what it can; the ids it could not delete come back in Failed, and that
// is not an error.
func (c *Client) DeleteActivitySubscriptions(ctx context.Context, ids []string) (*ActivityBulkDelete, error) {
	if len(ids) == 0 || len(ids) > MaxBulkDelete {
		return nil, fmt.Errorf("%w: a bulk delete takes 1 to %d ids, not %d", ErrInvalidInput, MaxBulkDelete, len(ids))
	}
	seen := map[string]bool{}
	uniq := make([]string, 0, len(ids))
	for _, id := range ids {
		if err := checkSubscriptionID(id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	path := ActivityPath + "?ids=" + url.QueryEscape(strings.Join(uniq, ","))
	var out struct {
		Data []struct {
			SubscriptionID string `json:"subscription_id"`
			Deleted        *bool  `json:"deleted"`
		} `json:"data"`
		Errors []struct {
			SubscriptionID string `json:"subscription_id"`
			Reason         string `json:"reason"`
			Message        string `json:"message"`
		} `json:"errors"`
		Meta activityMeta `json:"meta"`
	}
	if err := c.activityDo(ctx, authApp, http.MethodDelete, path, nil, &out); err != nil {
		return nil, err
	}
	r := &ActivityBulkDelete{Deleted: []string{}, Total: total(out.Meta.Total)}
	for _, d := range out.Data {
		if d.Deleted == nil || *d.Deleted {
			r.Deleted = append(r.Deleted, d.SubscriptionID)
		} else {
			r.Failed = append(r.Failed, ActivityDeleteFailure{SubscriptionID: d.SubscriptionID, Reason: "not deleted"})
		}
	}
	for _, e := range out.Errors {
		r.Failed = append(r.Failed, ActivityDeleteFailure{SubscriptionID: e.SubscriptionID, Reason: e.Reason, Message: e.Message})
	}
	c.log.InfoContext(ctx, "activity subscriptions deleted", "deleted", len(r.Deleted), "failed", len(r.Failed))
	return r, nil
}
