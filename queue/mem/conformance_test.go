package mem_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/queue/mem"
	"github.com/moetron/moetron/queue/queuetest"
)

func factory(t *testing.T, now func() time.Time) queue.Queue {
	q, err := mem.New("jobs", &mem.Options{Now: now})
	require.NoError(t, err)
	t.Cleanup(func() { q.Close() })
	return q
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, factory, nil)
}

// TestConformanceRealTime runs the suite on the real clock, as it runs
// against Azurite, so that the real-time mode itself stays tested.
func TestConformanceRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps a few seconds")
	}
	queuetest.Run(t, factory, &queuetest.Options{RealTime: true, Slack: 100 * time.Millisecond})
}

func BenchmarkQueue(b *testing.B) {
	queuetest.Bench(b, func(b *testing.B) queue.Queue {
		q, err := mem.New("bench", nil)
		require.NoError(b, err)
		return q
	})
}
