package worker

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of a job: the label values of Metrics.Jobs and of the "outcome"
// attribute of the worker's log records.
const (
	// OutcomeReplied: the image was generated and the reply or DM sent.
	OutcomeReplied = "replied"
	// OutcomeAlreadyReplied: the job carried the done marker, or the
	// read-back of a redelivered job found the reply on X; nothing was sent.
	OutcomeAlreadyReplied = "already_replied"
	// OutcomePermanentXError: X refused the reply for good (duplicate
	// content, reply or DM not allowed, usage cap far away); the job ends.
	OutcomePermanentXError = "permanent_x_error"
	// OutcomeRateLimited: X rate-limited the reply (or the read-back); the
	// job was put back until the window resets.
	OutcomeRateLimited = "rate_limited"
	// OutcomeFailed: a retryable failure (X down, an uncertain post,
	// generation failed); the Consumer retries, then poisons.
	OutcomeFailed = "failed"
	// OutcomeInFlight: another copy of the job (same job id) was being
	// answered; this copy was put back for Config.ClaimedRetry and is
	// deleted once the ledger says the job was answered.
	OutcomeInFlight = "in_flight"
	// OutcomeInvalid: the message is not a job this worker can run (bad
	// JSON, unknown command, a reply text the template cannot render); it
	// is poisoned at once.
	OutcomeInvalid = "invalid"
)

// Outcomes returns every outcome, for dashboards and pre-registration.
func Outcomes() []string {
	return []string{OutcomeReplied, OutcomeAlreadyReplied, OutcomePermanentXError,
		OutcomeRateLimited, OutcomeInFlight, OutcomeFailed, OutcomeInvalid}
}

// Metrics are the worker's Prometheus collectors. Handle updates them.
type Metrics struct {
	Jobs            *prometheus.CounterVec // by outcome (see Outcomes)
	GenerateSeconds prometheus.Histogram   // one Generate call, batching wait included
	ReplySeconds    prometheus.Histogram   // one ReplyWithImage or DMWithImage call, upload included
}

// NewMetrics creates the collectors, with every outcome at zero, and
// registers them with reg (nil means not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_worker_jobs_total", Help: "Jobs handled, by outcome.",
		}, []string{"outcome"}),
		GenerateSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "moetron_worker_generate_seconds", Help: "Latency of one image generation, batching wait included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		ReplySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "moetron_worker_reply_seconds", Help: "Latency of one reply or DM to X, upload included.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
	}
	for _, o := range Outcomes() {
		m.Jobs.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.Jobs, m.GenerateSeconds, m.ReplySeconds)
	}
	return m
}

func (m *Metrics) outcome(o string) {
	if m != nil {
		m.Jobs.WithLabelValues(o).Inc()
	}
}

func (m *Metrics) generated(s float64) {
	if m != nil {
		m.GenerateSeconds.Observe(s)
	}
}

func (m *Metrics) replied(s float64) {
	if m != nil {
		m.ReplySeconds.Observe(s)
	}
}
