package xfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/moetron/moetron/internal/xapi"
)

// X Activity API (XAA) subscriptions: POST/GET /2/activity/subscriptions,
// PUT/DELETE /2/activity/subscriptions/{id} and the bulk
// DELETE /2/activity/subscriptions?ids=.

// ActivityShape picks which of the three documented shapes the fake answers
// create and update with.
type ActivityShape int

const (
	// ActivityShapeSpec is the OpenAPI spec's {"data":{"subscription":{...}}}
	// (the default).
	ActivityShapeSpec ActivityShape = iota
	// ActivityShapeFlat is the quickstart's bare {"data":{...}}.
	ActivityShapeFlat
	// ActivityShapeArray is the quickstart's one-element {"data":[{...}]}.
	ActivityShapeArray
)

// DefaultMaxActivitySubscriptions is the self-serve per-app cap (1,500).
const DefaultMaxActivitySubscriptions = 1500

// ActivityConfig configures the XAA endpoints. The zero value is the
// spec's answer shape and the self-serve cap.
type ActivityConfig struct {
	// Shape is the create and update answer shape.
	Shape ActivityShape
	// MaxSubscriptions caps the app's subscriptions; zero means
	// DefaultMaxActivitySubscriptions.
	MaxSubscriptions int
}

// ActivityFilter is a subscription filter.
type ActivityFilter struct {
	UserID    string `json:"user_id,omitempty"`
	Direction string `json:"direction,omitempty"`
	Keyword   string `json:"keyword,omitempty"`
}

