// Command ingest measures the webhook's ingest path over loopback and prints
// one table: signed POSTs per second and their p50/p99 latency through
//
//   - a bare net/http server that only reads the body and verifies its
//     HMAC: the ceiling;
//   - the real webhook binary (examples/webhook) on a SQLite queue: every
//     200 is a job fdatasynced to its journal (the intake's spool, see
//     package intake), moved into the queue file right after;
//   - the same binary on the in-memory queue (stores nothing durable);
//   - twitter-autohook 1.7.2's own webhook server (Node; its CRC answer,
//     signature check and event emit, with a bot filter like moetron's; it
//     stores nothing): the peer, run from peer/autohook.js;
//
// all driven by the same load generator in the same run.
//
//	go run ./bench/ingest [-d 5s] [-c 32] [-warmup 1s] [-rounds 3] [-autohook=false]
//
// Every server runs as a child process (the bare one is this program
// re-executed), so each pays for its own process and its own loopback
// connections; the load generator's cost is the same for all. The phases
// alternate for -rounds rounds (bare, SQLite, memory, autohook, bare, ...)
// and the table reports medians, so that a burst of load from elsewhere on
// a shared machine moves one round, not the result; each ratio is the
// median of the rounds' ratios to the bare server of the same round.
// Every request carries a mention of the bot with a fresh tweet id and
// author, so each webhook stores a new job for each (none is dropped as a
// duplicate).
//
// Under the SQLite webhook's load, a probe process (this program again)
// sends a CRC GET every 10 ms (at most 100/s, so that it measures the
// answer time without adding load of its own) and their p99 is reported,
// as is each server's peak resident memory (VmHWM from /proc/<pid>/status).
// At the end the SQLite webhook is stopped (SIGTERM), the queue file is
// opened and its jobs counted: the count must equal the number of 200s,
// or the program fails. The autohook server prints how many events its
// filter kept, which must equal its 200s too.
//
// The autohook row needs node and npm: twitter-autohook is installed once,
// from peer/package-lock.json with install scripts off (ngrok's would
// download a binary), into $XDG_CACHE_HOME/moetron/twitter-autohook-1.7.2
// (~/.cache/...). Without them the row is left out with a note.
//
// All traffic goes to 127.0.0.1; every phase stops after its duration.
package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
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

	"github.com/moetron/moetron/bench/internal/stats"
	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/queue/queueopen"
)

const (
	secret    = "bench-consumer-secret"
	botUserID = eventstest.BotUserID
	path      = "/webhook"

	autohookVersion = "1.7.2"
)

//go:embed peer/autohook.js peer/package.json peer/package-lock.json
var peer embed.FS

func main() {
	d := flag.Duration("d", 5*time.Second, "measured duration of each phase")
	c := flag.Int("c", 32, "concurrent clients")
	warm := flag.Duration("warmup", time.Second, "unmeasured load before each phase")
	rounds := flag.Int("rounds", 3, "alternating rounds of all systems; the table shows medians")
	bin := flag.String("webhook", "", "webhook binary (default: go build ./examples/webhook)")
	autohook := flag.Bool("autohook", true, "measure twitter-autohook's webhook server too (needs node and npm)")
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
	if err := run(*d, *c, *warm, *rounds, *bin, *autohook); err != nil {
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
	cpu      time.Duration // the server process's CPU time (user+system) in the measured window
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
		m.cpu += r.cpu
		if m.firstErr == "" {
			m.firstErr = r.firstErr
		}
		rates = append(rates, r.rps())
	}
	m.rate = stats.Median(rates)
	return m
}

// system is one server under test.
type system struct {
	name  string
	url   string
	cmd   *exec.Cmd
	probe bool // CRC probe during its phases
	res   []result
}

// ratio is the median over rounds of s's rate divided by ref's.
func ratio(s, ref *system) (float64, []string) {
	rs := make([]float64, len(s.res))
	txt := make([]string, len(s.res))
	for i := range s.res {
		rs[i] = s.res[i].rps() / ref.res[i].rps()
		txt[i] = fmt.Sprintf("%.2f", rs[i])
	}
	return stats.Median(rs), txt
}

