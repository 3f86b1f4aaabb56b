package events_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const botPost = "1332557400000000001" // the bot's post in the XAA fixtures

func TestDecodeXAAPostEvents(t *testing.T) {
	reply := eventstest.Payload(t, "xaa_post_reply_create")
	require.Len(t, reply.TweetCreateEvents, 1)
	tw := reply.TweetCreateEvents[0]
	assert.Equal(t, events.XAAPostReplyCreate, tw.XAAEventType)
	assert.Equal(t, botPost, tw.InReplyToStatusID)
	assert.Equal(t, eventstest.BotUserID, tw.InReplyToUserID)
	assert.Equal(t, "moerand again", tw.VisibleText())

	quote := eventstest.Payload(t, "xaa_post_quote_create")
	tw = quote.TweetCreateEvents[0]
	assert.Equal(t, events.XAAPostQuoteCreate, tw.XAAEventType)
	assert.True(t, tw.IsQuoteStatus)
	assert.Equal(t, botPost, tw.QuotedStatusID)
	assert.Empty(t, tw.MentionIDs(), "a quote need not mention the bot")

	repost := eventstest.Payload(t, "xaa_post_repost_create")
	assert.True(t, repost.TweetCreateEvents[0].IsRetweet())

	own := eventstest.Payload(t, "xaa_post_create")
	assert.Equal(t, eventstest.BotUserID, own.TweetCreateEvents[0].User.ID)
	assert.Equal(t, events.XAAPostCreate, own.TweetCreateEvents[0].XAAEventType)
}

// A repost is a retweet by its event type even when X leaves out
// referenced_tweets.
func TestDecodeXAARepostWithoutReferences(t *testing.T) {
	p, err := events.Decode([]byte(`{"data":{"event_type":"post.repost.create","filter":{"user_id":"1"},"payload":{"id":"5","author_id":"2","text":"RT @bot: moerand"}}}`))
	require.NoError(t, err)
	assert.True(t, p.TweetCreateEvents[0].IsRetweet())
	assert.Nil(t, p.TweetCreateEvents[0].RetweetedStatus)
}

func TestDecodeXAASpecSpellings(t *testing.T) {
	p := eventstest.Payload(t, "xaa_post_mention_spec_spellings")
	require.Len(t, p.TweetCreateEvents, 1)
	tw := p.TweetCreateEvents[0]
	assert.Equal(t, "1332557500000000007", p.XAA.EventUUID, "a numeric event_uuid is kept as its text")
	assert.Equal(t, "1332557345071644690", tw.InReplyToStatusID, "from in_reply_to_tweet_id")
	assert.Equal(t, "bob_draws", tw.User.ScreenName, "author from a wrapped includes.users entry")
	assert.Equal(t, "alice", tw.InReplyToScreenName)
	require.NotNil(t, tw.QuotedStatus, "referenced_posts")
	assert.Equal(t, eventstest.BotUserID, tw.QuotedStatus.User.ID, "quoted post from includes.posts")
	assert.True(t, tw.Truncated)
	assert.True(t, strings.HasSuffix(tw.VisibleText(), " end"), "note_tweet text")
}

func TestDecodeXAAReplyRefWinsOverInReplyToTweetID(t *testing.T) {
	p, err := events.Decode([]byte(`{"data":{"event_type":"post.reply.create","payload":{"id":"5","author_id":"2",` +
		`"in_reply_to_tweet_id":"7","referenced_tweets":[{"type":"replied_to","id":"8"}]}}}`))
	require.NoError(t, err)
	assert.Equal(t, "8", p.TweetCreateEvents[0].InReplyToStatusID)
}

// Regression: a replayed delivery has "meta" beside "data"; it used to be
// read as AAA with two unknown keys, so the replay made no job.
func TestDecodeXAAReplay(t *testing.T) {
	p := eventstest.Payload(t, "xaa_replay_mention")
	assert.Equal(t, events.SourceXAA, p.Source)
	require.NotNil(t, p.XAA)
	assert.True(t, p.XAA.Replay)
	assert.Empty(t, p.Unknown)
	require.Len(t, p.TweetCreateEvents, 1)
	assert.Equal(t, eventstest.BotUserID, p.ForUserID)

	live := eventstest.Payload(t, "xaa_post_mention_create")
	assert.False(t, live.XAA.Replay)

	for _, meta := range []string{`null`, `{}`, `{"replay":false}`, `{"replay":"true","other":1}`} {
		p, err := events.Decode([]byte(`{"data":{"event_type":"post.mention.create","payload":{"id":"1"}},"meta":` + meta + `}`))
		require.NoError(t, err, meta)
		assert.Equal(t, events.SourceXAA, p.Source, meta)
		assert.Equal(t, meta == `{"replay":"true","other":1}`, p.XAA.Replay, meta)
	}
	for _, meta := range []string{`1`, `"x"`, `[]`, `{"replay":"maybe"}`} {
		_, err := events.Decode([]byte(`{"data":{"event_type":"post.mention.create","payload":{"id":"1"}},"meta":` + meta + `}`))
		assert.ErrorIs(t, err, events.ErrMalformed, meta)
	}
}

