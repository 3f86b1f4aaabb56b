// Command pickup measures how long a job enqueued by one process waits
// before an idle worker process's queue.Consumer takes it, over the SQLite
// queue, and what the idle worker costs in CPU meanwhile. It prints one
// table with a row per way of noticing the job:
//
//   - poll: the Consumer's own idle polling only (100 ms doubling to 2 s,
//     the defaults), as before queue.Notifier;
//
//   - inotify: sqlite's default watch of the -wal file (Linux);
//
//   - data_version: sqlite's fallback, PRAGMA data_version every 10 ms.
//
//     go run ./bench/pickup [-n 20] [-gap 1s-3s] [-idle 5s]
//
// Each mode has a worker process of its own (this program re-executed) on
// a queue file of its own, with default Consumer settings. They run side
// by side, in the same run and on the same schedule: first an idle window
// over which each worker's CPU time (getrusage, user + system), its
// Receive calls and the notifications that woke it are counted, then -n jobs, each enqueued into every mode's
// file (in a rotating order) after a random gap drawn from -gap, so that
// a job finds a poll-only worker anywhere in its backoff. The latency of a
// job is from its Enqueue returning (committed and fsynced) in this
// process to the start of the handler in the worker, both read from the
// same machine's wall clock.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/sqlite"
)

// modes, in the table's order.
var modes = []struct{ name, desc string }{
	{"poll", "poll only (100ms doubling to 2s)"},
	{"inotify", "inotify on the -wal (default)"},
	{"data_version", "PRAGMA data_version every 10ms"},
}

const queueName = "jobs"

func main() {
	n := flag.Int("n", 20, "jobs per mode")
	gap := flag.String("gap", "1s-3s", "range of the random wait before each job")
	idle := flag.Duration("idle", 5*time.Second, "idle window over which the workers' CPU is measured")
	child := flag.String("child", "", "internal: run a worker in this mode")
	db := flag.String("db", "", "internal: the worker's queue file")
	flag.Parse()
	if *child != "" {
		if err := runWorker(*child, *db); err != nil {
			fmt.Fprintln(os.Stderr, "pickup worker:", err)
			os.Exit(1)
		}
		return
	}
	lo, hi, err := stats.ParseRange(*gap)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pickup: -gap:", err)
		os.Exit(2)
	}
	if err := run(*n, lo, hi, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "pickup:", err)
		os.Exit(1)
	}
}

// worker is one child process and what it reported.
type worker struct {
	mode  string
	cmd   *exec.Cmd
	in    io.WriteCloser
	store *sqlite.Store // this process's handle on the worker's file
	q     *sqlite.Queue

	mu       sync.Mutex
	taken    map[string]time.Time // message id → handler start
	stats    chan [3]int64        // answers to "stats": CPU µs, Receives, notifications
	enqueued map[string]time.Time // message id → Enqueue returned
}