func run(d time.Duration, conc int, warm time.Duration, rounds int, bin string, withAutohook bool) error {
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
	var systems []*system
	defer func() {
		for _, s := range systems {
			stop(s.cmd)
		}
	}()

	// Ceiling: the bare HMAC server.
	bareAddr, err := stats.FreeAddr()
	if err != nil {
		return err
	}
	bareProc, err := startChild(self, nil, tmp, "bare", "-serve-bare", bareAddr)
	if err != nil {
		return err
	}
	bare := &system{name: "bare net/http + HMAC (ceiling)", url: "http://" + bareAddr + path, cmd: bareProc}
	systems = append(systems, bare)
	if err := waitUp(bare.url, bareProc); err != nil {
		return fmt.Errorf("bare server: %w", err)
	}

	// The webhook binary on a SQLite queue, and on the in-memory one.
	qenv := queueopen.Env{Backend: queueopen.BackendSQLite, Name: "ingest", Path: filepath.Join(tmp, "queue.db")}
	startHook := func(name, backend, label string) (*system, error) {
		addr, err := stats.FreeAddr()
		if err != nil {
			return nil, err
		}
		env := []string{
			"X_CONSUMER_SECRET=" + secret, "BOT_USER_ID=" + botUserID,
			"WEBHOOK_ADDR=" + addr, "WEBHOOK_PATH=" + path,
			"QUEUE_BACKEND=" + backend, "QUEUE_NAME=" + qenv.Name, "QUEUE_PATH=" + qenv.Path,
			"SPOOL_DIR=" + filepath.Join(tmp, name+"-spool"),
		}
		cmd, err := startChild(bin, env, tmp, name)
		if err != nil {
			return nil, err
		}
		s := &system{name: label, url: "http://" + addr + path, cmd: cmd}
		systems = append(systems, s)
		if err := waitUp(s.url, cmd); err != nil {
			return nil, fmt.Errorf("%s: %w (log: %s)", name, err, stats.TailFile(filepath.Join(tmp, name+".log")))
		}
		return s, nil
	}
	hook, err := startHook("webhook", "sqlite", "moetron webhook, SQLite queue")
	if err != nil {
		return err
	}
	hook.probe = true
	if _, err := startHook("webhook-mem", "mem", "moetron webhook, in-memory queue"); err != nil {
		return err
	}

	// The peer: twitter-autohook's webhook server.
	var ah *system
	if withAutohook {
		ah, err = startAutohook(tmp)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ingest: twitter-autohook row left out:", err)
			ah = nil
		} else {
			systems = append(systems, ah)
		}
	}

	gen := newGenerator()
	for r := range rounds {
		fmt.Fprintf(os.Stderr, "ingest: round %d of %d\n", r+1, rounds)
		for _, s := range systems {
			s.res = append(s.res, load(s.name, s.url, gen, conc, warm, d, s.probe, s.cmd.Process.Pid))
		}
	}
	merged := make([]result, len(systems))
	of := map[*system]result{}
	for i, s := range systems {
		merged[i] = merge(s.res)
		merged[i].rssKiB = vmHWM(s.cmd.Process.Pid)
		of[s] = merged[i]
	}
	if err := stop(hook.cmd); err != nil {
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
	ahJobs := int64(-1)
	if ah != nil {
		if err := stop(ah.cmd); err != nil {
			fmt.Fprintln(os.Stderr, "ingest: autohook stop:", err)
		}
		ahJobs = autohookJobs(filepath.Join(tmp, "autohook.log"))
	}

	printTable(os.Stdout, conc, d, rounds, systems, merged, hook, ah, jobs, ahJobs)
	var errs []error
	if int64(jobs) != of[hook].acked {
		errs = append(errs, fmt.Errorf("%d requests were answered 200 but the queue holds %d jobs", of[hook].acked, jobs))
	}
	if ah != nil && ahJobs != of[ah].acked {
		errs = append(errs, fmt.Errorf("twitter-autohook answered %d requests 200 but its filter kept %d", of[ah].acked, ahJobs))
	}
	for i, s := range systems {
		if m := merged[i]; m.firstErr != "" {
			errs = append(errs, fmt.Errorf("%s: %d failed requests (%s)", s.name, m.errs, m.firstErr))
		}
	}
	return errors.Join(errs...)
}

// autohookDir is where twitter-autohook is installed.
func autohookDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "moetron", "twitter-autohook-"+autohookVersion), nil
}

