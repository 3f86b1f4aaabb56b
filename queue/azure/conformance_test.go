package azure

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queuetest"
)

func TestConformanceAzurite(t *testing.T) {
	cs := azurite(t)
	for _, enc := range []struct {
		name string
		enc  Encoding
	}{{"text", Text}, {"base64", Base64}} {
		t.Run(enc.name, func(t *testing.T) {
			queuetest.Run(t, func(t *testing.T, _ func() time.Time) queue.Queue {
				q, err := New(Config{ConnectionString: cs, Name: uniqueName("c"), Encoding: enc.enc, CallTimeout: 10 * time.Second})
				require.NoError(t, err)
				t.Cleanup(func() { _ = q.Destroy(context.Background()) })
				return q
			}, &queuetest.Options{RealTime: true, NeedsCreate: true, XMLText: enc.enc == Text, NoDedup: true})
		})
	}
}

func BenchmarkAzurite(b *testing.B) {
	cs := azurite(b)
	queuetest.Bench(b, func(b *testing.B) queue.Queue {
		q, err := New(Config{ConnectionString: cs, Name: uniqueName("b")})
		require.NoError(b, err)
		require.NoError(b, q.Create(context.Background()))
		b.Cleanup(func() { _ = q.Destroy(context.Background()) })
		return q
	})
}
