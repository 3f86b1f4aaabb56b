package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// PoisonSuffix is appended to a queue's name to name its poison queue, as
// Azure Functions does.
const PoisonSuffix = "-poison"

// ErrNotPoisonRecord means DecodePoison was given a body that is not a
// poison envelope (for example a body poisoned verbatim because the envelope
// would have been too large, or one written by another tool).
var ErrNotPoisonRecord = errors.New("queue: not a poison envelope")

// Why a message was poisoned (PoisonRecord.Reason).
const (
	// PoisonMaxDequeue: the handler failed on the last allowed attempt.
	PoisonMaxDequeue = "max_dequeue_count"
	// PoisonPermanent: the handler returned a Permanent error.
	PoisonPermanent = "permanent"
	// PoisonArrived: the message arrived with a dequeue count above the
	// limit (earlier attempts died without reporting, e.g. a crash) and was
	// poisoned without running.
	PoisonArrived = "dequeue_count_exceeded"
)

// DropRefused is the reason ConsumerMetrics.Dropped reports when the poison
// queue refused even a truncated envelope (a backend with a tighter limit
// than MaxBodySize) and the message was deleted with an error log line
// instead of looping forever.
const DropRefused = "poison_refused"

// truncatedPoisonBody is the most body bytes kept when the poison queue
// refused the first envelope: small enough for any backend.
const truncatedPoisonBody = 4 << 10

// maxPoisonErrorLen caps the error text kept in a poison envelope.
const maxPoisonErrorLen = 1024

// PoisonRecord is the envelope the Consumer writes to the poison queue. It
// is UTF-8 JSON; Body holds the original message body byte for byte (JSON
// string escaping is undone by DecodePoison), so the job can be re-enqueued
// after a fix with q.Enqueue(ctx, []byte(rec.Body), nil).
type PoisonRecord struct {
	// Version is 1. It marks the body as a poison envelope.
	Version      int       `json:"moetron_poison"`
	Queue        string    `json:"queue"`
	MessageID    string    `json:"message_id"`
	DequeueCount int       `json:"dequeue_count"`
	InsertedAt   time.Time `json:"inserted_at"`
	PoisonedAt   time.Time `json:"poisoned_at"`
	Reason       string    `json:"reason"`
	// Error is the handler's last error text, cut to 1 KiB.
	Error string `json:"error"`
	// Body is the original message body, or its first bytes when
	// BodyTruncated is set.
	Body string `json:"body"`
	// BodyTruncated is set when the original body could not be kept byte
	// for byte (it was over MaxBodySize or not valid UTF-8, as only a foreign
	// writer can leave on a queue): Body is then a prefix cut at a rune
	// boundary, invalid bytes replaced by U+FFFD, and BodySize is the
	// original length in bytes.
	BodyTruncated bool `json:"body_truncated,omitempty"`
	BodySize      int  `json:"body_size,omitempty"`
}

// Forms of a poison message (encodePoison's second result).
const (
	poisonEnveloped = iota // a PoisonRecord with the whole body
	poisonVerbatim         // the original body, byte for byte
	poisonTruncated        // a PoisonRecord with BodyTruncated set
)

// encodePoison returns what to write to the poison queue for rec: the
// envelope when it fits MaxBodySize; else the original body verbatim when
// that passes CheckBody (the job stays recoverable byte for byte); else an
// envelope whose body is cut so that the whole passes CheckBody. The result
// always passes CheckBody, so a poisoning can never be refused for its size
// by a backend that keeps the shared limits.
func encodePoison(rec *PoisonRecord) ([]byte, int) {
	rec.Version = 1
	rec.Error = truncateUTF8(rec.Error, maxPoisonErrorLen)
	if !utf8.ValidString(rec.Body) {
		// JSON would replace the invalid bytes silently: say so.
		rec.BodyTruncated, rec.BodySize = true, len(rec.Body)
		rec.Body = strings.ToValidUTF8(rec.Body, "\uFFFD")
		if b, ok := marshalPoison(rec); ok {
			return b, poisonTruncated
		}
		return truncatePoison(rec, MaxBodySize), poisonTruncated
	}
	if b, ok := marshalPoison(rec); ok {
		return b, poisonEnveloped
	}
	if CheckBody([]byte(rec.Body)) == nil {
		return []byte(rec.Body), poisonVerbatim
	}
	return truncatePoison(rec, MaxBodySize), poisonTruncated
}

// truncatePoison marks rec truncated and keeps the longest prefix of its body
// (at a rune boundary) whose envelope is at most limit bytes.
func truncatePoison(rec *PoisonRecord, limit int) []byte {
	body := rec.Body
	if !rec.BodyTruncated {
		rec.BodyTruncated, rec.BodySize = true, len(body)
	}
	rec.Body = ""
	best, ok := marshalPoisonLimit(rec, limit)
	if !ok {
		// Only the error text could be too long, and it is cut to 1 KiB.
		rec.Error = ""
		best, _ = marshalPoisonLimit(rec, limit)
	}
	// Binary search over the prefix length: escaping makes the envelope's
	// size grow with the prefix, but not by a fixed factor.
	lo, hi := 0, min(len(body), limit)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		rec.Body = truncateUTF8(body, mid)
		if b, ok := marshalPoisonLimit(rec, limit); ok {
			best, lo = b, mid
		} else {
			hi = mid - 1
		}
	}
	rec.Body = truncateUTF8(body, lo)
	return best
}

// marshalPoison encodes rec without HTML escaping and reports whether the
// result fits MaxBodySize.
func marshalPoison(rec *PoisonRecord) ([]byte, bool) {
	return marshalPoisonLimit(rec, MaxBodySize)
}

func marshalPoisonLimit(rec *PoisonRecord, limit int) ([]byte, bool) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil || buf.Len()-1 > limit {
		return nil, false
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
}

// DecodePoison parses a poison-queue message body. For a body that is not a
// poison envelope it returns an error wrapping ErrNotPoisonRecord and a
// record whose Body is the whole input, so the job is recoverable either way.
func DecodePoison(body []byte) (PoisonRecord, error) {
	var rec PoisonRecord
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&rec); err != nil || rec.Version < 1 {
		why := "no moetron_poison field"
		if err != nil {
			why = err.Error()
		}
		return PoisonRecord{Body: string(body)}, fmt.Errorf("%w: %s", ErrNotPoisonRecord, why)
	}
	return rec, nil
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
