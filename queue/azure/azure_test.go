package azure

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
)

// azurite returns the connection string of the Azurite instance that
// `make test` starts (MOETRON_AZURITE). Outside make test the Azure tests
// are skipped; under CI a missing Azurite is a failure.
func azurite(t testing.TB) string {
	t.Helper()
	cs := os.Getenv("MOETRON_AZURITE")
	if cs == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("MOETRON_AZURITE is not set: run the tests with `make test`, which starts Azurite")
		}
		t.Skip("MOETRON_AZURITE not set (make test starts Azurite and sets it)")
	}
	return cs
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func newAzurite(t testing.TB, cs string, enc Encoding) *Queue {
	t.Helper()
	q, err := New(Config{ConnectionString: cs, Name: uniqueName("t"), Encoding: enc, CallTimeout: 10 * time.Second})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, q.Create(ctx))
	t.Cleanup(func() { _ = q.Destroy(context.Background()) })
	return q
}

func TestExpandConnectionString(t *testing.T) {
	cs, err := ExpandConnectionString("UseDevelopmentStorage=true")
	require.NoError(t, err)
	assert.Contains(t, cs, "AccountName=devstoreaccount1;")
	assert.Contains(t, cs, "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;")

	cs, err = ExpandConnectionString("UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://azurite.local")
	require.NoError(t, err)
	assert.Contains(t, cs, "QueueEndpoint=http://azurite.local:10001/devstoreaccount1;")

	_, err = ExpandConnectionString("UseDevelopmentStorage=true;DevelopmentStorageProxyUri=::nope")
	require.Error(t, err)

	plain := "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9v;EndpointSuffix=core.windows.net"
	cs, err = ExpandConnectionString(plain)
	require.NoError(t, err)
	assert.Equal(t, plain, cs)
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no connection string", Config{Name: "jobs"}, "connection string is required"},
		{"short name", Config{ConnectionString: "UseDevelopmentStorage=true", Name: "ab"}, "3 to 63"},
		{"upper case", Config{ConnectionString: "UseDevelopmentStorage=true", Name: "Jobs"}, "lowercase letters"},
		{"double hyphen", Config{ConnectionString: "UseDevelopmentStorage=true", Name: "a--b"}, "two hyphens"},
		{"trailing hyphen", Config{ConnectionString: "UseDevelopmentStorage=true", Name: "jobs-"}, "start and end"},
		{"bad encoding", Config{ConnectionString: "UseDevelopmentStorage=true", Name: "jobs", Encoding: 7}, "encoding"},
		{"garbage", Config{ConnectionString: "AccountKey=c2VjcmV0LWtleQ==", Name: "jobs"}, "invalid connection string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "c2VjcmV0LWtleQ", "the account key must not appear in errors")
		})
	}
	q, err := New(Config{ConnectionString: "UseDevelopmentStorage=true", Name: "moetron-poison"})
	require.NoError(t, err)
	assert.Equal(t, "moetron-poison", q.Name())
}

func TestEncodeRefusesWhatAzureWouldMangle(t *testing.T) {
	text, err := New(Config{ConnectionString: "UseDevelopmentStorage=true", Name: "jobs"})
	require.NoError(t, err)
	_, err = text.encode([]byte("ctl\x01char"))
	assert.ErrorIs(t, err, queue.ErrInvalidBody)
	_, err = text.encode([]byte("tab\tnewline\n and ünïcode ✓ \U0001F600"))
	assert.NoError(t, err)

	b64, err := New(Config{ConnectionString: "UseDevelopmentStorage=true", Name: "jobs", Encoding: Base64})
	require.NoError(t, err)
	enc, err := b64.encode([]byte("ctl\x01char"))
	require.NoError(t, err)
	assert.Equal(t, []byte("ctl\x01char"), b64.decode(enc))
	// Base64 mode reads text written by a plain writer as it is.
	assert.Equal(t, []byte(`{"msg_type":"tweet"}`), b64.decode(`{"msg_type":"tweet"}`))
	// Text mode never decodes.
	assert.Equal(t, []byte("aGVsbG8="), text.decode("aGVsbG8="))
}

func TestUnreachableServiceIsUnavailable(t *testing.T) {
	// A listener that accepts and never answers: the call must end at the
	// deadline with ErrUnavailable instead of hanging.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cs := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + devKey +
		";QueueEndpoint=http://" + ln.Addr().String() + "/devstoreaccount1;"
	opts := NoRetry()
	q, err := New(Config{ConnectionString: cs, Name: "jobs", CallTimeout: 300 * time.Millisecond, ClientOptions: opts})
	require.NoError(t, err)
	_, err = q.Enqueue(context.Background(), []byte("x"), nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, queue.ErrUnavailable)
	assert.NotContains(t, err.Error(), devKey)

	// Nothing listening at all.
	addr := ln.Addr().String()
	ln.Close()
	cs = strings.Replace(cs, addr, "127.0.0.1:1", 1)
	q, err = New(Config{ConnectionString: cs, Name: "jobs", CallTimeout: time.Second, ClientOptions: opts})
	require.NoError(t, err)
	_, err = q.Receive(context.Background(), 1, time.Second)
	assert.ErrorIs(t, err, queue.ErrUnavailable)
}

