package events_test

import (
	"strings"
	"testing"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name, body string
		want       error
	}{
		{"empty", "", events.ErrNotObject},
		{"spaces", "  \n", events.ErrNotObject},
		{"array", `[{"for_user_id":"1"}]`, events.ErrNotObject},
		{"string", `"hello"`, events.ErrNotObject},
		{"number", `12`, events.ErrNotObject},
		{"null", `null`, events.ErrNotObject},
		{"trailing garbage", `{"for_user_id":"1"} x`, events.ErrNotObject},
		{"two objects", `{}{}`, events.ErrNotObject},
		{"unterminated", `{"for_user_id":"1"`, events.ErrMalformed},
		{"bad syntax", `{"for_user_id":}`, events.ErrMalformed},
		{"events not a list", `{"tweet_create_events":"x"}`, events.ErrMalformed},
		{"text not a string", `{"tweet_create_events":[{"id_str":"1","text":5}]}`, events.ErrMalformed},
		{"blocked not a bool", `{"user_has_blocked":"maybe"}`, events.ErrMalformed},
		{"timestamp not a number", `{"tweet_create_events":[{"timestamp_ms":"soon"}]}`, events.ErrMalformed},
		{"too deep", `{"x":` + strings.Repeat("[", events.MaxDepth) + strings.Repeat("]", events.MaxDepth) + `}`, events.ErrTooDeep},
		{"xaa payload not an object", `{"data":{"event_type":"post.mention.create","payload":[1]}}`, events.ErrMalformed},
		{"xaa dm payload not an object", `{"data":{"event_type":"dm.received","payload":"x"}}`, events.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := events.Decode([]byte(c.body))
			require.ErrorIs(t, err, c.want)
			assert.Nil(t, p)
		})
	}
}

func TestDecodeDepthLimitIsExact(t *testing.T) {
	// MaxDepth levels including the top object are fine; one more is not.
	ok := `{"x":` + strings.Repeat("[", events.MaxDepth-1) + strings.Repeat("]", events.MaxDepth-1) + `}`
	_, err := events.Decode([]byte(ok))
	require.NoError(t, err)
	// Brackets inside strings do not count.
	_, err = events.Decode([]byte(`{"x":"` + strings.Repeat("[{", 500) + `\"]"}`))
	require.NoError(t, err)
	// Nor do brackets side by side.
	_, err = events.Decode([]byte(`{"x":[` + strings.Repeat(`[{}],`, 200) + `[]]}`))
	require.NoError(t, err)
	// A string that ends in an escaped backslash ends at its quote.
	deep := strings.Repeat("[", events.MaxDepth) + strings.Repeat("]", events.MaxDepth)
	_, err = events.Decode([]byte(`{"x":"\\","y":` + deep + `}`))
	require.ErrorIs(t, err, events.ErrTooDeep)
	_, err = events.Decode([]byte(`{"x":"\\\"` + deep + `"}`))
	require.NoError(t, err)
}

