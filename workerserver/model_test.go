package workerserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/xfake"
)

// TestCommandModels runs the real worker (ONNX Runtime, CPU) with the
// default command table: without MODEL_PATH, moerand and moename are drawn
// by the bundled portrait and moemess by the bundled CPPN; MODEL_PATH
// replaces both for every command. Each uploaded image must be the bytes
// the expected model gives for the job's seed.
func TestCommandModels(t *testing.T) {
	lib := needORT(t)
	jobs := []struct{ id, text, command, args string }{
		{"1900000000000000001", "@moetronbot moerand", "rand", ""},
		{"1900000000000000002", "@moetronbot moemess", "mess", ""},
		{"1900000000000000003", "@moetronbot moename sakura", "name", "sakura"},
	}
	expect := map[string]*imagegen.Generator{}
	expected := func(ref string, req imagegen.Request) []byte {
		g, ok := expect[ref]
		if !ok {
			var err error
			g, err = imagegen.New(imagegen.Config{ModelPath: ref, LibraryPath: lib, Device: imagegen.DeviceCPU, IntraOpThreads: 1})
			require.NoError(t, err)
			t.Cleanup(func() { g.Close() })
			expect[ref] = g
		}
		img, err := g.Generate(context.Background(), req)
		require.NoError(t, err)
		return img.Data
	}
	for _, tc := range []struct {
		modelPath string
		want      map[string]string // command -> model
	}{
		{"", map[string]string{"rand": bundled.RefPortrait, "mess": bundled.RefCPPN, "name": bundled.RefPortrait}},
		{bundled.RefCPPN, map[string]string{"rand": bundled.RefCPPN, "mess": bundled.RefCPPN, "name": bundled.RefCPPN}},
	} {
		t.Run("MODEL_PATH="+tc.modelPath, func(t *testing.T) {
			x := xfake.Start(t, xfake.Config{})
			opts := &workerserver.Options{CredentialCheckTimeout: -1,
				MinPollInterval: time.Millisecond, MaxPollInterval: 10 * time.Millisecond}
			srv, err := newServer(t, x, func(c *workerserver.Config) { c.ModelPath = tc.modelPath }, opts)
			require.NoError(t, err)
			var want [][]byte
			for _, j := range jobs {
				p := x.SeedPost(xfake.Post{ID: j.id, AuthorID: "1247048165561270272", Text: j.text})
				job := filter.Job{MsgType: filter.KindTweet, RespondID: p.ID, Text: j.text, UserID: p.AuthorID,
					ID: filter.JobID(filter.KindTweet, p.ID), Command: j.command, Args: j.args,
					ForUserID: x.Config().BotUserID, ScreenName: "alice"}
				body, err := job.Body()
				require.NoError(t, err)
				_, err = opts.Queue.Enqueue(context.Background(), body, nil)
				require.NoError(t, err)
				req, err := commands.Default().Request(j.command, j.args, job.ID)
				require.NoError(t, err)
				req.Format = imagegen.FormatPNG
				want = append(want, expected(tc.want[j.command], req))
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Run(ctx) }()
			require.Eventually(t, func() bool { return len(x.Uploads()) == len(jobs) }, waitFor, tick)
			cancel()
			require.NoError(t, <-done)
			var got [][]byte
			for _, u := range x.Uploads() {
				got = append(got, u.Data)
			}
			assert.ElementsMatch(t, want, got)
		})
	}
}
