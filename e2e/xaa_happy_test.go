package e2e

import (
	"testing"
	"time"
)

// The bot's whole path on the X Activity API, over the webhook and over
// the stream, on each queue backend: the webhook binary makes the bot's XAA
// subscriptions itself (linked to its WEBHOOK_URL, or without a webhook for
// the stream), X publishes a mention, a reply to the bot's post, a quote of
// it and a DM the way those subscriptions say, and the worker binary
// answers each exactly once with an image.
func TestXAAHappyPath(t *testing.T) {
	for _, d := range []string{"webhook", "stream"} {
		for _, b := range []struct {
			name string
			q    func(testing.TB) qconf
		}{
			{"sqlite", sqliteQueue},
			{"azure", azureQueue},
		} {
			t.Run(d+"/"+b.name, func(t *testing.T) {
				s := newStack(t, b.q(t), stackOptions{startWorker: true, delivery: d})
				cs := s.xaaCommands(4) // mention, reply, quote, DM
				s.publishAll(cs)
				s.waitAnswered(cs, 2*time.Minute)
				s.settle(time.Second)
				s.checkExactlyOnce(cs)

				m := s.webhookMetrics()
				if got := m.sum("moetron_webhook_jobs_enqueued_total"); got != float64(len(cs)) {
					t.Errorf("jobs enqueued = %v, want %d", got, len(cs))
				}
				switch d {
				case "webhook":
					if got := m.sum("moetron_webhook_requests_total", `outcome="ok"`); got != float64(len(cs)) {
						t.Errorf("webhook requests ok = %v, want %d", got, len(cs))
					}
					if got := m.sum("moetron_stream_events_taken_total"); got != 0 {
						t.Errorf("stream events taken = %v with webhook delivery, want 0", got)
					}
				case "stream":
					if got := m.sum("moetron_stream_events_taken_total"); got != float64(len(cs)) {
						t.Errorf("stream events taken = %v, want %d", got, len(cs))
					}
					if got := m.sum("moetron_stream_connected"); got != 1 {
						t.Errorf("stream connected = %v, want 1", got)
					}
				}
				if got := m.sum("moetron_webhook_registration_ok"); got != 1 {
					t.Errorf("registration_ok = %v, want 1 (the XAA subscriptions are in place)", got)
				}
				if got := s.workerMetrics().sum("moetron_worker_jobs_total", `outcome="replied"`); got != float64(len(cs)) {
					t.Errorf("worker jobs replied = %v, want %d", got, len(cs))
				}
			})
		}
	}
}
