// Command mention2reply measures what a user waits for: from X delivering
// a mention of the bot to the bot's reply arriving at X, through the real
// binaries on one machine: the fake X (xfake, in this process) ← the
// worker (examples/worker, CPU) ← the SQLite queue file ← the webhook
// (examples/webhook) ← a signed delivery POSTed by this program.
//
//	go run ./bench/mention2reply [-n 20] [-gap 500ms-1500ms] [-worker bin] [-webhook bin]
//
// Mentions go one at a time, each after the previous reply and a random
// idle gap drawn from -gap, so the worker is idle when each arrives (its
// consumer's poll has backed off) as on a quiet hour. The latency of one
// mention is from just before its POST to the webhook to the reply post's
// creation time as xfake records it (the same clock). The generator's own
// time for that mention is read, in the same run, from the worker's
// histogram moetron_worker_generate_seconds: its sum grows by exactly that
// generation, since mentions go one at a time and /metrics is scraped
// after each reply; the reply call (moetron_worker_reply_seconds: media
// upload and post) likewise. The difference, delivery → reply minus
// generation, is webhook ingest, queue pickup, the reply and the worker's
// own work; the target is p50 ≤ generation p50 + 100 ms. A warm-up mention
// (first inference) is not counted.
//
// The ONNX Runtime library comes from ORT_LIB (scripts/ort-lib.sh finds
// it). Everything runs on 127.0.0.1.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/moetron/moetron/bench/internal/stats"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moetron/moetron/xfake"
)

func main() {
	n := flag.Int("n", 20, "measured mentions (after one warm-up)")
	gap := flag.String("gap", "500ms-1500ms", "range of the random idle wait before each mention")
	webhookBin := flag.String("webhook", "", "webhook binary (default: go build ./examples/webhook)")
	workerBin := flag.String("worker", "", "worker binary (default: go build ./examples/worker)")
	flag.Parse()
	lo, hi, err := stats.ParseRange(*gap)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mention2reply: -gap:", err)
		os.Exit(2)
	}
	if err := run(*n, lo, hi, map[string]string{"webhook": *webhookBin, "worker": *workerBin}); err != nil {
		fmt.Fprintln(os.Stderr, "mention2reply:", err)
		os.Exit(1)
	}
}

