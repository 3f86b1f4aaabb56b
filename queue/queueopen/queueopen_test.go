package queueopen_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queueopen"
)

func TestValidateNamesEveryProblem(t *testing.T) {
	err := queueopen.Env{Backend: "kafka", Name: "Bad_Name"}.Validate()
	require.ErrorIs(t, err, queueopen.ErrConfig)
	assert.Contains(t, err.Error(), "QUEUE_BACKEND")
	assert.Contains(t, err.Error(), "QUEUE_NAME")

	err = queueopen.Env{Backend: "azure"}.Validate()
	require.ErrorIs(t, err, queueopen.ErrConfig)
	assert.Contains(t, err.Error(), "AZURE_STORAGE_CONNECTION_STRING")

	long := "q234567890123456789012345678901234567890123456789012345678"
	err = queueopen.Env{Name: long}.Validate()
	require.ErrorIs(t, err, queueopen.ErrConfig)
	assert.Contains(t, err.Error(), "poison")

	assert.NoError(t, queueopen.Env{}.Validate())
}

func TestSecretNeverShown(t *testing.T) {
	const secret = "AccountKey=c2VjcmV0LWtleS12YWx1ZQ=="
	e := queueopen.Env{Backend: "azure", Name: "Bad_Name", ConnectionString: "AccountName=a;" + secret}
	assert.NotContains(t, e.String(), secret)
	assert.Contains(t, e.String(), "connection_string=set")
	err := e.Validate()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "c2VjcmV0")

	// A malformed connection string fails in the backend, still without the key.
	_, err = queueopen.Open(context.Background(), queueopen.Env{Backend: "azure", ConnectionString: "Garbage;" + secret}, nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "c2VjcmV0")
}

func TestFromLookupAndFlags(t *testing.T) {
	env := map[string]string{"QUEUE_BACKEND": "mem", "QUEUE_NAME": "jobs", "QUEUE_PATH": "/x.db"}
	e := queueopen.FromLookup(func(k string) string { return env[k] })
	assert.Equal(t, queueopen.Env{Backend: "mem", Name: "jobs", Path: "/x.db"}, e)

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	e.Flags(fs)
	require.NoError(t, fs.Parse([]string{"-queue-name", "other"}))
	assert.Equal(t, "other", e.Name, "the command line wins")
	assert.Equal(t, "mem", e.Backend, "the environment is the default")
}

func roundTrip(t *testing.T, o *queueopen.Opened) {
	t.Helper()
	ctx := context.Background()
	_, err := o.Queue.Enqueue(ctx, []byte(`{"a":1}`), nil)
	require.NoError(t, err)
	ms, err := o.Queue.Receive(ctx, 1, 60e9)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, `{"a":1}`, string(ms[0].Body))

	pq, err := o.PoisonFactory(o.Queue.Name() + queue.PoisonSuffix)
	require.NoError(t, err)
	require.NoError(t, pq.Create(ctx))
	_, err = pq.Enqueue(ctx, []byte("p"), nil)
	require.NoError(t, err)
	n, err := pq.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = o.Queue.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the poison queue is a separate queue")
}

func TestOpenSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	o, err := queueopen.Open(context.Background(), queueopen.Env{Path: path}, nil)
	require.NoError(t, err)
	assert.Equal(t, "moetron", o.Queue.Name())
	assert.Equal(t, queueopen.BackendSQLite, o.Env.Backend)
	roundTrip(t, o)
	require.NoError(t, o.Close())
	require.NoError(t, o.Close(), "Close is idempotent")

	// The message is durable: a second open of the file sees it.
	o2, err := queueopen.Open(context.Background(), queueopen.Env{Path: path}, nil)
	require.NoError(t, err)
	defer o2.Close()
	n, err := o2.Queue.Len(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestOpenMem(t *testing.T) {
	o, err := queueopen.Open(context.Background(), queueopen.Env{Backend: "mem", Name: "jobs"}, nil)
	require.NoError(t, err)
	roundTrip(t, o)
	a, _ := o.PoisonFactory("jobs-poison")
	b, _ := o.PoisonFactory("jobs-poison")
	assert.Same(t, a, b, "a sibling queue is opened once")
	require.NoError(t, o.Close())
	_, err = o.Queue.Len(context.Background())
	assert.ErrorIs(t, err, queue.ErrClosed)
}

func TestOpenSQLiteBadPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "q.db")
	_, err := queueopen.Open(context.Background(), queueopen.Env{Path: path}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.False(t, errors.Is(err, queueopen.ErrConfig))
}

func TestDefaultPathIsAbsoluteUnderTheStateDirectory(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	assert.Equal(t, filepath.Join("/srv/state", "moetron", "queue.db"),
		queueopen.DefaultPathFor(env(map[string]string{"XDG_STATE_HOME": "/srv/state", "HOME": "/home/bot"})))
	assert.Equal(t, filepath.Join("/home/bot", ".local", "state", "moetron", "queue.db"),
		queueopen.DefaultPathFor(env(map[string]string{"HOME": "/home/bot"})))
	assert.Equal(t, filepath.Join("/home/bot", ".local", "state", "moetron", "queue.db"),
		queueopen.DefaultPathFor(env(map[string]string{"XDG_STATE_HOME": "state", "HOME": "/home/bot"})),
		"a relative XDG_STATE_HOME is ignored")
	assert.True(t, filepath.IsAbs(queueopen.DefaultPathFor(env(nil))), "absolute even without HOME")
	assert.True(t, filepath.IsAbs(queueopen.DefaultPath), "the default never depends on the working directory")
	assert.Contains(t, queueopen.Env{}.String(), "path="+queueopen.DefaultPath)
}

func TestOpenCreatesTheDefaultDirectory(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	old := queueopen.DefaultPath
	queueopen.DefaultPath = queueopen.DefaultPathFor(func(k string) string {
		if k == "XDG_STATE_HOME" {
			return state
		}
		return ""
	})
	t.Cleanup(func() { queueopen.DefaultPath = old })
	o, err := queueopen.Open(context.Background(), queueopen.Env{}, nil)
	require.NoError(t, err)
	defer o.Close()
	assert.Equal(t, filepath.Join(state, "moetron", "queue.db"), o.Env.Path)
	_, err = os.Stat(o.Env.Path)
	assert.NoError(t, err)
}