// Of a repeated member name the last copy wins: an object merges into the
// earlier copy, anything else replaces it, and a top-level kind is
// replaced whole.
func TestDecodeRepeatedNames(t *testing.T) {
	p, err := events.Decode([]byte(`{"for_user_id":"1","for_user_id":"2","some":1,"some":[2]}`))
	require.NoError(t, err)
	assert.Equal(t, "2", p.ForUserID)
	assert.Equal(t, "[2]", string(p.Unknown["some"]))

	// A top-level kind is replaced whole, null included.
	p, err = events.Decode([]byte(`{"user_event":{"revoke":{"date_time":"x"}},"user_event":{},` +
		`"tweet_create_events":[{"id_str":"1"}],"tweet_create_events":[]}`))
	require.NoError(t, err)
	assert.Equal(t, &events.UserEvent{}, p.UserEvent)
	assert.Empty(t, p.TweetCreateEvents)
	p, err = events.Decode([]byte(`{"users":{"1":{}},"users":null}`))
	require.NoError(t, err)
	assert.Nil(t, p.Users)

	// Inside an event, a later value wins and objects merge.
	p, err = events.Decode([]byte(`{"tweet_create_events":[{"id_str":"1","text":"a","text":"b",` +
		`"user":{"id_str":"3","screen_name":"x"},"user":{"screen_name":"y"},"display_text_range":[0,1],"display_text_range":[2]}]}`))
	require.NoError(t, err)
	tw := p.TweetCreateEvents[0]
	assert.Equal(t, "b", tw.Text)
	assert.Equal(t, events.User{ID: "3", ScreenName: "y"}, tw.User)
	assert.Equal(t, []int{2}, tw.DisplayTextRange)

	// Map entries merge too; null replaces.
	p, err = events.Decode([]byte(`{"users":{"1":{"screen_name":"a","name":"A"},"1":{"screen_name":"b"}},` +
		`"tweet_create_events":[{"id_str":"1","text":"a","text":null}]}`))
	require.NoError(t, err)
	assert.Equal(t, events.User{ID: "1", ScreenName: "b", Name: "A"}, p.Users["1"])
	assert.Empty(t, p.TweetCreateEvents[0].Text)

	// Each copy must have the right type.
	_, err = events.Decode([]byte(`{"tweet_create_events":"x","tweet_create_events":[]}`))
	require.ErrorIs(t, err, events.ErrMalformed)

	// In an envelope too.
	p, err = events.Decode([]byte(`{"data":{"event_type":"post.delete","event_type":"post.create","payload":{"id":"1"},"payload":{"id":"2"}}}`))
	require.NoError(t, err)
	assert.Equal(t, "post.create", p.XAA.EventType)
	assert.Equal(t, "2", p.TweetCreateEvents[0].ID)
}

// Names match exactly, case included: a name in other case is an unknown
// member, skipped inside events and kept at the top level.
func TestDecodeNamesMatchExactly(t *testing.T) {
	p, err := events.Decode([]byte(`{"tweet_create_events":[{"ID_STR":"1","Text":"upper","id_str":"2","text":"lower","User":{"id_str":"3"}}]}`))
	require.NoError(t, err)
	tw := p.TweetCreateEvents[0]
	assert.Equal(t, "2", tw.ID)
	assert.Equal(t, "lower", tw.Text)
	assert.Empty(t, tw.User.ID)

	p, err = events.Decode([]byte(`{"Tweet_Create_Events":[{"id_str":"1"}],"FOR_USER_ID":"9"}`))
	require.NoError(t, err)
	assert.Empty(t, p.TweetCreateEvents)
	assert.Empty(t, p.ForUserID)
	assert.Equal(t, []string{events.KindOther}, p.Kinds())
	assert.Contains(t, p.Unknown, "Tweet_Create_Events")
	assert.Contains(t, p.Unknown, "FOR_USER_ID")

	// An envelope's names too: without event_type this is no envelope.
	p, err = events.Decode([]byte(`{"data":{"EVENT_TYPE":"dm.sent","payload":{}}}`))
	require.NoError(t, err)
	assert.Equal(t, events.SourceAAA, p.Source)
	assert.Contains(t, p.Unknown, "data")

	// Escapes are read before matching.
	p, err = events.Decode([]byte(`{"tweet\u005fcreate_events":[{"id\u005fstr":"1"}]}`))
	require.NoError(t, err)
	assert.Equal(t, "1", p.TweetCreateEvents[0].ID)
}

func TestDecodeSkipsUnknownMembers(t *testing.T) {
	p, err := events.Decode([]byte(`{"tweet_create_events":[{"id_str":"1","edit_controls":{"editable_until_ms":[1,{"x":null}]},
		"user":{"id_str":"2","withheld_in_countries":["DE"]},"entities":{"symbols":[{"text":"X"}]}}],
		"future_top":{"a":[true]}}`))
	require.NoError(t, err)
	assert.Equal(t, "1", p.TweetCreateEvents[0].ID)
	assert.Equal(t, "2", p.TweetCreateEvents[0].User.ID)
	assert.JSONEq(t, `{"a":[true]}`, string(p.Unknown["future_top"]))
}