func TestDecodeXAAExtraTopLevelKeys(t *testing.T) {
	p, err := events.Decode([]byte(`{"data":{"event_type":"post.mention.create","payload":{"id":"1"}},"future":[1]}`))
	require.NoError(t, err)
	assert.Equal(t, events.SourceXAA, p.Source)
	assert.JSONEq(t, `[1]`, string(p.Unknown["future"]))
	// An Account Activity key beside "data" makes the body AAA.
	p, err = events.Decode([]byte(`{"data":{"event_type":"post.mention.create","payload":{"id":"1"}},"for_user_id":"9"}`))
	require.NoError(t, err)
	assert.Equal(t, events.SourceAAA, p.Source)
	assert.Contains(t, p.Unknown, "data")
}

func TestDecodeXAADataArray(t *testing.T) {
	p := eventstest.Payload(t, "xaa_data_array")
	assert.Equal(t, events.SourceXAA, p.Source)
	require.Len(t, p.XAAEvents, 2)
	assert.Equal(t, events.XAAPostMentionCreate, p.XAA.EventType)
	assert.Equal(t, events.XAADMReceived, p.XAAEvents[1].EventType)
	require.Len(t, p.TweetCreateEvents, 1)
	require.Len(t, p.DirectMessageEvents, 1)
	assert.Equal(t, "bob_draws", p.Users[eventstest.BobUserID].ScreenName)
	assert.Equal(t, eventstest.BotUserID, p.ForUserID)

	_, err := events.Decode([]byte(`{"data":[{"event_type":"post.create","filter":{"user_id":"1"},"payload":{"id":"5"}},` +
		`{"event_type":"post.create","filter":{"user_id":"2"},"payload":{"id":"6"}}]}`))
	assert.ErrorIs(t, err, events.ErrMalformed, "one payload cannot be for two filter users")

	for _, body := range []string{`{"data":[]}`, `{"data":[1]}`, `{"data":[{"event_type":"post.create","payload":{}},{"x":1}]}`} {
		p, err := events.Decode([]byte(body))
		require.NoError(t, err, body)
		assert.Equal(t, events.SourceAAA, p.Source, body)
		assert.Contains(t, p.Unknown, "data", body)
	}
}

func TestDecodeXAAOtherEvents(t *testing.T) {
	del := eventstest.Payload(t, "xaa_post_delete")
	assert.Equal(t, []events.TweetDeleteEvent{{TweetID: "1332557345071644690", UserID: eventstest.AliceUserID}}, del.TweetDeleteEvents)

	rev := eventstest.Payload(t, "xaa_oauth_revoke")
	require.NotNil(t, rev.UserEvent)
	assert.Equal(t, &events.Revoke{DateTime: "2026-11-26T17:30:00+00:00", AppID: "19800001", UserID: eventstest.AliceUserID}, rev.UserEvent.Revoke)
	assert.Empty(t, rev.ForUserID, "empty filter")
	assert.Empty(t, rev.XAA.Tag)

	sent := eventstest.Payload(t, "xaa_dm_sent")
	require.Len(t, sent.DirectMessageEvents, 1)
	assert.Equal(t, eventstest.BotUserID, sent.DirectMessageEvents[0].SenderID)
	assert.Equal(t, "moemess", sent.DirectMessageEvents[0].VisibleText())

	// dm.received: every users entry is wrapped in "data".
	recv := eventstest.Payload(t, "xaa_dm_received")
	assert.Equal(t, "alice", recv.Users[eventstest.AliceUserID].ScreenName)
	assert.Equal(t, eventstest.AliceUserID, recv.Users[eventstest.AliceUserID].ID)

	unk := eventstest.Payload(t, "xaa_unknown_event")
	assert.Equal(t, "inbound", unk.XAA.FilterDirection)
	assert.Contains(t, unk.Unknown, "follow.follow")
	assert.Equal(t, []string{events.KindOther}, unk.Kinds())
}

