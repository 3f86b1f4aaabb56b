package xfake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const activityPath = "/2/activity/subscriptions"

// registerHook registers a receiver as a webhook and returns its id.
func (f *fixture) registerHook() string {
	f.t.Helper()
	rc := newReceiver(f.t, f.srv.Config().ConsumerSecret)
	r := f.postJSON(f.bearer(), "/2/webhooks", map[string]string{"url": rc.srv.URL + "/webhook"})
	require.Equal(f.t, http.StatusOK, r.Status, r.Raw)
	return r.Body["data"].(map[string]any)["id"].(string)
}

func mentionBody(userID string) map[string]any {
	return map[string]any{"event_type": "post.mention.create", "filter": map[string]any{"user_id": userID}, "tag": "t"}
}

func TestActivityCreateShapes(t *testing.T) {
	for _, tc := range []struct {
		shape ActivityShape
		get   func(map[string]any) map[string]any
	}{
		{ActivityShapeSpec, func(b map[string]any) map[string]any {
			return b["data"].(map[string]any)["subscription"].(map[string]any)
		}},
		{ActivityShapeFlat, func(b map[string]any) map[string]any { return b["data"].(map[string]any) }},
		{ActivityShapeArray, func(b map[string]any) map[string]any {
			arr := b["data"].([]any)
			require.Len(t, arr, 1)
			return arr[0].(map[string]any)
		}},
	} {
		f := start(t, Config{Activity: ActivityConfig{Shape: tc.shape}})
		hook := f.registerHook()
		body := mentionBody(f.srv.Bot().UserID)
		body["webhook_id"] = hook
		r := f.postJSON(f.bot, activityPath, body)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		sub := tc.get(r.Body)
		assert.NotEmpty(t, sub["subscription_id"])
		assert.Equal(t, "post.mention.create", sub["event_type"])
		assert.Equal(t, hook, sub["webhook_id"])
		assert.Equal(t, "t", sub["tag"])
		assert.Equal(t, float64(1), r.Body["meta"].(map[string]any)["total_subscriptions"])

		subs := f.srv.ActivitySubscriptions()
		require.Len(t, subs, 1)
		assert.Equal(t, sub["subscription_id"], subs[0].ID)
		assert.Equal(t, f.srv.Bot().UserID, subs[0].CreatedBy)
		assert.Equal(t, "oauth1", lastRequest(f.srv).Auth)
	}
}

func TestActivityCreateAuth(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot().UserID
	other := Account{UserID: "2244994945", ScreenName: "alice", AccessToken: "2244994945-tok", AccessTokenSecret: "alice-secret"}
	require.NoError(t, f.srv.AddAccount(other))

	// Private events: the Bearer may not, another user may not.
	r := f.postJSON(f.bearer(), activityPath, mentionBody(bot))
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	r = f.postJSON(userClient(f.srv, other), activityPath, mentionBody(bot))
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	r = f.postJSON(nil, activityPath, mentionBody(bot))
	assert.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
	assert.Empty(t, f.srv.ActivitySubscriptions())

	// The user itself may; public events take the Bearer for anyone.
	r = f.postJSON(userClient(f.srv, other), activityPath, mentionBody(other.UserID))
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = f.postJSON(f.bearer(), activityPath, map[string]any{"event_type": "post.create", "filter": map[string]any{"user_id": bot}})
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Len(t, f.srv.ActivitySubscriptions(), 2)

	// List, update and delete want the Bearer: a user token gets 403.
	id := f.srv.ActivitySubscriptions()[0].ID
	r = f.do(f.bot, http.MethodGet, activityPath, "", nil)
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	r = f.do(f.bot, http.MethodPut, activityPath+"/"+id, "application/json", []byte(`{"tag":"x"}`))
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	r = f.do(f.bot, http.MethodDelete, activityPath+"/"+id, "", nil)
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	r = f.do(f.bot, http.MethodDelete, activityPath+"?ids="+id, "", nil)
	assert.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	assert.Len(t, f.srv.ActivitySubscriptions(), 2)
}