// Invalid UTF-8 in a string reads as U+FFFD, as with encoding/json,
// rather than failing the delivery.
func TestDecodeInvalidUTF8(t *testing.T) {
	p, err := events.Decode([]byte("{\"tweet_create_events\":[{\"id_str\":\"1\",\"text\":\"a\xffb\"}]}"))
	require.NoError(t, err)
	assert.Equal(t, "a\ufffdb", p.TweetCreateEvents[0].Text)
}

func TestDecodeLargeIDsComeFromStrings(t *testing.T) {
	p := eventstest.Payload(t, "large_ids")
	require.Len(t, p.TweetCreateEvents, 1)
	tw := p.TweetCreateEvents[0]
	assert.Equal(t, "1332557345071644685", tw.ID, "id_str, not the rounded numeric id")
	assert.Equal(t, eventstest.AliceUserID, tw.User.ID)
	assert.Equal(t, int64(1795712400013), tw.TimestampMs, "timestamp_ms as a number")
	assert.False(t, p.UserHasBlocked, `"false" as a string`)

	// A numeric id with no id_str is ignored rather than trusted.
	p, err := events.Decode([]byte(`{"tweet_create_events":[{"id":1332557345071644700,"user":{"id":1247048165561270300}}]}`))
	require.NoError(t, err)
	assert.Empty(t, p.TweetCreateEvents[0].ID)
	assert.Empty(t, p.TweetCreateEvents[0].User.ID)
}

func TestDecodeFlexibleFields(t *testing.T) {
	for _, c := range []struct {
		body    string
		blocked bool
		ts      int64
	}{
		{`{"user_has_blocked":true,"tweet_create_events":[{"timestamp_ms":"1795712400000"}]}`, true, 1795712400000},
		{`{"user_has_blocked":"true","tweet_create_events":[{"timestamp_ms":1795712400000}]}`, true, 1795712400000},
		{`{"user_has_blocked":"TRUE","tweet_create_events":[{"timestamp_ms":null}]}`, true, 0},
		{`{"user_has_blocked":false,"tweet_create_events":[{"timestamp_ms":""}]}`, false, 0},
		{`{"user_has_blocked":null,"tweet_create_events":[{}]}`, false, 0},
	} {
		p, err := events.Decode([]byte(c.body))
		require.NoError(t, err, c.body)
		assert.Equal(t, c.blocked, p.UserHasBlocked, c.body)
		assert.Equal(t, c.ts, p.TweetCreateEvents[0].TimestampMs, c.body)
	}
}

func TestDecodeEscapedSlashesAndUnicode(t *testing.T) {
	p, err := events.Decode([]byte(`{"tweet_create_events":[{"id_str":"1","text":"a\/b \ud83c\udf38","user":{"id_str":"2","profile_image_url_https":"https:\/\/pbs.twimg.com\/x.jpg"}}]}`))
	require.NoError(t, err)
	assert.Equal(t, "a/b 🌸", p.TweetCreateEvents[0].Text)
	assert.Equal(t, "https://pbs.twimg.com/x.jpg", p.TweetCreateEvents[0].User.ProfileImageURLHTTPS)
}

func TestDecodeKeepsUnknownKinds(t *testing.T) {
	p := eventstest.Payload(t, "unknown_kind")
	assert.Equal(t, []string{events.KindFollow, events.KindOther}, p.Kinds())
	assert.JSONEq(t, `[{"id":"1","kind":"sparkle"}]`, string(p.Unknown["some_future_events"]))

	p, err := events.Decode([]byte(`{"data":{"event_type":"profile.update.bio","filter":{"user_id":"7"},"payload":{"before":"a","after":"b"}}}`))
	require.NoError(t, err)
	assert.Equal(t, events.SourceXAA, p.Source)
	assert.Equal(t, "7", p.ForUserID)
	assert.Equal(t, []string{events.KindOther}, p.Kinds())
	assert.Contains(t, p.Unknown, "profile.update.bio")

	// "data" that is no XAA envelope is an unknown AAA key, not an error.
	p, err = events.Decode([]byte(`{"data":{"x":1}}`))
	require.NoError(t, err)
	assert.Equal(t, events.SourceAAA, p.Source)
	assert.Equal(t, []string{events.KindOther}, p.Kinds())
	assert.Contains(t, p.Unknown, "data")
}

