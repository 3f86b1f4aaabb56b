package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Queue is a durable message queue with Azure Storage Queue semantics:
// at-least-once delivery, per-message visibility timeouts, opaque receipts
// that change on every receive and update, and a dequeue count.
//
// Implementations must be safe for concurrent use. Ordering is not
// guaranteed. Every method honours ctx; a cancelled context returns an error
// wrapping ctx.Err().
type Queue interface {
	// Name returns the queue's name.
	Name() string

	// Create creates the queue if it does not exist. Creating an existing
	// queue is not an error.
	Create(ctx context.Context) error

	// Enqueue adds a message. body must be at most MaxBodySize bytes of
	// valid UTF-8, otherwise ErrTooLarge or ErrInvalidBody. opts may be nil.
	// When Enqueue returns nil the message is durable (as durable as the
	// backend can make it: on disk and fsynced for SQLite, acknowledged by
	// the service for Azure).
	Enqueue(ctx context.Context, body []byte, opts *EnqueueOptions) (*Message, error)

	// Receive takes up to max visible messages (1..MaxReceive) and hides
	// them for visibility (which must be positive). It returns an empty
	// slice and a nil error at once when nothing is visible; it never
	// blocks waiting for messages. Each returned message's DequeueCount
	// has been incremented and its Receipt is fresh.
	Receive(ctx context.Context, max int, visibility time.Duration) ([]*Message, error)

	// Delete removes a message. A receipt that is no longer current (the
	// message was received again or updated since) or a message that no
	// longer exists gives an error wrapping ErrLeaseLost.
	Delete(ctx context.Context, id, receipt string) error

	// Update changes a received message's visibility: it becomes visible
	// again after visibility (0 means at once). When body is non-nil it also
	// replaces the message's body. It returns the new receipt; the old one
	// is dead. Stale receipts give an error wrapping ErrLeaseLost.
	Update(ctx context.Context, id, receipt string, visibility time.Duration, body []byte) (newReceipt string, err error)

	// Len returns the approximate number of messages, visible or not
	// (expired messages may or may not be counted).
	Len(ctx context.Context) (int, error)
}

// Message is a message as returned by Enqueue or Receive.
type Message struct {
	ID   string
	Body []byte // nil in the Message returned by Enqueue
	// DequeueCount is how many times the message has been received,
	// including this time (1 on first delivery, 0 from Enqueue).
	DequeueCount int
	InsertedAt   time.Time
	ExpiresAt    time.Time // zero when the message never expires
	// Receipt is the opaque proof of the current lease (Azure's pop
	// receipt). Pass it to Delete or Update.
	Receipt string
	// NextVisible is when the message becomes visible again.
	NextVisible time.Time
	// Duplicate is set in the Message returned by an Enqueue whose DedupKey
	// matched an earlier message within the dedup window: nothing was
	// stored, ID is the earlier message's id, and Receipt is empty (the
	// earlier message's lease is not the caller's).
	Duplicate bool
}

// EnqueueOptions are per-call options of Enqueue. The zero value means:
// visible at once, default time-to-live.
type EnqueueOptions struct {
	// Delay keeps the new message invisible for this long (0..7 days).
	Delay time.Duration
	// TTL is how long the message lives. 0 means DefaultTTL; a negative
	// value means it never expires.
	TTL time.Duration
	// DedupKey, when not empty, makes the message unique by this key on this
	// queue for the backend's dedup window (DefaultDedupWindow unless the
	// backend's options say otherwise), counted from the first Enqueue with
	// the key, whether that message is still queued or was already deleted:
	// a second Enqueue with the same key within the window stores nothing,
	// returns nil and a Message with the first message's ID and Duplicate
	// set. The queue gives the key no meaning; a caller passes what makes
	// two messages "the same job" (a job's idempotency id). At most
	// MaxDedupKeyLen bytes. Backends that cannot honour it (Azure) ignore it;
	// see their package docs.
	DedupKey string
}

// Limits shared by all backends (they are Azure Storage Queue's).
const (
	// MaxBodySize is the largest message body in bytes. It is the Azure
	// limit for a base64-encoded 64 KiB message, so a body accepted by one
	// backend is accepted by all of them.
	MaxBodySize = 48 * 1024
	// MaxReceive is the most messages one Receive returns.
	MaxReceive = 32
	// MaxVisibility is the longest visibility timeout or enqueue delay.
	MaxVisibility = 7 * 24 * time.Hour
	// DefaultTTL is the time-to-live of a message enqueued without one.
	DefaultTTL = 7 * 24 * time.Hour
	// DefaultDedupWindow is how long a DedupKey is remembered by backends
	// that honour it, unless configured otherwise.
	DefaultDedupWindow = 24 * time.Hour
	// MaxDedupKeyLen is the longest DedupKey in bytes.
	MaxDedupKeyLen = 256
)

