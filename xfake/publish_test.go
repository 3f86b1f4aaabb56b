package xfake

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PublishEvent delivers by the subscriptions: to the linked webhook, to the
// stream for a subscription without one, nowhere without a subscription.
func TestPublishEventFollowsSubscriptions(t *testing.T) {
	f := start(t, Config{})
	rc := newReceiver(t, f.srv.Config().ConsumerSecret)
	r := f.postJSON(f.bearer(), "/2/webhooks", map[string]string{"url": rc.srv.URL + "/webhook"})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	hook := r.Body["data"].(map[string]any)["id"].(string)
	bot := f.srv.Bot().UserID
	alice := Sender{UserID: "2244994945", ScreenName: "alice"}

	mention, err := f.srv.MentionEvent(f.srv.SeedPost(Post{AuthorID: alice.UserID, Text: "@moetronbot moerand"}), alice)
	require.NoError(t, err)
	_, err = f.srv.PublishEvent(context.Background(), mention)
	require.True(t, errors.Is(err, ErrNoSubscription), "no subscription yet: %v", err)
	assert.Empty(t, rc.posts)

	body := mentionBody(bot)
	body["webhook_id"] = hook
	require.Equal(t, http.StatusOK, f.postJSON(f.bot, activityPath, body).Status)
	pub, err := f.srv.PublishEvent(context.Background(), mention)
	require.NoError(t, err)
	assert.Equal(t, []string{hook}, pub.WebhookIDs)
	assert.Equal(t, http.StatusOK, pub.Status)
	assert.False(t, pub.Stream)
	rc.mu.Lock()
	require.Len(t, rc.posts, 1)
	assert.Equal(t, string(mention), string(rc.posts[0].body))
	assert.Equal(t, rc.mac(mention), rc.posts[0].sig)
	rc.mu.Unlock()
	assert.Empty(t, f.srv.StreamHistoryLines(), "a webhook-linked subscription does not feed the stream")

	// A DM subscription without a webhook goes to the stream only.
	require.Equal(t, http.StatusOK, f.postJSON(f.bot, activityPath, map[string]any{
		"event_type": "dm.received", "filter": map[string]any{"user_id": bot}}).Status)
	dm, err := f.srv.DMReceivedEvent(f.srv.SeedDM(DM{SenderID: alice.UserID, RecipientID: bot, Text: "moemess"}), alice)
	require.NoError(t, err)
	pub, err = f.srv.PublishEvent(context.Background(), dm)
	require.NoError(t, err)
	assert.Empty(t, pub.WebhookIDs)
	assert.True(t, pub.Stream)
	require.Len(t, f.srv.StreamHistoryLines(), 1, "kept for backfill even with no stream open")
	rc.mu.Lock()
	assert.Len(t, rc.posts, 1)
	rc.mu.Unlock()

	_, err = f.srv.PublishEvent(context.Background(), []byte(`{"tweet_create_events":[]}`))
	assert.Error(t, err, "not an XAA envelope")
}

// A replay of XAA events carries meta.replay, as X's replayed deliveries do.
func TestReplayMarksXAAEvents(t *testing.T) {
	f := start(t, Config{})
	rc := newReceiver(t, f.srv.Config().ConsumerSecret)
	r := f.postJSON(f.bearer(), "/2/webhooks", map[string]string{"url": rc.srv.URL + "/webhook"})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	hook := r.Body["data"].(map[string]any)["id"].(string)
	body := mentionBody(f.srv.Bot().UserID)
	body["webhook_id"] = hook
	require.Equal(t, http.StatusOK, f.postJSON(f.bot, activityPath, body).Status)
	alice := Sender{UserID: "2244994945", ScreenName: "alice"}
	mention, err := f.srv.MentionEvent(f.srv.SeedPost(Post{AuthorID: alice.UserID, Text: "@moetronbot moerand"}), alice)
	require.NoError(t, err)
	_, err = f.srv.PublishEvent(context.Background(), mention)
	require.NoError(t, err)

	now := f.srv.now().UTC()
	r = f.postJSON(f.bearer(), "/2/webhooks/replay", map[string]string{"webhook_id": hook,
		"from_date": now.Add(-2 * 60e9).Format(replayDateLayout), "to_date": now.Format(replayDateLayout)})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	f.srv.WaitReplays()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Len(t, rc.posts, 3, "the event, its replay, the job status")
	assert.True(t, strings.Contains(string(rc.posts[1].body), `"meta":{"replay":true}`), string(rc.posts[1].body))
}
