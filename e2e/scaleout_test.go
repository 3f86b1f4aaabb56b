package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moetron/moetron/xfake"
)

// scaleWorker is one of several worker processes of a scale-out test, each
// with its own metrics address (as on its own machine).
type scaleWorker struct {
	p       *proc
	metrics string
}

// start starts the worker and waits until it is ready.
func (w *scaleWorker) start(t testing.TB) {
	t.Helper()
	w.p.Start()
	eventually(t, 60*time.Second, w.p.name+" ready", func() error {
		resp, err := http.Get("http://" + w.metrics + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz status %d", resp.StatusCode)
		}
		return nil
	}, w.p)
}

// logCount counts the lines of the worker's log (every generation) that
// contain s.
func (w *scaleWorker) logCount(s string) int {
	b, err := os.ReadFile(w.p.log)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte(s))
}

// postSigned delivers payload to a webhook URL as X would (signed with the
// consumer secret) and returns the status, 0 when the request failed.
func postSigned(ctx context.Context, x *xfake.Server, url string, payload []byte) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(xfake.SignatureHeader, x.SignPayload(payload))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// Several machines on one Azure queue: two webhook replicas and three
// workers sharing the Azure table ledger. 200 commands are delivered to
// the replicas, a third of them to both at once (two queue messages of one
// job, which Azure does not deduplicate), while a worker is SIGKILLed and
// restarted every few seconds. Every command is answered exactly once (the
// fake X's duplicate-content check is off, so it cannot hide a double
// answer), nothing is poisoned, and every worker answered some.
//
// MOETRON_SCALEOUT_LEDGER, when set, is the workers' WORKER_LEDGER instead
// of the default (the table ledger): "mem" shows the test failing with
// double answers.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two webhooks and three workers and kills workers; skipped with -short")
	}
	began := time.Now()
	workerBin := needBinary(t, "worker")
	webhookBin := needBinary(t, "webhook")
	needORT(t)
	vis := visibilityFlag(t, workerBin)
	q := azureQueue(t)
	if !strings.Contains(q.env.ConnectionString, "TableEndpoint=") {
		t.Skip("MOETRON_AZURITE has no TableEndpoint (scripts/azurite.sh starts the table service)")
	}
	ledger := os.Getenv("MOETRON_SCALEOUT_LEDGER") // empty: the default, the table ledger
	s := newStack(t, q, stackOptions{xcfg: xfake.Config{DuplicateWindow: -1}, noWorker: true})
	cfg := s.x.Config()

	// The second webhook replica (the stack's is the first).
	addr2 := freeAddr(t)
	hook2 := newProc(t, "webhook2", webhookBin, withEnv(append(q.vars(),
		"X_CONSUMER_SECRET="+cfg.ConsumerSecret,
		"BOT_USER_ID="+cfg.BotUserID,
		"WEBHOOK_ADDR="+addr2,
		"WEBHOOK_PATH=/webhook",
		"METRICS_ADDR="+freeAddr(t),
		"SPOOL_DIR="+t.TempDir(),
		"LOG_LEVEL=debug",
	)...))
	hook2.Start()
	urls := []string{s.url(), "http://" + addr2 + "/webhook"}
	eventually(t, 60*time.Second, "webhook2 answers CRC", func() error {
		resp, err := http.Get(urls[1] + "?crc_token=ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("CRC status %d", resp.StatusCode)
		}
		return nil
	}, hook2)

	workers := make([]*scaleWorker, 3)
	for i := range workers {
		w := &scaleWorker{metrics: freeAddr(t)}
		w.p = newProc(t, fmt.Sprintf("worker%d", i+1), workerBin, withEnv(append(q.vars(),
			"X_CONSUMER_KEY="+cfg.ConsumerKey,
			"X_CONSUMER_SECRET="+cfg.ConsumerSecret,
			"X_ACCESS_TOKEN="+cfg.AccessToken,
			"X_ACCESS_TOKEN_SECRET="+cfg.AccessTokenSecret,
			"X_API_BASE="+s.x.URL(),
			"BOT_USER_ID="+cfg.BotUserID,
			"METRICS_ADDR="+w.metrics,
			"DEVICE=cpu",
			"LOG_LEVEL=debug",
			"WORKER_LEDGER="+ledger,
		)...), "-"+vis+"=3s")
		workers[i] = w
	}
	for _, w := range workers {
		w.start(t)
	}
	t.Logf("stack up after %v (ledger %q)", time.Since(began).Round(time.Millisecond), scaleOrDefault(ledger, "default: azure table"))

	// Deliveries: four connections, each command to one replica, every
	// third to both at once.
	cs := s.commands(200)
	ctx := ctxFor(t, 5*time.Minute)
	var mu sync.Mutex
	var refused []string
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := cs[i]
				targets := []string{urls[i%2]}
				if i%3 == 0 {
					targets = append(targets, urls[(i+1)%2])
				}
				var dwg sync.WaitGroup
				for _, u := range targets {
					dwg.Add(1)
					go func() {
						defer dwg.Done()
						dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
						defer cancel()
						if st := postSigned(dctx, s.x, u, c.payload); st != http.StatusOK {
							mu.Lock()
							refused = append(refused, fmt.Sprintf("%s to %s: %d", c.jobID, u, st))
							mu.Unlock()
						}
					}()
				}
				dwg.Wait()
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range cs {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	// Kills: one worker every few seconds, round robin, restarted at once.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	const kills = 6
	answeredBefore := make([]int, len(workers))
	for k := range kills {
		time.Sleep(time.Duration(2500+rng.IntN(2000)) * time.Millisecond)
		w := workers[k%len(workers)]
		w.p.Kill()
		t.Logf("kill %d: %s at %v, %d answers so far", k+1, w.p.name, time.Since(began).Round(time.Millisecond), s.botAnswers())
		w.start(t)
	}
	for i, w := range workers {
		answeredBefore[i] = w.logCount("outcome=replied")
	}
	wg.Wait()
	if len(refused) > 0 {
		t.Fatalf("%d deliveries were not answered 200 (no webhook was down): %v", len(refused), refused[:min(5, len(refused))])
	}
	procs := []*proc{s.webhook, hook2}
	for _, w := range workers {
		procs = append(procs, w.p)
	}
	eventually(t, 150*time.Second, "every command answered", func() error {
		missing := 0
		for _, c := range cs {
			if n, _ := s.answers(c); n == 0 {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d commands unanswered", missing, len(cs))
		}
		return nil
	}, procs...)
	answeredAt := time.Since(began)
	s.settle(3 * time.Second)
	s.checkExactlyOnce(cs)
	if n := poisonCount(t, q.open(t)); n != 0 {
		t.Errorf("%d jobs ended on the poison queue", n)
	}
	var counts []string
	total := 0
	for i, w := range workers {
		n := w.logCount("outcome=replied")
		total += n
		counts = append(counts, fmt.Sprintf("%s: %d replied (%d during the kills), %d already replied, %d in flight elsewhere",
			w.p.name, n, answeredBefore[i], w.logCount("outcome=already_replied"), w.logCount("outcome=in_flight")))
		if n == 0 {
			t.Errorf("%s answered no command", w.p.name)
		}
	}
	t.Logf("%d commands (%d delivered to both replicas), %d kills: all answered after %v, run %v; %d replies logged\n  %s",
		len(cs), (len(cs)+2)/3, kills, answeredAt.Round(time.Millisecond), time.Since(began).Round(time.Millisecond),
		total, strings.Join(counts, "\n  "))
}

// scaleOrDefault returns v, or def when v is empty.
func scaleOrDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
