// Package queueadmin is what an operator does to a job queue and its poison
// queue by hand, on any backend (SQLite, Azure Storage, in-process): count,
// look at the waiting jobs, list the poison queue with each message's
// error, put poisoned jobs back, purge. examples/queuetool is its command
// line.
//
// The queue.Queue interface has no peek, so Peek and PoisonList take each
// message with a short lease and release it at once: the message stays,
// but its dequeue count rises by one (a worker poisons a job after
// WORKER_MAX_DEQUEUE deliveries, so peek the job queue sparingly; the
// poison queue has no consumer and does not care). A message a worker holds
// now is not visible to them.
package queueadmin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moetron/moetron/queue"
)

// lease is how long a peeked message stays hidden before it is released (it
// is released at once; the lease only bounds a crash of the tool).
const lease = 30 * time.Second

// ErrNotFound means no poison message has the id given to Requeue.
var ErrNotFound = errors.New("queueadmin: no poison message with that id")

// Admin works on a job queue and its poison queue.
type Admin struct {
	Queue  queue.Queue
	Poison queue.Queue
}

// Poisoned is one message of the poison queue.
type Poisoned struct {
	// ID is the poison message's id (what Requeue takes).
	ID string
	// Record is the decoded envelope; for a message that is not one
	// (poisoned verbatim), Record.Body is the message and Record.Reason is
	// empty.
	Record queue.PoisonRecord
}

// Peek returns up to max messages waiting on the job queue (see the
// package documentation: each one's dequeue count rises by one).
func (a *Admin) Peek(ctx context.Context, max int) ([]*queue.Message, error) {
	ms, err := take(ctx, a.Queue, max)
	if rerr := release(context.WithoutCancel(ctx), a.Queue, ms); err == nil {
		err = rerr
	}
	return ms, err
}

// take receives up to max messages (all, when max <= 0) under a lease.
func take(ctx context.Context, q queue.Queue, max int) ([]*queue.Message, error) {
	var out []*queue.Message
	for max <= 0 || len(out) < max {
		n := queue.MaxReceive
		if max > 0 {
			n = min(n, max-len(out))
		}
		ms, err := q.Receive(ctx, n, lease)
		if err != nil {
			return out, fmt.Errorf("queueadmin: receiving from %s: %w", q.Name(), err)
		}
		out = append(out, ms...)
		if len(ms) < n {
			break
		}
	}
	return out, nil
}

// release makes ms visible again at once.
func release(ctx context.Context, q queue.Queue, ms []*queue.Message) error {
	var errs []error
	for _, m := range ms {
		if _, err := q.Update(ctx, m.ID, m.Receipt, 0, nil); err != nil {
			errs = append(errs, fmt.Errorf("queueadmin: releasing %s on %s: %w", m.ID, q.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func decode(m *queue.Message) Poisoned {
	rec, err := queue.DecodePoison(m.Body)
	if err != nil {
		rec = queue.PoisonRecord{Body: string(m.Body), InsertedAt: m.InsertedAt}
	}
	return Poisoned{ID: m.ID, Record: rec}
}

// PoisonList returns every poison message with its reason and error.
func (a *Admin) PoisonList(ctx context.Context) ([]Poisoned, error) { return a.PoisonPeek(ctx, 0) }

// PoisonPeek returns up to max poison messages (every one when max <= 0)
// with their reasons and errors, for a view that shows the first few.
func (a *Admin) PoisonPeek(ctx context.Context, max int) ([]Poisoned, error) {
	ms, err := take(ctx, a.Poison, max)
	if rerr := release(context.WithoutCancel(ctx), a.Poison, ms); err == nil {
		err = rerr
	}
	out := make([]Poisoned, 0, len(ms))
	for _, m := range ms {
		out = append(out, decode(m))
	}
	return out, err
}

// Requeue puts the poison message id (all of them when id is "") back on
// the job queue, its original body byte for byte, and deletes it from the
// poison queue. It returns the ids requeued. A truncated record is not
// requeued (its body is incomplete) and is reported in the error.
func (a *Admin) Requeue(ctx context.Context, id string) ([]string, error) {
	ms, err := take(ctx, a.Poison, 0)
	if err != nil {
		release(context.WithoutCancel(ctx), a.Poison, ms)
		return nil, err
	}
	var done []string
	var errs []error
	var keep []*queue.Message
	for _, m := range ms {
		if id != "" && m.ID != id {
			keep = append(keep, m)
			continue
		}
		p := decode(m)
		if p.Record.BodyTruncated {
			errs = append(errs, fmt.Errorf("queueadmin: poison message %s holds only the first bytes of its job; not requeued", m.ID))
			keep = append(keep, m)
			continue
		}
		if _, err := a.Queue.Enqueue(ctx, []byte(p.Record.Body), nil); err != nil {
			errs = append(errs, fmt.Errorf("queueadmin: requeueing %s: %w", m.ID, err))
			keep = append(keep, m)
			continue
		}
		if err := a.Poison.Delete(ctx, m.ID, m.Receipt); err != nil {
			errs = append(errs, fmt.Errorf("queueadmin: %s is back on the job queue but still in the poison queue: %w", m.ID, err))
		}
		done = append(done, m.ID)
	}
	if err := release(context.WithoutCancel(ctx), a.Poison, keep); err != nil {
		errs = append(errs, err)
	}
	if id != "" && len(done) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return done, errors.Join(errs...)
}

// Purge deletes every visible message of q and returns how many.
func Purge(ctx context.Context, q queue.Queue) (int, error) {
	n := 0
	for {
		ms, err := q.Receive(ctx, queue.MaxReceive, lease)
		if err != nil {
			return n, fmt.Errorf("queueadmin: receiving from %s: %w", q.Name(), err)
		}
		for _, m := range ms {
			if err := q.Delete(ctx, m.ID, m.Receipt); err != nil {
				return n, fmt.Errorf("queueadmin: deleting %s from %s: %w", m.ID, q.Name(), err)
			}
			n++
		}
		if len(ms) == 0 {
			return n, nil
		}
	}
}
