package queue

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

type deliveryState int

const (
	stateRunning   deliveryState = iota // handler running, lease renewed
	stateFinishing                      // handler returned (or never ran); settling the message
	stateReleased                       // given back at the drain deadline
	stateLost                           // the lease was lost
)

// Delivery is the Consumer's hold on the message a handler is working on.
// A handler gets it with DeliveryFrom(ctx). Its methods are safe for
// concurrent use and fail with ErrDeliveryDone once the handler has
// returned or the message is no longer held.
type Delivery struct {
	c   *Consumer
	msg *Message // as received

	mu         sync.Mutex
	receipt    string // newest receipt
	leaseUntil time.Time
	state      deliveryState
	cancel     context.CancelCauseFunc // the handler's context

	resched   chan struct{} // Extend moved leaseUntil
	stopRenew chan struct{}
	renewDone chan struct{}
	finished  chan struct{} // closed when the Consumer is done with the message
}

type deliveryKey struct{}

// DeliveryFrom returns the Delivery of the message whose handler ctx
// belongs to, or nil outside a Consumer's handler.
func DeliveryFrom(ctx context.Context) *Delivery {
	d, _ := ctx.Value(deliveryKey{}).(*Delivery)
	return d
}

// Attempt returns the message's dequeue count: 1 on its first delivery.
func (d *Delivery) Attempt() int { return d.msg.DequeueCount }

// LeaseExpiry returns when the current lease ends unless renewed (by the
// Consumer's clock).
func (d *Delivery) LeaseExpiry() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.leaseUntil
}

// Extend hides the message for vis from now (0 < vis <= MaxVisibility),
// for a handler that knows it will hold the message long, e.g. while it
// waits out a short rate limit. Automatic renewals continue afterwards, from
// the new expiry, so a shorter vis than the remaining lease only brings the
// next renewal forward. On a lost lease it returns an error wrapping
// ErrLeaseLost and cancels the handler's context.
func (d *Delivery) Extend(ctx context.Context, vis time.Duration) error {
	if vis <= 0 || vis > MaxVisibility {
		return fmt.Errorf("%w: Extend visibility %v is outside (0, %v]", ErrInvalidArgument, vis, MaxVisibility)
	}
	return d.update(ctx, vis, nil)
}

// Replace writes body over the message's body in the queue and keeps the
// lease: the update hides the message for a full Visibility from now, the
// newest receipt is kept for later renewals and the final delete, and
// automatic renewals continue. A handler uses it to record progress that
// must survive a crash, such as a "done" marker written after its side effect
// and before the delete: a redelivery then carries the new body. Later
// deferrals (RetryAfter) and poison records use the new body too.
//
// body must pass CheckBody (ErrTooLarge, ErrInvalidBody). On a lost lease it
// returns an error wrapping ErrLeaseLost and cancels the handler's context,
// like Extend; after the handler returned it gives ErrDeliveryDone. The
// handler's *Message is not changed.
func (d *Delivery) Replace(ctx context.Context, body []byte) error {
	if err := CheckBody(body); err != nil {
		return err
	}
	if body == nil {
		body = []byte{} // nil would mean "keep the body" to Update
	}
	return d.update(ctx, d.c.cfg.Visibility, body)
}

// update hides the message for vis with the newest receipt, and with body
// non-nil also rewrites it; then it keeps the new receipt and lease and
// wakes the renewer so that it plans from the new expiry.
func (d *Delivery) update(ctx context.Context, vis time.Duration, body []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != stateRunning {
		return ErrDeliveryDone
	}
	ctx, cancel := context.WithTimeout(ctx, d.c.cfg.OpTimeout)
	defer cancel()
	at := d.c.clk.Now()
	rc, err := d.c.q.Update(ctx, d.msg.ID, d.receipt, vis, body)
	if err != nil {
		if errors.Is(err, ErrLeaseLost) {
			d.loseLocked(err)
		}
		return err
	}
	d.receipt, d.leaseUntil = rc, at.Add(vis)
	if body != nil {
		d.msg.Body = append([]byte(nil), body...)
	}
	d.c.met.leaseRenewed()
	select {
	case d.resched <- struct{}{}:
	default:
	}
	return nil
}

// loseLocked marks the lease lost and cancels the handler. d.mu is held.
func (d *Delivery) loseLocked(err error) {
	d.state = stateLost
	if d.cancel != nil {
		d.cancel(fmt.Errorf("%w: %v", ErrLeaseLost, err))
	}
	d.c.met.leaseLost()
	d.c.log.Warn("lease lost; handler cancelled", "id", d.msg.ID, "dequeue_count", d.msg.DequeueCount, "err", err)
}