// ActivitySubscription is an XAA subscription as the fake stores it.
type ActivitySubscription struct {
	ID        string
	EventType string
	Filter    ActivityFilter
	Tag       string
	WebhookID string // "" for stream delivery
	// CreatedBy is the user whose token created it; "" for the Bearer.
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// activityStore holds the fake's XAA state under its own lock, never held
// together with s.mu.
type activityStore struct {
	mu   sync.Mutex
	subs []ActivitySubscription
}

// ActivityEventTypes is X's create enum (OpenAPI v2.167).
var ActivityEventTypes = []string{
	"profile.update.bio", "profile.update.profile_picture", "profile.update.banner_picture",
	"profile.update.screenname", "profile.update.geo", "profile.update.url", "profile.update.verified_badge",
	"profile.update.affiliate_badge", "profile.update.handle",
	"news.new", "follow.follow", "follow.unfollow",
	"spaces.start", "spaces.end", "broadcast.start", "broadcast.end", "broadcast.chat",
	"chat.received", "chat.sent", "chat.conversation.join", "chat.conversation_join",
	"chat.conversation.member_added", "chat.conversation.member_removed", "chat.conversation.admin_added",
	"chat.conversation.admin_removed", "chat.update.group_name", "chat.update.restrictions",
	"dm.sent", "dm.received", "dm.indicate_typing", "dm.read",
	"post.create", "post.delete", "post.mention.create", "post.reply.create", "post.quote.create", "post.repost.create",
	"like.create", "mute.mute", "mute.unmute", "block.block", "block.unblock",
}

// publicActivity are the types the app's Bearer token may subscribe to.
func publicActivity(t string) bool {
	switch t {
	case "post.create", "post.delete", "news.new", "spaces.start", "spaces.end", "broadcast.start", "broadcast.end":
		return true
	}
	return strings.HasPrefix(t, "profile.update.")
}

// canonicalEvent folds X's alias chat.conversation_join into its dotted
// name.
func canonicalEvent(t string) string {
	if t == "chat.conversation_join" {
		return "chat.conversation.join"
	}
	return t
}

func activityJSON(a ActivitySubscription) map[string]any {
	m := map[string]any{
		"subscription_id": a.ID, "event_type": a.EventType, "filter": a.Filter,
		"created_at": a.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"updated_at": a.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if a.Tag != "" {
		m["tag"] = a.Tag
	}
	if a.WebhookID != "" {
		m["webhook_id"] = a.WebhookID
	}
	return m
}

// writeOne answers a create or update in the configured shape.
func (s *Server) writeOne(c *call, a ActivitySubscription, total int) {
	obj := activityJSON(a)
	meta := map[string]any{"total_subscriptions": total}
	var body map[string]any
	switch s.cfg.Activity.Shape {
	case ActivityShapeFlat:
		body = map[string]any{"data": obj, "meta": meta}
	case ActivityShapeArray:
		body = map[string]any{"data": []any{obj}, "meta": meta}
	default:
		body = map[string]any{"data": map[string]any{"subscription": obj}, "meta": meta}
	}
	writeJSON(c.w, http.StatusOK, body)
}

// decodeStrict decodes a JSON body refusing unknown keys, as X's
// additionalProperties:false schemas do.
func decodeStrict(c *call, v any) bool {
	if len(c.body) == 0 {
		writeInvalid(c.w, "Request body is required.")
		return false
	}
	var ct struct{}
	if !decodeJSON(c, &ct, false) { // content type and syntax
		return false
	}
	d := json.NewDecoder(bytes.NewReader(c.body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		writeInvalid(c.w, "Request body is invalid: "+err.Error())
		return false
	}
	return true
}

func (s *Server) activityCreate(c *call) {
	var req struct {
		EventType string           `json:"event_type"`
		Filter    *json.RawMessage `json:"filter"`
		Tag       *string          `json:"tag"`
		WebhookID *string          `json:"webhook_id"`
	}
	if !decodeStrict(c, &req) {
		return
	}
	if !slices.Contains(ActivityEventTypes, req.EventType) {
		writeInvalid(c.w, "The `event_type` query parameter value ["+req.EventType+"] is not one of the allowed values.")
		return
	}
	if req.Filter == nil {
		writeInvalid(c.w, "The `filter` field is required.")
		return
	}
	var f ActivityFilter
	d := json.NewDecoder(bytes.NewReader(*req.Filter))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		writeInvalid(c.w, "The `filter` field is invalid: "+err.Error())
		return
	}
	switch {
	case f.UserID != "" && !xapi.ValidID(f.UserID):
		writeInvalid(c.w, "The `filter.user_id` value is not a valid user id.")
		return
	case f.Direction != "" && f.Direction != "inbound" && f.Direction != "outbound":
		writeInvalid(c.w, "The `filter.direction` value must be inbound or outbound.")
		return
	case f.Keyword != "" && utf8.RuneCountInString(f.Keyword) > 150:
		writeInvalid(c.w, "The `filter.keyword` value must be 1 to 150 characters.")
		return
	case req.EventType == "news.new" && f.Keyword == "":
		writeInvalid(c.w, "news.new needs `filter.keyword`.")
		return
	case req.EventType != "news.new" && f.UserID == "":
		writeInvalid(c.w, "The `filter.user_id` field is required for "+req.EventType+".")
		return
	case req.Tag != nil && (utf8.RuneCountInString(*req.Tag) < 1 || utf8.RuneCountInString(*req.Tag) > 200):
		writeInvalid(c.w, "The `tag` value must be 1 to 200 characters.")
		return
	}
	if !publicActivity(req.EventType) {
		if c.user.UserID == "" {
			writeProblem(c.w, http.StatusForbidden, "Unsupported Authentication",
				"Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint and event type. Use a user context.")
			return
		}
		if f.UserID != c.user.UserID {
			writeProblem(c.w, http.StatusForbidden, "Forbidden",
				"You may only subscribe to private events of the authenticated user.")
			return
		}
	}
	a := ActivitySubscription{EventType: req.EventType, Filter: f, CreatedBy: c.user.UserID}
	if req.Tag != nil {
		a.Tag = *req.Tag
	}
	if req.WebhookID != nil {
		a.WebhookID = *req.WebhookID
		s.mu.Lock()
		ok := xapi.ValidID(a.WebhookID) && s.webhookLocked(a.WebhookID) != nil
		s.mu.Unlock()
		if !ok {
			writeInvalid(c.w, "The `webhook_id` value ["+a.WebhookID+"] is not a webhook of this app.")
			return
		}
	}
	s.mu.Lock()
	a.ID = s.newID()
	s.mu.Unlock()
	a.CreatedAt = s.now().UTC()
	a.UpdatedAt = a.CreatedAt
	max := s.cfg.Activity.MaxSubscriptions
	if max <= 0 {
		max = DefaultMaxActivitySubscriptions
	}
	st := &s.act
	st.mu.Lock()
	dup := slices.ContainsFunc(st.subs, func(o ActivitySubscription) bool {
		return canonicalEvent(o.EventType) == canonicalEvent(a.EventType) && o.Filter == a.Filter && o.WebhookID == a.WebhookID
	})
	n := len(st.subs)
	if !dup && n < max {
		st.subs = append(st.subs, a)
	}
	st.mu.Unlock()
	switch {
	case dup:
		writeJSON(c.w, http.StatusConflict, map[string]any{
			"title": "DuplicateSubscription", "status": http.StatusConflict, "type": "about:blank",
			"detail": "A subscription for this event_type, filter and webhook_id already exists.",
		})
	case n >= max:
		writeErrors(c.w, http.StatusBadRequest, "SubscriptionLimitExceeded: the app has "+strconv.Itoa(n)+" subscriptions")
	default:
		s.writeOne(c, a, n+1)
	}
}

// appOnly refuses a user token where X wants the Bearer.
func appOnly(c *call) bool {
	if c.user.UserID != "" {
		writeProblem(c.w, http.StatusForbidden, "Unsupported Authentication",
			"Authenticating with OAuth 1.0a User Context is forbidden for this endpoint. Use the app's Bearer token.")
		return false
	}
	return true
}

func (s *Server) activityList(c *call) {
	if !appOnly(c) {
		return
	}
	q := c.r.URL.Query()
	max := 100
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeInvalid(c.w, "The `max_results` query parameter value ["+v+"] is not between 1 and 1000")
			return
		}
		max = n
	}
	start := 0
	if tok := q.Get("pagination_token"); tok != "" {
		n, err := strconv.ParseUint(tok, 16, 32)
		if err != nil || len(tok) < 16 {
			writeInvalid(c.w, "The `pagination_token` query parameter value is not valid.")
			return
		}
		start = int(n)
	}
	st := &s.act
	st.mu.Lock()
	total := len(st.subs)
	var page []ActivitySubscription
	if start < total {
		page = slices.Clone(st.subs[start:min(total, start+max)])
	}
	st.mu.Unlock()
	data := make([]map[string]any, 0, len(page))
	for _, a := range page {
		data = append(data, activityJSON(a))
	}
	meta := map[string]any{"result_count": len(data), "total_subscriptions": total}
	if start+len(page) < total {
		meta["next_token"] = fmt.Sprintf("%016X", start+len(page))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": data, "meta": meta})
}

func (s *Server) activityUpdate(c *call) {
	if !appOnly(c) {
		return
	}
	var req struct {
		Tag       *string `json:"tag"`
		WebhookID *string `json:"webhook_id"`
	}
	if !decodeStrict(c, &req) {
		return
	}
	switch {
	case req.Tag == nil && req.WebhookID == nil:
		writeInvalid(c.w, "An update needs `tag` or `webhook_id`.")
		return
	case req.Tag != nil && (utf8.RuneCountInString(*req.Tag) < 1 || utf8.RuneCountInString(*req.Tag) > 200):
		writeInvalid(c.w, "The `tag` value must be 1 to 200 characters.")
		return
	}
	if req.WebhookID != nil {
		s.mu.Lock()
		ok := xapi.ValidID(*req.WebhookID) && s.webhookLocked(*req.WebhookID) != nil
		s.mu.Unlock()
		if !ok {
			writeInvalid(c.w, "The `webhook_id` value ["+*req.WebhookID+"] is not a webhook of this app.")
			return
		}
	}
	id := c.r.PathValue("id")
	now := s.now().UTC()
	st := &s.act
	st.mu.Lock()
	i := slices.IndexFunc(st.subs, func(a ActivitySubscription) bool { return a.ID == id })
	var a ActivitySubscription
	if i >= 0 {
		if req.Tag != nil {
			st.subs[i].Tag = *req.Tag
		}
		if req.WebhookID != nil {
			st.subs[i].WebhookID = *req.WebhookID
		}
		st.subs[i].UpdatedAt = now
		a = st.subs[i]
	}
	total := len(st.subs)
	st.mu.Unlock()
	if i < 0 {
		writeNoSubscription(c, id)
		return
	}
	s.writeOne(c, a, total)
}

func writeNoSubscription(c *call, id string) {
	writeProblem(c.w, http.StatusNotFound, "Not Found Error", "Could not find subscription with id: ["+id+"].")
}

func (s *Server) activityDelete(c *call) {
	if !appOnly(c) {
		return
	}
	id := c.r.PathValue("id")
	st := &s.act
	st.mu.Lock()
	n := len(st.subs)
	st.subs = slices.DeleteFunc(st.subs, func(a ActivitySubscription) bool { return a.ID == id })
	found, total := len(st.subs) < n, len(st.subs)
	st.mu.Unlock()
	if !found {
		writeNoSubscription(c, id)
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{"deleted": true},
		"meta": map[string]any{"total_subscriptions": total}})
}

