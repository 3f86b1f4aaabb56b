package demo

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/reply"
	"github.com/moetron/moetron/xfake"
)

// Decisions shown in Row.Decision besides the filter's reasons.
const (
	DecisionRejected = "rejected"  // the webhook refused the POST (bad signature)
	DecisionNone     = "no action" // the delivery held no tweet or DM (e.g. a like)
)

// Row is one line of the demo's table: an event X delivered and what came of it.
type Row struct {
	Event    string // what was delivered
	Via      string // how: "webhook", "stream", "stream (backfill)", "webhook (AAA)"
	Decision string // the filter's reason ("job", "duplicate", ...), DecisionRejected or DecisionNone
	Command  string // the job's command, "" without a job
	Seed     string // the generation seed, "" without a reply
	Reply    string // "post <id>" or "dm <event id>", "" without a reply
	Image    string // the saved image file, "" without a reply
}

// replyKind says what answer an event should get.
type replyKind int

const (
	noReply replyKind = iota
	postReply
	dmReply
)

// via is how the fake X delivers an event.
type via int

const (
	viaWebhook    via = iota // PublishEvent: the webhook its XAA subscription links
	viaStream                // a line on the open persistent stream
	viaStreamGap             // published while the stream is down; recovered by backfill
	viaWebhookAAA            // a legacy Account Activity delivery, POSTed to the webhook
	viaForged                // POSTed to the webhook with a wrong signature
)

func (v via) String() string {
	switch v {
	case viaStream:
		return "stream"
	case viaStreamGap:
		return "stream (backfill)"
	case viaWebhookAAA:
		return "webhook (AAA)"
	default:
		return "webhook"
	}
}

type event struct {
	name    string
	payload []byte
	via     via

	want     string // expected decision
	command  string
	args     string
	kind     replyKind
	tweetID  string // the post to reply to (postReply)
	userID   string // the DM's sender (dmReply)
	jobID    string
	row      int
	answered bool
}

type scenario struct {
	x          *xfake.Server
	reg        *prometheus.Registry
	webhookURL string
	queue      queue.Queue
	outDir     string
	progress   func(string, ...any)
	// streamReady reports whether the webhook server's stream consumer is
	// connected.
	streamReady func() bool
	// botPostID is the bot's earlier post that the scenario replies to and
	// quotes; it answers no event.
	botPostID string
}

var (
	alice = xfake.Sender{UserID: "2244994945", ScreenName: "alice"}
	bob   = xfake.Sender{UserID: "783214", ScreenName: "bob"}
)

