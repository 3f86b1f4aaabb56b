package xfake

import (
	"net/http"
	"strconv"
	"time"
)

// Endpoint names: the route patterns the fake serves. Use them in
// Fault.Endpoint and to filter Requests by Request.Endpoint.
const (
	EndpointMediaUpload       = "POST /2/media/upload"
	EndpointMediaStatus       = "GET /2/media/upload"
	EndpointMediaInitialize   = "POST /2/media/upload/initialize"
	EndpointMediaAppend       = "POST /2/media/upload/{id}/append"
	EndpointMediaFinalize     = "POST /2/media/upload/{id}/finalize"
	EndpointTweets            = "POST /2/tweets"
	EndpointUserTweets        = "GET /2/users/{id}/tweets"
	EndpointDMSend            = "POST /2/dm_conversations/with/{id}/messages"
	EndpointDMEvents          = "GET /2/dm_conversations/with/{id}/dm_events"
	EndpointWebhookCreate     = "POST /2/webhooks"
	EndpointWebhookList       = "GET /2/webhooks"
	EndpointWebhookValidate   = "PUT /2/webhooks/{id}"
	EndpointWebhookDelete     = "DELETE /2/webhooks/{id}"
	EndpointWebhookReplay     = "POST /2/webhooks/replay"
	EndpointSubscribe         = "POST /2/account_activity/webhooks/{id}/subscriptions/all"
	EndpointSubscriptionCheck = "GET /2/account_activity/webhooks/{id}/subscriptions/all"
	EndpointSubscriptionList  = "GET /2/account_activity/webhooks/{id}/subscriptions/all/list"
	EndpointUnsubscribe       = "DELETE /2/account_activity/webhooks/{id}/subscriptions/{user_id}/all"
	EndpointActivityStream    = "GET /2/activity/stream"
	// EndpointOther is any path the fake does not serve (answered 404).
	EndpointOther = "/"
)

// X Activity API subscription endpoints (see activity.go).
const (
	EndpointActivityCreate     = "POST /2/activity/subscriptions"
	EndpointActivityList       = "GET /2/activity/subscriptions"
	EndpointActivityUpdate     = "PUT /2/activity/subscriptions/{id}"
	EndpointActivityDelete     = "DELETE /2/activity/subscriptions/{id}"
	EndpointActivityBulkDelete = "DELETE /2/activity/subscriptions"
)

// User endpoints (see users.go).
const (
	EndpointUsersMe = "GET /2/users/me"
)

// route is one served endpoint: who may call it and its 15-minute budget
// (X's 2026 per-user, or per-app for app-only routes, limits).
type route struct {
	pattern string
	auth    authKind
	limit   int
	h       func(*Server, *call)
}

var routeTable = []route{
	{EndpointMediaUpload, authUser, 500, (*Server).mediaUpload},
	{EndpointMediaStatus, authUser, 1000, (*Server).mediaStatus},
	{EndpointMediaInitialize, authUser, 1875, (*Server).mediaInitialize},
	{EndpointMediaAppend, authUser, 1875, (*Server).mediaAppend},
	{EndpointMediaFinalize, authUser, 1875, (*Server).mediaFinalize},
	{EndpointTweets, authUser, 100, (*Server).createPost},
	{EndpointUserTweets, authEither, 900, (*Server).userPosts},
	{EndpointDMSend, authUser, 15, (*Server).sendDM},
	{EndpointDMEvents, authUser, 300, (*Server).dmEvents},
	{EndpointWebhookCreate, authApp, 450, (*Server).webhookCreate},
	{EndpointWebhookList, authApp, 450, (*Server).webhookList},
	{EndpointWebhookValidate, authApp, 450, (*Server).webhookValidate},
	{EndpointWebhookDelete, authApp, 450, (*Server).webhookDelete},
	{EndpointWebhookReplay, authApp, 100, (*Server).webhookReplay},
	{EndpointSubscribe, authUser, 500, (*Server).subscribe},
	{EndpointSubscriptionCheck, authUser, 500, (*Server).subscriptionCheck},
	{EndpointSubscriptionList, authApp, 50, (*Server).subscriptionList},
	{EndpointUnsubscribe, authApp, 500, (*Server).unsubscribe},
	{EndpointActivityCreate, authEither, 500, (*Server).activityCreate},
	{EndpointActivityList, authEither, 500, (*Server).activityList},
	{EndpointActivityUpdate, authEither, 500, (*Server).activityUpdate},
	{EndpointActivityDelete, authEither, 500, (*Server).activityDelete},
	{EndpointActivityBulkDelete, authEither, 500, (*Server).activityBulkDelete},
	{EndpointActivityStream, authNone, 450, (*Server).activityStream}, // checks its own auth (stream.go)
	{EndpointUsersMe, authUser, 75, (*Server).me},
	{EndpointOther, authNone, 900, (*Server).notFound},
}

