package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/moetron/moetron/xfake"
)

// The one-process home bot (examples/bot) against the fake X's stream: it
// makes its XAA subscriptions, reads the stream, queues in SQLite and
// answers. It is SIGKILLed once mid-flow, commands are published while it
// is down, and it is started again: the start-up backfill reads what it
// missed, the job ledger keeps what it re-reads from being answered twice,
// and every command is answered exactly once. SIGTERM then stops it with
// exit status 0.
func TestBotBinary(t *testing.T) {
	bin := needBinary(t, "bot")
	needORT(t)
	x := xfake.Start(t, xfake.Config{DuplicateWindow: time.Hour})
	x.SetStreamOptions(xfake.StreamOptions{KeepAlive: streamKeepAlive, RetryAfter: time.Second})
	cfg := x.Config()
	q := sqliteQueue(t)
	addr := freeAddr(t)
	p := newProc(t, "bot", bin, withEnv(append(q.vars(),
		"BOT_USER_ID="+cfg.BotUserID,
		"X_CONSUMER_KEY="+cfg.ConsumerKey,
		"X_CONSUMER_SECRET="+cfg.ConsumerSecret,
		"X_ACCESS_TOKEN="+cfg.AccessToken,
		"X_ACCESS_TOKEN_SECRET="+cfg.AccessTokenSecret,
		"X_BEARER_TOKEN="+cfg.BearerToken,
		"X_API_BASE="+x.URL(),
		"METRICS_ADDR="+addr,
		"DEVICE=cpu",
		"WORKER_VISIBILITY=2s", // jobs the killed process held come back soon
		"STREAM_STALL_TIMEOUT="+streamStall.String(),
		"STREAM_MIN_BACKOFF=100ms",
		"STREAM_MAX_BACKOFF=1s",
		"SPOOL_DIR="+filepath.Join(t.TempDir(), "spool"),
		"LOG_LEVEL=debug",
	)...))
	s := &stack{t: t, x: x, q: q, delivery: "stream", webhook: p}
	start := func() {
		t.Helper()
		p.Start()
		s.waitReady("bot ready (stream connected, worker consuming)", "http://"+addr+"/readyz", p)
	}
	start()
	s.waitSubscribed()

	cs := s.xaaCommands(12)
	before, down, after := cs[:5], cs[5:8], cs[8:]
	s.publishAll(before)
	time.Sleep(300 * time.Millisecond) // some answered, some in flight
	p.Kill()
	t.Logf("bot killed with %d posts and DMs of the bot's on X", s.botAnswers())
	ctx := ctxFor(t, time.Minute)
	for _, c := range down { // no stream open: into X's history only
		if _, err := x.PublishEvent(ctx, c.payload); err != nil {
			t.Fatal(err)
		}
		c.acked = true
	}
	start()
	s.publishAll(after)
	s.waitAnswered(cs, 2*time.Minute)
	s.settle(2 * time.Second)
	s.checkExactlyOnce(cs)

	conns := x.StreamConnects()
	if last := conns[len(conns)-1]; last.Query.Get("backfill_minutes") == "" {
		t.Errorf("the restarted bot connected with %v, want backfill_minutes", last.Query)
	}
	m := scrape(t, "http://"+addr+"/metrics")
	if got := m.sum("moetron_worker_jobs_total", `outcome="replied"`); got < 1 {
		t.Errorf("worker jobs replied = %v after the restart, want some", got)
	}
	if err := p.Stop(30 * time.Second); err != nil {
		t.Errorf("SIGTERM: %v, want a clean exit", err)
	}
	// Nothing else was answered (the bot's own seeded posts are no replies).
	answers := 0
	for _, po := range x.Posts() {
		if po.AuthorID == cfg.BotUserID && po.InReplyToTweetID != "" {
			answers++
		}
	}
	for _, dm := range x.DMs() {
		if dm.SenderID == cfg.BotUserID {
			answers++
		}
	}
	if answers != len(cs) {
		t.Errorf("the bot sent %d replies and DMs, want %d", answers, len(cs))
	}
}