func TestActivityCreateValidation(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot().UserID
	long := strings.Repeat("x", 201)
	for name, body := range map[string]string{
		"unknown event":      `{"event_type":"post.mention","filter":{"user_id":"` + bot + `"}}`,
		"pascal case":        `{"event_type":"ProfileBioUpdate","filter":{"user_id":"` + bot + `"}}`,
		"no filter":          `{"event_type":"post.mention.create"}`,
		"extra filter key":   `{"event_type":"post.mention.create","filter":{"user_id":"` + bot + `","post_id":"1"}}`,
		"extra body key":     `{"event_type":"post.mention.create","filter":{"user_id":"` + bot + `"},"event_types":["x"]}`,
		"bad direction":      `{"event_type":"post.mention.create","filter":{"user_id":"` + bot + `","direction":"up"}}`,
		"no user":            `{"event_type":"post.mention.create","filter":{}}`,
		"empty tag":          `{"event_type":"post.mention.create","filter":{"user_id":"` + bot + `"},"tag":""}`,
		"long tag":           `{"event_type":"post.mention.create","filter":{"user_id":"` + bot + `"},"tag":"` + long + `"}`,
		"unknown webhook":    `{"event_type":"post.mention.create","filter":{"user_id":"` + bot + `"},"webhook_id":"123"}`,
		"news needs keyword": `{"event_type":"news.new","filter":{}}`,
		"not json":           `{`,
	} {
		r := f.do(f.bot, http.MethodPost, activityPath, "application/json", []byte(body))
		assert.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", name, r.Raw)
	}
	r := f.do(f.bot, http.MethodPost, activityPath, "text/plain", []byte(`{"event_type":"dm.received","filter":{"user_id":"`+bot+`"}}`))
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Raw, JSONContentTypeMessage)
	assert.Empty(t, f.srv.ActivitySubscriptions())

	// 200 characters is fine, and the alias name is accepted.
	r = f.do(f.bot, http.MethodPost, activityPath, "application/json",
		[]byte(`{"event_type":"chat.conversation_join","filter":{"user_id":"`+bot+`"},"tag":"`+long[:200]+`"}`))
	assert.Equal(t, http.StatusOK, r.Status, r.Raw)
}

func TestActivityDuplicateAndCap(t *testing.T) {
	f := start(t, Config{Activity: ActivityConfig{MaxSubscriptions: 3}})
	bot := f.srv.Bot().UserID
	hook := f.registerHook()
	r := f.postJSON(f.bot, activityPath, mentionBody(bot))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = f.postJSON(f.bot, activityPath, mentionBody(bot))
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Equal(t, "DuplicateSubscription", r.Body["title"])

	// The same type and filter to a webhook is a different subscription.
	body := mentionBody(bot)
	body["webhook_id"] = hook
	r = f.postJSON(f.bot, activityPath, body)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = f.postJSON(f.bot, activityPath, map[string]any{"event_type": "dm.received", "filter": map[string]any{"user_id": bot}})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = f.postJSON(f.bot, activityPath, map[string]any{"event_type": "post.reply.create", "filter": map[string]any{"user_id": bot}})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, r.Raw, "SubscriptionLimitExceeded")
	assert.Len(t, f.srv.ActivitySubscriptions(), 3)
}