func (s *Server) activityBulkDelete(c *call) {
	if !appOnly(c) {
		return
	}
	raw := c.r.URL.Query().Get("ids")
	ids := strings.Split(raw, ",")
	if raw == "" || len(ids) > 100 {
		writeInvalid(c.w, "The `ids` query parameter must hold 1 to 100 comma-separated ids.")
		return
	}
	data := []map[string]any{}
	errs := []map[string]any{}
	st := &s.act
	st.mu.Lock()
	for _, id := range ids {
		n := len(st.subs)
		st.subs = slices.DeleteFunc(st.subs, func(a ActivitySubscription) bool { return a.ID == id })
		if len(st.subs) < n {
			data = append(data, map[string]any{"subscription_id": id, "deleted": true})
		} else {
			errs = append(errs, map[string]any{"subscription_id": id, "reason": "not_found",
				"message": "Could not find subscription with id: [" + id + "]."})
		}
	}
	total := len(st.subs)
	st.mu.Unlock()
	body := map[string]any{"data": data, "meta": map[string]any{"total_subscriptions": total}}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(c.w, http.StatusOK, body)
}

// ActivitySubscriptions returns the app's XAA subscriptions, oldest first.
func (s *Server) ActivitySubscriptions() []ActivitySubscription {
	s.act.mu.Lock()
	defer s.act.mu.Unlock()
	return slices.Clone(s.act.subs)
}

