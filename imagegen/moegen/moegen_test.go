package moegen_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/imagegen/moegen"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/xfake"
)

func needORT(t *testing.T) string {
	lib := imagegen.LibraryPath()
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the ONNX Runtime library is missing at %s", lib)
		}
		t.Skipf("no ONNX Runtime library at %s", lib)
	}
	return lib
}

// workerImage runs the real worker (bundled model, ONNX Runtime) on one
// mention and returns the image it uploaded.
func workerImage(t *testing.T, lib, tweetID, text, command, args string) []byte {
	x := xfake.Start(t, xfake.Config{})
	q, _ := mem.New("jobs", nil)
	p, _ := mem.New("jobs-poison", nil)
	t.Cleanup(func() { q.Close(); p.Close() })
	x.SeedPost(xfake.Post{ID: tweetID, AuthorID: "1247048165561270272", Text: text})
	job := filter.Job{MsgType: filter.KindTweet, RespondID: tweetID, Text: text, UserID: "1247048165561270272",
		ID: filter.JobID(filter.KindTweet, tweetID), Command: command, Args: args, ForUserID: x.Config().BotUserID}
	body, err := job.Body()
	require.NoError(t, err)
	_, err = q.Enqueue(context.Background(), body, nil)
	require.NoError(t, err)
	xc := x.Config()
	srv, err := workerserver.New(context.Background(), workerserver.Config{
		BotUserID: xc.BotUserID, ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret, APIBase: x.URL(),
		ORTLib: lib, Device: imagegen.DeviceCPU, Ledger: workerserver.LedgerMem,
	}, &workerserver.Options{Queue: q, Poison: p, CredentialCheckTimeout: -1,
		MinPollInterval: time.Millisecond, MaxPollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	require.Eventually(t, func() bool { return len(x.Uploads()) == 1 && len(x.RepliesTo(tweetID)) == 1 }, 60*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	return x.Uploads()[0].Data
}

func TestSameBytesAsTheBot(t *testing.T) {
	lib := needORT(t)
	env := func(k string) string { return map[string]string{"ORT_LIB": lib}[k] }
	dir := t.TempDir()
	for _, tc := range []struct {
		args                         []string
		text, command, cmdArgs, want string
	}{
		{[]string{"moename", "sakura"}, "@moetronbot moename sakura", "name", "sakura", "command name seed=697057079 psi=0.55 model=bundled:portrait "},
		{[]string{"-job", "tweet:1332557345071644672", "moerand"}, "@moetronbot moerand", "rand", "", "command rand seed="},
		{[]string{"-job", "tweet:1332557345071644672", "moemess"}, "@moetronbot moemess", "mess", "", "psi=1 model=bundled:cppn "},
	} {
		out := filepath.Join(dir, tc.command+".png")
		var info bytes.Buffer
		require.NoError(t, moegen.Run(context.Background(), append([]string{"-o", out}, tc.args...), env, nil, &info))
		assert.Contains(t, info.String(), tc.want)
		assert.Contains(t, info.String(), "generate=")
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		bot := workerImage(t, lib, "1332557345071644672", tc.text, tc.command, tc.cmdArgs)
		assert.True(t, bytes.Equal(bot, got), "moegen %v differs from the bot's image", tc.args)
	}

	// -seed to stdout.
	var stdout, info bytes.Buffer
	require.NoError(t, moegen.Run(context.Background(), []string{"-o", "-", "-seed", "42", "-psi", "0.7"}, env, &stdout, &info))
	assert.True(t, bytes.HasPrefix(stdout.Bytes(), []byte("\x89PNG")))
	assert.True(t, strings.HasPrefix(info.String(), "seed seed=42 psi=0.7 model=bundled:portrait "), info.String())
	portrait := stdout.Bytes()

	// MODEL_PATH (here a bundled reference) replaces the command's
	// bundled model, as in the worker.
	stdout.Reset()
	info.Reset()
	require.NoError(t, moegen.Run(context.Background(), []string{"-o", "-", "-seed", "42", "-psi", "0.7", "-model-path", "bundled:cppn"}, env, &stdout, &info))
	assert.Contains(t, info.String(), "model=bundled:cppn ")
	assert.NotEqual(t, portrait, stdout.Bytes())
	info.Reset()
	require.NoError(t, moegen.Run(context.Background(), []string{"-o", filepath.Join(dir, "n.png"), "moename", "sakura"},
		func(k string) string { return map[string]string{"ORT_LIB": lib, "MODEL_PATH": "bundled:cppn"}[k] }, nil, &info))
	assert.Contains(t, info.String(), "command name seed=697057079 psi=0.55 model=bundled:cppn ")
	err := moegen.Run(context.Background(), []string{"-model-path", "bundled:nope", "-seed", "1", "-o", "-"}, env, &stdout, &info)
	assert.ErrorIs(t, err, bundled.ErrUnknown)

	err = moegen.Run(context.Background(), []string{"hello"}, env, &stdout, &info)
	assert.ErrorContains(t, err, `no command keyword in "hello"`)
	assert.ErrorIs(t, moegen.Run(context.Background(), nil, env, &stdout, &info), moegen.ErrUsage)
}