func TestDecodeXAAMention(t *testing.T) {
	p := eventstest.Payload(t, "xaa_post_mention_create")
	assert.Equal(t, events.SourceXAA, p.Source)
	assert.Equal(t, eventstest.BotUserID, p.ForUserID)
	require.NotNil(t, p.XAA)
	assert.Equal(t, "post.mention.create", p.XAA.EventType)
	require.Len(t, p.TweetCreateEvents, 1)
	tw := &p.TweetCreateEvents[0]
	assert.Equal(t, "1332557345071644690", tw.ID)
	assert.Equal(t, eventstest.AliceUserID, tw.User.ID)
	assert.Equal(t, "alice", tw.User.ScreenName, "author looked up in includes.users")
	assert.True(t, tw.Mentions(eventstest.BotUserID))
	assert.Equal(t, "Thu Nov 26 17:00:00 +0000 2026", tw.CreatedAt, "RFC 3339 normalized to the v1.1 layout")
	assert.Equal(t, int64(1795712400000), tw.TimestampMs)
}

func TestDecodeXAAReferencesAndV1Payload(t *testing.T) {
	body := `{"data":{"event_type":"post.mention.create","filter":{"user_id":"9"},"payload":{
		"id":"5","text":"RT @a: @bot moerand","author_id":"3","in_reply_to_user_id":"9",
		"referenced_tweets":[{"type":"retweeted","id":"4"},{"type":"replied_to","id":"2"},{"type":"quoted","id":"1"}],
		"note_tweet":{"text":"long text @bot moename x","entities":{"mentions":[{"start":10,"end":14,"username":"bot","id":"9"}]}}},
		"includes":{"users":[{"data":{"id":"9","username":"bot"}}],"tweets":[{"id":"4","text":"@bot moerand","author_id":"8"}]}}}`
	p, err := events.Decode([]byte(body))
	require.NoError(t, err)
	tw := &p.TweetCreateEvents[0]
	require.True(t, tw.IsRetweet())
	assert.Equal(t, "@bot moerand", tw.RetweetedStatus.Text)
	assert.Equal(t, "2", tw.InReplyToStatusID)
	assert.Equal(t, "bot", tw.InReplyToScreenName, "user wrapped in data")
	assert.Equal(t, "1", tw.QuotedStatusID)
	assert.Equal(t, "long text @bot moename x", tw.VisibleText(), "note_tweet is the full text")
	assert.Equal(t, []string{"9"}, tw.MentionIDs())

	// The v1.1 tweet shape inside an XAA envelope is accepted too.
	p, err = events.Decode([]byte(`{"data":{"event_type":"post.mention.create","filter":{"user_id":"9"},"payload":{"id":7,"id_str":"7","text":"hi","user":{"id_str":"3"}}}}`))
	require.NoError(t, err)
	assert.Equal(t, "7", p.TweetCreateEvents[0].ID)
	assert.Equal(t, "9", p.ForUserID)
}

func TestDecodeDMs(t *testing.T) {
	p := eventstest.Payload(t, "dm_image")
	require.Len(t, p.DirectMessageEvents, 1)
	d := p.DirectMessageEvents[0]
	assert.Equal(t, eventstest.AliceUserID, d.SenderID)
	assert.Equal(t, eventstest.BotUserID, d.RecipientID)
	require.NotNil(t, d.Attachment)
	assert.Equal(t, "1332559999000000001", d.Attachment.ID)
	assert.Equal(t, "moename sakura & moon", d.VisibleText())
	assert.Equal(t, "alice", p.Users[eventstest.AliceUserID].ScreenName)

	echo := eventstest.Payload(t, "dm_bot_echo")
	assert.Equal(t, eventstest.BotUserID, echo.DirectMessageEvents[0].SenderID)
	assert.Equal(t, "moetron", echo.Apps[echo.DirectMessageEvents[0].SourceAppID].Name)

	x := eventstest.Payload(t, "xaa_dm_received")
	assert.Equal(t, "moemess", x.DirectMessageEvents[0].VisibleText())
	assert.Equal(t, "alice", x.Users[eventstest.AliceUserID].ScreenName, "XAA users are wrapped in data")
}

