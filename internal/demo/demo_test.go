package demo

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/xfake"
)

// needORT skips without the ONNX Runtime library, except in CI (CI set),
// where its absence is a failure.
func needORT(t *testing.T) {
	t.Helper()
	lib := imagegen.LibraryPath()
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the ONNX Runtime library is missing at %s: run scripts/ort-lib.sh", lib)
		}
		t.Skipf("ONNX Runtime library not found at %s; run `make ort` or set ORT_LIB (skipping outside CI)", lib)
	}
}

func TestRun(t *testing.T) {
	needORT(t)
	out := filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.MkdirAll(out, 0o755))
	stale := filepath.Join(out, "01-rand-post-seed1.png")
	require.NoError(t, os.WriteFile(stale, []byte("old"), 0o644))

	res, err := Run(context.Background(), Config{OutDir: out})
	require.NoError(t, err)
	require.Empty(t, res.Problems)
	var table bytes.Buffer
	res.WriteTable(&table)
	t.Log("\n" + table.String())

	want := []struct{ via, decision, command string }{
		{"webhook", "job", "rand"},
		{"stream", "job", "mess"},
		{"stream", "job", "name"},
		{"webhook", "duplicate", ""},
		{"webhook", "job", "rand"},
		{"stream", "job", "rand"},
		{"webhook", "duplicate", ""},
		{"webhook", "not_a_command", ""},
		{"stream", "encrypted", ""},
		{"webhook (AAA)", "job", "rand"},
		{"stream (backfill)", "job", "mess"},
		{"webhook", DecisionRejected, ""},
	}
	require.Len(t, res.Rows, len(want))
	images := 0
	for i, w := range want {
		row := res.Rows[i]
		assert.Equal(t, w.via, row.Via, row.Event)
		assert.Equal(t, w.decision, row.Decision, row.Event)
		assert.Equal(t, w.command, row.Command, row.Event)
		if w.command == "" {
			assert.Empty(t, row.Reply+row.Image+row.Seed, "%s got an answer", row.Event)
			continue
		}
		assert.NotEmpty(t, row.Reply, row.Event)
		file, _, _ := strings.Cut(row.Image, " ")
		f, err := os.Open(file)
		require.NoError(t, err, row.Event)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, row.Event)
		assert.Equal(t, 512, img.Bounds().Dx())
		images++
	}
	assert.Equal(t, 7, images)
	assert.True(t, strings.HasPrefix(res.Rows[5].Reply, "dm "), "the DM is answered by DM")
	assert.Equal(t, "697057079", res.Rows[2].Seed, `moename sakura: MD5 seed of "sakura"`)

	// moename and moerand are drawn by the bundled portrait, moemess by
	// the CPPN: each image is the bytes that model gives for its seed.
	for _, c := range []struct {
		row int
		ref string
		psi float32
	}{{0, bundled.RefPortrait, imagegen.PsiTruncated}, {1, bundled.RefCPPN, imagegen.PsiNone}, {2, bundled.RefPortrait, imagegen.PsiTruncated}} {
		row := res.Rows[c.row]
		seed, err := strconv.ParseUint(row.Seed, 10, 32)
		require.NoError(t, err)
		g, err := imagegen.New(imagegen.Config{ModelPath: c.ref, Device: imagegen.DeviceCPU})
		require.NoError(t, err)
		want, err := g.Generate(context.Background(), imagegen.Request{Seed: uint32(seed), Psi: c.psi})
		g.Close()
		require.NoError(t, err)
		file, _, _ := strings.Cut(row.Image, " ")
		got, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want.Data, got), "%s: the image is not %s's for seed %d", row.Event, c.ref, seed)
	}
	_, err = os.Stat(stale)
	assert.True(t, os.IsNotExist(err), "an earlier run's image was left in the output directory")

	assert.Equal(t, 7.0, res.Metrics["jobs enqueued (queue)"])
	assert.Equal(t, 7.0, res.Metrics["worker jobs replied"])
	assert.Equal(t, 1.0, res.Metrics["signature failures"])
	assert.GreaterOrEqual(t, res.Metrics["stream reconnects"], 1.0)
	assert.Contains(t, table.String(), "forged POST")
}

func TestRunMissingLibrary(t *testing.T) {
	_, err := Run(context.Background(), Config{OutDir: t.TempDir(), LibraryPath: filepath.Join(t.TempDir(), "nope.so")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ORT_LIB")
}

func TestCheckExtraFindsUnexpectedAnswers(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	bot := x.Bot()
	s := &scenario{x: x}
	expected := x.SeedPost(xfake.Post{AuthorID: alice.UserID, Text: "@moetronbot moerand"})
	evs := []*event{{kind: postReply, tweetID: expected.ID, jobID: filter.JobID(filter.KindTweet, expected.ID)}}
	var problems []string
	problem := func(f string, a ...any) { problems = append(problems, f) }

	x.SeedPost(xfake.Post{AuthorID: bot.UserID, InReplyToTweetID: expected.ID, Text: "answer"})
	s.checkExtra(evs, problem)
	assert.Empty(t, problems, "the expected answer is not extra")

	x.SeedPost(xfake.Post{AuthorID: bot.UserID, InReplyToTweetID: "999", Text: "stray"})
	x.SeedDM(xfake.DM{SenderID: bot.UserID, RecipientID: bob.UserID, Text: "stray dm"})
	s.checkExtra(evs, problem)
	assert.Len(t, problems, 2)
}

func TestDiffAndCounters(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total"}, []string{"reason"})
	reg.MustRegister(c)
	c.WithLabelValues("job").Inc()
	before := counters(reg, "x_total", "reason")
	assert.Equal(t, "", diff(before, counters(reg, "x_total", "reason")))
	c.WithLabelValues("retweet").Inc()
	c.WithLabelValues("job").Inc()
	assert.Equal(t, "job+retweet", diff(before, counters(reg, "x_total", "reason")))
}
