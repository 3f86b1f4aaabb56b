package workerserver_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/workerserver"
	"github.com/moetron/moetron/xfake"
)

func fakeGen() worker.Generator {
	return worker.GeneratorFunc(func(_ context.Context, req imagegen.Request) (*imagegen.Image, error) {
		return &imagegen.Image{Data: tinyPNG(req.Seed), Seed: req.Seed}, nil
	})
}

func seamConfig(x *xfake.Server) workerserver.Config {
	xc := x.Config()
	return workerserver.Config{
		BotUserID: xc.BotUserID, ConsumerKey: xc.ConsumerKey, ConsumerSecret: xc.ConsumerSecret,
		AccessToken: xc.AccessToken, AccessTokenSecret: xc.AccessTokenSecret, APIBase: x.URL(),
		Ledger: workerserver.LedgerMem,
	}
}

// A job for a command the worker's table lacks is poisoned with a reason
// that says so, one error line and a metric, and X hears nothing.
func TestUnknownCommandIsPoisonedClearly(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	q, poison := newMemQueue(t, "jobs"), newMemQueue(t, "jobs-poison")
	job := mention(x, "@moetronbot moecat", "cat", "")
	body, err := job.Body()
	require.NoError(t, err)
	_, err = q.Enqueue(context.Background(), body, nil)
	require.NoError(t, err)
	var logs syncBuffer
	srv, err := workerserver.New(context.Background(), seamConfig(x), &workerserver.Options{
		Queue: q, Poison: poison, Generator: fakeGen(), CredentialCheckTimeout: -1,
		MinPollInterval: time.Millisecond, MaxPollInterval: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	require.Eventually(t, func() bool { n, _ := poison.Len(context.Background()); return n == 1 }, waitFor, tick)
	cancel()
	require.NoError(t, <-done)

	ms, err := poison.Receive(context.Background(), 1, time.Minute)
	require.NoError(t, err)
	rec, err := queue.DecodePoison(ms[0].Body)
	require.NoError(t, err)
	assert.Equal(t, queue.PoisonPermanent, rec.Reason)
	assert.Contains(t, rec.Error, `workerserver: job for a command this worker does not know: "cat" (known: [rand mess name])`)
	assert.NotContains(t, rec.Error, "imagegen")
	assert.Equal(t, body, []byte(rec.Body))
	var worker []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "component=worker") {
			worker = append(worker, l)
		}
	}
	require.Len(t, worker, 1, logs.String())
	assert.Contains(t, worker[0], "level=ERROR")
	assert.Contains(t, worker[0], "command=cat")
	assert.Contains(t, logs.String(), "COMMANDS_FILE")
	n, err := testutil.GatherAndCount(srv.Registry(), "moetron_worker_unknown_command_total")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	mfs, err := srv.Registry().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "moetron_worker_unknown_command_total" {
			assert.Equal(t, 1.0, mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	assert.Empty(t, x.Posts()[1:], "nothing was posted")
}

// COMMANDS_FILE: the worker answers the file's commands with their own
// reply text and seed rule; a bad file stops New naming line and field.
func TestCommandsFile(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	cfg := seamConfig(x)
	cfg.CommandsFile = "../docs/commands.example.yaml"
	var logs syncBuffer
	job := mention(x, "@moetronbot moetoday", "daily", "")
	var seen imagegen.Request
	gen := worker.GeneratorFunc(func(_ context.Context, req imagegen.Request) (*imagegen.Image, error) {
		seen = req
		return &imagegen.Image{Data: tinyPNG(req.Seed), Seed: req.Seed}, nil
	})
	q, poison := newMemQueue(t, "jobs"), newMemQueue(t, "jobs-poison")
	body, err := job.Body()
	require.NoError(t, err)
	_, err = q.Enqueue(context.Background(), body, nil)
	require.NoError(t, err)
	srv, err := workerserver.New(context.Background(), cfg, &workerserver.Options{
		Queue: q, Poison: poison, Generator: gen, CredentialCheckTimeout: -1,
		MinPollInterval: time.Millisecond, MaxPollInterval: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	require.Eventually(t, func() bool { return len(x.RepliesTo(job.RespondID)) == 1 }, 10*time.Second, tick, "%s", &logs)
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, imagegen.Request{Seed: 20261126, Psi: 0.7, Format: imagegen.FormatPNG}, seen)
	assert.Equal(t, "@alice Today's picture (#18aee6)", x.RepliesTo(job.RespondID)[0].Text)

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("commands:\n  - name: a\n    keywords: moea\n    psi: 9\n"), 0o600))
	cfg.CommandsFile = bad
	_, err = workerserver.New(context.Background(), cfg, &workerserver.Options{
		Queue: q, Poison: poison, Generator: gen, CredentialCheckTimeout: -1})
	require.ErrorIs(t, err, commands.ErrInvalid)
	assert.Contains(t, err.Error(), bad+":4: commands[0].psi: 9 is not in (0, 2]")

	t.Setenv("COMMANDS_FILE", bad)
	assert.Equal(t, bad, workerserver.FromEnv().CommandsFile)
}
