package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
	// Body is the original message body.
	Body string `json:"body"`
}

// encodePoison returns the envelope for rec, or the original body verbatim
// (and false) when the envelope would exceed MaxBodySize.
func encodePoison(rec *PoisonRecord) ([]byte, bool) {
	rec.Version = 1
	rec.Error = truncateUTF8(rec.Error, maxPoisonErrorLen)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil || buf.Len()-1 > MaxBodySize {
		return []byte(rec.Body), false
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
