// Command ingest measures the webhook's ingest path over loopback and prints
// one table: signed POSTs per second and their p50/p99 latency through the
// real webhook binary (examples/webhook, SQLite queue: every 200 is a job
// fsynced to the queue file), against a bare net/http server that only reads
// the body and verifies its HMAC, the ceiling, measured in the same run with
// the same load generator.
//
//	go run ./bench/ingest [-d 5s] [-c 32] [-warmup 1s] [-rounds 3]
//
// Both servers run as child processes (the bare one is this program
// re-executed), so each side pays for its own process and its own loopback
// connections; the load generator's cost is the same for both. The two
// phases alternate for -rounds rounds (bare, webhook, bare, webhook, ...)
// and the table reports medians, so that a burst of load from elsewhere on
// a shared machine moves one round, not the result; the ratio is the median
// of the rounds' ratios, each taken between phases run seconds apart.
// Every request carries a mention of the bot with a fresh tweet id and
// author, so the webhook stores a new job for each (none is dropped as a
// duplicate).
//
// Under the webhook's load, a probe process (this program again) sends a
// CRC GET every 10 ms (at most 100/s, so that it measures the answer time
// without adding load of its own) and their p99 is reported, as is the
// webhook's peak resident memory (VmHWM from /proc/<pid>/status). At the
// end the queue file is opened and its jobs counted: the count must equal
// the number of 200s, or the program fails.
//
// All traffic goes to 127.0.0.1; every phase stops after its duration.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/moetron/moetron/bench/internal/stats"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/queue/queueopen"
)

const (
	secret    = "bench-consumer-secret"
	botUserID = eventstest.BotUserID
	path      = "/webhook"
)

func main() {
	d := flag.Duration("d", 5*time.Second, "measured duration of each phase")
	c := flag.Int("c", 32, "concurrent clients")
	warm := flag.Duration("warmup", time.Second, "unmeasured load before each phase")
	rounds := flag.Int("rounds", 3, "alternating bare/webhook rounds; the table shows medians")
	bin := flag.String("webhook", "", "webhook binary (default: go build ./examples/webhook)")
	bare := flag.String("serve-bare", "", "internal: serve the bare HMAC handler on this address")
	probe := flag.String("probe-crc", "", "internal: send CRC GETs to this URL for -d and print their latencies")
	flag.Parse()
	if *bare != "" {
		serveBare(*bare)
		return
	}
	if *probe != "" {
		if err := probeCRC(os.Stdout, *probe, *d); err != nil {
			fmt.Fprintln(os.Stderr, "ingest: probe:", err)
			os.Exit(1)
		}
		return
	}
	if *rounds < 1 {
		fmt.Fprintln(os.Stderr, "ingest: -rounds must be at least 1")
		os.Exit(2)
	}
	if err := run(*d, *c, *warm, *rounds, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

// serveBare is the ceiling: read the capped body, verify the signature,
// answer. Nothing else.
func serveBare(addr string) {
	http.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, crc.DefaultMaxBodyBytes))
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := crc.Verify(body, r.Header.Get(crc.SignatureHeader), secret); err != nil {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "ingest: bare server:", err)
		os.Exit(1)
	}
}

// result is one phase's measurement.
type result struct {
	name     string
	n        int           // requests answered 200 in the measured window
	errs     int           // other answers and transport errors
	acked    int64         // 200s including warm-up
	dur      time.Duration // measured window
	lat      []time.Duration
	crcLat   []time.Duration
	rssKiB   int
	firstErr string
	rate     float64 // req/s: the phase's, or for merged rounds their median
}

func (r result) rps() float64 { return r.rate }

// merge combines the rounds of one system: latencies and counts pooled,
// the rate the median of the rounds' rates.
func merge(rs []result) result {
	m := result{name: rs[0].name}
	rates := make([]float64, 0, len(rs))
	for _, r := range rs {
		m.n += r.n
		m.errs += r.errs
		m.acked += r.acked
		m.dur += r.dur
		m.lat = append(m.lat, r.lat...)
		m.crcLat = append(m.crcLat, r.crcLat...)
		if m.firstErr == "" {
			m.firstErr = r.firstErr
		}
		rates = append(rates, r.rps())
	}
	m.rate = stats.Median(rates)
	return m
}