// newDelivery registers a received message. It runs in the fetch loop, so
// the drain sees every message taken from the queue.
func (c *Consumer) newDelivery(m *Message, receivedAt time.Time) *Delivery {
	d := &Delivery{
		c:          c,
		msg:        m,
		receipt:    m.Receipt,
		leaseUntil: receivedAt.Add(c.cfg.Visibility),
		resched:    make(chan struct{}, 1),
		stopRenew:  make(chan struct{}),
		renewDone:  make(chan struct{}),
		finished:   make(chan struct{}),
	}
	if m.DequeueCount > c.cfg.MaxDequeueCount {
		d.state = stateFinishing // poisoned without running
	}
	c.mu.Lock()
	c.deliveries[d] = struct{}{}
	c.mu.Unlock()
	return d
}

// process handles one message from start to end.
func (c *Consumer) process(base context.Context, d *Delivery) {
	defer c.finished()
	defer func() {
		c.mu.Lock()
		delete(c.deliveries, d)
		c.mu.Unlock()
		close(d.finished)
	}()
	c.met.received()
	m := d.msg
	if m.DequeueCount > c.cfg.MaxDequeueCount {
		c.poison(base, d, PoisonArrived,
			fmt.Errorf("dequeue count %d exceeds MaxDequeueCount %d", m.DequeueCount, c.cfg.MaxDequeueCount))
		return
	}
	hctx, cancel := context.WithCancelCause(context.WithValue(base, deliveryKey{}, d))
	defer cancel(context.Canceled)
	d.mu.Lock()
	d.cancel = cancel
	running := d.state == stateRunning
	d.mu.Unlock()
	if !running { // released by the drain before it started
		return
	}
	go d.renew(base)

	hm := *m
	hm.Body = append([]byte(nil), m.Body...)
	start := c.clk.Now()
	err := c.call(hctx, &hm)
	c.met.handlerDone(c.clk.Now().Sub(start), err)

	close(d.stopRenew)
	<-d.renewDone
	d.mu.Lock()
	running = d.state == stateRunning
	if running {
		d.state = stateFinishing
	}
	d.mu.Unlock()
	cancel(context.Canceled)
	if running {
		c.settle(base, d, err)
	}
}

// call runs the handler, turning a panic into a *PanicError.
func (c *Consumer) call(ctx context.Context, m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			pe := &PanicError{Value: r, Stack: debug.Stack()}
			c.log.Error("handler panicked", "id", m.ID, "dequeue_count", m.DequeueCount,
				"panic", fmt.Sprint(r), "stack", string(pe.Stack))
			err = pe
		}
	}()
	return c.h.Handle(ctx, m)
}

// renew keeps the lease alive while the handler runs, always with the
// newest receipt.
func (d *Delivery) renew(base context.Context) {
	defer close(d.renewDone)
	c := d.c
	vis := c.cfg.Visibility
	var retryAt time.Time
	for {
		d.mu.Lock()
		due := d.leaseUntil.Add(-vis / 2)
		d.mu.Unlock()
		if !retryAt.IsZero() {
			due = retryAt
		}
		t := c.clk.NewTimer(max(due.Sub(c.clk.Now()), 0))
		select {
		case <-d.stopRenew:
			t.Stop()
			return
		case <-d.resched:
			t.Stop()
			retryAt = time.Time{}
			continue
		case <-t.C():
		}
		d.mu.Lock()
		if d.state != stateRunning {
			d.mu.Unlock()
			return
		}
		ctx, cancel := c.opCtx(base)
		at := c.clk.Now()
		rc, err := c.q.Update(ctx, d.msg.ID, d.receipt, vis, nil)
		cancel()
		switch {
		case err == nil:
			d.receipt, d.leaseUntil = rc, at.Add(vis)
			retryAt = time.Time{}
			c.met.leaseRenewed()
		case errors.Is(err, ErrLeaseLost):
			d.loseLocked(err)
			d.mu.Unlock()
			return
		default:
			wait := min(max(vis/10, 10*time.Millisecond), 5*time.Second)
			retryAt = at.Add(wait)
			c.met.queueError("renew", err)
			c.log.Warn("lease renewal failed; retrying", "id", d.msg.ID, "err", err, "retry_in", wait)
		}
		d.mu.Unlock()
	}
}