// events builds the scenario's deliveries in order: X Activity API events
// by webhook and by stream, duplicates across both paths, one legacy
// Account Activity delivery, and a forged POST.
func (s *scenario) events() ([]*event, error) {
	bot := s.x.Bot()
	at := "@" + bot.ScreenName + " "
	var evs []*event
	var firstErr error
	add := func(e *event, err error) *event {
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if e != nil {
			evs = append(evs, e)
		}
		return e
	}
	post := func(name string, v via, p xfake.Post, body []byte, err error, want, command, args string) *event {
		e := &event{name: name, via: v, payload: body, want: want, command: command, args: args,
			tweetID: p.ID, jobID: filter.JobID(filter.KindTweet, p.ID)}
		if want == "job" {
			e.kind = postReply
		}
		return add(e, err)
	}
	mention := func(author xfake.Sender, text string, v via, want, command, args string) *event {
		p := s.x.SeedPost(xfake.Post{AuthorID: author.UserID, Text: text})
		body, err := s.x.MentionEvent(p, author)
		return post(fmt.Sprintf("post.mention.create @%s: %q", author.ScreenName, text), v, p, body, err, want, command, args)
	}
	botPost := s.x.SeedPost(xfake.Post{AuthorID: bot.UserID, Text: "Here's your generated image! (seed 42)"})
	s.botPostID = botPost.ID

	mention(alice, at+"moerand", viaWebhook, "job", filter.CommandRand, "")
	mention(bob, at+"moemess please", viaStream, "job", filter.CommandMess, "please")

	// A reply to the bot's post: post.reply.create by stream, then the
	// same post as post.mention.create by webhook (X sends both).
	rp := s.x.SeedPost(xfake.Post{AuthorID: alice.UserID, Text: at + "moename sakura", InReplyToTweetID: botPost.ID})
	body, err := s.x.ReplyEvent(rp, alice)
	post(`post.reply.create @alice: "moename sakura"`, viaStream, rp, body, err, "job", filter.CommandName, "sakura")
	body, err = s.x.MentionEvent(rp, alice)
	post("the same post as post.mention.create", viaWebhook, rp, body, err, "duplicate", "", "")

	// A quote of the bot's post summons it without an @mention.
	qp := s.x.SeedPost(xfake.Post{AuthorID: bob.UserID, Text: "moerand for me too", QuoteTweetID: botPost.ID})
	body, err = s.x.QuoteEvent(qp, bob)
	post(`post.quote.create @bob: "moerand for me too"`, viaWebhook, qp, body, err, "job", filter.CommandRand, "")

	d := s.x.SeedDM(xfake.DM{SenderID: alice.UserID, RecipientID: bot.UserID, Text: "moerand"})
	dmBody, err := s.x.DMReceivedEvent(d, alice)
	add(&event{name: `dm.received from @alice: "moerand"`, via: viaStream, payload: dmBody, want: "job",
		command: filter.CommandRand, kind: dmReply, userID: alice.UserID, jobID: filter.JobID(filter.KindDM, d.EventID)}, err)
	add(&event{name: "the same DM again by webhook (X retry)", via: viaWebhook, payload: dmBody, want: "duplicate"}, nil)

	mention(bob, at+"hello there", viaWebhook, "not_a_command", "", "")

	chat := s.x.SeedDM(xfake.DM{SenderID: bob.UserID, RecipientID: bot.UserID, Text: "moerand"})
	body, err = s.x.ChatReceivedEvent(chat, bob)
	add(&event{name: "chat.received (XChat, end-to-end encrypted)", via: viaStream, payload: body,
		want: string(filter.ReasonEncrypted)}, err)

	ap := s.x.SeedPost(xfake.Post{AuthorID: bob.UserID, Text: at + "moerand"})
	body, err = s.x.MentionPayload(ap, bob)
	post(`legacy tweet_create_events @bob: "moerand"`, viaWebhookAAA, ap, body, err, "job", filter.CommandRand, "")

	mention(alice, at+"moemess while the stream was down", viaStreamGap, "job", filter.CommandMess,
		"while the stream was down")

	fp := s.x.SeedPost(xfake.Post{AuthorID: bob.UserID, Text: at + "moerand (forged)"})
	body, err = s.x.MentionEvent(fp, bob)
	post("forged POST (wrong signature)", viaForged, fp, body, err, DecisionRejected, "", "")
	if firstErr != nil {
		return nil, firstErr
	}
	for i, e := range evs {
		e.row = i
	}
	return evs, nil
}

// deliver hands e to the bot the way e.via says and returns the webhook's
// HTTP status (200 for stream deliveries).
func (s *scenario) deliver(ctx context.Context, e *event) (int, error) {
	switch e.via {
	case viaForged:
		return s.postForged(ctx, e.payload)
	case viaWebhookAAA:
		return s.x.Deliver(ctx, e.payload)
	case viaStream:
		if err := s.waitStream(ctx); err != nil {
			return 0, err
		}
		if s.x.DeliverStream(e.payload) == 0 {
			return 0, errors.New("no stream connection open")
		}
		return http.StatusOK, nil
	case viaStreamGap:
		// X is unreachable for a moment and the connection drops: the
		// event goes out while nobody listens, and the consumer's
		// reconnect asks for backfill_minutes.
		s.x.Outage(time.Hour)
		if _, err := s.x.InjectStreamFault(xfake.StreamFault{Kind: xfake.StreamDrop}); err != nil {
			s.x.EndOutage()
			return 0, err
		}
		for s.streamReady() && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		n := s.x.DeliverStream(e.payload)
		s.x.EndOutage()
		if n != 0 {
			return 0, errors.New("the stream was still connected during the gap")
		}
		return http.StatusOK, s.waitStream(ctx)
	default:
		pub, err := s.x.PublishEvent(ctx, e.payload)
		if err == nil && len(pub.WebhookIDs) == 0 {
			err = fmt.Errorf("no webhook is subscribed to %s", pub.EventType)
		}
		return pub.Status, err
	}
}