// RemoveActivitySubscription deletes a subscription behind the client's
// back, as an operator in the developer portal (or X) might. It reports
// whether one had that id.
func (s *Server) RemoveActivitySubscription(id string) bool {
	s.act.mu.Lock()
	defer s.act.mu.Unlock()
	n := len(s.act.subs)
	s.act.subs = slices.DeleteFunc(s.act.subs, func(a ActivitySubscription) bool { return a.ID == id })
	return len(s.act.subs) < n
}

// activityTargets says where X sends an eventType event about userID: the
// registered webhooks that a matching subscription names (in subscription
// order, each once), and stream when a matching subscription has no
// webhook_id. Subscriptions naming a webhook that is gone deliver nowhere.
func (s *Server) activityTargets(eventType, userID string) (webhookIDs []string, stream bool) {
	eventType = canonicalEvent(eventType)
	s.act.mu.Lock()
	subs := slices.Clone(s.act.subs)
	s.act.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range subs {
		if canonicalEvent(a.EventType) != eventType || a.Filter.UserID != userID {
			continue
		}
		switch {
		case a.WebhookID == "":
			stream = true
		case s.webhookLocked(a.WebhookID) != nil && !slices.Contains(webhookIDs, a.WebhookID):
			webhookIDs = append(webhookIDs, a.WebhookID)
		}
	}
	return webhookIDs, stream
}
