package filter_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/filter"
)

// benchFixture is a mention of about 3 KB: a long tweet whose mention of
// the bot is only in extended_tweet.
const benchFixture = "truncated_extended_mention"

const benchSecret = "bench-consumer-secret"

// benchClock advances a minute per call while the duplicate window is a
// second, so every delivery of the one fixture counts as new and the
// Filter does its full work (lookup, remember, evict) every time.
func benchFilter(b *testing.B) *filter.Filter {
	b.Helper()
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	f, err := filter.New(filter.Config{
		BotUserID: eventstest.BotUserID,
		DedupTTL:  time.Second,
		RateLimit: filter.RateLimit{Every: time.Second, Burst: 5},
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(time.Minute)
			return now
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// filterAndMarshal is the webhook callback of the benchmarks: filter the
// delivery and marshal its jobs (where a webhook would enqueue them).
func filterAndMarshal(f *filter.Filter) (func(context.Context, *events.Payload, []byte) error, *int) {
	var jobs int
	return func(_ context.Context, p *events.Payload, _ []byte) error {
		for _, j := range f.Jobs(p) {
			if _, err := j.Body(); err != nil {
				return err
			}
			jobs++
		}
		return nil
	}, &jobs
}

// BenchmarkFilter measures the Filter on a decoded 3 KB mention, with and
// without marshalling the job, and Decode plus Filter from the raw bytes.
func BenchmarkFilter(b *testing.B) {
	raw := eventstest.Fixture(benchFixture)
	p, err := events.Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("results", func(b *testing.B) {
		f := benchFilter(b)
		b.ReportAllocs()
		for b.Loop() {
			if len(f.Results(p)) != 1 {
				b.Fatal("want one result")
			}
		}
	})
	b.Run("jobs+body", func(b *testing.B) {
		f := benchFilter(b)
		cb, jobs := filterAndMarshal(f)
		b.ReportAllocs()
		for b.Loop() {
			if err := cb(context.Background(), p, raw); err != nil {
				b.Fatal(err)
			}
		}
		if *jobs == 0 {
			b.Fatal("no jobs")
		}
	})
	b.Run("decode+jobs+body", func(b *testing.B) {
		f := benchFilter(b)
		cb, jobs := filterAndMarshal(f)
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := events.Decode(raw)
			if err != nil {
				b.Fatal(err)
			}
			if err := cb(context.Background(), p, raw); err != nil {
				b.Fatal(err)
			}
		}
		if *jobs == 0 {
			b.Fatal("no jobs")
		}
	})
}

// bareHandler is the reference: read the capped body, check the HMAC,
// answer 200. Nothing is decoded.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, events.DefaultMaxBodyBytes))
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := crc.Verify(body, r.Header.Get(crc.SignatureHeader), benchSecret); err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
}

// fullHandler is the webhook path up to the queue: events.Handler
// (cap, verify, decode) with a callback that filters and marshals jobs.
func fullHandler(b *testing.B) (http.Handler, *int) {
	cb, jobs := filterAndMarshal(benchFilter(b))
	h, err := events.NewHandler(events.HandlerConfig{Secrets: []string{benchSecret}, Callback: cb})
	if err != nil {
		b.Fatal(err)
	}
	return h, jobs
}

// BenchmarkPOST compares the full POST path with the bare reference, in
// the same run, two ways: over loopback HTTP through httptest.Server (what
// X's request costs the server), and in-process through ServeHTTP with a
// recorder (the handler's own cost, which exaggerates the ratio because no
// network or HTTP parsing is counted).
func BenchmarkPOST(b *testing.B) {
	body := eventstest.Fixture(benchFixture)
	sig := crc.Sign(benchSecret, body)

	server := func(b *testing.B, h http.Handler) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		client := srv.Client()
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(crc.SignatureHeader, sig)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	recorder := func(b *testing.B, h http.Handler) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(crc.SignatureHeader, sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	}
	check := func(b *testing.B, jobs *int) {
		if *jobs == 0 {
			b.Fatal("the full path produced no jobs")
		}
	}

	b.Run("server/bare", func(b *testing.B) { server(b, bareHandler()) })
	b.Run("server/full", func(b *testing.B) {
		h, jobs := fullHandler(b)
		server(b, h)
		check(b, jobs)
	})
	b.Run("inprocess/bare", func(b *testing.B) { recorder(b, bareHandler()) })
	b.Run("inprocess/full", func(b *testing.B) {
		h, jobs := fullHandler(b)
		recorder(b, h)
		check(b, jobs)
	})
}

// BenchmarkMatch is the keyword scan alone over the visible text of the
// 3 KB mention (about 250 bytes of text).
func BenchmarkMatch(b *testing.B) {
	p, err := events.Decode(eventstest.Fixture(benchFixture))
	if err != nil {
		b.Fatal(err)
	}
	text := p.TweetCreateEvents[0].VisibleText()
	table := filter.DefaultTable()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := table.Match(text); !ok {
			b.Fatal("no match")
		}
	}
}