// Errors returned by Queue implementations. Test with errors.Is.
var (
	// ErrLeaseLost means the receipt is stale or the message is gone:
	// another consumer owns it, or it was deleted. With at-least-once
	// delivery this is expected and callers usually just drop the message.
	ErrLeaseLost = errors.New("queue: receipt is stale or message not found")
	// ErrTooLarge means the body exceeds MaxBodySize (or the service's limit).
	ErrTooLarge = errors.New("queue: message body too large")
	// ErrInvalidBody means the body is not valid UTF-8 (or cannot be stored
	// faithfully by the backend).
	ErrInvalidBody = errors.New("queue: message body is not valid UTF-8")
	// ErrQueueNotFound means the queue does not exist; call Create.
	ErrQueueNotFound = errors.New("queue: queue not found")
	// ErrInvalidArgument means a bad max, visibility, delay or TTL.
	ErrInvalidArgument = errors.New("queue: invalid argument")
	// ErrClosed means the queue has been closed.
	ErrClosed = errors.New("queue: closed")
	// ErrUnavailable means the backend could not be reached; the call may
	// be retried.
	ErrUnavailable = errors.New("queue: backend unavailable")
)

// CheckBody reports whether body can be enqueued on every backend: at most
// MaxBodySize bytes of valid UTF-8. Backends call it before sending.
func CheckBody(body []byte) error {
	if len(body) > MaxBodySize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), MaxBodySize)
	}
	if !utf8.Valid(body) {
		return ErrInvalidBody
	}
	return nil
}

// ValidateName reports whether name is a valid Azure Storage queue name: 3 to
// 63 characters of lowercase ASCII letters, digits and hyphens, starting and
// ending with a letter or digit, with no two hyphens in a row. The error
// wraps ErrInvalidArgument.
func ValidateName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: queue name %q %s", ErrInvalidArgument, name, why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 {
				return bad("must start and end with a letter or digit")
			}
			if name[i-1] == '-' {
				return bad("must not contain two hyphens in a row")
			}
		default:
			return bad("may hold only lowercase letters, digits and hyphens")
		}
	}
	return nil
}

// EnqueueArgs checks an Enqueue call's body and options the way every
// backend must, and returns the delay and the time-to-live to apply (ttl is
// negative for a message that never expires).
func EnqueueArgs(body []byte, opts *EnqueueOptions) (delay, ttl time.Duration, err error) {
	if err := CheckBody(body); err != nil {
		return 0, 0, err
	}
	ttl = DefaultTTL
	if opts != nil {
		delay = opts.Delay
		if opts.TTL != 0 {
			ttl = opts.TTL
		}
		if len(opts.DedupKey) > MaxDedupKeyLen {
			return 0, 0, fmt.Errorf("%w: DedupKey of %d bytes, limit %d", ErrInvalidArgument, len(opts.DedupKey), MaxDedupKeyLen)
		}
	}
	if delay < 0 || delay > MaxVisibility {
		return 0, 0, fmt.Errorf("%w: delay %v outside 0..%v", ErrInvalidArgument, delay, MaxVisibility)
	}
	if ttl > 0 && delay >= ttl {
		return 0, 0, fmt.Errorf("%w: delay %v must be shorter than the TTL %v", ErrInvalidArgument, delay, ttl)
	}
	return delay, ttl, nil
}

// ReceiveArgs checks a Receive call's arguments the way every backend must.
func ReceiveArgs(max int, visibility time.Duration) error {
	if max < 1 || max > MaxReceive {
		return fmt.Errorf("%w: max %d outside 1..%d", ErrInvalidArgument, max, MaxReceive)
	}
	if visibility <= 0 || visibility > MaxVisibility {
		return fmt.Errorf("%w: visibility %v outside (0, %v]", ErrInvalidArgument, visibility, MaxVisibility)
	}
	return nil
}

// DeleteArgs checks a Delete call's arguments the way every backend must.
func DeleteArgs(id, receipt string) error {
	if id == "" || receipt == "" {
		return fmt.Errorf("%w: empty message id or receipt", ErrInvalidArgument)
	}
	return nil
}

// UpdateArgs checks an Update call's arguments the way every backend must:
// id and receipt, a visibility in 0..MaxVisibility, and a body (when not
// nil) that CheckBody accepts.
func UpdateArgs(id, receipt string, visibility time.Duration, body []byte) error {
	if err := DeleteArgs(id, receipt); err != nil {
		return err
	}
	if visibility < 0 || visibility > MaxVisibility {
		return fmt.Errorf("%w: visibility %v outside 0..%v", ErrInvalidArgument, visibility, MaxVisibility)
	}
	if body != nil {
		return CheckBody(body)
	}
	return nil
}
