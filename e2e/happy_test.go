package e2e

import (
	"testing"
	"time"
)

// The bot's whole path on each queue backend: X delivers signed mentions and
// DMs to the webhook binary, the worker binary answers each with exactly one
// image (a reply post for a mention, a DM for a DM), and the metrics of both
// processes count what happened.
func TestHappyPath(t *testing.T) {
	for _, b := range []struct {
		name string
		q    func(testing.TB) qconf
	}{
		{"sqlite", sqliteQueue},
		{"azure", azureQueue},
	} {
		t.Run(b.name, func(t *testing.T) {
			s := newStack(t, b.q(t), stackOptions{startWorker: true})
			cs := s.commands(4) // two mentions, two DMs, every command word
			s.deliverAll(cs)
			s.waitAnswered(cs, 2*time.Minute)
			s.settle(time.Second)
			s.checkExactlyOnce(cs)

			m := s.webhookMetrics()
			if got := m.sum("moetron_webhook_requests_total", `outcome="ok"`); got != float64(len(cs)) {
				t.Errorf("webhook requests ok = %v, want %d", got, len(cs))
			}
			if got := m.sum("moetron_webhook_jobs_enqueued_total", `where="queue"`); got != float64(len(cs)) {
				t.Errorf("jobs enqueued to the queue = %v, want %d", got, len(cs))
			}
			w := s.workerMetrics()
			if got := w.sum("moetron_worker_jobs_total", `outcome="replied"`); got != float64(len(cs)) {
				t.Errorf("worker jobs replied = %v, want %d", got, len(cs))
			}
			// The replies come from the bot's account.
			for _, c := range cs {
				if c.kind != "tweet" {
					continue
				}
				r := s.x.RepliesTo(c.id)
				if len(r) == 1 && r[0].AuthorID != s.x.Config().BotUserID {
					t.Errorf("%s: reply posted by %s, not the bot", c.jobID, r[0].AuthorID)
				}
			}
		})
	}
}
