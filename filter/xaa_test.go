package filter_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestFilter(t *testing.T) *filter.Filter {
	t.Helper()
	f, err := filter.New(filter.Config{BotUserID: eventstest.BotUserID, Now: func() time.Time { return fixtureAt }})
	require.NoError(t, err)
	return f
}

func decode(t *testing.T, body []byte) *events.Payload {
	t.Helper()
	p, err := events.Decode(body)
	require.NoError(t, err, "%s", body)
	return p
}

func reasons(rs []filter.Result) []filter.Reason {
	var out []filter.Reason
	for _, r := range rs {
		out = append(out, r.Reason)
	}
	return out
}

// X delivers post.quote.create for quotes of the bot's posts, and counts
// a quote as summoning the bot; the event type is what addresses it.
func TestXAAQuoteOfBotIsAddressed(t *testing.T) {
	table := filter.DefaultTable()
	p := eventstest.Payload(t, "xaa_post_quote_create")
	require.Empty(t, p.TweetCreateEvents[0].MentionIDs())
	res := table.Evaluate(eventstest.BotUserID, p, fixtureAt)
	require.Len(t, res, 1)
	assert.Equal(t, filter.ReasonJob, res[0].Reason)

	// The same post under another event type (a quote of someone else's
	// post, seen by post.create of its author) is not for the bot.
	for _, et := range []string{"", events.XAAPostCreate, events.XAAPostMentionCreate} {
		p.TweetCreateEvents[0].XAAEventType = et
		assert.Equal(t, filter.ReasonNotAddressed, table.Evaluate(eventstest.BotUserID, p, fixtureAt)[0].Reason, et)
	}
	// A quote event for another user is not for the bot either.
	q := decode(t, bytes.Replace(eventstest.Fixture("xaa_post_quote_create"),
		[]byte(`"filter":{"user_id":"`+eventstest.BotUserID), []byte(`"filter":{"user_id":"`+eventstest.AliceUserID), 1))
	assert.Equal(t, filter.ReasonNotForBot, table.Evaluate(eventstest.BotUserID, q, fixtureAt)[0].Reason)
}

// post.reply.create is a direct reply to the bot's post: addressed even
// when X leaves out in_reply_to_user_id and the post mentions nobody.
func TestXAAReplyIsAddressed(t *testing.T) {
	body := []byte(`{"data":{"event_type":"post.reply.create","filter":{"user_id":"` + eventstest.BotUserID + `"},` +
		`"payload":{"id":"1332557500000000100","author_id":"` + eventstest.AliceUserID + `","text":"moerand",` +
		`"referenced_tweets":[{"type":"replied_to","id":"1332557400000000001"}]}}}`)
	res := filter.DefaultTable().Evaluate(eventstest.BotUserID, decode(t, body), fixtureAt)
	require.Len(t, res, 1)
	assert.Equal(t, filter.ReasonJob, res[0].Reason)
	// As a mention event (no mention, no reply to the bot) it is not.
	res = filter.DefaultTable().Evaluate(eventstest.BotUserID,
		decode(t, bytes.Replace(body, []byte("post.reply.create"), []byte("post.mention.create"), 1)), fixtureAt)
	assert.Equal(t, filter.ReasonNotAddressed, res[0].Reason)
}

// The bot's own acts come back as post.create and dm.sent; a repost of
// the bot's post is a retweet. None becomes a job, even with a keyword.
func TestXAAEchoesAndRepostsMakeNoJob(t *testing.T) {
	f := newTestFilter(t)
	for name, want := range map[string]filter.Reason{
		"xaa_post_create":        filter.ReasonOwnEvent,
		"xaa_dm_sent":            filter.ReasonOwnEvent,
		"xaa_post_repost_create": filter.ReasonRetweet,
	} {
		assert.Equal(t, []filter.Reason{want}, reasons(f.Results(eventstest.Payload(t, name))), name)
	}
}

