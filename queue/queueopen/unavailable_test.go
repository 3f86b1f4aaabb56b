package queueopen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/azure"
)

// An Azure endpoint where nothing listens.
const deadAzure = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;"

func TestStartUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := Env{Backend: BackendAzure, Name: "jobs", ConnectionString: deadAzure}

	_, err := Open(ctx, env, nil)
	require.ErrorIs(t, err, queue.ErrUnavailable, "by default an unreachable queue fails Open")
	assert.NotContains(t, err.Error(), "Eby8vdM02")

	o, err := Open(ctx, env, &Options{StartUnavailable: true})
	require.NoError(t, err, "the webhook may start without its queue")
	defer o.Close()
	_, err = o.Queue.Enqueue(ctx, []byte("x"), nil)
	assert.ErrorIs(t, err, queue.ErrUnavailable, "and enqueues fail until the queue is back")
}

func TestCreateOnUseCreatesTheQueue(t *testing.T) {
	cs := os.Getenv("MOETRON_AZURITE")
	if cs == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("MOETRON_AZURITE is not set: run the tests with `make test`")
		}
		t.Skip("MOETRON_AZURITE not set (make test starts Azurite)")
	}
	ctx := context.Background()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	az, err := azure.New(azure.Config{ConnectionString: cs, Name: "lazy-" + hex.EncodeToString(b)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = az.Destroy(context.Background()) })

	_, err = az.Enqueue(ctx, []byte("x"), nil)
	require.ErrorIs(t, err, queue.ErrQueueNotFound, "the queue does not exist yet")

	q := &createOnUse{Queue: az}
	_, err = q.Enqueue(ctx, []byte("job"), nil)
	require.NoError(t, err)
	msgs, err := q.Receive(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	assert.Equal(t, "job", string(msgs[0].Body))
}
