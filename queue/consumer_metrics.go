package queue

import "time"

// ConsumerMetrics are optional hooks the Consumer calls as it works, for
// wiring Prometheus or similar. Every field may be nil (a nil field, or a
// nil *ConsumerMetrics, does nothing). Hooks are called from many goroutines
// at once and must be fast and safe for concurrent use.
type ConsumerMetrics struct {
	// Received is called once per message taken from the queue.
	Received func()
	// Succeeded is called when a handler returned nil (before the delete).
	Succeeded func()
	// Failed is called when a handler returned an error (panics included)
	// other than a RetryAfter; the message will be retried or poisoned.
	Failed func(err error)
	// Deferred is called when a handler asked for RetryAfter(delay).
	Deferred func(delay time.Duration)
	// Poisoned is called when a message was moved to the poison queue;
	// reason is one of the Poison* constants.
	Poisoned func(reason string)
	// Dropped is called when a message was deleted without a poison record
	// because the poison queue refused even a truncated envelope; reason is
	// DropRefused. The message is logged at error level with its id.
	Dropped func(reason string)
	// Released is called for each message given back at the drain deadline.
	Released func()
	// LeaseRenewed is called after each successful lease renewal.
	LeaseRenewed func()
	// LeaseLost is called when a renewal, delete or update found the
	// receipt stale: another consumer may now own the message.
	LeaseLost func()
	// HandlerDone is called after every handler run with its duration and
	// result.
	HandlerDone func(d time.Duration, err error)
	// QueueError is called when a queue call failed for another reason than
	// a lost lease; op is "receive", "renew", "delete", "release", "defer"
	// or "poison".
	QueueError func(op string, err error)
	// Notified is called for each change reported by the queue's Notifier
	// (see ConsumerConfig.Notifier), before the Consumer wakes.
	Notified func()
}

func (m *ConsumerMetrics) received() {
	if m != nil && m.Received != nil {
		m.Received()
	}
}

func (m *ConsumerMetrics) succeeded() {
	if m != nil && m.Succeeded != nil {
		m.Succeeded()
	}
}

func (m *ConsumerMetrics) failed(err error) {
	if m != nil && m.Failed != nil {
		m.Failed(err)
	}
}

func (m *ConsumerMetrics) deferred(d time.Duration) {
	if m != nil && m.Deferred != nil {
		m.Deferred(d)
	}
}

func (m *ConsumerMetrics) poisoned(reason string) {
	if m != nil && m.Poisoned != nil {
		m.Poisoned(reason)
	}
}

func (m *ConsumerMetrics) dropped(reason string) {
	if m != nil && m.Dropped != nil {
		m.Dropped(reason)
	}
}

func (m *ConsumerMetrics) released() {
	if m != nil && m.Released != nil {
		m.Released()
	}
}

func (m *ConsumerMetrics) leaseRenewed() {
	if m != nil && m.LeaseRenewed != nil {
		m.LeaseRenewed()
	}
}

func (m *ConsumerMetrics) leaseLost() {
	if m != nil && m.LeaseLost != nil {
		m.LeaseLost()
	}
}

func (m *ConsumerMetrics) handlerDone(d time.Duration, err error) {
	if m != nil && m.HandlerDone != nil {
		m.HandlerDone(d, err)
	}
}

func (m *ConsumerMetrics) queueError(op string, err error) {
	if m != nil && m.QueueError != nil {
		m.QueueError(op, err)
	}
}

func (m *ConsumerMetrics) notified() {
	if m != nil && m.Notified != nil {
		m.Notified()
	}
}