func TestAzuriteTextAndBase64ReadEachOther(t *testing.T) {
	cs := azurite(t)
	ctx := context.Background()
	plain := newAzurite(t, cs, Text)
	b64, err := New(Config{ConnectionString: cs, Name: plain.Name(), Encoding: Base64})
	require.NoError(t, err)

	body := []byte(`{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@bot moerand"}`)
	_, err = plain.Enqueue(ctx, body, nil)
	require.NoError(t, err)
	_, err = b64.Enqueue(ctx, body, nil)
	require.NoError(t, err)

	got, err := b64.Receive(ctx, 32, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, got, 2)
	for _, m := range got {
		assert.Equal(t, body, m.Body, "base64 mode reads both plain and base64 texts")
	}
}

func TestAzuriteUpdateKeepsBody(t *testing.T) {
	cs := azurite(t)
	ctx := context.Background()
	q := newAzurite(t, cs, Text)
	_, err := q.Enqueue(ctx, []byte("keep me"), nil)
	require.NoError(t, err)
	msgs, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	// A visibility-only update must not erase the text (the SDK always
	// sends a body) and must not make the message visible (the SDK's
	// default visibility is 0).
	r, err := q.Update(ctx, msgs[0].ID, msgs[0].Receipt, 30*time.Second, nil)
	require.NoError(t, err)
	none, err := q.Receive(ctx, 1, time.Second)
	require.NoError(t, err)
	assert.Empty(t, none, "an extended lease keeps the message hidden")
	_, err = q.Update(ctx, msgs[0].ID, r, 0, nil)
	require.NoError(t, err)
	again, err := q.Receive(ctx, 1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, again, 1)
	assert.Equal(t, []byte("keep me"), again[0].Body)
	assert.Equal(t, 2, again[0].DequeueCount)

	// A client that never received the message cannot re-send its body.
	other, err := New(Config{ConnectionString: cs, Name: q.Name()})
	require.NoError(t, err)
	_, err = other.Update(ctx, again[0].ID, again[0].Receipt, time.Second, nil)
	assert.ErrorIs(t, err, queue.ErrLeaseLost)
	// With the body it works, and the old receipt is dead.
	r2, err := other.Update(ctx, again[0].ID, again[0].Receipt, 30*time.Second, []byte("replaced"))
	require.NoError(t, err)
	assert.ErrorIs(t, q.Delete(ctx, again[0].ID, again[0].Receipt), queue.ErrLeaseLost)
	require.NoError(t, other.Delete(ctx, again[0].ID, r2))
}

func TestAzuriteErrors(t *testing.T) {
	cs := azurite(t)
	ctx := context.Background()
	missing, err := New(Config{ConnectionString: cs, Name: uniqueName("missing")})
	require.NoError(t, err)
	_, err = missing.Enqueue(ctx, []byte("x"), nil)
	assert.ErrorIs(t, err, queue.ErrQueueNotFound)

	q := newAzurite(t, cs, Text)
	require.NoError(t, q.Create(ctx), "create is idempotent")
	_, err = q.Enqueue(ctx, make([]byte, queue.MaxBodySize+1), nil)
	assert.ErrorIs(t, err, queue.ErrTooLarge)
	_, err = q.Receive(ctx, 33, time.Second)
	assert.ErrorIs(t, err, queue.ErrInvalidArgument)
	_, err = q.Enqueue(ctx, []byte("x"), &queue.EnqueueOptions{Delay: 20 * time.Second, TTL: 10 * time.Second})
	assert.ErrorIs(t, err, queue.ErrInvalidArgument)
	err = q.Delete(ctx, "00000000-0000-0000-0000-000000000000", "garbage")
	assert.ErrorIs(t, err, queue.ErrLeaseLost)

	wrongKey := strings.Replace(cs, devKey, "AAAA"+devKey[4:], 1)
	bad, err := New(Config{ConnectionString: wrongKey, Name: q.Name()})
	require.NoError(t, err)
	_, err = bad.Enqueue(ctx, []byte("x"), nil)
	require.Error(t, err)
	assert.False(t, errors.Is(err, queue.ErrLeaseLost))
	assert.NotContains(t, err.Error(), devKey[4:20])
}
