package workerserver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/moetron/moetron/queue"
	"github.com/moetron/moetron/worker"
)

// PoisonReasons are the label values of ConsumerMetrics.Poisoned.
func PoisonReasons() []string {
	return []string{queue.PoisonMaxDequeue, queue.PoisonPermanent, queue.PoisonArrived}
}

// QueueOps are the label values of ConsumerMetrics.QueueErrors: the queue
// calls a queue.Consumer makes.
func QueueOps() []string {
	return []string{"receive", "renew", "delete", "release", "defer", "poison"}
}

// ConsumerMetrics are Prometheus collectors fed by a queue.Consumer's hooks
// (see Hooks). Every counter starts at zero, labelled ones for every known
// label value, so dashboards see them before the first event.
type ConsumerMetrics struct {
	Received       prometheus.Counter     // moetron_consumer_received_total
	Succeeded      prometheus.Counter     // moetron_consumer_succeeded_total
	Failed         prometheus.Counter     // moetron_consumer_failed_total
	Deferred       prometheus.Counter     // moetron_consumer_deferred_total
	Poisoned       *prometheus.CounterVec // moetron_consumer_poisoned_total{reason}
	Released       prometheus.Counter     // moetron_consumer_released_total
	LeaseRenewed   prometheus.Counter     // moetron_consumer_lease_renewed_total
	LeaseLost      prometheus.Counter     // moetron_consumer_lease_lost_total
	QueueErrors    *prometheus.CounterVec // moetron_consumer_queue_errors_total{op}
	HandlerSeconds prometheus.Histogram   // moetron_consumer_handler_seconds
	Dropped        *prometheus.CounterVec // moetron_consumer_dropped_total{reason}
}

// NewConsumerMetrics creates the collectors and registers them with reg
// (nil means not registered).
func NewConsumerMetrics(reg prometheus.Registerer) *ConsumerMetrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "moetron_consumer_" + name, Help: help})
	}
	m := &ConsumerMetrics{
		Received:  counter("received_total", "Messages taken from the queue."),
		Succeeded: counter("succeeded_total", "Handler runs that returned nil (the job is then deleted)."),
		Failed:    counter("failed_total", "Handler runs that failed (panics included); the job is retried or poisoned."),
		Deferred:  counter("deferred_total", "Jobs put back for a set delay (rate limits), not counted as failures."),
		Poisoned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_consumer_poisoned_total", Help: "Jobs moved to the poison queue, by reason.",
		}, []string{"reason"}),
		Released:     counter("released_total", "Jobs in flight given back to the queue at the drain deadline."),
		LeaseRenewed: counter("lease_renewed_total", "Successful lease renewals of running jobs."),
		LeaseLost:    counter("lease_lost_total", "Leases found stale: another consumer may own the job."),
		QueueErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "moetron_consumer_queue_errors_total", Help: "Failed queue calls other than lost leases, by operation.",
		}, []string{"op"}),
		HandlerSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "moetron_consumer_handler_seconds", Help: "Duration of one handler run (generation and reply).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}),
	}
	m.Dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "moetron_consumer_dropped_total",
		Help: "Messages deleted without a poison record because the poison queue refused even a cut copy, by reason.",
	}, []string{"reason"})
	m.Dropped.WithLabelValues(queue.DropRefused)
	for _, r := range PoisonReasons() {
		m.Poisoned.WithLabelValues(r)
	}
	for _, op := range QueueOps() {
		m.QueueErrors.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.Received, m.Succeeded, m.Failed, m.Deferred, m.Poisoned, m.Released,
			m.LeaseRenewed, m.LeaseLost, m.QueueErrors, m.HandlerSeconds, m.Dropped)
	}
	return m
}

// Hooks returns the queue.ConsumerMetrics that update m, for
// queue.ConsumerConfig.Metrics. A nil m gives nil (no hooks).
func (m *ConsumerMetrics) Hooks() *queue.ConsumerMetrics {
	if m == nil {
		return nil
	}
	return &queue.ConsumerMetrics{
		Received:     m.Received.Inc,
		Succeeded:    m.Succeeded.Inc,
		Failed:       func(error) { m.Failed.Inc() },
		Deferred:     func(time.Duration) { m.Deferred.Inc() },
		Poisoned:     func(reason string) { m.Poisoned.WithLabelValues(reason).Inc() },
		Released:     m.Released.Inc,
		LeaseRenewed: m.LeaseRenewed.Inc,
		LeaseLost:    m.LeaseLost.Inc,
		QueueError:   func(op string, _ error) { m.QueueErrors.WithLabelValues(op).Inc() },
		HandlerDone:  func(d time.Duration, _ error) { m.HandlerSeconds.Observe(d.Seconds()) },
		Dropped:      func(reason string) { m.Dropped.WithLabelValues(reason).Inc() },
	}
}

// WorkerMetrics are the worker's Prometheus collectors, fed by its hooks
// (see Hooks). Jobs starts at zero for every outcome.
type WorkerMetrics struct {
	Jobs            *prometheus.CounterVec // moetron_worker_jobs_total{outcome} (worker.Outcomes)
	GenerateSeconds prometheus.Histogram   // moetron_worker_generate_seconds: one Generate call, batching wait included
	ReplySeconds    prometheus.Histogram   // moetron_worker_reply_seconds: one ReplyWithImage or DMWithImage call, upload included
}

// NewWorkerMetrics creates the collectors, with every outcome at zero, and
// registers them with reg (nil means not registered).
func NewWorkerMetrics(reg prometheus.Registerer) *WorkerMetrics {
	m := &WorkerMetrics{
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
	for _, o := range worker.Outcomes() {
		m.Jobs.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.Jobs, m.GenerateSeconds, m.ReplySeconds)
	}
	return m
}

// Hooks returns the worker.Metrics that update m, for worker.Config.Metrics.
// A nil m gives nil (no hooks).
func (m *WorkerMetrics) Hooks() *worker.Metrics {
	if m == nil {
		return nil
	}
	return &worker.Metrics{
		Job:       func(outcome string) { m.Jobs.WithLabelValues(outcome).Inc() },
		Generated: func(d time.Duration) { m.GenerateSeconds.Observe(d.Seconds()) },
		Replied:   func(d time.Duration) { m.ReplySeconds.Observe(d.Seconds()) },
	}
}