func run(n int, lo, hi time.Duration, bins map[string]string) error {
	if os.Getenv("ORT_LIB") == "" {
		return errors.New("ORT_LIB is not set (ORT_LIB=$(bash scripts/ort-lib.sh))")
	}
	tmp, err := os.MkdirTemp("", "moetron-m2r-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, name := range []string{"webhook", "worker"} {
		if bins[name] != "" {
			continue
		}
		bins[name] = filepath.Join(tmp, name)
		fmt.Fprintf(os.Stderr, "mention2reply: building ./examples/%s\n", name)
		b := exec.Command("go", "build", "-o", bins[name], "./examples/"+name)
		b.Stderr = os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("go build ./examples/%s: %w", name, err)
		}
	}

	x, err := xfake.New(xfake.Config{DuplicateWindow: -1})
	if err != nil {
		return err
	}
	defer x.Close()
	cfg := x.Config()
	addrs := make([]string, 3)
	for i := range addrs {
		if addrs[i], err = stats.FreeAddr(); err != nil {
			return err
		}
	}
	hookAddr, hookMetrics, workerMetrics := addrs[0], addrs[1], addrs[2]
	queueEnv := []string{"QUEUE_BACKEND=sqlite", "QUEUE_NAME=jobs", "QUEUE_PATH=" + filepath.Join(tmp, "queue.db")}
	hook, err := startChild(bins["webhook"], append(queueEnv,
		"X_CONSUMER_SECRET="+cfg.ConsumerSecret, "BOT_USER_ID="+cfg.BotUserID,
		"WEBHOOK_ADDR="+hookAddr, "WEBHOOK_PATH=/webhook", "METRICS_ADDR="+hookMetrics,
		"SPOOL_DIR="+filepath.Join(tmp, "spool"),
	), tmp, "webhook")
	if err != nil {
		return err
	}
	defer stop(hook)
	worker, err := startChild(bins["worker"], append(queueEnv,
		"X_CONSUMER_KEY="+cfg.ConsumerKey, "X_CONSUMER_SECRET="+cfg.ConsumerSecret,
		"X_ACCESS_TOKEN="+cfg.AccessToken, "X_ACCESS_TOKEN_SECRET="+cfg.AccessTokenSecret,
		"X_API_BASE="+x.URL(), "BOT_USER_ID="+cfg.BotUserID, "METRICS_ADDR="+workerMetrics,
		"DEVICE=cpu", "WORKER_LEDGER="+filepath.Join(tmp, "ledger.db"),
	), tmp, "worker")
	if err != nil {
		return err
	}
	defer stop(worker)
	if err := waitOK("http://"+hookAddr+"/webhook?crc_token=up", hook, 30*time.Second); err != nil {
		return fmt.Errorf("webhook: %w (log: %s)", err, stats.TailFile(filepath.Join(tmp, "webhook.log")))
	}
	if err := waitOK("http://"+workerMetrics+"/readyz", worker, 60*time.Second); err != nil {
		return fmt.Errorf("worker: %w (log: %s)", err, stats.TailFile(filepath.Join(tmp, "worker.log")))
	}

	url := "http://" + hookAddr + "/webhook"
	user := 0
	mention := func() (time.Duration, error) {
		user++
		u := xfake.Sender{UserID: strconv.Itoa(3_000_000_000 + user), ScreenName: fmt.Sprintf("bench%d", user)}
		p := x.SeedPost(xfake.Post{AuthorID: u.UserID, Text: "@" + cfg.BotScreenName + " moerand " + strconv.Itoa(user)})
		body, err := x.MentionPayload(p, u)
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(xfake.SignatureHeader, x.SignPayload(body))
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("webhook answered %d", resp.StatusCode)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if rs := x.RepliesTo(p.ID); len(rs) > 0 {
				return rs[0].CreatedAt.Sub(t0), nil
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("no reply to %s within 60 s (worker log: %s)", p.ID, stats.TailFile(filepath.Join(tmp, "worker.log")))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	fmt.Fprintln(os.Stderr, "mention2reply: warm-up mention")
	if _, err := mention(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mention2reply: %d mentions, idle gaps %v-%v\n", n, lo, hi)
	const genName, repName = "moetron_worker_generate_seconds_sum", "moetron_worker_reply_seconds_sum"
	var lats, gens, reps, overs []time.Duration
	prev, err := scrape("http://" + workerMetrics + "/metrics")
	if err != nil {
		return err
	}
	for range n {
		time.Sleep(lo + rand.N(hi-lo+1))
		d, err := mention()
		if err != nil {
			return err
		}
		// One mention at a time: the histograms' sums grew by this
		// mention's generation and reply alone.
		cur, err := scrape("http://" + workerMetrics + "/metrics")
		if err != nil {
			return err
		}
		gen := seconds(cur[genName] - prev[genName])
		lats, gens, overs = append(lats, d), append(gens, gen), append(overs, d-gen)
		reps = append(reps, seconds(cur[repName]-prev[repName]))
		prev = cur
	}

	fmt.Printf("mention to reply: signed delivery → webhook → SQLite → worker (CPU) → reply at the fake X, %d mentions one at a time after idle gaps of %v-%v\n", n, lo, hi)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "per mention\tp50\tp99\tmax\t")
	row := func(name string, ds []time.Duration) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, ms(stats.Pct(ds, 50)), ms(stats.Pct(ds, 99)), ms(stats.Pct(ds, 100)))
	}
	row("delivery → reply at X", lats)
	row("generation (worker histogram)", gens)
	row("reply to X, upload included", reps)
	row("delivery → reply − generation", overs)
	tw.Flush()
	verdict := "meets"
	if stats.Pct(lats, 50) > stats.Pct(gens, 50)+100*time.Millisecond {
		verdict = "MISSES"
	}
	fmt.Printf("p50 delivery → reply %s vs generation p50 %s + 100ms (%s the target); p50 of the per-mention difference %s\n",
		ms(stats.Pct(lats, 50)), ms(stats.Pct(gens, 50)), verdict, ms(stats.Pct(overs, 50)))
	return nil
}

// scrape reads the plain-number samples of a Prometheus text page (names
// without labels).
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || strings.HasPrefix(f[0], "#") || strings.Contains(f[0], "{") {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out, sc.Err()
}

func seconds(f float64) time.Duration { return time.Duration(f * 1e9) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }

// startChild starts a binary with env added, its output in dir/<name>.log.
func startChild(bin string, env []string, dir, name string) (*exec.Cmd, error) {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { cmd.Wait(); f.Close() }()
	return cmd, nil
}

// waitOK waits up to limit for url to answer 200.
func waitOK(url string, cmd *exec.Cmd, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if cmd.ProcessState != nil {
			return errors.New("exited during start-up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not answering 200 after %v", url, limit)
}

// stop sends SIGTERM and waits up to 10 s, then kills.
func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for range 200 {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
}
