package intake

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the webhook's Prometheus collectors. Intake updates Events,
// Decisions, Enqueued, EnqueueSeconds and Drained; the HTTP layer updates
// Requests and SignatureFailures (see events.HandlerConfig's hooks).
type Metrics struct {
	Requests          *prometheus.CounterVec // by outcome: ok, bad_signature, missing_signature, too_large, malformed, callback_failed, ...
	SignatureFailures prometheus.Counter
	Events            *prometheus.CounterVec // by kind (tweet_create_events, ...)
	Decisions         *prometheus.CounterVec // by filter reason (job, duplicate, own_event, ...)
	Enqueued          *prometheus.CounterVec // by where: queue, spool (with Config.Journal: queue, once moved)
	EnqueueSeconds    prometheus.Histogram
	Drained           prometheus.Counter // jobs spooled while the queue was away, then moved (not journaled ones)
	SpoolDamaged      prometheus.Counter // spool segments kept as *.damaged
}

// NewMetrics creates the collectors and registers them with reg (nil means
// not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_webhook_requests_total", Help: "Webhook requests by outcome.",
		}, []string{"outcome"}),
		SignatureFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "moetron_webhook_signature_failures_total", Help: "POSTs with a missing or wrong signature.",
		}),
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_webhook_events_total", Help: "Decoded events by kind.",
		}, []string{"kind"}),
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_webhook_decisions_total", Help: "Filter decisions by reason (job, duplicate, own_event, ...).",
		}, []string{"reason"}),
		Enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_webhook_jobs_enqueued_total", Help: "Jobs stored, by where: queue or spool.",
		}, []string{"where"}),
		EnqueueSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "moetron_webhook_enqueue_seconds", Help: "Latency of one enqueue.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		Drained: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "moetron_webhook_spool_drained_total", Help: "Jobs moved from the spool to the queue.",
		}),
		SpoolDamaged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "moetron_webhook_spool_damaged_segments_total",
			Help: "Spool segments that held bytes that were not whole records (kept on disk as *.damaged).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.SignatureFailures, m.Events, m.Decisions, m.Enqueued, m.EnqueueSeconds, m.Drained,
			m.SpoolDamaged)
	}
	return m
}
