package stream

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a line is skipped (the label values of Metrics.Skipped and the
// keys of Status.Skipped).
const (
	SkipKeepAlive = "keepalive"  // blank line or {}
	SkipOversized = "oversized"  // longer than MaxLineBytes
	SkipMalformed = "malformed"  // not a JSON object events.Decode accepts
	SkipUnknown   = "unknown"    // JSON, but neither an envelope nor an errors line
	SkipErrorLine = "error_line" // {"errors":[...]}
	SkipTruncated = "truncated"  // the connection ended inside the line
)

// Error kinds (the label values of Metrics.Errors).
const (
	ErrKindAuth        = "auth"         // 401, 403
	ErrKindRateLimit   = "rate_limit"   // 429
	ErrKindHTTP        = "http"         // other non-200 answers
	ErrKindNetwork     = "network"      // connect or read failures
	ErrKindStall       = "stall"        // silence past StallTimeout
	ErrKindStreamError = "stream_error" // {"errors":[...]} lines
	ErrKindHandle      = "handle"       // Handle returned an error
)

// Metrics are the stream consumer's Prometheus collectors.
type Metrics struct {
	Connected    prometheus.Gauge       // 1 while a stream is open
	Reconnects   prometheus.Counter     // connection attempts after the first
	Events       prometheus.Counter     // events taken (Handle returned nil)
	Skipped      *prometheus.CounterVec // lines skipped, by reason (Skip*)
	Errors       *prometheus.CounterVec // failures, by kind (ErrKind*)
	LastEventAge prometheus.GaugeFunc   // seconds since the last event taken; -1 before the first

	lastEvent atomic.Int64 // unix nanoseconds
	now       func() time.Time
}

// NewMetrics creates the collectors and registers them with reg (nil means
// not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
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
	for _, r := range []string{SkipKeepAlive, SkipOversized, SkipMalformed, SkipUnknown, SkipErrorLine, SkipTruncated} {
		m.Skipped.WithLabelValues(r)
	}
	for _, k := range []string{ErrKindAuth, ErrKindRateLimit, ErrKindHTTP, ErrKindNetwork, ErrKindStall, ErrKindStreamError, ErrKindHandle} {
		m.Errors.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(m.Connected, m.Reconnects, m.Events, m.Skipped, m.Errors, m.LastEventAge)
	}
	return m
}