func TestActivityListPages(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot().UserID
	for _, et := range []string{"post.mention.create", "post.reply.create", "post.quote.create", "dm.received", "dm.sent"} {
		r := f.postJSON(f.bot, activityPath, map[string]any{"event_type": et, "filter": map[string]any{"user_id": bot}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
	}
	var got []string
	path := activityPath + "?max_results=2"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		r := f.do(f.bearer(), http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		for _, d := range r.Body["data"].([]any) {
			got = append(got, d.(map[string]any)["event_type"].(string))
		}
		meta := r.Body["meta"].(map[string]any)
		assert.Equal(t, float64(5), meta["total_subscriptions"])
		next, ok := meta["next_token"].(string)
		if !ok {
			break
		}
		assert.GreaterOrEqual(t, len(next), 16)
		path = activityPath + "?max_results=2&pagination_token=" + next
	}
	assert.Equal(t, []string{"post.mention.create", "post.reply.create", "post.quote.create", "dm.received", "dm.sent"}, got)

	for _, q := range []string{"?max_results=0", "?max_results=1001", "?pagination_token=short", "?pagination_token=ZZZZZZZZZZZZZZZZ"} {
		r := f.do(f.bearer(), http.MethodGet, activityPath+q, "", nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, q)
	}
}

func TestActivityUpdateDelete(t *testing.T) {
	f := start(t, Config{Activity: ActivityConfig{Shape: ActivityShapeFlat}})
	bot := f.srv.Bot().UserID
	hook := f.registerHook()
	r := f.postJSON(f.bot, activityPath, mentionBody(bot))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	id := r.Body["data"].(map[string]any)["subscription_id"].(string)

	r = f.do(f.bearer(), http.MethodPut, activityPath+"/"+id, "application/json", []byte(`{"webhook_id":"`+hook+`","tag":"new"}`))
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, hook, r.Body["data"].(map[string]any)["webhook_id"])
	assert.Equal(t, "new", f.srv.ActivitySubscriptions()[0].Tag)
	for name, body := range map[string]string{
		"event type": `{"event_type":"dm.received"}`, "empty": `{}`, "bad webhook": `{"webhook_id":"9"}`, "empty tag": `{"tag":""}`,
	} {
		r = f.do(f.bearer(), http.MethodPut, activityPath+"/"+id, "application/json", []byte(body))
		assert.Equal(t, http.StatusBadRequest, r.Status, name)
	}
	r = f.do(f.bearer(), http.MethodPut, activityPath+"/42", "application/json", []byte(`{"tag":"x"}`))
	assert.Equal(t, http.StatusNotFound, r.Status)

	r = f.do(f.bearer(), http.MethodDelete, activityPath+"/"+id, "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, true, r.Body["data"].(map[string]any)["deleted"])
	assert.Equal(t, float64(0), r.Body["meta"].(map[string]any)["total_subscriptions"])
	r = f.do(f.bearer(), http.MethodDelete, activityPath+"/"+id, "", nil)
	assert.Equal(t, http.StatusNotFound, r.Status)
}

func TestActivityBulkDelete(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot().UserID
	var ids []string
	for _, et := range []string{"post.mention.create", "post.reply.create", "dm.received"} {
		r := f.postJSON(f.bot, activityPath, map[string]any{"event_type": et, "filter": map[string]any{"user_id": bot}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		ids = append(ids, r.Body["data"].(map[string]any)["subscription"].(map[string]any)["subscription_id"].(string))
	}
	r := f.do(f.bearer(), http.MethodDelete, activityPath+"?ids="+ids[0]+","+ids[2]+",77", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Len(t, r.Body["data"], 2)
	errs := r.Body["errors"].([]any)
	require.Len(t, errs, 1)
	assert.Equal(t, "77", errs[0].(map[string]any)["subscription_id"])
	assert.Equal(t, float64(1), r.Body["meta"].(map[string]any)["total_subscriptions"])
	subs := f.srv.ActivitySubscriptions()
	require.Len(t, subs, 1)
	assert.Equal(t, ids[1], subs[0].ID)

	many := strings.TrimSuffix(strings.Repeat("1,", 101), ",")
	for _, q := range []string{"", "?ids=", "?ids=" + many} {
		r = f.do(f.bearer(), http.MethodDelete, activityPath+q, "", nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, q)
	}
}

func TestActivityTargets(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot().UserID
	hook := f.registerHook()
	create := func(et, webhook string) {
		b := map[string]any{"event_type": et, "filter": map[string]any{"user_id": bot}}
		if webhook != "" {
			b["webhook_id"] = webhook
		}
		r := f.postJSON(f.bot, activityPath, b)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
	}
	create("post.mention.create", hook)
	create("dm.received", "")
	create("chat.conversation_join", hook)

	ids, stream := f.srv.activityTargets("post.mention.create", bot)
	assert.Equal(t, []string{hook}, ids)
	assert.False(t, stream)
	ids, stream = f.srv.activityTargets("dm.received", bot)
	assert.Empty(t, ids)
	assert.True(t, stream)
	ids, _ = f.srv.activityTargets("chat.conversation.join", bot)
	assert.Equal(t, []string{hook}, ids, "the alias names the same event")
	ids, stream = f.srv.activityTargets("post.mention.create", "2244994945")
	assert.Empty(t, ids)
	assert.False(t, stream, "another user's events go nowhere")
	ids, stream = f.srv.activityTargets("post.reply.create", bot)
	assert.Empty(t, ids)
	assert.False(t, stream)

	create("post.mention.create", "")
	ids, stream = f.srv.activityTargets("post.mention.create", bot)
	assert.Equal(t, []string{hook}, ids)
	assert.True(t, stream, "webhook and stream subscriptions side by side")

	r := f.do(f.bearer(), http.MethodDelete, "/2/webhooks/"+hook, "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	ids, _ = f.srv.activityTargets("post.mention.create", bot)
	assert.Empty(t, ids, "a deleted webhook gets nothing")

	assert.True(t, f.srv.RemoveActivitySubscription(f.srv.ActivitySubscriptions()[0].ID))
	assert.False(t, f.srv.RemoveActivitySubscription("1"))
	assert.Len(t, f.srv.ActivitySubscriptions(), 3)
}
