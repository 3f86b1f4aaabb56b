package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/xfake"
)

// X delivers every command twice (once at once, once after the answer):
// each is answered exactly once, and the webhook counts the repeats as
// duplicates.
func TestDuplicateDeliveriesAnsweredOnce(t *testing.T) {
	s := newStack(t, sqliteQueue(t), stackOptions{startWorker: true})
	cs := s.commands(4)
	ctx := ctxFor(t, time.Minute)
	for _, c := range cs {
		if st := s.deliver(ctx, c); st != http.StatusOK {
			t.Fatalf("deliver %s: %d", c.jobID, st)
		}
		if st, err := s.x.DeliverDuplicate(ctx); st != http.StatusOK {
			t.Fatalf("duplicate %s: %d %v", c.jobID, st, err)
		}
	}
	s.waitAnswered(cs, 2*time.Minute)
	for _, c := range cs { // late duplicates, after the job is gone
		if st := s.deliver(ctx, c); st != http.StatusOK {
			t.Fatalf("late duplicate %s: %d", c.jobID, st)
		}
	}
	s.settle(2 * time.Second)
	s.checkExactlyOnce(cs)
	if got := s.webhookMetrics().sum("moetron_webhook_decisions_total", `reason="duplicate"`); got != 8 {
		t.Errorf("decisions_total{reason=duplicate} = %v, want 8", got)
	}
}

// Messages on the queue that are not jobs (written by something else) end
// on <queue>-poison with the reason, and do not stop the real jobs.
func TestPoisonJob(t *testing.T) {
	q := sqliteQueue(t)
	s := newStack(t, q, stackOptions{startWorker: true})
	o := q.open(t)
	ctx := ctxFor(t, 2*time.Minute)
	bad := []string{`{"msg_type":"tweet"}`, `not json at all`, `{"msg_type":"fax","respond_id":"1","text":"moerand","user_id":"2"}`}
	for _, b := range bad {
		if _, err := o.Queue.Enqueue(ctx, []byte(b), nil); err != nil {
			t.Fatal(err)
		}
	}
	cs := s.commands(2)
	s.deliverAll(cs)
	s.waitAnswered(cs, 2*time.Minute)
	eventually(t, time.Minute, "poison queue filled", func() error {
		if n := poisonCount(t, o); n != len(bad) {
			return fmt.Errorf("%d poison messages, want %d", n, len(bad))
		}
		return nil
	}, s.worker)
	s.settle(time.Second)
	s.checkExactlyOnce(cs)

	pq, err := o.PoisonFactory(q.env.Name + queue.PoisonSuffix)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := pq.Receive(ctx, queue.MaxReceive, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range msgs {
		rec, err := queue.DecodePoison(m.Body)
		body := rec.Body
		if err != nil {
			t.Errorf("poison message %s: %v", m.Body, err)
			continue
		}
		if rec.Reason != queue.PoisonPermanent {
			t.Errorf("poison reason %q for %s, want %q (an invalid job is not retried)", rec.Reason, body, queue.PoisonPermanent)
		}
		got[body] = true
	}
	for _, b := range bad {
		if !got[b] {
			t.Errorf("%q is not on the poison queue", b)
		}
	}
	w := s.workerMetrics()
	if n := w.sum("moetron_worker_jobs_total", `outcome="invalid"`); n != float64(len(bad)) {
		t.Errorf("worker jobs_total{outcome=invalid} = %v, want %d", n, len(bad))
	}
	if n := w.sum("moetron_consumer_poisoned_total", `reason="permanent"`); n != float64(len(bad)) {
		t.Errorf("consumer poisoned_total{reason=permanent} = %v, want %d", n, len(bad))
	}
}

// A 429 storm: every X endpoint answers 429 with a reset a few seconds
// ahead. Jobs are deferred, not failed or poisoned, and are answered once
// X lets them.
func TestRateLimitStorm(t *testing.T) {
	q := sqliteQueue(t)
	s := newStack(t, q, stackOptions{startWorker: true})
	reset := time.Now().Add(4 * time.Second)
	if _, err := s.x.InjectFault(xfake.Fault{Kind: xfake.FaultRateLimit, Reset: reset}); err != nil {
		t.Fatal(err)
	}
	cs := s.commands(3)
	s.deliverAll(cs)
	eventually(t, time.Minute, "jobs deferred by the rate limit", func() error {
		if n := s.workerCount("moetron_worker_jobs_total", `outcome="rate_limited"`); n < float64(len(cs)) {
			return fmt.Errorf("%v jobs rate limited, want at least %d", n, len(cs))
		}
		return nil
	}, s.worker)
	if n := s.botAnswers(); n > 0 {
		t.Fatalf("%d answers got through a 429 storm", n)
	}
	time.Sleep(time.Until(reset))
	s.x.ClearFaults()
	s.waitAnswered(cs, 2*time.Minute)
	s.settle(time.Second)
	s.checkExactlyOnce(cs)
	if n := poisonCount(t, q.open(t)); n != 0 {
		t.Errorf("%d jobs poisoned by a rate limit, want 0", n)
	}
	w := s.workerMetrics()
	if n := w.sum("moetron_worker_jobs_total", `outcome="failed"`); n != 0 {
		t.Errorf("worker counted %v failures for rate limits, want 0", n)
	}
	if n := w.sum("moetron_consumer_deferred_total"); n < float64(len(cs)) {
		t.Errorf("consumer deferred_total = %v, want at least %d (one per job)", n, len(cs))
	}
}

// X down for a few seconds (every request 503): the worker's calls fail
// and are retried, every job is answered once X is back, none twice and
// none poisoned.
func TestXOutage(t *testing.T) {
	q := sqliteQueue(t)
	s := newStack(t, q, stackOptions{startWorker: true})
	const outage = 6 * time.Second
	back := time.Now().Add(outage)
	s.x.Outage(outage)
	cs := s.commands(3)
	s.deliverAll(cs)
	eventually(t, time.Minute, "the worker meets the outage", func() error {
		for _, r := range s.x.Requests() {
			if r.Status == http.StatusServiceUnavailable {
				return nil
			}
		}
		return errors.New("no request answered 503 yet")
	}, s.worker)
	s.waitAnswered(cs, 2*time.Minute)
	s.settle(time.Second)
	s.checkExactlyOnce(cs)
	for _, p := range s.x.Posts() {
		if p.AuthorID == s.x.Config().BotUserID && p.CreatedAt.Before(back) {
			t.Errorf("reply %s created at %v, during the outage (ends %v)", p.ID, p.CreatedAt, back)
		}
	}
	for _, d := range s.x.DMs() {
		if d.SenderID == s.x.Config().BotUserID && d.CreatedAt.Before(back) {
			t.Errorf("DM %s created at %v, during the outage (ends %v)", d.EventID, d.CreatedAt, back)
		}
	}
	if n := poisonCount(t, q.open(t)); n != 0 {
		t.Errorf("%d jobs poisoned by a short outage, want 0", n)
	}
}
