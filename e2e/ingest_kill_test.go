package e2e

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/queue"
)

// TestWebhookKilledUnderLoad: 32 clients post fresh mentions as fast as
// the webhook (SQLite queue, so its journal is on) answers; it is
// SIGKILLed mid-burst, three times, and restarted. Every delivery answered
// 200 must then be a job on the queue, exactly once: a 200 is only given
// once the job is synced to the journal, and a restart moves what the
// killed process left there (jobs it had moved already are not stored
// twice).
func TestWebhookKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the webhook under load; skipped with -short")
	}
	s := newStack(t, sqliteQueue(t), stackOptions{noWorker: true, noRegister: true})
	secret := s.x.Config().ConsumerSecret
	spool := ""
	for _, kv := range s.webhook.env {
		if v, ok := strings.CutPrefix(kv, "SPOOL_DIR="); ok {
			spool = v
		}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 13))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()

	var acked []string
	for round := range 3 {
		cs := make([]*cmd, 3000)
		for i := range cs {
			cs[i] = s.mention("moerand")
		}
		var (
			next atomic.Int64
			mu   sync.Mutex
			ok   []string
			wg   sync.WaitGroup
		)
		stop := make(chan struct{})
		for range 32 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					select {
					case <-stop:
						return
					default:
					}
					if i >= int64(len(cs)) {
						return
					}
					c := cs[i]
					req, _ := http.NewRequest(http.MethodPost, s.url(), bytes.NewReader(c.payload))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(crc.SignatureHeader, crc.Sign(secret, c.payload))
					resp, err := client.Do(req)
					if err != nil {
						continue // the webhook is gone; the client retries nothing
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						mu.Lock()
						ok = append(ok, c.jobID)
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		s.webhook.Kill()
		close(stop)
		wg.Wait()
		tr.CloseIdleConnections()
		left, _ := filepath.Glob(filepath.Join(spool, "spool-*.log"))
		var journal int64
		for _, f := range left {
			if fi, err := os.Stat(f); err == nil {
				journal += fi.Size()
			}
		}
		t.Logf("round %d: %d of %d deliveries answered 200 before the kill; %d journal bytes left behind", round+1, len(ok), next.Load(), journal)
		acked = append(acked, ok...)
		s.startWebhook()
	}
	if len(acked) < 300 {
		t.Fatalf("only %d deliveries were answered before the kills: not under load", len(acked))
	}

	// A graceful stop moves whatever the last start has not moved yet.
	if err := s.webhook.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	o := s.q.open(t)
	ctx := ctxFor(t, time.Minute)
	seen := map[string]int{}
	for {
		msgs, err := o.Queue.Receive(ctx, queue.MaxReceive, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			j, err := filter.ParseJob(m.Body)
			if err != nil {
				t.Fatalf("message %s: %v", m.ID, err)
			}
			seen[j.ID]++
		}
	}
	lost, twice := 0, 0
	for _, id := range acked {
		if seen[id] == 0 {
			if lost++; lost <= 5 {
				t.Errorf("job %s was answered 200 but is not on the queue", id)
			}
		}
	}
	for id, n := range seen {
		if n > 1 {
			if twice++; twice <= 5 {
				t.Errorf("job %s is on the queue %d times", id, n)
			}
		}
	}
	if lost > 0 || twice > 0 {
		t.Fatalf("%d of %d acknowledged jobs lost, %d jobs stored more than once", lost, len(acked), twice)
	}
	t.Logf("%d acknowledged jobs, all on the queue once (%d jobs in all)", len(acked), len(seen))
}