// release gives a running message back at the drain deadline. It reports
// whether it released one; for a message being settled it waits until that
// is done.
func (d *Delivery) release(base context.Context) bool {
	c := d.c
	d.mu.Lock()
	switch d.state {
	case stateRunning:
	case stateFinishing:
		d.mu.Unlock()
		<-d.finished
		return false
	default:
		d.mu.Unlock()
		return false
	}
	defer d.mu.Unlock()
	d.state = stateReleased
	if d.cancel != nil {
		d.cancel(ErrDrainTimeout)
	}
	ctx, cancel := c.opCtx(base)
	defer cancel()
	_, err := c.q.Update(ctx, d.msg.ID, d.receipt, 0, nil)
	switch {
	case err == nil:
		c.met.released()
		c.log.Warn("drain deadline passed; message released", "id", d.msg.ID)
	case errors.Is(err, ErrLeaseLost):
		c.met.leaseLost()
		c.log.Warn("drain deadline passed; lease already lost", "id", d.msg.ID, "err", err)
	default:
		c.met.queueError("release", err)
		c.log.Error("drain deadline passed; release failed, message reappears when its lease ends",
			"id", d.msg.ID, "err", err)
	}
	return true
}

// settle acts on the handler's result. d is in stateFinishing, so nothing
// else touches its receipt.
func (c *Consumer) settle(base context.Context, d *Delivery, err error) {
	m := d.msg
	if err == nil {
		c.met.succeeded()
		c.deleteMsg(base, d)
		return
	}
	if IsPermanent(err) {
		c.met.failed(err)
		c.poison(base, d, PoisonPermanent, err)
		return
	}
	if delay, ok := RetryAfterDelay(err); ok {
		c.met.deferred(delay)
		c.deferMsg(base, d, delay)
		return
	}
	c.met.failed(err)
	if m.DequeueCount >= c.cfg.MaxDequeueCount {
		c.poison(base, d, PoisonMaxDequeue, err)
		return
	}
	vis := clampVis(c.cfg.RetryBackoff(m.DequeueCount, err))
	c.log.Warn("handler failed; will retry", "id", m.ID, "dequeue_count", m.DequeueCount,
		"err", err, "retry_in", vis)
	c.updateMsg(base, d, vis, "release")
}

func clampVis(d time.Duration) time.Duration {
	return min(max(d, 0), MaxVisibility)
}

// deleteMsg deletes a settled message.
func (c *Consumer) deleteMsg(base context.Context, d *Delivery) {
	err := c.retry(base, "delete", d.leaseUntil, func(ctx context.Context) error {
		return c.q.Delete(ctx, d.msg.ID, d.receipt)
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrLeaseLost):
		c.met.leaseLost()
		c.log.Warn("delete found the lease lost; another consumer may run the message again",
			"id", d.msg.ID, "err", err)
	default:
		c.log.Error("delete failed; the message will be delivered again", "id", d.msg.ID, "err", err)
	}
}

// updateMsg makes a settled message visible after vis.
func (c *Consumer) updateMsg(base context.Context, d *Delivery, vis time.Duration, op string) {
	err := c.retry(base, op, d.leaseUntil, func(ctx context.Context) error {
		rc, err := c.q.Update(ctx, d.msg.ID, d.receipt, vis, nil)
		if err == nil {
			d.receipt = rc
		}
		return err
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrLeaseLost):
		c.met.leaseLost()
		c.log.Warn("lease lost before release", "id", d.msg.ID, "err", err)
	default:
		c.log.Error("release failed; the message reappears when its lease ends", "id", d.msg.ID, "err", err)
	}
}

// deferMsg puts the message back for exactly delay without counting an
// attempt: it enqueues a copy with that delay (the copy starts with dequeue
// count 0 and keeps the original's expiry) and deletes the original. If the
// copy cannot be written, the original is released with visibility delay
// instead, which does count.
func (c *Consumer) deferMsg(base context.Context, d *Delivery, delay time.Duration) {
	m := d.msg
	delay = clampVis(delay)
	ttl := time.Duration(-1)
	if !m.ExpiresAt.IsZero() {
		rem := m.ExpiresAt.Sub(c.clk.Now())
		if rem <= delay { // it expires before it would be due: nothing to reset
			c.updateMsg(base, d, delay, "defer")
			return
		}
		ttl = rem
	}
	err := c.retry(base, "defer", d.leaseUntil, func(ctx context.Context) error {
		_, err := c.q.Enqueue(ctx, m.Body, &EnqueueOptions{Delay: delay, TTL: ttl})
		return err
	})
	if err != nil {
		c.log.Warn("deferral copy failed; releasing the original (counts as an attempt)", "id", m.ID, "err", err)
		c.updateMsg(base, d, delay, "defer")
		return
	}
	c.deleteMsg(base, d)
}

