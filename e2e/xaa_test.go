package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
)

// Stream timings of the XAA stacks: the fake's keep-alives come well
// within the consumer's stall timeout, so only an injected stall looks
// like one, and a refused connect is retried within a second.
const (
	streamKeepAlive = 200 * time.Millisecond
	streamStall     = 1500 * time.Millisecond
)

// xaaEnv returns the webhook's variables for X Activity API delivery, and
// sets the fake's stream up for short tests.
func (s *stack) xaaEnv(delivery string) []string {
	cfg := s.x.Config()
	s.x.SetStreamOptions(xfake.StreamOptions{KeepAlive: streamKeepAlive, RetryAfter: time.Second})
	env := []string{
		"DELIVERY=" + delivery,
		"X_API_BASE=" + s.x.URL(),
		"X_BEARER_TOKEN=" + cfg.BearerToken,
		"X_CONSUMER_KEY=" + cfg.ConsumerKey,
		"X_ACCESS_TOKEN=" + cfg.AccessToken,
		"X_ACCESS_TOKEN_SECRET=" + cfg.AccessTokenSecret,
		"STREAM_STALL_TIMEOUT=" + streamStall.String(),
		"STREAM_MIN_BACKOFF=100ms",
		"STREAM_MAX_BACKOFF=1s",
	}
	if delivery == "webhook" {
		env = append(env, "WEBHOOK_URL="+s.url()) // registers, and links the subscriptions to it
	}
	return env
}

// waitReady waits until url answers 200.
func (s *stack) waitReady(what, url string, p *proc) {
	s.t.Helper()
	eventually(s.t, 60*time.Second, what, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: status %d", url, resp.StatusCode)
		}
		return nil
	}, p)
}

// waitSubscribed waits until the webhook process has made the bot's XAA
// subscriptions: linked to its registered webhook with webhook delivery,
// without a webhook (the stream's) otherwise.
func (s *stack) waitSubscribed() {
	s.t.Helper()
	bot := s.x.Config().BotUserID
	eventually(s.t, 30*time.Second, "XAA subscriptions made by the webhook", func() error {
		var linked string
		if s.delivery == "webhook" {
			ws := s.x.Webhooks()
			if len(ws) != 1 || !ws[0].Valid {
				return fmt.Errorf("webhooks %+v", ws)
			}
			linked = ws[0].ID
		}
		var have []string
		for _, a := range s.x.ActivitySubscriptions() {
			if a.Filter.UserID == bot && a.WebhookID == linked {
				have = append(have, a.EventType)
			}
		}
		for _, want := range webhooks.DefaultActivityEventTypes {
			if !slices.Contains(have, want) {
				return fmt.Errorf("no %s subscription (webhook %q); have %v", want, linked, have)
			}
		}
		return nil
	}, s.webhook)
}

// botPost seeds a post by the bot, for replies and quotes to point at.
func (s *stack) botPost() xfake.Post {
	return s.x.SeedPost(xfake.Post{AuthorID: s.x.Config().BotUserID, Text: fmt.Sprintf("here is your image %d", s.users.Add(1))})
}

// xaaPost makes an XAA post command of the given event type
// (post.mention.create, post.reply.create or post.quote.create).
func (s *stack) xaaPost(eventType, text string) *cmd {
	s.t.Helper()
	u := s.newUser()
	handle := "@" + s.x.Config().BotScreenName + " "
	p := xfake.Post{AuthorID: u.UserID}
	switch eventType {
	case webhooks.EventPostMention:
		p.Text = handle + text
	case webhooks.EventPostReply:
		p.Text, p.InReplyToTweetID = handle+text, s.botPost().ID
	case webhooks.EventPostQuote:
		p.Text, p.QuoteTweetID = text, s.botPost().ID
	}
	p = s.x.SeedPost(p)
	var b []byte
	var err error
	switch eventType {
	case webhooks.EventPostMention:
		b, err = s.x.MentionEvent(p, u)
	case webhooks.EventPostReply:
		b, err = s.x.ReplyEvent(p, u)
	case webhooks.EventPostQuote:
		b, err = s.x.QuoteEvent(p, u)
	default:
		s.t.Fatalf("xaaPost: event type %q", eventType)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return &cmd{kind: "tweet", id: p.ID, userID: u.UserID, text: p.Text, payload: b, jobID: "tweet:" + p.ID, xaa: true}
}

// xaaDM makes an XAA dm.received command.
func (s *stack) xaaDM(text string) *cmd {
	s.t.Helper()
	u := s.newUser()
	d := s.x.SeedDM(xfake.DM{SenderID: u.UserID, RecipientID: s.x.Config().BotUserID, Text: text})
	b, err := s.x.DMReceivedEvent(d, u)
	if err != nil {
		s.t.Fatal(err)
	}
	return &cmd{kind: "dm", id: d.EventID, userID: u.UserID, text: text, payload: b, jobID: "dm:" + d.EventID, xaa: true}
}

// xaaCommands makes n XAA commands cycling over a mention, a reply to the
// bot's post, a quote of it and a DM, and over the three command words.
func (s *stack) xaaCommands(n int) []*cmd {
	words := []string{"moerand", "moemess", "moename e2e"}
	cs := make([]*cmd, n)
	for i := range cs {
		text := fmt.Sprintf("%s %d", words[i%len(words)], i)
		switch i % 4 {
		case 0:
			cs[i] = s.xaaPost(webhooks.EventPostMention, text)
		case 1:
			cs[i] = s.xaaPost(webhooks.EventPostReply, text)
		case 2:
			cs[i] = s.xaaPost(webhooks.EventPostQuote, text)
		default:
			cs[i] = s.xaaDM(text)
		}
	}
	return cs
}

// publishAll publishes every command once, failing on a webhook answer
// other than 200 or an event that reached neither a webhook nor an open
// stream.
func (s *stack) publishAll(cs []*cmd) {
	s.t.Helper()
	ctx := ctxFor(s.t, time.Minute)
	for _, c := range cs {
		pub, err := s.x.PublishEvent(ctx, c.payload)
		c.attempts++
		if err != nil {
			s.t.Fatalf("publish %s: %v", c.jobID, err)
		}
		if pub.Status != 0 && pub.Status != http.StatusOK {
			s.t.Fatalf("publish %s: webhook answered %d", c.jobID, pub.Status)
		}
		if s.delivery == "stream" && pub.StreamConnections == 0 {
			s.t.Fatalf("publish %s: no stream open (%+v)", c.jobID, pub)
		}
		c.acked = true
	}
}

// testSeed is the seed of a randomized test: MOETRON_E2E_SEED when set
// (to replay a failure), else the clock. The test logs it.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("MOETRON_E2E_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("MOETRON_E2E_SEED %q: %v", v, err)
		}
		seed = n
	}
	t.Logf("random seed %d (rerun with MOETRON_E2E_SEED=%d)", seed, seed)
	return seed
}
