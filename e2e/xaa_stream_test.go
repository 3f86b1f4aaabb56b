package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
)

// okConnects counts the stream connections the fake accepted.
func okConnects(x *xfake.Server) int {
	n := 0
	for _, c := range x.StreamConnects() {
		if c.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// The stream is dropped or stalled at least twelve times, at random points
// (a logged seed), while 50 XAA commands flow: resets at once, resets after
// a few more lines, and silences that the consumer must notice by its stall
// timeout. Every command is answered exactly once: what a gap cost is read
// again from X's history (the consumer asks backfill_minutes on every
// reconnect), and what arrives twice is one job.
func TestXAAStreamChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("drops and stalls the stream a dozen times; skipped with -short")
	}
	rng := rand.New(rand.NewPCG(testSeed(t), 3))
	s := newStack(t, sqliteQueue(t), stackOptions{startWorker: true, delivery: "stream"})
	cs := s.xaaCommands(50)
	const faults = 12
	// One fault in each stretch of four commands, at a random place in it:
	// at least two commands follow every fault before the next, so that a
	// drop after one or two more lines has happened by then.
	at := map[int]bool{}
	for j := range faults {
		at[2+4*j+rng.IntN(2)] = true
	}

	ctx := ctxFor(t, 3*time.Minute)
	var kinds []string
	applied := 0
	for i, c := range cs {
		if at[i] {
			// Wait for the consumer to be back from the last fault, so that
			// each fault is its own gap.
			want := applied + 1
			eventually(t, 15*time.Second, "stream reconnected", func() error {
				if n := okConnects(s.x); n < want || s.x.StreamConnections() == 0 {
					return fmt.Errorf("%d accepted connections, want %d, %d open", n, want, s.x.StreamConnections())
				}
				return nil
			}, s.webhook)
			var f xfake.StreamFault
			switch rng.IntN(3) {
			case 0:
				f = xfake.StreamFault{Kind: xfake.StreamDrop}
			case 1:
				f = xfake.StreamFault{Kind: xfake.StreamDrop, AfterLines: 1 + rng.IntN(2)}
			default:
				f = xfake.StreamFault{Kind: xfake.StreamStall}
			}
			if n, err := s.x.InjectStreamFault(f); err != nil || n == 0 {
				t.Fatalf("fault %d (%v): reached %d streams: %v", applied+1, f.Kind, n, err)
			}
			applied++
			kinds = append(kinds, fmt.Sprintf("%v/%d@%d", f.Kind, f.AfterLines, i))
		}
		if _, err := s.x.PublishEvent(ctx, c.payload); err != nil {
			t.Fatalf("publish %s: %v", c.jobID, err)
		}
		c.acked = true
		time.Sleep(time.Duration(30+rng.IntN(150)) * time.Millisecond)
	}
	t.Logf("faults (kind/after-lines@command): %s", strings.Join(kinds, " "))
	s.waitAnswered(cs, 3*time.Minute)
	s.settle(2 * time.Second)
	s.checkExactlyOnce(cs)

	// Every fault cost a connection, and every reconnect asked for backfill.
	conns := s.x.StreamConnects()
	var ok, backfilled int
	for i, c := range conns {
		if c.Status == http.StatusOK {
			ok++
			if i > 0 && c.Query.Get("backfill_minutes") != "" && c.Query.Get("backfill_minutes") != "0" {
				backfilled++
			}
		}
	}
	if ok < faults+1 {
		t.Errorf("%d accepted stream connections, want at least %d (one per fault, plus the first)", ok, faults+1)
	}
	if backfilled < faults {
		t.Errorf("%d reconnects asked for backfill, want at least %d", backfilled, faults)
	}
	m := s.webhookMetrics()
	if got := m.sum("moetron_stream_reconnects_total"); got < faults {
		t.Errorf("stream reconnects = %v, want at least %d", got, faults)
	}
	if got := m.sum("moetron_webhook_jobs_enqueued_total"); got < float64(len(cs)) {
		t.Errorf("jobs enqueued = %v, want at least %d", got, len(cs))
	}
	t.Logf("%d connections, %d backfilled; duplicates dropped by the filter: %v", ok, backfilled,
		m.sum("moetron_webhook_decisions_total", `reason="duplicate"`))
}