func TestDecodeXAAChatKeepsNoCiphertext(t *testing.T) {
	raw := eventstest.Fixture("xaa_chat_received")
	p := eventstest.Payload(t, "xaa_chat_received")
	require.Len(t, p.ChatEvents, 1)
	c := p.ChatEvents[0]
	assert.Equal(t, events.ChatEvent{EventType: events.XAAChatReceived, ID: "e4f4d3fc-8bbf-4928-92eb-e5058d6bb6f6",
		ConversationID: eventstest.AliceUserID + ":" + eventstest.BotUserID, SenderID: eventstest.AliceUserID,
		CreatedAtMsec: "1795712520000", Encrypted: true}, c)
	assert.Equal(t, []string{events.KindChat}, p.Kinds())
	assert.Empty(t, p.Unknown)

	var env struct {
		Data struct {
			Payload map[string]any `json:"payload"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(raw, &env))
	js, err := json.Marshal(p)
	require.NoError(t, err)
	dump := string(js) + fmt.Sprintf("%+v %#v", p, p)
	for _, secret := range []string{"encoded_event", "conversation_token", "conversation_key_change_event"} {
		v, _ := env.Data.Payload[secret].(string)
		require.NotEmpty(t, v, secret)
		assert.NotContains(t, dump, v, secret)
	}
	assert.NotContains(t, dump, "ZmFrZS1zaWduYXR1cmUtYnl0ZXM=", "signature")

	p, err = events.Decode([]byte(`{"data":{"event_type":"chat.sent","payload":{"id":"x","sender_id":"1","encoded_event":""}}}`))
	require.NoError(t, err)
	assert.False(t, p.ChatEvents[0].Encrypted)
}

func TestDecodeXAAMalformedPayloads(t *testing.T) {
	for _, body := range []string{
		`{"data":{"event_type":"post.reply.create","payload":"x"}}`,
		`{"data":{"event_type":"post.quote.create","payload":{"id":"1","referenced_posts":{}}}}`,
		`{"data":{"event_type":"post.quote.create","payload":{"id":"1"},"includes":{"posts":"x"}}}`,
		`{"data":{"event_type":"post.delete","payload":[1]}}`,
		`{"data":{"event_type":"post.delete"}}`,
		`{"data":{"event_type":"oauth.revoke","payload":{"user_id":{}}}}`,
		`{"data":{"event_type":"chat.received","payload":{"sender_id":true}}}`,
		`{"data":{"event_type":"chat.received","payload":{"id":{}}}}`,
		`{"data":[{"event_type":"chat.sent","payload":1}]}`,
	} {
		p, err := events.Decode([]byte(body))
		assert.ErrorIs(t, err, events.ErrMalformed, body)
		assert.Nil(t, p, body)
	}
}

// Kinds feeds metric labels: whatever a body holds, it names only a fixed
// set of kinds.
func TestKindsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"follow_events":[]`)
	for i := range 20000 {
		fmt.Fprintf(&b, `,"k%d":1`, i)
	}
	b.WriteString(`}`)
	p, err := events.Decode([]byte(b.String()))
	require.NoError(t, err)
	require.Len(t, p.Unknown, 20000)
	assert.Equal(t, []string{events.KindOther}, p.Kinds())

	allowed := map[string]bool{}
	for _, k := range []string{events.KindTweetCreate, events.KindFavorite, events.KindFollow, events.KindBlock,
		events.KindMute, events.KindTweetDelete, events.KindUserEvent, events.KindReplayJobStatus,
		events.KindDirectMessage, events.KindDMIndicateTyping, events.KindDMMarkRead, events.KindChat, events.KindOther} {
		allowed[k] = true
	}
	seen := map[string]bool{}
	for _, name := range eventstest.Names() {
		for _, k := range eventstest.Payload(t, name).Kinds() {
			assert.True(t, allowed[k], "%s: kind %q", name, k)
			seen[k] = true
		}
	}
	// Many distinct XAA event types still make one label.
	for i := range 100 {
		p, err := events.Decode(fmt.Appendf(nil, `{"data":{"event_type":"x.%d","payload":{}}}`, i))
		require.NoError(t, err)
		assert.Equal(t, []string{events.KindOther}, p.Kinds())
	}
	assert.True(t, seen[events.KindChat] && seen[events.KindOther])
}
