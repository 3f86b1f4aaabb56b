package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/moetron/moetron/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testBot   = "1114259648326987776"
	testAlice = "1247048165561270272"
	testBob   = "1299999999999999999"
)

var testAt = time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)

func alice() events.User { return events.User{ID: testAlice, ScreenName: "alice", Name: "Alice"} }

func mention(ids ...string) events.Entities {
	var e events.Entities
	for _, id := range ids {
		e.UserMentions = append(e.UserMentions, events.Mention{ID: id})
	}
	return e
}

// mentionTweet is alice mentioning the bot.
func mentionTweet(id, text string) events.Tweet {
	return events.Tweet{ID: id, Text: text, User: alice(), Entities: mention(testBot)}
}

func dmTo(id, from, to, text string) events.DirectMessage {
	return events.DirectMessage{ID: id, Type: "message_create", SenderID: from, RecipientID: to, Text: text}
}

func TestEvaluateTweets(t *testing.T) {
	rt := mentionTweet("10", "RT @alice: @bot moerand")
	orig := mentionTweet("9", "@bot moerand")
	rt.RetweetedStatus = &orig
	long := events.Tweet{
		ID: "11", Text: "@bot this is cut…", Truncated: true, User: alice(),
		ExtendedTweet: &events.ExtendedTweet{
			FullText: "@bot this is cut off &amp; then moename Zoë &lt;3", DisplayTextRange: []int{5, 46},
			Entities: mention(testBot),
		},
	}
	cases := []struct {
		name   string
		tw     events.Tweet
		reason Reason
		cmd    string
		args   string
		text   string
	}{
		{"mention", mentionTweet("1", "@bot moerand"), ReasonJob, "rand", "", "@bot moerand"},
		{"mention with args", mentionTweet("2", "@bot moename hello world"), ReasonJob, "name", "hello world", ""},
		{"reply without mention entity", events.Tweet{ID: "3", Text: "moemess", User: alice(), InReplyToUserID: testBot},
			ReasonJob, "mess", "", ""},
		{"extended tweet, entities, range", long, ReasonJob, "name", "Zoë <3", "this is cut off & then moename Zoë <3"},
		{"display range hides the keyword", events.Tweet{ID: "12", Text: "@moerand hi", DisplayTextRange: []int{9, 11},
			User: alice(), InReplyToUserID: testBot}, ReasonNotACommand, "", "", ""},
		{"not a command", mentionTweet("4", "@bot hello"), ReasonNotACommand, "", "", ""},
		{"keyword inside a word", mentionTweet("5", "@bot moerandom"), ReasonNotACommand, "", "", ""},
		{"own post", events.Tweet{ID: "6", Text: "moerand", User: events.User{ID: testBot}, InReplyToUserID: testBot},
			ReasonOwnEvent, "", "", ""},
		{"retweet", rt, ReasonRetweet, "", "", ""},
		{"mentions someone else", events.Tweet{ID: "7", Text: "@x moerand", User: alice(), Entities: mention(testBob)},
			ReasonNotAddressed, "", "", ""},
		{"reply to someone else", events.Tweet{ID: "8", Text: "moerand", User: alice(), InReplyToUserID: testBob},
			ReasonNotAddressed, "", "", ""},
		{"text names the bot but no entity", events.Tweet{ID: "13", Text: "@bot moerand", User: alice()},
			ReasonNotAddressed, "", "", ""},
		{"missing id", mentionTweet("", "@bot moerand"), ReasonInvalid, "", "", ""},
		{"numeric-looking bad id", mentionTweet("1e5", "@bot moerand"), ReasonInvalid, "", "", ""},
		{"missing author", events.Tweet{ID: "14", Text: "@bot moerand", Entities: mention(testBot)}, ReasonInvalid, "", "", ""},
		{"too large", mentionTweet("15", "@bot moename "+strings.Repeat("<", MaxMessageSize/10)), ReasonTooLarge, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &events.Payload{ForUserID: testBot, TweetCreateEvents: []events.Tweet{c.tw}}
			res := DefaultTable().Evaluate(testBot, p, testAt)
			require.Len(t, res, 1)
			r := res[0]
			assert.Equal(t, c.reason, r.Reason)
			assert.Equal(t, KindTweet, r.Kind)
			assert.Equal(t, c.tw.ID, r.EventID)
			assert.Equal(t, c.tw.User.ID, r.UserID)
			if c.reason != ReasonJob {
				assert.Nil(t, r.Job)
				assert.True(t, r.Skipped())
				return
			}
			require.NotNil(t, r.Job)
			assert.False(t, r.Skipped())
			j := r.Job
			assert.Equal(t, c.cmd, j.Command)
			assert.Equal(t, c.args, j.Args)
			if c.text != "" {
				assert.Equal(t, c.text, j.Text)
			}
			assert.Equal(t, KindTweet, j.MsgType)
			assert.Equal(t, c.tw.ID, j.RespondID)
			assert.Equal(t, "tweet:"+c.tw.ID, j.ID)
			assert.Equal(t, testAlice, j.UserID)
			assert.Equal(t, "alice", j.ScreenName)
			assert.Equal(t, testBot, j.ForUserID)
			assert.Equal(t, testAt, j.ReceivedAt)
			_, err := j.Body()
			assert.NoError(t, err, "every job Evaluate makes must be a valid message")
		})
	}
}

