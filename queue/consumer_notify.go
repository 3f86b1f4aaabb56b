package queue

import "context"

// Notifier is implemented by queues that can say when messages may have
// arrived, so that an idle Consumer picks a new message up at once instead
// of at its next poll. The SQLite backend implements it for writes by any
// process on the same file; Azure does not (a Consumer of Azure polls, and
// a message enqueued while it is idle waits up to MaxPollInterval, 2 s by
// default, plus one Receive round trip).
type Notifier interface {
	// Changes returns a channel that receives a value soon after the queue
	// may have gained a visible message (an Enqueue, or an Update that
	// released one, by this or another process). Values are coalesced: the
	// channel holds at most one and a send never blocks. They may be
	// spurious (a write elsewhere in the same store). They do not cover
	// messages that become visible with time alone (an enqueue delay, a
	// lease or a retry backoff running out), so a consumer keeps polling.
	// The channel is closed when ctx ends or the queue is closed. Changes
	// is watching when it returns: a change made after it returned is
	// reported.
	Changes(ctx context.Context) <-chan struct{}
}

// notifier returns the Notifier the Consumer listens to: the configured
// one, else the queue itself when it is one, else nil.
func (c *Consumer) notifier() Notifier {
	if c.cfg.Notifier != nil {
		return c.cfg.Notifier
	}
	if n, ok := c.q.(Notifier); ok {
		return n
	}
	return nil
}

// listen starts a goroutine that Wakes c on every change n reports, until
// ctx ends. It subscribes before returning, so no change made after Run
// started is missed.
func (c *Consumer) listen(ctx context.Context) {
	n := c.notifier()
	if n == nil {
		return
	}
	ch := n.Changes(ctx)
	go func() {
		for range ch {
			c.met.notified()
			c.Wake()
		}
	}()
}
