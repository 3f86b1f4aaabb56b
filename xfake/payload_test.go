package xfake

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMentionPayload(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot()
	own := f.srv.SeedPost(Post{AuthorID: bot.UserID, Text: "an image"})
	p := f.srv.SeedPost(Post{AuthorID: "55", Text: "héllo @MoetronBot moename x", InReplyToTweetID: own.ID})
	b, err := f.srv.MentionPayload(p, Sender{UserID: "55", ScreenName: "alice"})
	require.NoError(t, err)
	var got struct {
		ForUserID string `json:"for_user_id"`
		Events    []struct {
			IDStr       string  `json:"id_str"`
			Text        string  `json:"text"`
			ReplyStatus *string `json:"in_reply_to_status_id_str"`
			ReplyUser   *string `json:"in_reply_to_user_id_str"`
			User        struct {
				IDStr string `json:"id_str"`
			} `json:"user"`
			Entities struct {
				Mentions []struct {
					IDStr   string `json:"id_str"`
					Indices []int  `json:"indices"`
				} `json:"user_mentions"`
			} `json:"entities"`
		} `json:"tweet_create_events"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, bot.UserID, got.ForUserID)
	require.Len(t, got.Events, 1)
	e := got.Events[0]
	assert.Equal(t, p.ID, e.IDStr)
	assert.Equal(t, "55", e.User.IDStr)
	require.Len(t, e.Entities.Mentions, 1)
	assert.Equal(t, bot.UserID, e.Entities.Mentions[0].IDStr)
	assert.Equal(t, []int{6, 17}, e.Entities.Mentions[0].Indices, "code-point offsets")
	require.NotNil(t, e.ReplyUser)
	assert.Equal(t, bot.UserID, *e.ReplyUser)
	assert.Equal(t, own.ID, *e.ReplyStatus)
}

func TestDMPayload(t *testing.T) {
	f := start(t, Config{})
	d := f.srv.SeedDM(DM{SenderID: "55", RecipientID: f.srv.Bot().UserID, Text: "moemess"})
	b, err := f.srv.DMPayload(d, Sender{UserID: "55", ScreenName: "alice"})
	require.NoError(t, err)
	var got struct {
		Events []struct {
			ID string `json:"id"`
			MC struct {
				SenderID string `json:"sender_id"`
				Target   struct {
					RecipientID string `json:"recipient_id"`
				} `json:"target"`
				Data struct {
					Text string `json:"text"`
				} `json:"message_data"`
			} `json:"message_create"`
		} `json:"direct_message_events"`
		Users map[string]map[string]any `json:"users"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got.Events, 1)
	assert.Equal(t, d.EventID, got.Events[0].ID)
	assert.Equal(t, "55", got.Events[0].MC.SenderID)
	assert.Equal(t, f.srv.Bot().UserID, got.Events[0].MC.Target.RecipientID)
	assert.Equal(t, "moemess", got.Events[0].MC.Data.Text)
	assert.Equal(t, "alice", got.Users["55"]["screen_name"])
}
