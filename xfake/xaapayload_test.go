package xfake

import (
	"encoding/json"
	"testing"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// xaaRoundTrip decodes body with package events and runs it through a
// fresh filter for the fake's bot.
func xaaRoundTrip(t *testing.T, f *fixture, body []byte) (*events.Payload, []filter.Result) {
	t.Helper()
	p, err := events.Decode(body)
	require.NoError(t, err, "%s", body)
	flt, err := filter.New(filter.Config{BotUserID: f.srv.Bot().UserID})
	require.NoError(t, err)
	return p, flt.Results(p)
}

// envelopeOf checks the documented envelope members and returns data.
func envelopeOf(t *testing.T, f *fixture, body []byte, eventType, tag string) map[string]json.RawMessage {
	t.Helper()
	var top map[string]map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &top))
	require.Len(t, top, 1)
	data := top["data"]
	require.NotNil(t, data)
	var got struct {
		UUID   string            `json:"event_uuid"`
		Filter map[string]string `json:"filter"`
		Type   string            `json:"event_type"`
		Tag    string            `json:"tag"`
	}
	raw, _ := json.Marshal(data)
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Regexp(t, `^[0-9]{1,19}$`, got.UUID)
	assert.Equal(t, map[string]string{"user_id": f.srv.Bot().UserID}, got.Filter)
	assert.Equal(t, eventType, got.Type)
	assert.Equal(t, tag, got.Tag)
	assert.Contains(t, data, "payload")
	return data
}

func TestMentionEvent(t *testing.T) {
	f := start(t, Config{})
	p := f.srv.SeedPost(Post{AuthorID: "55", Text: "héllo @MoetronBot moename a&b"})
	body, err := f.srv.MentionEvent(p, Sender{UserID: "55", ScreenName: "alice"})
	require.NoError(t, err)
	data := envelopeOf(t, f, body, "post.mention.create", TagMentions)
	var post struct {
		ID       string `json:"id"`
		Text     string `json:"text"`
		AuthorID string `json:"author_id"`
		Entities struct {
			Mentions []struct {
				Start, End int
				ID         string `json:"id"`
			} `json:"mentions"`
		} `json:"entities"`
	}
	require.NoError(t, json.Unmarshal(data["payload"], &post))
	assert.Equal(t, p.ID, post.ID)
	assert.Equal(t, "héllo @MoetronBot moename a&amp;b", post.Text)
	require.Len(t, post.Entities.Mentions, 1)
	assert.Equal(t, 6, post.Entities.Mentions[0].Start, "code points")
	assert.Equal(t, 17, post.Entities.Mentions[0].End)
	assert.Contains(t, string(data["includes"]), `"username":"alice"`)

	dp, res := xaaRoundTrip(t, f, body)
	assert.Equal(t, events.XAAPostMentionCreate, dp.XAA.EventType)
	require.Len(t, res, 1)
	require.NotNil(t, res[0].Job, "reason %s", res[0].Reason)
	assert.Equal(t, "tweet:"+p.ID, res[0].Job.ID)
	assert.Equal(t, "name", res[0].Job.Command)
	assert.Equal(t, "a&b", res[0].Job.Args)
	assert.Equal(t, "alice", res[0].Job.ScreenName)
	assert.Equal(t, f.srv.Bot().UserID, res[0].Job.ForUserID)
}

func TestReplyEvent(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot()
	own := f.srv.SeedPost(Post{AuthorID: bot.UserID, Text: "an image"})
	p := f.srv.SeedPost(Post{AuthorID: "55", Text: "@moetronbot moerand again", InReplyToTweetID: own.ID})
	body, err := f.srv.ReplyEvent(p, Sender{UserID: "55", ScreenName: "alice"})
	require.NoError(t, err)
	data := envelopeOf(t, f, body, "post.reply.create", TagReplies)
	assert.JSONEq(t, `{}`, string(data["includes"]))
	var post struct {
		Range     []int  `json:"display_text_range"`
		ReplyUser string `json:"in_reply_to_user_id"`
		ReplyPost string `json:"in_reply_to_tweet_id"`
	}
	require.NoError(t, json.Unmarshal(data["payload"], &post))
	assert.Equal(t, []int{12, 25}, post.Range)
	assert.Equal(t, bot.UserID, post.ReplyUser)
	assert.Equal(t, own.ID, post.ReplyPost)

	_, res := xaaRoundTrip(t, f, body)
	require.Len(t, res, 1)
	require.NotNil(t, res[0].Job, "reason %s", res[0].Reason)
	assert.Equal(t, "rand", res[0].Job.Command)
	assert.Equal(t, "again", res[0].Job.Args)
	assert.Equal(t, "moerand again", res[0].Job.Text)

	_, err = f.srv.ReplyEvent(Post{ID: "9", Text: "x"}, Sender{UserID: "55"})
	assert.Error(t, err)
}

