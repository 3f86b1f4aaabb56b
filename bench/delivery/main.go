// Command delivery compares the two ways X Activity API events reach the
// bot: the persistent stream (package stream) and the signed webhook POST
// (events.Handler), each into a real SQLite queue file through the same
// intake, on the same events, in the same run. It prints one table: events
// per second for each path, and the stream's ratio to the webhook.
//
//	go run ./bench/delivery [-n 4000] [-c 32] [-rounds 3]
//
// Every event is a post.mention.create with a fresh post and author id, so
// each becomes a new job. The webhook phase POSTs them with -c concurrent
// clients over loopback (X delivers webhook events concurrently); the
// stream phase writes them as one NDJSON stream over one loopback
// connection, as X does, to a stream.Consumer with its default
// concurrency. A phase ends when every event is a job on the queue; the
// queue is then opened and its jobs counted, and a count that differs from
// -n fails the run. The phases alternate for -rounds rounds and the table
// shows medians. Everything runs in this process on 127.0.0.1.
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
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/intake"
	"github.com/moetron/moetron/queue/sqlite"
	"github.com/moetron/moetron/stream"
)

const (
	secret = "bench-consumer-secret"
	bearer = "bench-bearer-token"
	botID  = "1114259648326987776"
)

func main() {
	n := flag.Int("n", 4000, "events per phase")
	c := flag.Int("c", 32, "concurrent webhook clients")
	rounds := flag.Int("rounds", 3, "alternating webhook/stream rounds; the table shows medians")
	flag.Parse()
	if err := run(os.Stdout, *n, *c, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "delivery:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, n, conc, rounds int) error {
	if n < 1 || conc < 1 || rounds < 1 {
		return errors.New("-n, -c and -rounds must be positive")
	}
	dir, err := os.MkdirTemp("", "moetron-delivery-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var hook, strm, ratios []float64
	for r := range rounds {
		base := uint64(2_000_000_000_000_000_000) + uint64(r)*2*uint64(n)
		hr, err := phase(filepath.Join(dir, fmt.Sprintf("webhook-%d.db", r)), n, func(in *intake.Intake) error {
			return viaWebhook(in, envelopes(n, base), conc)
		})
		if err != nil {
			return fmt.Errorf("webhook phase: %w", err)
		}
		sr, err := phase(filepath.Join(dir, fmt.Sprintf("stream-%d.db", r)), n, func(in *intake.Intake) error {
			return viaStream(in, envelopes(n, base+uint64(n)))
		})
		if err != nil {
			return fmt.Errorf("stream phase: %w", err)
		}
		hook, strm, ratios = append(hook, hr), append(strm, sr), append(ratios, sr/hr)
		fmt.Fprintf(os.Stderr, "delivery: round %d: webhook %.0f/s, stream %.0f/s\n", r+1, hr, sr)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "path\tevents/s (median)\tratio to webhook\trounds")
	fmt.Fprintf(tw, "webhook (signed POSTs, %d clients)\t%.0f\t1.00\t%s\n", conc, stats.Median(hook), list(hook))
	fmt.Fprintf(tw, "stream (one connection, NDJSON)\t%.0f\t%.2f\t%s\n", stats.Median(strm), stats.Median(ratios), list(strm))
	tw.Flush()
	fmt.Fprintf(w, "%d events per phase into a SQLite queue file (every job fsynced before it counts); ratio = median of the rounds' ratios\n", n)
	return nil
}

// phase opens a fresh SQLite queue, builds an intake on it, runs deliver
// and returns the events per second until all n jobs were stored. It
// fails unless the queue holds exactly n jobs.
func phase(path string, n int, deliver func(*intake.Intake) error) (float64, error) {
	st, err := sqlite.Open(path, nil)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	q, err := st.Queue("jobs")
	if err != nil {
		return 0, err
	}
	ctx := context.Background()
	if err := q.Create(ctx); err != nil {
		return 0, err
	}
	f, err := filter.New(filter.Config{BotUserID: botID})
	if err != nil {
		return 0, err
	}
	in, err := intake.New(intake.Config{Queue: q, Filter: f})
	if err != nil {
		return 0, err
	}
	defer in.Close()
	start := time.Now()
	if err := deliver(in); err != nil {
		return 0, err
	}
	rate := float64(n) / time.Since(start).Seconds()
	got, err := q.Len(ctx)
	if err != nil {
		return 0, err
	}
	if got != n {
		return 0, fmt.Errorf("the queue holds %d jobs, want %d", got, n)
	}
	return rate, nil
}

// viaWebhook POSTs every event, signed, from conc clients.
func viaWebhook(in *intake.Intake, evs [][]byte, conc int) error {
	h, err := events.NewHandler(events.HandlerConfig{Secrets: []string{secret}, Callback: in.Handle})
	if err != nil {
		return err
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}, Timeout: 30 * time.Second}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(evs) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(evs[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(crc.SignatureHeader, crc.Sign(secret, evs[i]))
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("POST answered %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// viaStream serves the events as one stream and runs a Consumer until it
// has taken all of them.
func viaStream(in *intake.Intake, evs [][]byte) error {
	body := bytes.Join(evs, []byte("\r\n"))
	body = append(body, "\r\n"...)
	var served atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+bearer {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if served.Swap(true) {
			// Reconnects (after the consumer saw the end) get keep-alives only.
			w.Write([]byte("\r\n"))
			<-r.Context().Done()
			return
		}
		w.Write(body)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, err := stream.New(stream.Config{BaseURL: srv.URL, BearerToken: bearer, Handle: in.Handle,
		StallTimeout: time.Minute})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Minute)
	for c.Status().Taken < uint64(len(evs)) {
		if time.Now().After(deadline) {
			cancel()
			return fmt.Errorf("the consumer took %d of %d events", c.Status().Taken, len(evs))
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	return <-done
}

// envelopes returns n post.mention.create envelopes with fresh ids from
// base on, in the documented shape.
func envelopes(n int, base uint64) [][]byte {
	out := make([][]byte, n)
	for i := range n {
		id, author := base+uint64(i), 1_500_000_000+uint64(i)
		out[i] = fmt.Appendf(nil, `{"data":{"event_uuid":"%d","filter":{"user_id":"%s"},"event_type":"post.mention.create",`+
			`"tag":"moetron:post.mention.create","payload":{"id":"%d","text":"@moetronbot moerand","author_id":"%d",`+
			`"created_at":"2026-12-08T01:00:00.000Z","conversation_id":"%d","display_text_range":[0,19],`+
			`"entities":{"mentions":[{"start":0,"end":11,"username":"moetronbot","id":"%s"}]},`+
			`"edit_history_tweet_ids":["%d"],"lang":"en"},"includes":{"users":[{"id":"%d","username":"user%d","name":"User"},`+
			`{"id":"%s","username":"moetronbot","name":"moetron"}]}}}`,
			id, botID, id, author, id, botID, id, author, author, botID)
	}
	return out
}

func list(v []float64) string {
	var b bytes.Buffer
	for i, x := range v {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.0f", x)
	}
	return b.String()
}
