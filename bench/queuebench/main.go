// Command queuebench measures the queue backends' throughput and prints one
// table: messages per second for enqueue (1 and 8 goroutines) and for
// receive+delete (batches of 32; 1 and 8 goroutines), one row per backend.
//
//	go run ./bench/queuebench [-n 4000] [-rounds 3] [-backends mem,sqlite,sqlite-nobatch]
//
// Rows: mem (in-process), sqlite (the embedded default, group commit, on a
// temporary file under -dir) and sqlite-nobatch (the same with group commit
// off: every write its own transaction and fsync), the reference that shows
// what group commit buys; the ratio columns compare each sqlite row with
// it. Further backends add themselves to the registry in backends.go (an
// azure row registers there when MOETRON_AZURITE holds a connection string).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queuetest"
)

func main() {
	n := flag.Int("n", 4000, "messages per measurement")
	only := flag.String("backends", "", "comma-separated backends to run (default: all registered)")
	dir := flag.String("dir", "", "directory for file-backed queues (default: a new temporary directory)")
	rounds := flag.Int("rounds", 3, "rounds; backends take turns in each round and every cell is the median")
	flag.Parse()
	if err := run(*n, *rounds, *only, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "queuebench:", err)
		os.Exit(1)
	}
}

// phase is one measured workload.
type phase struct {
	name string
	run  func(ctx context.Context, q queue.Queue, n int) error
}

var phases = []phase{
	{"enqueue c=1", func(ctx context.Context, q queue.Queue, n int) error {
		return queuetest.Fill(ctx, q, n, 1, queuetest.BenchBody)
	}},
	{"enqueue c=8", func(ctx context.Context, q queue.Queue, n int) error {
		return queuetest.Fill(ctx, q, n, 8, queuetest.BenchBody)
	}},
	{"recv+del c=1", func(ctx context.Context, q queue.Queue, n int) error {
		return queuetest.Drain(ctx, q, n, 1, queue.MaxReceive)
	}},
	{"recv+del c=8", func(ctx context.Context, q queue.Queue, n int) error {
		return queuetest.Drain(ctx, q, n, 8, queue.MaxReceive)
	}},
}

func run(n, rounds int, only, dir string) error {
	if n < 1 || rounds < 1 {
		return fmt.Errorf("-n and -rounds must be positive, got %d and %d", n, rounds)
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "queuebench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	selected, err := selectBackends(only)
	if err != nil {
		return err
	}
	ctx := context.Background()
	// samples[backend][phase] holds one rate per round. Backends take turns
	// within each round so that a slow spell of the shared disk hits all of
	// them rather than one.
	samples := map[string][][]float64{}
	for round := range rounds {
		for _, b := range selected {
			r, err := measure(ctx, b, filepath.Join(dir, fmt.Sprint(round)), n)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			if samples[b.name] == nil {
				samples[b.name] = make([][]float64, len(phases))
			}
			for i := range r {
				samples[b.name][i] = append(samples[b.name][i], r[i])
			}
		}
	}
	rates := map[string][]float64{}
	for name, perPhase := range samples {
		for _, xs := range perPhase {
			slices.Sort(xs)
			rates[name] = append(rates[name], xs[len(xs)/2])
		}
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "msgs/s (n=%d, median of %d)\t", n, rounds)
	for _, p := range phases {
		fmt.Fprintf(tw, "%s\t", p.name)
	}
	fmt.Fprintln(tw)
	ref := rates["sqlite-nobatch"]
	for _, b := range selected {
		fmt.Fprintf(tw, "%s\t", b.name)
		for i, r := range rates[b.name] {
			cell := fmt.Sprintf("%.0f", r)
			if ref != nil && strings.HasPrefix(b.name, "sqlite") && b.name != "sqlite-nobatch" {
				cell += fmt.Sprintf(" (%.1fx)", r/ref[i])
			}
			fmt.Fprintf(tw, "%s\t", cell)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if ref != nil {
		fmt.Println("(Nx) = sqlite rate / sqlite-nobatch rate, measured in this run")
	}
	return nil
}

// measure runs every phase on fresh queues of backend b and returns msgs/s
// per phase. Each receive+delete phase drains what the enqueue before it
// wrote (the queue then holds n messages).
func measure(ctx context.Context, b backend, dir string, n int) ([]float64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := make([]float64, len(phases))
	for i := 0; i < len(phases); i += 2 {
		// Pairs: enqueue c=1 fills, recv+del c=1 drains; then c=8.
		q, closeQ, err := b.open(ctx, dir, fmt.Sprintf("bench-%d", i))
		if err != nil {
			return nil, err
		}
		for _, j := range []int{i / 2, i/2 + 2} {
			start := time.Now()
			if err := phases[j].run(ctx, q, n); err != nil {
				closeQ()
				return nil, fmt.Errorf("%s: %w", phases[j].name, err)
			}
			out[j] = float64(n) / time.Since(start).Seconds()
		}
		if err := closeQ(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
