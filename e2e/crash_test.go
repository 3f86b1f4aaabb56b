package e2e

import (
	"context"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"
)

// stream delivers every command once, in order, from conc goroutines with
// gap between one goroutine's deliveries, while the test does other things.
// Deliveries that fail (the webhook is down, or answers 503) stay unacked.
func (s *stack) stream(cs []*cmd, conc int, gap time.Duration) (wait func()) {
	var wg sync.WaitGroup
	next := make(chan *cmd)
	ctx := ctxFor(s.t, 5*time.Minute)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				s.deliver(dctx, c)
				cancel()
				time.Sleep(gap)
			}
		}()
	}
	go func() {
		for _, c := range cs {
			next <- c
		}
		close(next)
	}()
	return wg.Wait
}

// redeliverUnacked plays X's retries: every command that never got a 200 is
// delivered again until it does.
func (s *stack) redeliverUnacked(cs []*cmd) {
	s.t.Helper()
	ctx := ctxFor(s.t, 2*time.Minute)
	for _, c := range cs {
		for !c.acked {
			if ctx.Err() != nil {
				s.t.Fatalf("%s: no 200 after %d deliveries", c.jobID, c.attempts)
			}
			if s.deliver(ctx, c) != http.StatusOK {
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
}

// acked returns the commands that got a 200, and how many did not.
func acked(cs []*cmd) (ok []*cmd, not int) {
	for _, c := range cs {
		if c.acked {
			ok = append(ok, c)
		} else {
			not++
		}
	}
	return ok, not
}

// visibilityFlag finds the worker's flag for the visibility timeout of its
// leases (-worker-visibility today) in its -h output. The test needs it: with
// the queue package's 10-minute default, a killed worker's jobs would come
// back only after 10 minutes.
func visibilityFlag(t *testing.T, bin string) string {
	t.Helper()
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	m := regexp.MustCompile(`(?m)^\s+-([a-z-]*visibility[a-z-]*)\b`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("examples/worker -h shows no visibility-timeout flag:\n%s", out)
	}
	return string(m[1])
}

// The worker is killed with SIGKILL at random moments, at least 20 times,
// while 50 commands flow in, and restarted each time. Every command is
// answered, none twice: jobs whose worker died are delivered again after a
// short visibility timeout, and a job whose reply went out before the crash
// finds it (done marker or read-back) instead of posting again.
func TestWorkerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the worker 20 times; skipped with -short")
	}
	bin := needBinary(t, "worker")
	vis := visibilityFlag(t, bin)
	q := sqliteQueue(t)
	// Every delivery counts toward the poison limit, also one whose worker
	// was killed, and 20 kills in a row can hit the same job more than five
	// times: the limit is raised so that this test is about lost and double
	// answers (TestPoisonJob covers the poison queue).
	s := newStack(t, q, stackOptions{workerArgs: []string{"-" + vis + "=2s", "-worker-max-dequeue=1000"}})
	cs := s.commands(50)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	const kills = 20
	var waits []func()
	for i := range kills {
		// A share of the commands arrives during each life of the worker,
		// so that every kill meets work in flight or waiting.
		waits = append(waits, s.stream(cs[i*len(cs)/kills:(i+1)*len(cs)/kills], 1, 100*time.Millisecond))
		s.startWorker()
		time.Sleep(time.Duration(rng.IntN(1800)) * time.Millisecond)
		s.worker.Kill()
		t.Logf("kill %d: %d replies and DMs so far", i+1, s.botAnswers())
	}
	for _, w := range waits {
		w()
	}
	s.redeliverUnacked(cs)
	s.startWorker()
	s.waitAnswered(cs, 4*time.Minute)
	s.settle(3 * time.Second)
	s.checkExactlyOnce(cs)
	if n := poisonCount(t, q.open(t)); n != 0 {
		t.Errorf("%d jobs ended on the poison queue", n)
	}
}

// The webhook is killed with SIGKILL three times while commands stream in
// from four connections, and restarted each time. Every command that got a
// 200 is answered exactly once without any help; then X's retries of those
// that did not get one are answered too, and still nothing twice.
func TestWebhookKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the webhook; skipped with -short")
	}
	s := newStack(t, sqliteQueue(t), stackOptions{startWorker: true})
	cs := s.commands(40)
	wait := s.stream(cs, 4, 100*time.Millisecond)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	for range 3 {
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		s.webhook.Kill()
		time.Sleep(300 * time.Millisecond)
		s.startWebhook()
	}
	wait()
	ok, not := acked(cs)
	t.Logf("%d of %d deliveries acknowledged on the first try", len(ok), len(cs))
	s.waitAnswered(ok, 3*time.Minute)
	s.settle(2 * time.Second)
	s.checkExactlyOnce(ok)
	if not == 0 {
		t.Log("no delivery failed; the kills fell between requests")
	}
	s.redeliverUnacked(cs)
	s.waitAnswered(cs, 3*time.Minute)
	s.settle(2 * time.Second)
	s.checkExactlyOnce(cs)
}

// The queue service (a private Azurite) stops while commands stream in:
// the webhook answers 200 to every command delivered during the outage,
// from its fsynced spool; then it is SIGKILLed with those jobs only in the
// spool. Once Azurite and the webhook are back, the spool drains and every
// command that got a 200 is answered exactly once.
func TestQueueOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("stops Azurite; skipped with -short")
	}
	bin := needBinary(t, "worker")
	vis := visibilityFlag(t, bin)
	a := startAzurite(t)
	// A short lease: an update that Azurite applied while it went down, but
	// whose answer was lost, leaves the worker with a stale receipt; that
	// message comes back (done-marked) only when its lease ends. With the
	// default 10m lease the test would wait ten minutes for it (a CI run
	// did); worker.TestDoneMarkWhoseAnswerWasLost covers that path alone.
	s := newStack(t, a.queue(), stackOptions{startWorker: true, workerArgs: []string{"-" + vis + "=5s"}})
	cs := s.commands(30)
	before, during, after := cs[:10], cs[10:20], cs[20:]

	wait := s.stream(before, 2, 100*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	a.Stop() // mid-stream
	wait()
	t.Log("azurite stopped")
	s.stream(during, 2, 100*time.Millisecond)()
	if ok, not := acked(during); not > 0 {
		t.Errorf("%d of %d commands delivered while the queue was down were refused; the spool should take them", not, len(ok)+not)
	}
	spooled := s.webhookMetrics().sum("moetron_webhook_jobs_enqueued_total", `where="spool"`)
	if spooled < float64(len(during)) {
		t.Errorf("jobs_enqueued_total{where=spool} = %v, want at least %d", spooled, len(during))
	}
	s.webhook.Kill() // the spooled jobs are on disk only
	a.Start()
	t.Log("azurite back")
	s.startWebhook()
	s.stream(after, 2, 100*time.Millisecond)()

	ok, not := acked(cs)
	s.waitAnswered(ok, 3*time.Minute)
	s.settle(2 * time.Second)
	s.checkExactlyOnce(ok)
	if d := s.webhookMetrics().sum("moetron_webhook_spool_drained_total"); d < float64(len(during)) {
		t.Errorf("spool_drained_total = %v after the restart, want at least %d", d, len(during))
	}
	if not > 0 { // refused ones (the webhook was down): X delivers them again
		t.Logf("%d deliveries were refused; delivering them again", not)
		s.redeliverUnacked(cs)
		s.waitAnswered(cs, 3*time.Minute)
		s.settle(2 * time.Second)
		s.checkExactlyOnce(cs)
	}
}
