package webhookserver

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/intake"
	"github.com/moetron/moetron/stream"
)

// gathered returns the names of the metric families reg holds.
func gathered(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	sort.Strings(names)
	return names
}

// Dashboards and the e2e tests scrape these names: they must not change.
func TestIntakeMetricsNamesAndHooks(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewIntakeMetrics(reg)
	h := m.Hooks()
	h.Event("tweet_create_events")
	h.Decided("job", 1)
	h.Decided(intake.DecisionDeliveryCap, 5)
	h.Enqueued(intake.WhereQueue, 2)
	h.Enqueued(intake.WhereSpool, 3)
	h.EnqueueDone(20 * time.Millisecond)
	h.Drained(4)
	h.SpoolDamaged()
	m.Requests.WithLabelValues("ok").Inc()
	m.SignatureFailures.Inc()

	assert.Equal(t, []string{
		"moetron_webhook_decisions_total",
		"moetron_webhook_enqueue_seconds",
		"moetron_webhook_events_total",
		"moetron_webhook_jobs_enqueued_total",
		"moetron_webhook_requests_total",
		"moetron_webhook_signature_failures_total",
		"moetron_webhook_spool_damaged_segments_total",
		"moetron_webhook_spool_drained_total",
	}, gathered(t, reg))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Events.WithLabelValues("tweet_create_events")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Decisions.WithLabelValues("job")))
	assert.Equal(t, 5.0, testutil.ToFloat64(m.Decisions.WithLabelValues(intake.DecisionDeliveryCap)))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.Enqueued.WithLabelValues("queue")))
	assert.Equal(t, 3.0, testutil.ToFloat64(m.Enqueued.WithLabelValues("spool")))
	assert.Equal(t, 4.0, testutil.ToFloat64(m.Drained))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.SpoolDamaged))
	assert.Equal(t, 1, testutil.CollectAndCount(m.EnqueueSeconds))
	assert.Nil(t, (*IntakeMetrics)(nil).Hooks())
}

func TestStreamMetricsNamesAndHooks(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewStreamMetrics(reg)
	now := time.Unix(1_800_000_000, 0)
	m.now = func() time.Time { return now }
	assert.Equal(t, -1.0, testutil.ToFloat64(m.LastEventAge), "before the first event")
	// Every reason and kind is there at zero before the first event.
	assert.Equal(t, len(stream.SkipReasons()), testutil.CollectAndCount(m.Skipped))
	assert.Equal(t, len(stream.ErrorKinds()), testutil.CollectAndCount(m.Errors))

	h := m.Hooks()
	h.Connected(true)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Connected))
	h.Taken(now.Add(-3 * time.Second))
	h.Taken(now.Add(-2 * time.Second))
	h.Reconnecting()
	h.Skipped(stream.SkipKeepAlive)
	h.Failed(stream.ErrKindStall, errors.New("silent"))
	h.Connected(false)

	assert.Equal(t, []string{
		"moetron_stream_connected",
		"moetron_stream_errors_total",
		"moetron_stream_events_taken_total",
		"moetron_stream_last_event_age_seconds",
		"moetron_stream_lines_skipped_total",
		"moetron_stream_reconnects_total",
	}, gathered(t, reg))
	assert.Equal(t, 0.0, testutil.ToFloat64(m.Connected))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.Events))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.LastEventAge), "age of the last event taken")
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Reconnects))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Skipped.WithLabelValues(stream.SkipKeepAlive)))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Errors.WithLabelValues(stream.ErrKindStall)))
	assert.Nil(t, (*StreamMetrics)(nil).Hooks())
}