func TestDecodeOtherKinds(t *testing.T) {
	fav := eventstest.Payload(t, "favorite")
	assert.Equal(t, int64(1795712460000), fav.FavoriteEvents[0].TimestampMs)
	assert.Equal(t, eventstest.AliceUserID, fav.FavoriteEvents[0].User.ID)

	del := eventstest.Payload(t, "tweet_delete")
	assert.Equal(t, events.TweetDeleteEvent{TweetID: "1332557345071644672", UserID: eventstest.AliceUserID, TimestampMs: 1795712480000}, del.TweetDeleteEvents[0])

	rev := eventstest.Payload(t, "user_event_revoke")
	require.NotNil(t, rev.UserEvent)
	assert.Equal(t, &events.Revoke{DateTime: "2026-11-26T17:30:00.000Z", AppID: "19800001", UserID: eventstest.AliceUserID}, rev.UserEvent.Revoke)
	assert.Empty(t, rev.ForUserID)

	rj := eventstest.Payload(t, "replay_job_status")
	assert.Equal(t, "Complete", rj.ReplayJobStatus.JobState)

	bm := eventstest.Payload(t, "block_mute")
	assert.Equal(t, "block", bm.BlockEvents[0].Type)
	assert.Equal(t, eventstest.BobUserID, bm.BlockEvents[0].Target.ID)
	assert.Equal(t, "unmute", bm.MuteEvents[0].Type)

	tr := eventstest.Payload(t, "dm_typing_read")
	assert.Equal(t, eventstest.AliceUserID, tr.DirectMessageIndicateTypingEvents[0].SenderID)
	assert.Equal(t, "1332560000000000003", tr.DirectMessageMarkReadEvents[0].LastReadEventID)
}

func FuzzDecode(f *testing.F) {
	for _, name := range eventstest.Names() {
		f.Add(eventstest.Fixture(name))
	}
	f.Add([]byte(`{"data":{"event_type":"post.mention.create","payload":{"id":"1","referenced_tweets":[{"type":"quoted","id":"1"}]},"includes":{"tweets":[{"id":"1"}]}}}`))
	f.Add([]byte(`{"tweet_create_events":[{"text":"&amp;🌸","display_text_range":[1,0]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := events.Decode(data)
		if err != nil {
			if p != nil {
				t.Fatal("payload returned with an error")
			}
			return
		}
		// Whatever decodes must survive the helpers.
		_ = p.Kinds()
		for i := range p.TweetCreateEvents {
			tw := &p.TweetCreateEvents[i]
			_ = tw.VisibleText()
			_ = tw.MentionIDs()
			_ = tw.AllMedia()
		}
		for i := range p.DirectMessageEvents {
			_ = p.DirectMessageEvents[i].VisibleText()
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	// A 2.9 KB truncated mention (the ~3 KB case), a 4.7 KB quote, a 1.9 KB
	// DM with an image, and X Activity API envelopes: a mention, a DM and
	// an array of three events.
	for _, name := range []string{"truncated_extended_mention", "quote_with_command", "dm_image",
		"xaa_post_mention_create", "xaa_dm_received", "xaa_data_array"} {
		raw := eventstest.Fixture(name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			start := cpuClock()
			for b.Loop() {
				if _, err := events.Decode(raw); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// A Payload shares no memory with the body: a caller may reuse its buffer.
func TestDecodeCopiesFromBody(t *testing.T) {
	for _, name := range eventstest.Names() {
		body := eventstest.Fixture(name)
		want, err := events.Decode(eventstest.Fixture(name))
		require.NoError(t, err, name)
		got, err := events.Decode(body)
		require.NoError(t, err, name)
		for i := range body {
			body[i] = ' '
		}
		assert.Equal(t, want, got, name)
	}
}
