package demo

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moetron/moetron/events/eventstest"
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

type event struct {
	name      string
	payload   []byte
	duplicate bool // DeliverDuplicate instead of payload
	forged    bool // POST payload with a wrong signature

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
}

var (
	alice = xfake.Sender{UserID: "2244994945", ScreenName: "alice"}
	bob   = xfake.Sender{UserID: "783214", ScreenName: "bob"}
)

// events builds the scenario's deliveries in order.
func (s *scenario) events() ([]*event, error) {
	bot := s.x.Bot()
	mention := func(author xfake.Sender, text, want, command, args string) (*event, error) {
		p := s.x.SeedPost(xfake.Post{AuthorID: author.UserID, Text: text})
		body, err := s.x.MentionPayload(p, author)
		if err != nil {
			return nil, err
		}
		e := &event{name: fmt.Sprintf("mention @%s: %q", author.ScreenName, text), payload: body, want: want,
			command: command, args: args, tweetID: p.ID, jobID: filter.JobID(filter.KindTweet, p.ID)}
		if want == "job" {
			e.kind = postReply
		}
		return e, nil
	}
	var evs []*event
	add := func(e *event, err error) error {
		if err != nil {
			return err
		}
		evs = append(evs, e)
		return nil
	}
	at := "@" + bot.ScreenName + " "
	for _, m := range []struct {
		author                xfake.Sender
		text, want, cmd, args string
	}{
		{alice, at + "moerand", "job", filter.CommandRand, ""},
		{bob, at + "moemess please", "job", filter.CommandMess, "please"},
		{alice, at + "moename sakura", "job", filter.CommandName, "sakura"},
	} {
		if err := add(mention(m.author, m.text, m.want, m.cmd, m.args)); err != nil {
			return nil, err
		}
	}
	evs = append(evs, &event{name: "the same delivery again (X retry)", duplicate: true, want: "duplicate"})

	d := s.x.SeedDM(xfake.DM{SenderID: alice.UserID, RecipientID: bot.UserID, Text: "moerand"})
	body, err := s.x.DMPayload(d, alice)
	if err != nil {
		return nil, err
	}
	evs = append(evs, &event{name: `DM from @alice: "moerand"`, payload: body, want: "job", command: filter.CommandRand,
		kind: dmReply, userID: alice.UserID, jobID: filter.JobID(filter.KindDM, d.EventID)})

	if err := add(mention(bob, at+"hello there", "not_a_command", "", "")); err != nil {
		return nil, err
	}
	for _, f := range []struct{ fixture, name, want string }{
		{"retweet_of_command", "retweet of a command", "retweet"},
		{"bot_echo_tweet", "the bot's own reply, echoed", "own_event"},
		{"favorite", "like of the bot's reply", DecisionNone},
	} {
		evs = append(evs, &event{name: f.name, payload: eventstest.Fixture(f.fixture), want: f.want})
	}
	forged, err := mention(bob, at+"moerand (forged)", DecisionRejected, "", "")
	if err != nil {
		return nil, err
	}
	forged.name, forged.forged, forged.kind = "forged POST (wrong signature)", true, noReply
	evs = append(evs, forged)
	for i, e := range evs {
		e.row = i
	}
	return evs, nil
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
		res.Rows[i] = Row{Event: e.name, Command: e.command}
		before := counters(s.reg, "moetron_webhook_decisions_total", "reason")
		var status int
		switch {
		case e.forged:
			status, err = s.postForged(ctx, e.payload)
		case e.duplicate:
			status, err = s.x.DeliverDuplicate(ctx)
		default:
			status, err = s.x.Deliver(ctx, e.payload)
		}
		if err != nil {
			return fmt.Errorf("demo: delivering %s: %w", e.name, err)
		}
		decision := diff(before, counters(s.reg, "moetron_webhook_decisions_total", "reason"))
		switch {
		case status == http.StatusForbidden && e.forged:
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
		s.progress("delivered %-45s -> %d %s", e.name, status, decision)
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
		if p.AuthorID != bot {
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