func TestQuoteEvent(t *testing.T) {
	f := start(t, Config{})
	own := f.srv.SeedPost(Post{AuthorID: f.srv.Bot().UserID, Text: "an image"})
	p := f.srv.SeedPost(Post{AuthorID: "56", Text: "moename sakura", QuoteTweetID: own.ID})
	body, err := f.srv.QuoteEvent(p, Sender{UserID: "56", ScreenName: "bob"})
	require.NoError(t, err)
	data := envelopeOf(t, f, body, "post.quote.create", TagQuotes)
	assert.Contains(t, string(data["payload"]), `"referenced_tweets":[{"id":"`+own.ID+`","type":"quoted"}]`)
	assert.NotContains(t, string(data["payload"]), "mentions")

	_, res := xaaRoundTrip(t, f, body)
	require.Len(t, res, 1)
	require.NotNil(t, res[0].Job, "a quote of the bot's post summons it: reason %s", res[0].Reason)
	assert.Equal(t, "sakura", res[0].Job.Args)

	_, err = f.srv.QuoteEvent(Post{ID: "9", Text: "x"}, Sender{UserID: "56"})
	assert.Error(t, err)
}

func TestDMReceivedEvent(t *testing.T) {
	f := start(t, Config{})
	d := f.srv.SeedDM(DM{SenderID: "55", RecipientID: f.srv.Bot().UserID, Text: "moemess"})
	body, err := f.srv.DMReceivedEvent(d, Sender{UserID: "55", ScreenName: "alice"})
	require.NoError(t, err)
	data := envelopeOf(t, f, body, "dm.received", TagDMInbound)
	assert.NotContains(t, data, "includes")
	assert.Contains(t, string(data["payload"]), `"55":{"data":{`)

	dp, res := xaaRoundTrip(t, f, body)
	assert.Equal(t, "alice", dp.Users["55"].ScreenName)
	require.Len(t, res, 1)
	require.NotNil(t, res[0].Job, "reason %s", res[0].Reason)
	assert.Equal(t, "dm:"+d.EventID, res[0].Job.ID)
	assert.Equal(t, "mess", res[0].Job.Command)
	assert.Equal(t, "alice", res[0].Job.ScreenName)
}

func TestChatReceivedEvent(t *testing.T) {
	f := start(t, Config{})
	d := f.srv.SeedDM(DM{SenderID: "55", RecipientID: f.srv.Bot().UserID, Text: "moerand secret words"})
	body, err := f.srv.ChatReceivedEvent(d, Sender{UserID: "55", ScreenName: "alice"})
	require.NoError(t, err)
	envelopeOf(t, f, body, "chat.received", TagChatInbound)
	assert.NotContains(t, string(body), "secret words", "the fake sends no clear text")

	dp, res := xaaRoundTrip(t, f, body)
	require.Len(t, dp.ChatEvents, 1)
	assert.True(t, dp.ChatEvents[0].Encrypted)
	assert.Equal(t, d.EventID, dp.ChatEvents[0].ID)
	require.Len(t, res, 1)
	assert.Equal(t, filter.ReasonEncrypted, res[0].Reason)
}

func TestReplayEvent(t *testing.T) {
	f := start(t, Config{})
	p := f.srv.SeedPost(Post{AuthorID: "55", Text: "@moetronbot moerand"})
	body, err := f.srv.MentionEvent(p, Sender{UserID: "55", ScreenName: "alice"})
	require.NoError(t, err)
	replay, err := ReplayEvent(body)
	require.NoError(t, err)
	assert.Contains(t, string(replay), `"meta":{"replay":true}`)

	flt, err := filter.New(filter.Config{BotUserID: f.srv.Bot().UserID})
	require.NoError(t, err)
	var jobs []filter.Job
	for _, b := range [][]byte{replay, body} {
		dp, err := events.Decode(b)
		require.NoError(t, err)
		jobs = append(jobs, flt.Jobs(dp)...)
	}
	require.Len(t, jobs, 1, "the replay makes the job; the live copy is a duplicate")

	_, err = ReplayEvent([]byte(`{"for_user_id":"1"}`))
	assert.Error(t, err)
	_, err = ReplayEvent([]byte(`x`))
	assert.Error(t, err)
}
