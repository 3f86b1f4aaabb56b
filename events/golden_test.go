package events_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/moetron/moetron/events"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current decoder")

// TestGolden decodes every fixture and compares the normalized result with
// testdata/golden/<name>.json. After a deliberate change, run
// go test ./events -run TestGolden -update and review the diff.
func TestGolden(t *testing.T) {
	names := eventstest.Names()
	require.NotEmpty(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p := eventstest.Payload(t, name)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(golden(p)))
			got := buf.Bytes()
			file := filepath.Join("testdata", "golden", name+".json")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
				require.NoError(t, os.WriteFile(file, got, 0o644))
			}
			want, err := os.ReadFile(file)
			require.NoError(t, err, "missing golden file; run with -update")
			assert.Equal(t, string(want), string(got))
		})
	}
}

// Every golden file belongs to a fixture: a removed fixture must take its
// golden file with it.
func TestGoldenHasNoStrays(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	require.NoError(t, err)
	names := map[string]bool{}
	for _, n := range eventstest.Names() {
		names[n] = true
	}
	for _, f := range files {
		base := filepath.Base(f)
		assert.True(t, names[base[:len(base)-len(".json")]], "stray golden file %s", f)
	}
}

// goldenView is what a golden file records: the payload and what the
// helper methods derive from it, so that a change to either shows up.
type goldenView struct {
	Kinds   []string        `json:"kinds"`
	Tweets  []goldenTweet   `json:"derived_tweets,omitempty"`
	DMs     []goldenDM      `json:"derived_dms,omitempty"`
	Payload *events.Payload `json:"payload"`
}

type goldenTweet struct {
	ID          string   `json:"id"`
	VisibleText string   `json:"visible_text"`
	MentionIDs  []string `json:"mention_ids"`
	IsRetweet   bool     `json:"is_retweet"`
	MediaIDs    []string `json:"media_ids,omitempty"`
}

type goldenDM struct {
	ID          string `json:"id"`
	VisibleText string `json:"visible_text"`
}

func golden(p *events.Payload) goldenView {
	g := goldenView{Kinds: p.Kinds(), Payload: p}
	for i := range p.TweetCreateEvents {
		t := &p.TweetCreateEvents[i]
		gt := goldenTweet{ID: t.ID, VisibleText: t.VisibleText(), MentionIDs: t.MentionIDs(), IsRetweet: t.IsRetweet()}
		for _, m := range t.AllMedia() {
			gt.MediaIDs = append(gt.MediaIDs, m.ID)
		}
		g.Tweets = append(g.Tweets, gt)
	}
	for i := range p.DirectMessageEvents {
		d := &p.DirectMessageEvents[i]
		g.DMs = append(g.DMs, goldenDM{ID: d.ID, VisibleText: d.VisibleText()})
	}
	return g
}
