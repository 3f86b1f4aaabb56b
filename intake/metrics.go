package intake

import "time"

// Where a job was stored: the where argument of Metrics.Enqueued.
const (
	WhereQueue = "queue" // on the queue (with Config.Journal: once moved there)
	WhereSpool = "spool" // in the spool while the queue was away
)

// Metrics are optional hooks the Intake calls as it works, for wiring
// Prometheus or similar (webhookserver does). Every field may be nil (a nil
// field, or a nil *Metrics, does nothing). Hooks are called from many
// goroutines at once and must be fast and safe for concurrent use.
type Metrics struct {
	// Event is called once per decoded event, with its kind
	// (tweet_create_events, ...; see events.Payload.Kinds).
	Event func(kind string)
	// Decided is called for n filter decisions with reason (a
	// filter.Reason: job, duplicate, own_event, ..., or
	// DecisionDeliveryCap for jobs dropped past MaxJobsPerDelivery).
	Decided func(reason string, n int)
	// Enqueued is called when n jobs were stored; where is WhereQueue or
	// WhereSpool. With Config.Journal a job counts once, as WhereQueue, when
	// it was moved from the journal to the queue.
	Enqueued func(where string, n int)
	// EnqueueDone is called with the duration of one enqueue (with
	// Config.Journal: one journal append), failed ones included.
	EnqueueDone func(d time.Duration)
	// Drained is called when n jobs spooled while the queue was away were
	// moved to the queue (not journaled ones; those count as Enqueued).
	Drained func(n int)
	// SpoolDamaged is called for each spool segment that held bytes that
	// were not whole records (kept on disk as *.damaged).
	SpoolDamaged func()
}

func (m *Metrics) event(kind string) {
	if m != nil && m.Event != nil {
		m.Event(kind)
	}
}

func (m *Metrics) decided(reason string, n int) {
	if m != nil && m.Decided != nil {
		m.Decided(reason, n)
	}
}

func (m *Metrics) enqueued(where string, n int) {
	if m != nil && m.Enqueued != nil {
		m.Enqueued(where, n)
	}
}

func (m *Metrics) enqueueDone(d time.Duration) {
	if m != nil && m.EnqueueDone != nil {
		m.EnqueueDone(d)
	}
}

func (m *Metrics) drained(n int) {
	if m != nil && m.Drained != nil {
		m.Drained(n)
	}
}

func (m *Metrics) spoolDamaged() {
	if m != nil && m.SpoolDamaged != nil {
		m.SpoolDamaged()
	}
}
