package workerserver_test

import (
	"sort"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/workerserver"
)

// Dashboards and the e2e tests scrape these names: they must not change.
func TestWorkerMetricsNamesAndHooks(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := workerserver.NewWorkerMetrics(reg)
	assert.Equal(t, len(worker.Outcomes()), testutil.CollectAndCount(m.Jobs), "every outcome at zero")
	h := m.Hooks()
	h.Job(worker.OutcomeReplied)
	h.Job(worker.OutcomeReplied)
	h.Job(worker.OutcomeFailed)
	h.Generated(300 * time.Millisecond)
	h.Replied(time.Second)

	fams, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	sort.Strings(names)
	assert.Equal(t, []string{"moetron_worker_generate_seconds", "moetron_worker_jobs_total", "moetron_worker_reply_seconds"}, names)
	assert.Equal(t, 2.0, testutil.ToFloat64(m.Jobs.WithLabelValues(worker.OutcomeReplied)))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.Jobs.WithLabelValues(worker.OutcomeFailed)))
	assert.Zero(t, testutil.ToFloat64(m.Jobs.WithLabelValues(worker.OutcomeInvalid)))
	for _, f := range fams {
		if f.GetName() == "moetron_worker_generate_seconds" {
			assert.InDelta(t, 0.3, f.GetMetric()[0].GetHistogram().GetSampleSum(), 1e-9)
		}
		if f.GetName() == "moetron_worker_reply_seconds" {
			assert.InDelta(t, 1.0, f.GetMetric()[0].GetHistogram().GetSampleSum(), 1e-9)
		}
	}
	assert.Nil(t, (*workerserver.WorkerMetrics)(nil).Hooks())
}