func run(d time.Duration, conc int, warm time.Duration, rounds int, bin string) error {
	tmp, err := os.MkdirTemp("", "moetron-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "webhook")
		fmt.Fprintln(os.Stderr, "ingest: building ./examples/webhook")
		b := exec.Command("go", "build", "-o", bin, "./examples/webhook")
		b.Stderr = os.Stderr
		if err := b.Run(); err != nil {
			return fmt.Errorf("go build ./examples/webhook: %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	// Ceiling: the bare HMAC server.
	bareAddr, err := stats.FreeAddr()
	if err != nil {
		return err
	}
	bareProc, err := startChild(self, nil, tmp, "bare", "-serve-bare", bareAddr)
	if err != nil {
		return err
	}
	defer stop(bareProc)
	if err := waitUp("http://"+bareAddr+path, bareProc); err != nil {
		return fmt.Errorf("bare server: %w", err)
	}

	// The webhook binary on a SQLite queue.
	addr, err := stats.FreeAddr()
	if err != nil {
		return err
	}
	qenv := queueopen.Env{Backend: queueopen.BackendSQLite, Name: "ingest", Path: filepath.Join(tmp, "queue.db")}
	env := []string{
		"X_CONSUMER_SECRET=" + secret, "BOT_USER_ID=" + botUserID,
		"WEBHOOK_ADDR=" + addr, "WEBHOOK_PATH=" + path,
		"QUEUE_BACKEND=sqlite", "QUEUE_NAME=" + qenv.Name, "QUEUE_PATH=" + qenv.Path,
		"SPOOL_DIR=" + filepath.Join(tmp, "spool"),
	}
	hook, err := startChild(bin, env, tmp, "webhook")
	if err != nil {
		return err
	}
	if err := waitUp("http://"+addr+path, hook); err != nil {
		stop(hook)
		return fmt.Errorf("webhook: %w (log: %s)", err, stats.TailFile(filepath.Join(tmp, "webhook.log")))
	}

	gen := newGenerator()
	var bares, hooks []result
	for r := range rounds {
		fmt.Fprintf(os.Stderr, "ingest: round %d of %d\n", r+1, rounds)
		bares = append(bares, load("bare net/http + HMAC", "http://"+bareAddr+path, gen, conc, warm, d, false))
		hooks = append(hooks, load("webhook (sqlite queue)", "http://"+addr+path, gen, conc, warm, d, true))
	}
	bareRes, hookRes := merge(bares), merge(hooks)
	bareRes.rssKiB = vmHWM(bareProc.Process.Pid)
	hookRes.rssKiB = vmHWM(hook.Process.Pid)
	if err := stop(hook); err != nil {
		fmt.Fprintln(os.Stderr, "ingest: webhook stop:", err)
	}

	// Every 200 must be a job on the queue.
	o, err := queueopen.Open(context.Background(), qenv, nil)
	if err != nil {
		return fmt.Errorf("open queue: %w", err)
	}
	jobs, err := o.Queue.Len(context.Background())
	o.Close()
	if err != nil {
		return fmt.Errorf("count jobs: %w", err)
	}

	printTable(os.Stdout, conc, d, bares, hooks, bareRes, hookRes, jobs)
	if int64(jobs) != hookRes.acked {
		return fmt.Errorf("%d requests were answered 200 but the queue holds %d jobs", hookRes.acked, jobs)
	}
	if hookRes.firstErr != "" || bareRes.firstErr != "" {
		return fmt.Errorf("failed requests: bare %d (%s), webhook %d (%s)", bareRes.errs, bareRes.firstErr, hookRes.errs, hookRes.firstErr)
	}
	return nil
}

func printTable(w io.Writer, conc int, d time.Duration, bares, hooks []result, bare, hook result, jobs int) {
	ratios := make([]float64, len(bares))
	rounds := make([]string, len(bares))
	for i := range bares {
		ratios[i] = hooks[i].rps() / bares[i].rps()
		rounds[i] = fmt.Sprintf("%.2f", ratios[i])
	}
	ratio := stats.Median(ratios)
	fmt.Fprintf(w, "webhook ingest: signed POSTs over loopback, %d clients, %d rounds of %v per system (medians)\n", conc, len(bares), d)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\treq/s\tp50\tp99\tratio to ceiling\tpeak RSS\t")
	fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.2f\t%s\t\n", bare.name, bare.rps(), ms(stats.Pct(bare.lat, 50)), ms(stats.Pct(bare.lat, 99)), 1.0, mib(bare.rssKiB))
	fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.2f\t%s\t\n", hook.name, hook.rps(), ms(stats.Pct(hook.lat, 50)), ms(stats.Pct(hook.lat, 99)), ratio, mib(hook.rssKiB))
	fmt.Fprintf(tw, "CRC GET under webhook load (%d)\t\t%s\t%s\t\t\t\n", len(hook.crcLat), ms(stats.Pct(hook.crcLat, 50)), ms(stats.Pct(hook.crcLat, 99)))
	tw.Flush()
	verdict := "meets"
	if ratio < 0.5 {
		verdict = "MISSES"
	}
	fmt.Fprintf(w, "webhook/ceiling = %.2f, median of rounds %s (%s the 0.50 target); jobs on queue %d = 200s answered %d\n",
		ratio, strings.Join(rounds, " "), verdict, jobs, hook.acked)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func mib(kib int) string {
	if kib <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fMiB", float64(kib)/1024)
}

// generator makes signed mention deliveries, each with a new tweet id and
// author id (same length as the fixture's, so the body size is constant).
type generator struct {
	parts [][]byte // the fixture split at the ids to replace
	seq   atomic.Int64
}

func newGenerator() *generator {
	body := eventstest.Fixture("mention_moerand")
	// The tweet's id_str and the author's id_str; numeric ids are left as
	// they are (the decoder reads id_str).
	tweet := []byte(`"id_str":"1332557345071644672"`)
	user := []byte(`"id_str":"1247048165561270272"`)
	i, j := bytes.Index(body, tweet), bytes.Index(body, user)
	if i < 0 || j < i {
		panic("ingest: fixture mention_moerand changed shape")
	}
	return &generator{parts: [][]byte{
		body[:i], body[i+len(tweet) : j], body[j+len(user):],
	}}
}

// next returns a fresh body.
func (g *generator) next() []byte {
	n := g.seq.Add(1)
	id := fmt.Sprintf(`"id_str":"19%017d"`, n)
	uid := fmt.Sprintf(`"id_str":"18%017d"`, n)
	b := make([]byte, 0, len(g.parts[0])+len(g.parts[1])+len(g.parts[2])+2*len(id))
	b = append(b, g.parts[0]...)
	b = append(b, id...)
	b = append(b, g.parts[1]...)
	b = append(b, uid...)
	return append(b, g.parts[2]...)
}

// load runs conc clients against url for warm, then measures for d. With
// probeCRC, a probe process sends CRC GETs during the measured window.
func load(name, url string, gen *generator, conc int, warm, d time.Duration, probeCRC bool) result {
	tr := &http.Transport{MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	res := result{name: name}
	var (
		mu       sync.Mutex
		acked    atomic.Int64
		wg       sync.WaitGroup
		firstErr atomic.Value
	)
	start := time.Now()
	end := start.Add(warm + d)
	mStart := start.Add(warm)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			ok, bad := 0, 0
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				body := gen.next()
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json; charset=utf-8")
				req.Header.Set(crc.SignatureHeader, crc.Sign(secret, body))
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				el := time.Since(t0)
				if status == http.StatusOK {
					acked.Add(1)
				} else if firstErr.Load() == nil {
					firstErr.Store(fmt.Sprintf("status %d err %v", status, err))
				}
				if !t0.Before(mStart) && t0.Add(el).Before(end) {
					if status == http.StatusOK {
						ok++
						lat = append(lat, el)
					} else {
						bad++
					}
				}
			}
			mu.Lock()
			res.n += ok
			res.errs += bad
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	if probeCRC {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(mStart))
			lat, err := probeChild(url, time.Until(end))
			if err != nil && firstErr.Load() == nil {
				firstErr.Store("CRC probe: " + err.Error())
			}
			mu.Lock()
			res.crcLat = lat
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.dur = d
	res.rate = float64(res.n) / d.Seconds()
	res.acked = acked.Load()
	if v := firstErr.Load(); v != nil {
		res.firstErr = v.(string)
	}
	return res
}

// probeChild runs the CRC probe (this program re-executed) for d and
// returns the latencies it measured. The probe is a process of its own so
// that its timings do not include waiting behind the 32 load goroutines in
// the load generator's scheduler: it measures the webhook's answer, as an
// X CRC check arriving during a burst of deliveries would see it.
func probeChild(url string, d time.Duration) ([]time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-probe-crc", url, "-d", d.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var lat []time.Duration
	for _, f := range strings.Fields(string(out)) {
		n, perr := strconv.ParseInt(f, 10, 64)
		if perr != nil {
			return lat, fmt.Errorf("probe printed %q", f)
		}
		lat = append(lat, time.Duration(n))
	}
	return lat, err
}

// probeCRC sends one CRC GET every 10 ms for d (at most 100/s, so that it
// adds no load of its own) and prints each 200's latency in nanoseconds.
func probeCRC(w io.Writer, url string, d time.Duration) error {
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	end := time.Now().Add(d)
	bad := 0
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		t0 := time.Now()
		resp, err := client.Get(url + "?crc_token=bench" + strconv.Itoa(i))
		if err != nil {
			bad++
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			bad++
			continue
		}
		fmt.Fprintln(w, int64(time.Since(t0)))
	}
	if bad > 0 {
		return fmt.Errorf("%d CRC GETs failed", bad)
	}
	return nil
}

// startChild starts a server process with its output in dir/<name>.log.
func startChild(bin string, env []string, dir, name string, args ...string) (*exec.Cmd, error) {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { cmd.Wait(); f.Close() }()
	return cmd, nil
}

// waitUp waits up to 30 s for url to answer a GET (any HTTP answer: the
// bare server refuses GETs).
func waitUp(url string, cmd *exec.Cmd) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "?crc_token=up")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if cmd.ProcessState != nil {
			return errors.New("exited during start-up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("not answering after 30 s")
}

// stop sends SIGTERM and waits up to 10 s, then kills.
func stop(cmd *exec.Cmd) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	for range 200 {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return errors.New("did not exit within 10 s of SIGTERM")
}

// vmHWM is a process's peak resident set in KiB (0 when unknown).
func vmHWM(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
