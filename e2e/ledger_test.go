package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/dghubble/oauth1"
	"github.com/moetron/moetron/xfake"
)

// errRecorder is a testing.TB that keeps Errorf calls instead of failing.
type errRecorder struct {
	testing.TB
	errs []string
}

func (r *errRecorder) Helper() {}
func (r *errRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The ledger check that every crash test ends with must catch a command
// answered twice, one answered without an image and one not answered.
func TestCheckExactlyOnceCatchesBadAnswers(t *testing.T) {
	x := xfake.Start(t, xfake.Config{DuplicateWindow: -1})
	rec := &errRecorder{TB: t}
	s := &stack{t: rec, x: x}
	twice, noImage, none := s.mention("moerand"), s.mention("moemess"), s.dm("moerand")

	cfg := x.Config()
	client := oauth1.NewConfig(cfg.ConsumerKey, cfg.ConsumerSecret).
		Client(context.Background(), oauth1.NewToken(cfg.AccessToken, cfg.AccessTokenSecret))
	reply := func(to string) {
		body := fmt.Sprintf(`{"text":"hi","reply":{"in_reply_to_tweet_id":%q}}`, to)
		resp, err := client.Post(x.URL()+"/2/tweets", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("reply: status %d", resp.StatusCode)
		}
	}
	reply(twice.id)
	reply(twice.id)
	reply(noImage.id)

	s.checkExactlyOnce([]*cmd{twice, noImage, none})
	got := strings.Join(rec.errs, "\n")
	for _, want := range []string{twice.jobID + ": 2 answers", noImage.jobID + ": answer has media", none.jobID + ": 0 answers"} {
		if !strings.Contains(got, want) {
			t.Errorf("checkExactlyOnce did not report %q; it reported:\n%s", want, got)
		}
	}
	if len(rec.errs) != 3 {
		t.Errorf("checkExactlyOnce reported %d problems, want 3:\n%s", len(rec.errs), got)
	}
}
