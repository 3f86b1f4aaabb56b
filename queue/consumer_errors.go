package queue

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by the Consumer. Test with errors.Is.
var (
	// ErrConsumerRunning means Run was called on a Consumer that is already
	// running or has run; a Consumer runs once.
	ErrConsumerRunning = errors.New("queue: consumer already started")
	// ErrDrainTimeout means the drain deadline passed while handlers were
	// still running; their contexts were cancelled and their messages were
	// made visible again. It is also the cause of those contexts.
	ErrDrainTimeout = errors.New("queue: drain deadline passed; in-flight messages released")
	// ErrDeliveryDone means a Delivery method was called after the consumer
	// stopped working on the message (the handler returned, the lease was
	// lost, or the message was released at the drain deadline).
	ErrDeliveryDone = errors.New("queue: delivery no longer active")
)

// permanentError marks an error that must not be retried.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the Consumer moves the message to the poison
// queue at once instead of retrying it. Permanent(nil) is nil, so
// `return queue.Permanent(err)` passes success through. The result still
// matches err with errors.Is and errors.As.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, came from
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfterError asks for a redelivery after an exact delay.
type retryAfterError struct {
	err   error // may be nil
	delay time.Duration
}

func (e *retryAfterError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("retry after %v", e.delay)
	}
	return fmt.Sprintf("retry after %v: %v", e.delay, e.err)
}

func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter returns an error that asks the Consumer to put the message back
// to be delivered again after exactly delay (clamped to 0..MaxVisibility). It
// is a deferral, not a failure: it does not count toward MaxDequeueCount
// (see "Deferred messages" in the package documentation). err says why and
// may be nil, e.g. RetryAfter(nil, time.Until(rateLimitReset)).
//
// A Permanent error wrapped anywhere inside wins over RetryAfter.
func RetryAfter(err error, delay time.Duration) error {
	return &retryAfterError{err: err, delay: delay}
}

// RetryAfterDelay reports the delay asked for by RetryAfter in err's chain.
// The outermost RetryAfter wins.
func RetryAfterDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// PanicError is the error a handler's panic becomes. The Consumer treats it
// as an ordinary failure (retry, then poison) and logs the stack.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panic: %v", e.Value) }

// Unwrap returns Value when it is an error, so errors.Is sees through panics
// of error values.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}