// The same post delivered as post.mention.create and post.reply.create, the
// same envelope twice, and (with DELIVERY=both) the same event on the
// webhook and on the stream: one job and one answer each.
func TestXAADuplicates(t *testing.T) {
	t.Run("mention-and-reply", func(t *testing.T) {
		s := newStack(t, sqliteQueue(t), stackOptions{startWorker: true, delivery: "stream"})
		var cs []*cmd
		var extra [][]byte
		for i := range 3 {
			c := s.xaaPost(webhooks.EventPostReply, fmt.Sprintf("moerand dup %d", i))
			p := xfake.Post{ID: c.id, AuthorID: c.userID, Text: c.text}
			for _, q := range s.x.Posts() {
				if q.ID == c.id {
					p = q
				}
			}
			m, err := s.x.MentionEvent(p, xfake.Sender{UserID: c.userID, ScreenName: "dup"})
			if err != nil {
				t.Fatal(err)
			}
			cs, extra = append(cs, c), append(extra, m, c.payload) // as a mention, and the reply again
		}
		s.publishAll(cs)
		ctx := ctxFor(t, time.Minute)
		for _, b := range extra {
			if _, err := s.x.PublishEvent(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		s.waitAnswered(cs, 2*time.Minute)
		s.settle(2 * time.Second)
		s.checkExactlyOnce(cs)
		m := s.webhookMetrics()
		if got := m.sum("moetron_webhook_jobs_enqueued_total"); got != float64(len(cs)) {
			t.Errorf("jobs enqueued = %v, want %d (one per post)", got, len(cs))
		}
		if got := m.sum("moetron_webhook_decisions_total", `reason="duplicate"`); got < float64(len(extra)) {
			t.Errorf("duplicate decisions = %v, want %d", got, len(extra))
		}
	})
	t.Run("webhook-and-stream", func(t *testing.T) {
		// DELIVERY=both: the subscriptions (made by the webhook process,
		// without a webhook) feed the stream, and X also POSTs each event to
		// the registered webhook.
		s := newStack(t, sqliteQueue(t), stackOptions{startWorker: true, delivery: "both"})
		s.register()
		cs := s.xaaCommands(4)
		ctx := ctxFor(t, time.Minute)
		for i, c := range cs {
			post := func() {
				if st, err := s.x.Deliver(ctx, c.payload); err != nil || st != http.StatusOK {
					t.Fatalf("webhook delivery of %s: %d %v", c.jobID, st, err)
				}
			}
			stream := func() {
				if pub, err := s.x.PublishEvent(ctx, c.payload); err != nil || !pub.Stream || pub.StreamConnections == 0 {
					t.Fatalf("stream delivery of %s: %+v %v", c.jobID, pub, err)
				}
			}
			if i%2 == 0 { // either may come first
				post()
				stream()
			} else {
				stream()
				post()
			}
			c.acked = true
		}
		s.waitAnswered(cs, 2*time.Minute)
		s.settle(2 * time.Second)
		s.checkExactlyOnce(cs)
		m := s.webhookMetrics()
		if got := m.sum("moetron_webhook_jobs_enqueued_total"); got != float64(len(cs)) {
			t.Errorf("jobs enqueued = %v, want %d", got, len(cs))
		}
		if got := m.sum("moetron_stream_events_taken_total"); got != float64(len(cs)) {
			t.Errorf("stream events taken = %v, want %d", got, len(cs))
		}
		if got := m.sum("moetron_webhook_requests_total", `outcome="ok"`); got != float64(len(cs)) {
			t.Errorf("webhook requests ok = %v, want %d", got, len(cs))
		}
	})
}

// Lines that are not events on the stream (garbage, a line over the size
// limit, an event type the bot does not know, an {"errors":[...]} line
// that ends the connection): each is skipped and counted, the webhook
// process keeps running, and commands before and after are answered once.
func TestXAAStreamBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short")
	}
	s := newStack(t, sqliteQueue(t), stackOptions{startWorker: true, delivery: "stream"})
	cs := s.xaaCommands(6)
	s.publishAll(cs[:2])
	inject := func(f xfake.StreamFault) {
		t.Helper()
		if n, err := s.x.InjectStreamFault(f); err != nil || n == 0 {
			t.Fatalf("%v: reached %d streams: %v", f.Kind, n, err)
		}
	}
	inject(xfake.StreamFault{Kind: xfake.StreamGarbage, Count: 5})
	inject(xfake.StreamFault{Kind: xfake.StreamOversized, Size: 2 << 20})
	unknown := fmt.Sprintf(`{"data":{"event_uuid":"e2e-unknown","filter":{"user_id":%q},"event_type":"post.teleport.create","payload":{"id":"1"}}}`,
		s.x.Config().BotUserID)
	if n := s.x.DeliverStream([]byte(unknown)); n == 0 {
		t.Fatal("no stream open for the unknown event")
	}
	s.x.DeliverStream([]byte(`{"note":"an object that is no envelope"}`))
	s.publishAll(cs[2:4])
	before := okConnects(s.x)
	inject(xfake.StreamFault{Kind: xfake.StreamErrorThenClose, Title: "operational-disconnect", Detail: "e2e"})
	eventually(t, 15*time.Second, "stream reconnected after the error line", func() error {
		if okConnects(s.x) <= before || s.x.StreamConnections() == 0 {
			return fmt.Errorf("%d accepted connections, %d open", okConnects(s.x), s.x.StreamConnections())
		}
		return nil
	}, s.webhook)
	s.publishAll(cs[4:])
	s.waitAnswered(cs, 2*time.Minute)
	s.settle(2 * time.Second)
	s.checkExactlyOnce(cs)

	if gone, err := s.webhook.Exited(); gone {
		t.Fatalf("webhook exited: %v", err)
	}
	m := s.webhookMetrics()
	for reason, least := range map[string]float64{"malformed": 1, "oversized": 1, "error_line": 1, "unknown": 1} {
		if got := m.sum("moetron_stream_lines_skipped_total", `reason="`+reason+`"`); got < least {
			t.Errorf("lines skipped {reason=%q} = %v, want at least %v", reason, got, least)
		}
	}
	if got := m.sum("moetron_webhook_jobs_enqueued_total"); got != float64(len(cs)) {
		t.Errorf("jobs enqueued = %v, want %d (nothing but the commands)", got, len(cs))
	}
	if strings.Contains(tail(s.webhook.log, 10000), "panic") {
		t.Error("the webhook log shows a panic")
	}
}