// installAutohook installs twitter-autohook from the embedded lockfile
// into autohookDir (once), with install scripts off, and writes the
// server script there.
func installAutohook() (string, error) {
	dir, err := autohookDir()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "twitter-autohook", "index.js")); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			return "", errors.New("npm not found")
		}
		fmt.Fprintf(os.Stderr, "ingest: installing twitter-autohook %s into %s (once)\n", autohookVersion, dir)
		tmp := fmt.Sprintf("%s.tmp.%d", dir, os.Getpid())
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		for _, f := range []string{"package.json", "package-lock.json"} {
			b, _ := peer.ReadFile("peer/" + f)
			if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
				return "", err
			}
		}
		npm := exec.Command("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")
		npm.Dir = tmp
		if out, err := npm.CombinedOutput(); err != nil {
			return "", fmt.Errorf("npm ci: %w: %s", err, bytes.TrimSpace(out))
		}
		os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil {
			return "", err
		}
	}
	script, _ := peer.ReadFile("peer/autohook.js")
	if err := os.WriteFile(filepath.Join(dir, "autohook.js"), script, 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// startAutohook starts twitter-autohook's webhook server on a free
// loopback port.
func startAutohook(tmp string) (*system, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node not found")
	}
	dir, err := installAutohook()
	if err != nil {
		return nil, err
	}
	addr, err := stats.FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	ver, _ := exec.Command(node, "--version").Output()
	cmd, err := startChild(node, []string{"X_CONSUMER_SECRET=" + secret, "NODE_ENV=production"}, tmp, "autohook",
		filepath.Join(dir, "autohook.js"), port, botUserID)
	if err != nil {
		return nil, err
	}
	s := &system{name: fmt.Sprintf("twitter-autohook %s (Node %s, stores nothing)", autohookVersion, strings.TrimSpace(string(ver))),
		url: "http://" + addr + path, cmd: cmd}
	if err := waitUp(s.url, cmd); err != nil {
		stop(cmd)
		return nil, fmt.Errorf("%w (log: %s)", err, stats.TailFile(filepath.Join(tmp, "autohook.log")))
	}
	return s, nil
}

// autohookJobs reads the "jobs N" line autohook.js prints on SIGTERM (-1
// when missing).
func autohookJobs(log string) int64 {
	b, _ := os.ReadFile(log)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "jobs "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

func printTable(w io.Writer, conc int, d time.Duration, rounds int, systems []*system, merged []result,
	hook, ah *system, jobs int, ahJobs int64) {
	bare := systems[0]
	fmt.Fprintf(w, "webhook ingest: signed POSTs over loopback, %d clients, %d rounds of %v per system (medians)\n", conc, rounds, d)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\treq/s\tp50\tp99\tratio to ceiling\tCPU/req\tpeak RSS\t")
	var hookRes result
	for i, s := range systems {
		m := merged[i]
		r := 1.0
		if s != bare {
			r, _ = ratio(s, bare)
		}
		if s == hook {
			hookRes = m
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.2f\t%s\t%s\t\n", s.name, m.rps(), ms(stats.Pct(m.lat, 50)), ms(stats.Pct(m.lat, 99)), r, us(m.cpu, m.n), mib(m.rssKiB))
	}
	fmt.Fprintf(tw, "CRC GET under SQLite webhook load (%d)\t\t%s\t%s\t\t\t\t\n", len(hookRes.crcLat), ms(stats.Pct(hookRes.crcLat, 50)), ms(stats.Pct(hookRes.crcLat, 99)))
	tw.Flush()
	r, rs := ratio(hook, bare)
	fmt.Fprintf(w, "SQLite webhook/ceiling = %.2f, median of rounds %s (%s the 0.50 target)\n", r, strings.Join(rs, " "), verdict(r >= 0.5))
	if ah != nil {
		r, rs := ratio(hook, ah)
		fmt.Fprintf(w, "SQLite webhook/twitter-autohook = %.2f, median of rounds %s (%s the 1.00 target); autohook's filter kept %d of its %d 200s\n",
			r, strings.Join(rs, " "), verdict(r >= 1), ahJobs, merged[len(merged)-1].acked)
	}
	fmt.Fprintf(w, "SQLite webhook p99 %s (%s the 10 ms target), peak RSS %s (%s the 50 MiB target); jobs on queue %d = 200s answered %d\n",
		ms(stats.Pct(hookRes.lat, 99)), verdict(stats.Pct(hookRes.lat, 99) <= 10*time.Millisecond),
		mib(hookRes.rssKiB), verdict(hookRes.rssKiB > 0 && hookRes.rssKiB <= 50*1024), jobs, hookRes.acked)
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "MISSES"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

// us is CPU time per request in microseconds.
func us(cpu time.Duration, n int) string {
	if n == 0 || cpu <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fµs", float64(cpu)/float64(n)/1e3)
}

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
func load(name, url string, gen *generator, conc int, warm, d time.Duration, probeCRC bool, pid int) result {
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
				req.Header.Set("Content-Type", "application/json") // autohook answers no other type
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
	var cpu0, cpu1 time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Until(mStart))
		cpu0 = cpuTime(pid)
		time.Sleep(time.Until(end))
		cpu1 = cpuTime(pid)
	}()
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
	res.cpu = cpu1 - cpu0
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

// cpuTime is a process's CPU time so far, user and system (0 when
// unknown). /proc counts it in clock ticks of 10 ms.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
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
