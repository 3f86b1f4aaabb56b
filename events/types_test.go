package events_test

import (
	"testing"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/stretchr/testify/assert"
)

func TestVisibleText(t *testing.T) {
	cases := []struct {
		name string
		tw   events.Tweet
		want string
	}{
		{"plain", events.Tweet{Text: "@bot moerand"}, "@bot moerand"},
		{"entities decoded once", events.Tweet{Text: "a &amp; b &lt;3 &gt; &amp;lt;"}, "a & b <3 > &lt;"},
		{"range cuts prefix and suffix", events.Tweet{Text: "@bot @al moerand https://t.co/x", DisplayTextRange: []int{9, 16}}, "moerand"},
		{"range in code points", events.Tweet{Text: "🌸🌸 moename 桜", DisplayTextRange: []int{3, 12}}, "moename 桜"},
		{"range counts unescaped text", events.Tweet{Text: "a &amp; b https://t.co/x", DisplayTextRange: []int{0, 5}}, "a & b"},
		{"range end past text clamps", events.Tweet{Text: "moerand", DisplayTextRange: []int{0, 99}}, "moerand"},
		{"range start past text", events.Tweet{Text: "moerand", DisplayTextRange: []int{50, 99}}, ""},
		{"inverted range ignored", events.Tweet{Text: "moerand", DisplayTextRange: []int{5, 2}}, "moerand"},
		{"negative range ignored", events.Tweet{Text: "moerand", DisplayTextRange: []int{-1, 2}}, "moerand"},
		{"one-number range ignored", events.Tweet{Text: "moerand", DisplayTextRange: []int{2}}, "moerand"},
		{"truncated uses full text and its range", events.Tweet{Text: "short… https://t.co/x", Truncated: true, DisplayTextRange: []int{0, 5},
			ExtendedTweet: &events.ExtendedTweet{FullText: "@bot moename long text", DisplayTextRange: []int{5, 22}}}, "moename long text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, c.tw.VisibleText())
		})
	}
	var nilTweet *events.Tweet
	assert.Empty(t, nilTweet.VisibleText())
}

func TestMentionsOnlyInExtendedTweet(t *testing.T) {
	p := eventstest.Payload(t, "truncated_extended_mention")
	tw := &p.TweetCreateEvents[0]
	assert.Empty(t, tw.Entities.UserMentions, "fixture keeps the mention out of the compat entities")
	assert.Equal(t, []string{eventstest.BotUserID}, tw.MentionIDs())
	assert.True(t, tw.Mentions(eventstest.BotUserID))
	assert.False(t, tw.Mentions(""))
	assert.Contains(t, tw.VisibleText(), "@moetronbot moename sakura under the moonlight")
}

func TestMentionIDsDeduplicates(t *testing.T) {
	tw := events.Tweet{
		Entities:      events.Entities{UserMentions: []events.Mention{{ID: "1"}, {ID: "2"}, {ID: ""}}},
		ExtendedTweet: &events.ExtendedTweet{Entities: events.Entities{UserMentions: []events.Mention{{ID: "2"}, {ID: "3"}}}},
	}
	assert.Equal(t, []string{"1", "2", "3"}, tw.MentionIDs())
}

func TestIsRetweet(t *testing.T) {
	assert.True(t, eventstest.Payload(t, "retweet_of_command").TweetCreateEvents[0].IsRetweet())
	assert.False(t, eventstest.Payload(t, "quote_of_command").TweetCreateEvents[0].IsRetweet())
	assert.False(t, eventstest.Payload(t, "mention_moerand").TweetCreateEvents[0].IsRetweet())
}

func TestDMVisibleText(t *testing.T) {
	d := events.DirectMessage{Text: "  moename x https://t.co/a https://t.co/img  ", Attachment: &events.Media{URL: "https://t.co/img"}}
	assert.Equal(t, "moename x https://t.co/a", d.VisibleText(), "only the attachment link goes")
	d = events.DirectMessage{Text: "moerand https://t.co/img"}
	assert.Equal(t, "moerand https://t.co/img", d.VisibleText(), "no attachment, nothing removed")
	d = events.DirectMessage{Text: "a &amp; b"}
	assert.Equal(t, "a & b", d.VisibleText())
}

func TestKindsOrder(t *testing.T) {
	p := &events.Payload{
		DirectMessageEvents: []events.DirectMessage{{}},
		TweetCreateEvents:   []events.Tweet{{}},
		UserEvent:           &events.UserEvent{},
	}
	assert.Equal(t, []string{events.KindTweetCreate, events.KindUserEvent, events.KindDirectMessage}, p.Kinds())
	var nilPayload *events.Payload
	assert.Nil(t, nilPayload.Kinds())
}