// A wrong bearer token: the stream answers 401, and the webhook binary
// exits non-zero promptly with a message that says so and does not show
// the token.
func TestXAAStreamUnauthorized(t *testing.T) {
	bin := needBinary(t, "webhook")
	x := xfake.Start(t, xfake.Config{})
	token := "e2e-wrong-bearer-" + fmt.Sprint(time.Now().UnixNano())
	addr := freeAddr(t)
	p := newProc(t, "webhook", bin, withEnv(append(sqliteQueue(t).vars(),
		"DELIVERY=stream",
		"X_API_BASE="+x.URL(),
		"X_BEARER_TOKEN="+token,
		"BOT_USER_ID="+x.Config().BotUserID,
		"WEBHOOK_ADDR="+addr,
		"SPOOL_DIR="+t.TempDir(),
		"LOG_LEVEL=debug",
	)...))
	start := time.Now()
	p.Start()
	var exitErr error
	eventually(t, 30*time.Second, "webhook exits on 401", func() error {
		gone, err := p.Exited()
		if !gone {
			return fmt.Errorf("still running")
		}
		exitErr = err
		return nil
	})
	t.Logf("exited after %v: %v", time.Since(start).Round(time.Millisecond), exitErr)
	if exitErr == nil {
		t.Error("the webhook exited 0 after X refused its token, want non-zero")
	}
	log, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), token) {
		t.Errorf("the log shows the bearer token:\n%s", log)
	}
	low := strings.ToLower(string(log))
	if !strings.Contains(low, "401") && !strings.Contains(low, "unauthorized") {
		t.Errorf("the log does not say the token was refused:\n%s", log)
	}
	if cs := x.StreamConnects(); len(cs) == 0 || cs[0].Status != http.StatusUnauthorized {
		t.Errorf("stream connects %+v, want a first one answered 401", cs)
	} else if len(cs) > 1 {
		t.Errorf("%d connects, want one: a refused token is not retried", len(cs))
	}
}