func TestEvaluateDMs(t *testing.T) {
	withImage := dmTo("6", testAlice, testBot, "moename cat https://t.co/abc")
	withImage.Attachment = &events.Media{ID: "99", Type: "photo", URL: "https://t.co/abc"}
	cases := []struct {
		name   string
		dm     events.DirectMessage
		reason Reason
		cmd    string
		args   string
	}{
		{"command", dmTo("1", testAlice, testBot, "MoeMess"), ReasonJob, "mess", ""},
		{"no recipient given", dmTo("2", testAlice, "", "moerand please"), ReasonJob, "rand", "please"},
		{"image link dropped from args", withImage, ReasonJob, "name", "cat"},
		{"not a command", dmTo("3", testAlice, testBot, "hi!"), ReasonNotACommand, "", ""},
		{"bot's own dm (echo)", dmTo("4", testBot, testAlice, "moerand"), ReasonOwnEvent, "", ""},
		{"to someone else", dmTo("5", testAlice, testBob, "moerand"), ReasonNotAddressed, "", ""},
		{"no sender", dmTo("7", "", testBot, "moerand"), ReasonInvalid, "", ""},
		{"bad id", dmTo("x7", testAlice, testBot, "moerand"), ReasonInvalid, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &events.Payload{
				ForUserID: testBot, DirectMessageEvents: []events.DirectMessage{c.dm},
				Users: map[string]events.User{testAlice: alice(), testBot: {ID: testBot, ScreenName: "bot"}},
			}
			res := DefaultTable().Evaluate(testBot, p, testAt)
			require.Len(t, res, 1)
			r := res[0]
			assert.Equal(t, c.reason, r.Reason)
			assert.Equal(t, KindDM, r.Kind)
			assert.Equal(t, c.dm.ID, r.EventID)
			if c.reason != ReasonJob {
				assert.Nil(t, r.Job)
				return
			}
			require.NotNil(t, r.Job)
			assert.Equal(t, Job{
				MsgType: KindDM, RespondID: c.dm.ID, Text: c.dm.VisibleText(), UserID: testAlice,
				ID: "dm:" + c.dm.ID, Command: c.cmd, Args: c.args, ForUserID: testBot,
				ScreenName: "alice", ReceivedAt: testAt,
			}, *r.Job)
		})
	}
}

func TestEvaluatePayloadLevel(t *testing.T) {
	tweets := []events.Tweet{mentionTweet("1", "@bot moerand"), mentionTweet("2", "@bot hi")}
	dms := []events.DirectMessage{dmTo("3", testAlice, testBot, "moerand")}
	reasons := func(res []Result) []Reason {
		var out []Reason
		for _, r := range res {
			out = append(out, r.Reason)
		}
		return out
	}

	p := &events.Payload{ForUserID: testBot, TweetCreateEvents: tweets, DirectMessageEvents: dms}
	assert.Equal(t, []Reason{ReasonJob, ReasonNotACommand, ReasonJob}, reasons(DefaultTable().Evaluate(testBot, p, testAt)),
		"tweets first, then DMs, in payload order")

	blocked := *p
	blocked.UserHasBlocked = true
	assert.Equal(t, []Reason{ReasonBlocked, ReasonBlocked, ReasonBlocked}, reasons(DefaultTable().Evaluate(testBot, &blocked, testAt)))

	other := *p
	other.ForUserID = testBob
	assert.Equal(t, []Reason{ReasonNotForBot, ReasonNotForBot, ReasonNotForBot}, reasons(DefaultTable().Evaluate(testBot, &other, testAt)))

	noFor := *p
	noFor.ForUserID = ""
	res := DefaultTable().Evaluate(testBot, &noFor, testAt)
	require.Equal(t, ReasonJob, res[0].Reason)
	assert.Equal(t, testBot, res[0].Job.ForUserID, "an empty for_user_id is the bot")

	for _, bot := range []string{"", "bot"} {
		for _, r := range DefaultTable().Evaluate(bot, &noFor, testAt) {
			assert.NotEqual(t, ReasonJob, r.Reason, "bot id %q must address nothing", bot)
		}
	}

	assert.Nil(t, DefaultTable().Evaluate(testBot, nil, testAt))
	assert.Empty(t, DefaultTable().Evaluate(testBot, &events.Payload{ForUserID: testBot,
		FavoriteEvents: []events.FavoriteEvent{{ID: "1"}}}, testAt), "other kinds give no results")
}

func TestReasonsListsEveryConstant(t *testing.T) {
	// Every reason a test in this package produced must be listed, once.
	produced := []Reason{ReasonJob, ReasonNotACommand, ReasonOwnEvent, ReasonRetweet, ReasonNotAddressed,
		ReasonBlocked, ReasonNotForBot, ReasonInvalid, ReasonTooLarge, ReasonDuplicate, ReasonRateLimited,
		ReasonEncrypted}
	all := Reasons()
	assert.ElementsMatch(t, produced, all)
	assert.Equal(t, ReasonJob, all[0])
	seen := map[Reason]bool{}
	for _, r := range all {
		assert.False(t, seen[r], "%s listed twice", r)
		seen[r] = true
		assert.Regexp(t, `^[a-z_]+$`, string(r))
	}
}