func run(n int, lo, hi, idle time.Duration) error {
	tmp, err := os.MkdirTemp("", "moetron-pickup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var ws []*worker
	defer func() {
		for _, w := range ws {
			w.in.Close()
			w.cmd.Wait()
			w.store.Close()
		}
	}()
	for _, m := range modes {
		w, err := startWorker(self, m.name, filepath.Join(tmp, m.name))
		if err != nil {
			return fmt.Errorf("%s worker: %w", m.name, err)
		}
		ws = append(ws, w)
	}
	time.Sleep(time.Second) // let start-up work (GC, first polls) settle

	fmt.Fprintf(os.Stderr, "pickup: idle for %v\n", idle)
	before := make([][3]int64, len(ws))
	for i, w := range ws {
		if before[i], err = w.stat(); err != nil {
			return err
		}
	}
	t0 := time.Now()
	time.Sleep(idle)
	wall := time.Since(t0)
	idleCPU := make([]float64, len(ws)) // fraction of one CPU
	idleRecv := make([]float64, len(ws))
	idleNote := make([]int64, len(ws))
	for i, w := range ws {
		after, err := w.stat()
		if err != nil {
			return err
		}
		idleCPU[i] = float64(after[0]-before[i][0]) / float64(wall.Microseconds())
		idleRecv[i] = float64(after[1]-before[i][1]) / wall.Seconds()
		idleNote[i] = after[2] - before[i][2]
	}

	fmt.Fprintf(os.Stderr, "pickup: %d jobs, gaps %v-%v\n", n, lo, hi)
	ctx := context.Background()
	for j := range n {
		time.Sleep(lo + rand.N(hi-lo+1))
		for k := range ws {
			w := ws[(j+k)%len(ws)]
			m, err := w.q.Enqueue(ctx, []byte("job "+strconv.Itoa(j)), nil)
			done := time.Now()
			if err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
			w.mu.Lock()
			w.enqueued[m.ID] = done
			w.mu.Unlock()
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	lats := make([][]time.Duration, len(ws))
	for i, w := range ws {
		for {
			w.mu.Lock()
			got := len(w.taken)
			w.mu.Unlock()
			if got >= n {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s worker took %d of %d jobs", w.mode, got, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		w.mu.Lock()
		for id, at := range w.enqueued {
			lats[i] = append(lats[i], w.taken[id].Sub(at))
		}
		w.mu.Unlock()
	}

	fmt.Printf("pickup: enqueue (committed) in one process → handler start in an idle worker process, SQLite queue, %d jobs per mode after random gaps of %v-%v, the modes side by side\n", n, lo, hi)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "worker notices a job by\tp50\tp99\tmax\tidle CPU\tidle Receives/s\tidle notifications\t")
	for i, m := range modes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3f%%\t%.2f\t%d\t\n", m.desc, ms(stats.Pct(lats[i], 50)), ms(stats.Pct(lats[i], 99)), ms(stats.Pct(lats[i], 100)),
			100*idleCPU[i], idleRecv[i], idleNote[i])
	}
	tw.Flush()
	p99 := stats.Pct(lats[1], 99)
	verdict := "meets"
	if p99 > 50*time.Millisecond {
		verdict = "MISSES"
	}
	fmt.Printf("inotify p99 %s (%s the 50ms target), %.1fx faster than polling at p50; idle CPU over %v, as a share of one core\n",
		ms(p99), verdict, float64(stats.Pct(lats[0], 50))/float64(max(stats.Pct(lats[1], 50), 1)), wall.Round(100*time.Millisecond))
	return nil
}

// startWorker creates dir's queue file and starts a worker on it; it
// returns once the worker's Consumer runs.
func startWorker(self, mode, dir string) (*worker, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "queue.db")
	st, err := sqlite.Open(path, nil)
	if err != nil {
		return nil, err
	}
	q, err := st.Queue(queueName)
	if err == nil {
		err = q.Create(context.Background())
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	cmd := exec.Command(self, "-child", mode, "-db", path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		st.Close()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		st.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		st.Close()
		return nil, err
	}
	w := &worker{mode: mode, cmd: cmd, in: in, store: st, q: q,
		taken: map[string]time.Time{}, enqueued: map[string]time.Time{}, stats: make(chan [3]int64, 1)}
	ready := make(chan struct{})
	go w.read(out, ready)
	select {
	case <-ready:
		return w, nil
	case <-time.After(30 * time.Second):
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
		st.Close()
		return nil, errors.New("not ready within 30 s")
	}
}

// read parses the worker's lines: "ready", "taken <id> <unix ns>",
// "stats <cpu µs> <receives> <notifications>".
func (w *worker) read(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 1 && f[0] == "ready":
			close(ready)
		case len(f) == 3 && f[0] == "taken":
			ns, _ := strconv.ParseInt(f[2], 10, 64)
			w.mu.Lock()
			w.taken[f[1]] = time.Unix(0, ns)
			w.mu.Unlock()
		case len(f) == 4 && f[0] == "stats":
			var v [3]int64
			for i := range v {
				v[i], _ = strconv.ParseInt(f[i+1], 10, 64)
			}
			w.stats <- v
		}
	}
}

// stat asks the worker for its CPU time (µs), Receive count and
// notification count.
func (w *worker) stat() ([3]int64, error) {
	if _, err := io.WriteString(w.in, "stats\n"); err != nil {
		return [3]int64{}, err
	}
	select {
	case s := <-w.stats:
		return s, nil
	case <-time.After(10 * time.Second):
		return [3]int64{}, fmt.Errorf("%s worker: no stats within 10 s", w.mode)
	}
}

// counted counts Receives; as a struct embedding only queue.Queue it also
// hides the sqlite queue's Notifier.
type counted struct {
	queue.Queue
	n atomic.Int64
}

func (c *counted) Receive(ctx context.Context, max int, vis time.Duration) ([]*queue.Message, error) {
	c.n.Add(1)
	return c.Queue.Receive(ctx, max, vis)
}

// runWorker is the child: a Consumer with default settings on db, which
// prints when it takes each job and answers "stats" on stdin; it stops at
// the end of stdin.
func runWorker(mode, db string) error {
	opts := &sqlite.Options{}
	if mode == "data_version" {
		opts.Watch = sqlite.WatchPoll
	}
	st, err := sqlite.Open(db, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	q, err := st.Queue(queueName)
	if err != nil {
		return err
	}
	cq := &counted{Queue: q}
	var notified atomic.Int64
	cfg := queue.ConsumerConfig{Poison: q, Concurrency: 1, BatchSize: 1,
		Metrics: &queue.ConsumerMetrics{Notified: func() { notified.Add(1) }}}
	if mode != "poll" {
		cfg.Notifier = q
	}
	var outMu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	c, err := queue.NewConsumer(cq, queue.HandlerFunc(func(_ context.Context, m *queue.Message) error {
		say("taken %s %d", m.ID, time.Now().UnixNano())
		return nil
	}), cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for cq.n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	say("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "stats" {
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
				return err
			}
			cpu := ru.Utime.Nano()/1000 + ru.Stime.Nano()/1000
			say("stats %d %d %d", cpu, cq.n.Load(), notified.Load())
		}
	}
	cancel()
	return <-done
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/1e6) }
