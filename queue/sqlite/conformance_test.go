package sqlite_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/queuetest"
	"github.com/moetron/moetron/queue/sqlite"
)

func openStore(t testing.TB, opts *sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "queue.db"), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, now func() time.Time) queue.Queue {
		q, err := openStore(t, &sqlite.Options{Now: now}).Queue("jobs")
		require.NoError(t, err)
		return q
	}, &queuetest.Options{NeedsCreate: true})
}

// TestConformanceSharedFile runs every case on its own queue in one file,
// with group commit across the cases.
func TestConformanceSharedFile(t *testing.T) {
	s := openStore(t, nil)
	var n atomic.Int64
	queuetest.Run(t, func(t *testing.T, now func() time.Time) queue.Queue {
		q, err := s.Queue(fmt.Sprintf("case-%d", n.Add(1)))
		require.NoError(t, err)
		return q
	}, &queuetest.Options{NeedsCreate: true, RealTime: true, Slack: 100 * time.Millisecond})
}

func BenchmarkQueue(b *testing.B) {
	queuetest.Bench(b, func(b *testing.B) queue.Queue {
		q, err := openStore(b, nil).Queue("bench")
		require.NoError(b, err)
		require.NoError(b, q.Create(b.Context()))
		return q
	})
}