func TestXAAChatIsEncrypted(t *testing.T) {
	f := newTestFilter(t)
	res := f.Results(eventstest.Payload(t, "xaa_chat_received"))
	require.Len(t, res, 1)
	assert.Equal(t, filter.ReasonEncrypted, res[0].Reason)
	assert.Equal(t, filter.KindChat, res[0].Kind)
	assert.Equal(t, eventstest.AliceUserID, res[0].UserID)
	assert.Nil(t, res[0].Job)

	p := &events.Payload{ForUserID: eventstest.BotUserID, ChatEvents: []events.ChatEvent{
		{EventType: events.XAAChatSent, ID: "u1", SenderID: eventstest.BotUserID, Encrypted: true},
		{EventType: events.XAAChatReceived, ID: "", SenderID: eventstest.AliceUserID},
		{EventType: events.XAAChatReceived, ID: "u3", SenderID: "x"},
	}}
	assert.Equal(t, []filter.Reason{filter.ReasonOwnEvent, filter.ReasonInvalid, filter.ReasonInvalid}, reasons(f.Results(p)))
	p = &events.Payload{ForUserID: eventstest.AliceUserID, ChatEvents: []events.ChatEvent{{ID: "u4", SenderID: eventstest.BobUserID}}}
	assert.Equal(t, []filter.Reason{filter.ReasonNotForBot}, reasons(f.Results(p)))
}

// Regression: a replayed XAA delivery makes a job (it used to decode as
// AAA with unknown keys and make none), and a replay of a delivery that
// was answered is a duplicate.
func TestXAAReplayMakesOneJob(t *testing.T) {
	f := newTestFilter(t)
	jobs := f.Jobs(eventstest.Payload(t, "xaa_replay_mention"))
	require.Len(t, jobs, 1)
	assert.Equal(t, "tweet:1332557500000000005", jobs[0].ID)

	live := eventstest.Fixture("xaa_post_mention_create")
	require.Len(t, f.Jobs(decode(t, live)), 1)
	replay := append(bytes.TrimSuffix(bytes.TrimSpace(live), []byte("}")), []byte(`,"meta":{"replay":true}}`)...)
	p := decode(t, replay)
	require.True(t, p.XAA.Replay)
	assert.Equal(t, []filter.Reason{filter.ReasonDuplicate}, reasons(f.Results(p)))
}

// One post can arrive as post.mention.create and post.reply.create, by
// webhook and by stream, and during the parallel run by AAA too. The job
// id is tweet:<post id> whatever the path, so only the first makes a job.
func TestXAADuplicatesAcrossEventTypesAndAPIs(t *testing.T) {
	mention := eventstest.Fixture("xaa_post_mention_create") // post 1332557345071644690
	asReply := bytes.Replace(mention, []byte(`"event_type":"post.mention.create"`), []byte(`"event_type":"post.reply.create"`), 1)
	require.NotEqual(t, mention, asReply)
	aaa := []byte(`{"for_user_id":"` + eventstest.BotUserID + `","tweet_create_events":[{"id_str":"1332557345071644690",` +
		`"text":"@moetronbot moename hello!","user":{"id_str":"` + eventstest.AliceUserID + `","screen_name":"alice"},` +
		`"entities":{"user_mentions":[{"id_str":"` + eventstest.BotUserID + `","indices":[0,11]}]}}]}`)

	for name, bodies := range map[string][][]byte{
		"mention then reply":         {mention, asReply},
		"reply then mention":         {asReply, mention},
		"same event twice":           {mention, mention},
		"AAA then XAA":               {aaa, mention},
		"XAA then AAA":               {mention, aaa},
		"webhook, stream and replay": {mention, mention, asReply, aaa},
	} {
		t.Run(name, func(t *testing.T) {
			f := newTestFilter(t)
			var jobs []filter.Job
			for i, b := range bodies {
				res := f.Results(decode(t, b))
				require.Len(t, res, 1)
				if i > 0 {
					assert.Equal(t, filter.ReasonDuplicate, res[0].Reason, "delivery %d", i)
				}
				if res[0].Job != nil {
					jobs = append(jobs, *res[0].Job)
				}
			}
			require.Len(t, jobs, 1)
			assert.Equal(t, "tweet:1332557345071644690", jobs[0].ID)
		})
	}

	// DMs: the same dm.received twice, and its AAA twin, make one job.
	f := newTestFilter(t)
	dm := eventstest.Fixture("xaa_dm_received")
	aaaDM := []byte(`{"for_user_id":"` + eventstest.BotUserID + `","direct_message_events":[{"type":"message_create",` +
		`"id":"1332560000000000010","message_create":{"target":{"recipient_id":"` + eventstest.BotUserID + `"},` +
		`"sender_id":"` + eventstest.AliceUserID + `","message_data":{"text":"moemess"}}}]}`)
	var n int
	for _, b := range [][]byte{dm, dm, aaaDM} {
		n += len(f.Jobs(decode(t, b)))
	}
	assert.Equal(t, 1, n)
}