// poison moves the message to the poison queue and deletes it. If the
// poison queue cannot be written the message stays in its queue and is
// retried later (it then arrives over the limit and is poisoned again).
func (c *Consumer) poison(base context.Context, d *Delivery, reason string, cause error) {
	m := d.msg
	rec := PoisonRecord{
		Queue:        c.q.Name(),
		MessageID:    m.ID,
		DequeueCount: m.DequeueCount,
		InsertedAt:   m.InsertedAt,
		PoisonedAt:   c.clk.Now().UTC(),
		Reason:       reason,
		Error:        cause.Error(),
		Body:         string(m.Body),
	}
	body, form := encodePoison(&rec)
	switch form {
	case poisonVerbatim:
		c.log.Warn("poison envelope too large; original body stored verbatim", "id", m.ID, "err", cause)
	case poisonTruncated:
		c.log.Warn("message body over the queue limit or not UTF-8; poisoned with a truncated body",
			"id", m.ID, "body_bytes", len(m.Body), "kept_bytes", len(rec.Body), "err", cause)
	}
	// A poison queue that refuses the body for its size or encoding will
	// refuse it on every later try too: fall back to a small truncated
	// envelope, and if even that is refused, delete the message with an
	// error line and the Dropped metric rather than loop on it forever.
	var refused error
	err := c.retry(base, "poison", d.leaseUntil, func(ctx context.Context) error {
		pq, err := c.poisonQueue(ctx)
		if err != nil {
			return err
		}
		_, err = pq.Enqueue(ctx, body, &EnqueueOptions{TTL: -1})
		if isRefusal(err) && form != poisonTruncated {
			c.log.Warn("poison queue refused the message; retrying with a truncated body", "id", m.ID, "err", err)
			rec.Body = string(m.Body)
			body, form = truncatePoison(&rec, truncatedPoisonBody), poisonTruncated
			_, err = pq.Enqueue(ctx, body, &EnqueueOptions{TTL: -1})
		}
		if isRefusal(err) {
			refused = err
			return nil
		}
		if errors.Is(err, ErrQueueNotFound) {
			c.poisonMu.Lock()
			c.poisonReady = false
			c.poisonMu.Unlock()
		}
		return err
	})
	if err != nil {
		vis := clampVis(c.cfg.RetryBackoff(m.DequeueCount, cause))
		c.log.Error("poison queue write failed; message kept for a later try", "id", m.ID,
			"err", err, "cause", cause, "retry_in", vis)
		c.updateMsg(base, d, vis, "release")
		return
	}
	if refused != nil {
		c.met.dropped(DropRefused)
		c.log.Error("poison queue refused the message even truncated; deleted without a poison record",
			"id", m.ID, "dequeue_count", m.DequeueCount, "body_bytes", len(m.Body), "reason", reason,
			"err", refused, "cause", cause)
		c.deleteMsg(base, d)
		return
	}
	c.met.poisoned(reason)
	c.log.Warn("message poisoned", "id", m.ID, "dequeue_count", m.DequeueCount, "reason", reason, "err", cause)
	c.deleteMsg(base, d)
}

// isRefusal reports whether a queue refused a body for what it is (its
// size or encoding): retrying the same body cannot succeed.
func isRefusal(err error) bool {
	return errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInvalidBody)
}

// poisonQueue opens (once) and creates (until it succeeds) the poison queue.
func (c *Consumer) poisonQueue(ctx context.Context) (Queue, error) {
	c.poisonMu.Lock()
	defer c.poisonMu.Unlock()
	if c.poisonQ == nil {
		if c.cfg.Poison != nil {
			c.poisonQ = c.cfg.Poison
		} else {
			name := c.q.Name() + PoisonSuffix
			pq, err := c.cfg.PoisonFactory(name)
			if err != nil {
				return nil, fmt.Errorf("opening poison queue %q: %w", name, err)
			}
			if pq == nil {
				return nil, fmt.Errorf("%w: PoisonFactory(%q) returned nil", ErrInvalidArgument, name)
			}
			c.poisonQ = pq
		}
	}
	if !c.poisonReady {
		if err := c.poisonQ.Create(ctx); err != nil {
			return nil, fmt.Errorf("creating poison queue %q: %w", c.poisonQ.Name(), err)
		}
		c.poisonReady = true
	}
	return c.poisonQ, nil
}
