package webhookserver

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moetron/moetron/intake"
	"github.com/moetron/moetron/stream"
)

// IntakeMetrics are the webhook's Prometheus collectors. The intake's
// hooks (see Hooks) update Events, Decisions, Enqueued, EnqueueSeconds,
// Drained and SpoolDamaged; the HTTP layer updates Requests and
// SignatureFailures (through events.HandlerConfig's hooks).
type IntakeMetrics struct {
	Requests          *prometheus.CounterVec // moetron_webhook_requests_total{outcome}: ok, bad_signature, missing_signature, too_large, malformed, callback_failed, ...
	SignatureFailures prometheus.Counter     // moetron_webhook_signature_failures_total
	Events            *prometheus.CounterVec // moetron_webhook_events_total{kind}: tweet_create_events, ...
	Decisions         *prometheus.CounterVec // moetron_webhook_decisions_total{reason}: job, duplicate, own_event, ...
	Enqueued          *prometheus.CounterVec // moetron_webhook_jobs_enqueued_total{where}: queue, spool (with a journal: queue, once moved)
	EnqueueSeconds    prometheus.Histogram   // moetron_webhook_enqueue_seconds
	Drained           prometheus.Counter     // moetron_webhook_spool_drained_total: jobs spooled while the queue was away, then moved (not journaled ones)
	SpoolDamaged      prometheus.Counter     // moetron_webhook_spool_damaged_segments_total: spool segments kept as *.damaged
}

// NewIntakeMetrics creates the collectors and registers them with reg (nil
// means not registered).
func NewIntakeMetrics(reg prometheus.Registerer) *IntakeMetrics {
	m := &IntakeMetrics{
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

// Hooks returns the intake.Metrics that update m, for intake.Config.Metrics.
// A nil m gives nil (no hooks).
func (m *IntakeMetrics) Hooks() *intake.Metrics {
	if m == nil {
		return nil
	}
	return &intake.Metrics{
		Event:        func(kind string) { m.Events.WithLabelValues(kind).Inc() },
		Decided:      func(reason string, n int) { m.Decisions.WithLabelValues(reason).Add(float64(n)) },
		Enqueued:     func(where string, n int) { m.Enqueued.WithLabelValues(where).Add(float64(n)) },
		EnqueueDone:  func(d time.Duration) { m.EnqueueSeconds.Observe(d.Seconds()) },
		Drained:      func(n int) { m.Drained.Add(float64(n)) },
		SpoolDamaged: m.SpoolDamaged.Inc,
	}
}

// StreamMetrics are the stream consumer's Prometheus collectors, fed by its
// hooks (see Hooks). Skipped and Errors start at zero for every known label
// value, so dashboards see them before the first event.
type StreamMetrics struct {
	Connected    prometheus.Gauge       // moetron_stream_connected: 1 while a stream is open
	Reconnects   prometheus.Counter     // moetron_stream_reconnects_total: connection attempts after the first
	Events       prometheus.Counter     // moetron_stream_events_taken_total: events taken (Handle returned nil)
	Skipped      *prometheus.CounterVec // moetron_stream_lines_skipped_total{reason} (stream.SkipReasons)
	Errors       *prometheus.CounterVec // moetron_stream_errors_total{kind} (stream.ErrorKinds)
	LastEventAge prometheus.GaugeFunc   // moetron_stream_last_event_age_seconds; -1 before the first

	lastEvent atomic.Int64 // unix nanoseconds
	now       func() time.Time
}

// NewStreamMetrics creates the collectors and registers them with reg (nil
// means not registered).
func NewStreamMetrics(reg prometheus.Registerer) *StreamMetrics {
	m := &StreamMetrics{
		Connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "moetron_stream_connected", Help: "1 while the X activity stream is open.",
		}),
		Reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "moetron_stream_reconnects_total", Help: "Stream connection attempts after the first.",
		}),
		Events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "moetron_stream_events_taken_total", Help: "Stream events handed off durably.",
		}),
		Skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_stream_lines_skipped_total", Help: "Stream lines skipped, by reason.",
		}, []string{"reason"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_stream_errors_total", Help: "Stream failures, by kind.",
		}, []string{"kind"}),
		now: time.Now,
	}
	m.LastEventAge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "moetron_stream_last_event_age_seconds", Help: "Seconds since the last stream event was taken; -1 before the first.",
	}, func() float64 {
		n := m.lastEvent.Load()
		if n == 0 {
			return -1
		}
		return m.now().Sub(time.Unix(0, n)).Seconds()
	})
	for _, r := range stream.SkipReasons() {
		m.Skipped.WithLabelValues(r)
	}
	for _, k := range stream.ErrorKinds() {
		m.Errors.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(m.Connected, m.Reconnects, m.Events, m.Skipped, m.Errors, m.LastEventAge)
	}
	return m
}

// Hooks returns the stream.Metrics that update m, for stream.Config.Metrics.
// A nil m gives nil (no hooks).
func (m *StreamMetrics) Hooks() *stream.Metrics {
	if m == nil {
		return nil
	}
	return &stream.Metrics{
		Connected: func(open bool) {
			if open {
				m.Connected.Set(1)
			} else {
				m.Connected.Set(0)
			}
		},
		Reconnecting: m.Reconnects.Inc,
		Taken: func(at time.Time) {
			m.Events.Inc()
			m.lastEvent.Store(at.UnixNano())
		},
		Skipped: func(reason string) { m.Skipped.WithLabelValues(reason).Inc() },
		Failed:  func(kind string, _ error) { m.Errors.WithLabelValues(kind).Inc() },
	}
}