// dailyLimits are the per-app 24-hour caps reported in x-app-limit-24hour-*.
var dailyLimits = map[string]int{
	EndpointTweets: 10000,
	EndpointDMSend: 1440,
}

func isEndpoint(p string) bool {
	for _, r := range routeTable {
		if r.pattern == p {
			return true
		}
	}
	return false
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	for _, rt := range routeTable {
		h := rt.h
		s.handle(rt.pattern, rt.auth, rt.limit, func(c *call) { h(s, c) })
	}
}

func (s *Server) notFound(c *call) {
	writeJSON(c.w, http.StatusNotFound, map[string]any{
		"errors": []map[string]any{{"code": 34, "message": "Sorry, that page does not exist."}},
	})
}

type rateWindow struct {
	start time.Time
	used  int
}

// take counts one request in the window of length d starting at or before
// now and returns what is left and when the window resets.
func (w *rateWindow) take(now time.Time, d time.Duration, limit int) (left int, reset time.Time, ok bool) {
	if w.start.IsZero() || !now.Before(w.start.Add(d)) {
		w.start, w.used = now, 0
	}
	reset = w.start.Add(d)
	if w.used >= limit {
		return 0, reset, false
	}
	w.used++
	return limit - w.used, reset, true
}

// rateLimit sets the x-rate-limit-* headers (and the 24-hour ones where X
// sends them). With EnforceRateLimits it answers 429 and returns false once
// the budget is spent.
func (s *Server) rateLimit(c *call, limit int) bool {
	who := "app"
	switch {
	case c.anon:
		who = "anon"
	case c.user.UserID != "":
		who = c.user.UserID
	}
	now := s.now()
	s.mu.Lock()
	w := s.limits[c.endpoint+"|"+who]
	if w == nil {
		w = &rateWindow{}
		s.limits[c.endpoint+"|"+who] = w
	}
	left, reset, ok := w.take(now, 15*time.Minute, limit)
	daily, hasDaily := dailyLimits[c.endpoint]
	var dLeft int
	var dReset time.Time
	dOK := true
	if hasDaily && !c.anon {
		dw := s.limits[c.endpoint+"|24h"]
		if dw == nil {
			dw = &rateWindow{}
			s.limits[c.endpoint+"|24h"] = dw
		}
		dLeft, dReset, dOK = dw.take(now, 24*time.Hour, daily)
	}
	s.mu.Unlock()

	h := c.w.Header()
	h.Set("x-rate-limit-limit", strconv.Itoa(limit))
	h.Set("x-rate-limit-remaining", strconv.Itoa(left))
	h.Set("x-rate-limit-reset", strconv.FormatInt(reset.Unix(), 10))
	if hasDaily && !c.anon {
		h.Set("x-app-limit-24hour-limit", strconv.Itoa(daily))
		h.Set("x-app-limit-24hour-remaining", strconv.Itoa(dLeft))
		h.Set("x-app-limit-24hour-reset", strconv.FormatInt(dReset.Unix(), 10))
	}
	if s.cfg.EnforceRateLimits && !c.anon && (!ok || !dOK) {
		writeProblem(c.w, http.StatusTooManyRequests, "Too Many Requests", "Too Many Requests")
		return false
	}
	return true
}
