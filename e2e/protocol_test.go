package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/moetron/moetron/crc"
)

// What X (or anyone else) sends the webhook binary, and what it answers:
// CRC, signatures, malformed and oversized bodies. Only the delivery that is
// real and signed becomes a job; the metrics count every refusal by reason.
func TestWebhookAnswers(t *testing.T) {
	q := sqliteQueue(t)
	s := newStack(t, q, stackOptions{noWorker: true})
	secret := s.x.Config().ConsumerSecret
	good := s.mention("moerand")

	// CRC: a token-shaped challenge is answered with its HMAC; anything
	// else is refused, so the endpoint is no signing oracle.
	resp, err := http.Get(s.url() + "?crc_token=challenge-123")
	if err != nil {
		t.Fatal(err)
	}
	var token struct {
		ResponseToken string `json:"response_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&token)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || token.ResponseToken != crc.ResponseToken(secret, "challenge-123") {
		t.Errorf("CRC: status %d, token %q (%v); want 200 and the HMAC of the challenge", resp.StatusCode, token.ResponseToken, err)
	}
	for _, bad := range []string{`{"a":1}`, strings.Repeat("a", 129), ""} {
		resp, err := http.Get(s.url() + "?crc_token=" + url.QueryEscape(bad))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("CRC with token %.20q: status %d, want 400", bad, resp.StatusCode)
		}
		if bytes.Contains(body, []byte("sha256=")) {
			t.Errorf("CRC with token %.20q answered a signature", bad)
		}
	}

	big := append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	big = append(big, `"}`...)
	for _, c := range []struct {
		name string
		body []byte
		sig  string
		want int
	}{
		{"no signature", good.payload, "", http.StatusUnauthorized},
		{"wrong secret", good.payload, crc.Sign("not-the-secret", good.payload), http.StatusForbidden},
		{"signature of other bytes", good.payload, crc.Sign(secret, append([]byte(" "), good.payload...)), http.StatusForbidden},
		{"garbage signature", good.payload, "sha256=%%%", http.StatusForbidden},
		{"JSON array", []byte(`[{"tweet_create_events":[]}]`), crc.Sign(secret, []byte(`[{"tweet_create_events":[]}]`)), http.StatusBadRequest},
		{"truncated JSON", good.payload[:len(good.payload)/2], crc.Sign(secret, good.payload[:len(good.payload)/2]), http.StatusBadRequest},
		{"over 1 MiB", big, crc.Sign(secret, big), http.StatusRequestEntityTooLarge},
	} {
		if got := s.send(c.body, c.sig); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	// Nothing so far may have become a job.
	o := q.open(t)
	if n, err := o.Queue.Len(context.Background()); err != nil || n != 0 {
		t.Fatalf("after refused requests the queue holds %d jobs (%v), want 0", n, err)
	}

	// The real delivery, then X delivering it twice more.
	if st := s.deliver(ctxFor(t, time.Minute), good); st != http.StatusOK {
		t.Fatalf("signed delivery: status %d, want 200", st)
	}
	for range 2 {
		if st, err := s.x.DeliverDuplicate(ctxFor(t, time.Minute)); st != http.StatusOK {
			t.Fatalf("duplicate delivery: status %d (%v), want 200", st, err)
		}
	}
	// The webhook journals the job before its 200 and moves it to the
	// SQLite queue right after (package intake, Config.Journal).
	eventually(t, 10*time.Second, "the job on the queue", func() error {
		if n, err := o.Queue.Len(context.Background()); err != nil || n != 1 {
			return fmt.Errorf("after one delivery and two duplicates the queue holds %d jobs (%v), want 1", n, err)
		}
		return nil
	}, s.webhook)
	time.Sleep(200 * time.Millisecond) // and no second one follows
	if n, err := o.Queue.Len(context.Background()); err != nil || n != 1 {
		t.Fatalf("after one delivery and two duplicates the queue holds %d jobs (%v), want 1", n, err)
	}
	msgs, err := o.Queue.Receive(context.Background(), 1, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive the job: %v, %d messages", err, len(msgs))
	}
	var job map[string]any
	if err := json.Unmarshal(msgs[0].Body, &job); err != nil || job["id"] != good.jobID || job["msg_type"] != "tweet" || job["command"] != "rand" {
		t.Errorf("queued job %s (%v), want id %s, msg_type tweet, command rand", msgs[0].Body, err, good.jobID)
	}

	m := s.webhookMetrics()
	for _, c := range []struct {
		outcome string
		want    float64
	}{
		{"ok", 3}, {"missing_signature", 1}, {"bad_signature", 3}, {"malformed", 2}, {"too_large", 1},
	} {
		if got := m.sum("moetron_webhook_requests_total", `outcome="`+c.outcome+`"`); got != c.want {
			t.Errorf("requests_total{outcome=%q} = %v, want %v", c.outcome, got, c.want)
		}
	}
	if got := m.sum("moetron_webhook_signature_failures_total"); got != 4 {
		t.Errorf("signature_failures_total = %v, want 4", got)
	}
	if got := m.sum("moetron_webhook_decisions_total", `reason="duplicate"`); got != 2 {
		t.Errorf("decisions_total{reason=duplicate} = %v, want 2", got)
	}
	if got := m.sum("moetron_webhook_jobs_enqueued_total"); got != 1 {
		t.Errorf("jobs_enqueued_total = %v, want 1", got)
	}
}