// waitStream waits until the stream consumer is connected.
func (s *scenario) waitStream(ctx context.Context) error {
	for !s.streamReady() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the stream did not connect: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// decision waits for the filter's verdict on the delivery just made: at
// once for the webhook (it answered after deciding), up to a few seconds
// for the stream, whose consumer works on its own.
//
// A backfill re-sends the stream's recent events besides the missed one;
// they are dropped as duplicates (or skipped again), so the row shows the
// missed event's decision and the progress line the rest.
func (s *scenario) decision(ctx context.Context, e *event, before map[string]float64) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := counters(s.reg, "moetron_webhook_decisions_total", "reason")
		d := diff(before, after)
		if e.via == viaStreamGap {
			if after[e.want] > before[e.want] {
				s.progress("backfill after the gap re-sent earlier events too: %s", d)
				return e.want
			}
		} else if d != "" || e.via != viaStream {
			return d
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return d
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *scenario) run(ctx context.Context, res *Result) error {
	evs, err := s.events()
	if err != nil {
		return fmt.Errorf("demo: building events: %w", err)
	}
	problem := func(format string, a ...any) { res.Problems = append(res.Problems, fmt.Sprintf(format, a...)) }
	res.Rows = make([]Row, len(evs))
	start := time.Now()
	for i, e := range evs {
		res.Rows[i] = Row{Event: e.name, Via: e.via.String(), Command: e.command}
		before := counters(s.reg, "moetron_webhook_decisions_total", "reason")
		status, err := s.deliver(ctx, e)
		if err != nil {
			return fmt.Errorf("demo: delivering %s: %w", e.name, err)
		}
		decision := s.decision(ctx, e, before)
		switch {
		case status == http.StatusForbidden && e.via == viaForged:
			decision = DecisionRejected
		case status != http.StatusOK:
			problem("%s: the webhook answered %d", e.name, status)
		case decision == "":
			decision = DecisionNone
		}
		res.Rows[i].Decision = decision
		if decision != e.want {
			problem("%s: decision %q, want %q", e.name, decision, e.want)
		}
		s.progress("delivered %-50s %-18s -> %d %s", e.name, e.via, status, decision)
	}
	res.Timings.Deliver = time.Since(start)

	// Wait for every expected answer and an empty queue (every job deleted).
	for {
		pending := 0
		for _, e := range evs {
			if e.kind != noReply && !e.answered {
				if s.collect(e, res) {
					e.answered = true
				} else {
					pending++
				}
			}
		}
		n, qerr := s.queue.Len(ctx)
		if pending == 0 && qerr == nil && n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			for _, e := range evs {
				if e.kind != noReply && !e.answered {
					problem("%s: no reply within the timeout", e.name)
				}
			}
			if qerr == nil && n > 0 {
				problem("%d job(s) still on the queue", n)
			}
			res.Timings.Replies = time.Since(start)
			s.checkExtra(evs, problem)
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	res.Timings.Replies = time.Since(start)
	// A short grace period, so that a second answer to a job would show.
	time.Sleep(300 * time.Millisecond)
	for _, e := range evs {
		if e.kind == noReply {
			continue
		}
		if err := s.save(e, res); err != nil {
			problem("%s: %v", e.name, err)
		}
	}
	s.checkExtra(evs, problem)
	return nil
}

// collect fills e's row once its answer is on the fake X.
func (s *scenario) collect(e *event, res *Result) bool {
	row := &res.Rows[e.row]
	switch e.kind {
	case postReply:
		rs := s.x.RepliesTo(e.tweetID)
		if len(rs) == 0 {
			return false
		}
		row.Reply = "post " + rs[0].ID
	case dmReply:
		rid := reply.RequestID(e.jobID)
		for _, d := range s.x.DMsTo(e.userID) {
			if d.SenderID == s.x.Bot().UserID && strings.Contains(d.Text, rid) {
				row.Reply = "dm " + d.EventID
				return true
			}
		}
		return false
	}
	return true
}

// save checks e's answer (one answer, with an image, naming the seed the
// command gives) and writes its image to the output directory.
func (s *scenario) save(e *event, res *Result) error {
	row := &res.Rows[e.row]
	req, err := imagegen.DefaultCommands().Request(e.command, e.args, e.jobID)
	if err != nil {
		return err
	}
	row.Seed = fmt.Sprint(req.Seed)
	var text string
	var media []string
	switch e.kind {
	case postReply:
		rs := s.x.RepliesTo(e.tweetID)
		if len(rs) != 1 {
			return fmt.Errorf("%d replies, want exactly 1", len(rs))
		}
		text, media = rs[0].Text, rs[0].MediaIDs
	case dmReply:
		var n int
		rid := reply.RequestID(e.jobID)
		for _, d := range s.x.DMsTo(e.userID) {
			if strings.Contains(d.Text, rid) {
				n++
				text, media = d.Text, d.MediaIDs
			}
		}
		if n != 1 {
			return fmt.Errorf("%d DMs, want exactly 1", n)
		}
	}
	if !strings.Contains(text, "seed "+row.Seed) {
		return fmt.Errorf("reply %q does not name seed %s", text, row.Seed)
	}
	if len(media) != 1 {
		return fmt.Errorf("reply carries %d media, want 1", len(media))
	}
	up, ok := s.x.Upload(media[0])
	if !ok || len(up.Data) == 0 {
		return fmt.Errorf("media %s was not uploaded", media[0])
	}
	ext := ".png"
	if up.MediaType == "image/jpeg" {
		ext = ".jpg"
	}
	name := filepath.Join(s.outDir, fmt.Sprintf("%02d-%s-%s-seed%s%s", e.row+1, e.command, kindName(e.kind), row.Seed, ext))
	if err := os.WriteFile(name, up.Data, 0o644); err != nil {
		return err
	}
	row.Image = fmt.Sprintf("%s (%dx%d)", name, up.Width, up.Height)
	return nil
}

func kindName(k replyKind) string {
	if k == dmReply {
		return "dm"
	}
	return "post"
}

// checkExtra reports every post or DM of the bot that answers no expected
// event.
func (s *scenario) checkExtra(evs []*event, problem func(string, ...any)) {
	bot := s.x.Bot().UserID
	want := map[string]bool{}
	for _, e := range evs {
		if e.kind != noReply {
			want[e.jobID] = true
		}
	}
	for _, p := range s.x.Posts() {
		if p.AuthorID != bot || (p.ID == s.botPostID && s.botPostID != "") {
			continue
		}
		if !want[filter.JobID(filter.KindTweet, p.InReplyToTweetID)] {
			problem("unexpected post %s by the bot (reply to %q): %q", p.ID, p.InReplyToTweetID, p.Text)
		}
	}
	for _, d := range s.x.DMs() {
		if d.SenderID != bot {
			continue
		}
		ok := false
		for _, e := range evs {
			if e.kind == dmReply && d.RecipientID == e.userID && strings.Contains(d.Text, reply.RequestID(e.jobID)) {
				ok = true
			}
		}
		if !ok {
			problem("unexpected DM %s by the bot to %s: %q", d.EventID, d.RecipientID, d.Text)
		}
	}
}

// postForged sends body to the webhook as X would, but signed with a secret
// that is not the app's.
func (s *scenario) postForged(ctx context.Context, body []byte) (int, error) {
	mac := hmac.New(sha256.New, []byte("not-the-consumer-secret"))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(xfake.SignatureHeader, "sha256="+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
