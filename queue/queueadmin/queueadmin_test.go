package queueadmin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueadmin"
	"github.com/moetron/moetron/queue/queueopen"
)

// sqliteEnv is a fresh SQLite queue file with two jobs and two poison
// messages (one a poison envelope, one poisoned verbatim).
func sqliteEnv(t *testing.T) func(string) string {
	env := map[string]string{"QUEUE_BACKEND": "sqlite", "QUEUE_PATH": filepath.Join(t.TempDir(), "q.db"), "QUEUE_NAME": "jobs"}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	o, err := queueopen.Open(ctx, queueopen.FromLookup(getenv), nil)
	require.NoError(t, err)
	defer o.Close()
	for _, b := range []string{`{"id":"tweet:1","command":"rand"}`, `{"id":"tweet:2","command":"name"}`} {
		_, err := o.Queue.Enqueue(ctx, []byte(b), nil)
		require.NoError(t, err)
	}
	p, err := o.PoisonFactory("jobs" + queue.PoisonSuffix)
	require.NoError(t, err)
	require.NoError(t, p.Create(ctx))
	rec, err := json.Marshal(queue.PoisonRecord{Version: 1, Queue: "jobs", MessageID: "m1", DequeueCount: 1,
		PoisonedAt: time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC), Reason: queue.PoisonPermanent,
		Error: `permanent: workerserver: job for a command this worker does not know: "cat"`,
		Body:  `{"id":"tweet:3","command":"cat"}`})
	require.NoError(t, err)
	_, err = p.Enqueue(ctx, rec, nil)
	require.NoError(t, err)
	_, err = p.Enqueue(ctx, []byte(`{"id":"tweet:4","command":"rand"}`), nil)
	require.NoError(t, err)
	return getenv
}

func run(t *testing.T, getenv func(string) string, args ...string) (string, error) {
	var out bytes.Buffer
	err := queueadmin.Run(context.Background(), args, getenv, &out)
	return out.String(), err
}

func TestCommandLineOnSQLite(t *testing.T) {
	env := sqliteEnv(t)
	out, err := run(t, env, "len")
	require.NoError(t, err)
	assert.Equal(t, "jobs\t2\njobs-poison\t2\n", out)

	out, err = run(t, env, "peek", "-n", "1")
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(out, "\n"), out)
	assert.Contains(t, out, `tries=1`)
	assert.Contains(t, out, `{"id":"tweet:1","command":"rand"}`)
	out, err = run(t, env, "len")
	require.NoError(t, err)
	assert.Equal(t, "jobs\t2\njobs-poison\t2\n", out, "peek leaves the jobs")

	out, err = run(t, env, "poison", "list")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Contains(t, lines[0], "REASON")
	assert.Contains(t, out, "2026-11-26T17:00:00Z  permanent")
	assert.Contains(t, out, `job for a command this worker does not know: "cat"`)
	assert.Contains(t, out, `{"id":"tweet:3","command":"cat"}`)
	assert.Contains(t, out, `{"id":"tweet:4","command":"rand"}`)
	id := strings.Fields(lines[1])[0]

	out, err = run(t, env, "poison", "requeue", id)
	require.NoError(t, err)
	assert.Equal(t, "requeued "+id+"\n", out)
	out, err = run(t, env, "len")
	require.NoError(t, err)
	assert.Equal(t, "jobs\t3\njobs-poison\t1\n", out)
	_, err = run(t, env, "poison", "requeue", id)
	assert.ErrorIs(t, err, queueadmin.ErrNotFound)

	out, err = run(t, env, "poison", "requeue", "-all")
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(out, "requeued "))

	// The requeued jobs carry their original bodies.
	out, err = run(t, env, "peek", "-n", "10")
	require.NoError(t, err)
	assert.Contains(t, out, `{"id":"tweet:3","command":"cat"}`)
	assert.Contains(t, out, `{"id":"tweet:4","command":"rand"}`)

	out, err = run(t, env, "purge")
	assert.ErrorIs(t, err, queueadmin.ErrUsage)
	assert.Contains(t, out, "purge -yes")
	out, err = run(t, env, "len")
	require.NoError(t, err)
	assert.Equal(t, "jobs\t4\njobs-poison\t0\n", out, "purge without -yes deletes nothing")
	out, err = run(t, env, "purge", "-yes")
	require.NoError(t, err)
	assert.Equal(t, "purged 4 jobs from jobs\n", out)
	out, err = run(t, env, "len")
	require.NoError(t, err)
	assert.Equal(t, "jobs\t0\njobs-poison\t0\n", out)

	_, err = run(t, env, "frobnicate")
	assert.ErrorIs(t, err, queueadmin.ErrUsage)
}

func TestPoisonPeekStopsAtMax(t *testing.T) {
	env := sqliteEnv(t)
	ctx := context.Background()
	o, err := queueopen.Open(ctx, queueopen.FromLookup(env), nil)
	require.NoError(t, err)
	defer o.Close()
	p, err := o.PoisonFactory("jobs" + queue.PoisonSuffix)
	require.NoError(t, err)
	a := &queueadmin.Admin{Queue: o.Queue, Poison: p}
	one, err := a.PoisonPeek(ctx, 1)
	require.NoError(t, err)
	require.Len(t, one, 1)
	all, err := a.PoisonPeek(ctx, 0)
	require.NoError(t, err)
	require.Len(t, all, 2, "the peeked message was released")
	assert.Contains(t, []string{all[0].ID, all[1].ID}, one[0].ID)
}
