package filter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// MaxMessageSize is the largest job message in bytes (48 KiB), the same
// limit as queue.MaxBodySize.
const MaxMessageSize = 48 * 1024

// Kind is the kind of event a job answers; it is the job's msg_type.
type Kind string

// Kinds of job.
const (
	KindTweet Kind = "tweet" // a post that mentions or replies to the bot; answered by a reply post
	KindDM    Kind = "dm"    // a direct message to the bot; answered by a DM
	// KindChat is an XChat (encrypted) message. It appears only as a
	// Result.Kind: no job is made from it, and it is no valid msg_type.
	KindChat Kind = "chat"
)

// Job is one command for the worker, and the queue message that carries
// it. Its JSON form is the queue message webhook and worker agree on,
// fields in this order, every id a decimal string:
//
//	{"msg_type":"tweet","respond_id":"1332557345071644672","text":"@bot moename hello",
//	 "user_id":"1247048165561270272","id":"tweet:1332557345071644672","command":"name",
//	 "args":"hello","for_user_id":"1114259648326987776","screen_name":"alice",
//	 "received_at":"2026-11-26T17:00:00Z"}
//
// received_at is written in UTC with whole seconds, and left out when
// ReceivedAt is zero (a message of the original bot has none). The JSON is
// what encoding/json writes: '<', '>' and '&' appear as \u003c, \u003e and
// \u0026, so json.Marshal(job) and Job.Body agree byte for byte.
type Job struct {
	// MsgType is KindTweet or KindDM.
	MsgType Kind
	// RespondID is the tweet id to reply to, or the DM event id.
	RespondID string
	// Text is the visible text of the tweet or DM.
	Text string
	// UserID is the tweet's author or the DM's sender; DMs are answered
	// to this user.
	UserID string
	// ID is the idempotency key, "tweet:<RespondID>" or "dm:<RespondID>".
	ID string
	// Command is the command's name in the table; Args the text after the
	// keyword, trimmed.
	Command string
	Args    string
	// ForUserID is the subscribed user (the bot) the event was delivered
	// for. Empty in messages of the original bot.
	ForUserID string
	// ScreenName is the author's or sender's screen name, when known.
	ScreenName string
	// ReceivedAt is when the webhook received the event.
	ReceivedAt time.Time
}

// JobID returns the idempotency key of an event: "tweet:<id>" or "dm:<id>".
func JobID(kind Kind, respondID string) string { return string(kind) + ":" + respondID }

// isJobID reports whether id is JobID(kind, respondID), without building
// that string.
func isJobID(id string, kind Kind, respondID string) bool {
	k := len(kind)
	return len(id) == k+1+len(respondID) && id[:k] == string(kind) && id[k] == ':' && id[k+1:] == respondID
}

// jobWire is the JSON shape of a Job; the field order is the contract.
// ParseJob reads it; MarshalJSON writes it with encoding/json.
type jobWire struct {
	MsgType    Kind   `json:"msg_type"`
	RespondID  string `json:"respond_id"`
	Text       string `json:"text"`
	UserID     string `json:"user_id"`
	ID         string `json:"id"`
	Command    string `json:"command"`
	Args       string `json:"args"`
	ForUserID  string `json:"for_user_id"`
	ScreenName string `json:"screen_name"`
	ReceivedAt string `json:"received_at,omitempty"`
}

// MarshalJSON writes the queue message form of j. It does not validate j;
// Body does.
func (j Job) MarshalJSON() ([]byte, error) {
	w := jobWire{
		MsgType: j.MsgType, RespondID: j.RespondID, Text: j.Text, UserID: j.UserID,
		ID: j.ID, Command: j.Command, Args: j.Args, ForUserID: j.ForUserID,
		ScreenName: j.ScreenName,
	}
	if !j.ReceivedAt.IsZero() {
		w.ReceivedAt = j.ReceivedAt.UTC().Format(time.RFC3339)
	}
	return json.Marshal(w)
}

// Body validates j and returns its queue message, at most MaxMessageSize
// bytes. Errors wrap ErrInvalidJob, and ErrTooLarge for a message over the
// limit (a very long post or DM can be).
func (j Job) Body() ([]byte, error) {
	if err := j.validate(); err != nil {
		return nil, err
	}
	b, _ := j.MarshalJSON() // never fails
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %w: %d bytes, limit %d", ErrInvalidJob, ErrTooLarge, len(b), MaxMessageSize)
	}
	return b, nil
}

// validate checks what every job must satisfy, whoever made it.
func (j Job) validate() error {
	if j.MsgType != KindTweet && j.MsgType != KindDM {
		return fmt.Errorf("%w: %w: got %q", ErrInvalidJob, ErrMsgType, truncate(string(j.MsgType)))
	}
	if j.RespondID == "" {
		return fmt.Errorf("%w: %w: respond_id", ErrInvalidJob, ErrMissingField)
	}
	if j.MsgType == KindDM && j.UserID == "" {
		return fmt.Errorf("%w: %w: user_id (a dm is answered to user_id)", ErrInvalidJob, ErrMissingField)
	}
	for _, f := range []struct{ name, v string }{
		{"respond_id", j.RespondID}, {"user_id", j.UserID}, {"for_user_id", j.ForUserID},
	} {
		if f.v != "" && !xapi.ValidID(f.v) {
			return fmt.Errorf("%w: %w: %s %q is not an X id", ErrInvalidJob, ErrInvalidID, f.name, truncate(f.v))
		}
	}
	if !isJobID(j.ID, j.MsgType, j.RespondID) {
		return fmt.Errorf("%w: %w: id %q, want %q", ErrInvalidJob, ErrInvalidID, truncate(j.ID), JobID(j.MsgType, j.RespondID))
	}
	if j.Command == "" {
		return fmt.Errorf("%w: %w: command", ErrInvalidJob, ErrMissingField)
	}
	return nil
}

// ParseJob reads a queue message with the default command table; see
// Table.ParseJob.
func ParseJob(b []byte) (Job, error) { return defaultTable.ParseJob(b) }

// ParseJob reads a queue message. It accepts
//
//   - the full message that Job.Body writes;
//   - a message of the original bot, with only msg_type, respond_id, text
//     and user_id: the command and args are found in text with this table
//     (Match), and the id is derived from msg_type and respond_id;
//   - either of these as standard base64 (what Azure Functions and some
//     SDKs write), recognised because a JSON object starts with '{' and
//     base64 never does.
//
// The table is only consulted for a message without a command field (or
// with an empty one); a message that names a command is taken as it is,
// even if the table does not know that command, so that the worker, not
// the parser, decides what an unknown command means. Unknown fields are
// ignored.
//
// Every error wraps ErrInvalidJob and, where one applies, ErrTooLarge
// (over MaxMessageSize), ErrMalformed (not a JSON object, or a field of
// the wrong type such as a numeric id), ErrMsgType, ErrMissingField (no
// respond_id, or no user_id for a dm), ErrInvalidID (an id that is not an
// X id, or an id field that disagrees with msg_type and respond_id), ErrNoCommand (no command field and no keyword in text) or
// ErrInvalidTime.
func (t *Table) ParseJob(b []byte) (Job, error) {
	if len(b) > MaxMessageSize {
		return Job{}, fmt.Errorf("%w: %w: %d bytes, limit %d", ErrInvalidJob, ErrTooLarge, len(b), MaxMessageSize)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return Job{}, fmt.Errorf("%w: %w: empty message", ErrInvalidJob, ErrMalformed)
	}
	if b[0] != '{' {
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
		n, err := base64.StdEncoding.Decode(dec, b)
		if err != nil {
			return Job{}, fmt.Errorf("%w: %w: starts with %q and is not base64", ErrInvalidJob, ErrMalformed, b[0])
		}
		dec = bytes.TrimSpace(dec[:n])
		if len(dec) == 0 || dec[0] != '{' {
			return Job{}, fmt.Errorf("%w: %w: base64 of something other than a JSON object", ErrInvalidJob, ErrMalformed)
		}
		b = dec
	}
	var w jobWire
	if err := json.Unmarshal(b, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Job{}, fmt.Errorf("%w: %w: field %s is a JSON %s, want a string", ErrInvalidJob, ErrMalformed, te.Field, te.Value)
		}
		return Job{}, fmt.Errorf("%w: %w: %v", ErrInvalidJob, ErrMalformed, err)
	}
	j := Job{
		MsgType: w.MsgType, RespondID: w.RespondID, Text: w.Text, UserID: w.UserID,
		ID: w.ID, Command: w.Command, Args: w.Args, ForUserID: w.ForUserID,
		ScreenName: w.ScreenName,
	}
	if j.MsgType != KindTweet && j.MsgType != KindDM {
		return Job{}, fmt.Errorf("%w: %w: got %q", ErrInvalidJob, ErrMsgType, truncate(string(j.MsgType)))
	}
	if j.RespondID == "" {
		return Job{}, fmt.Errorf("%w: %w: respond_id", ErrInvalidJob, ErrMissingField)
	}
	if j.ID == "" {
		j.ID = JobID(j.MsgType, j.RespondID)
	}
	if j.Command == "" {
		m, ok := t.Match(j.Text)
		if !ok {
			return Job{}, fmt.Errorf("%w: %w: text %q", ErrInvalidJob, ErrNoCommand, truncate(j.Text))
		}
		j.Command, j.Args = m.Command, m.Args
	}
	if w.ReceivedAt != "" {
		at, err := time.Parse(time.RFC3339, w.ReceivedAt)
		if err != nil {
			return Job{}, fmt.Errorf("%w: %w: %q", ErrInvalidJob, ErrInvalidTime, truncate(w.ReceivedAt))
		}
		j.ReceivedAt = at.UTC()
	}
	if err := j.validate(); err != nil {
		return Job{}, err
	}
	return j, nil
}

// truncate shortens s for an error message, so that a huge field does not
// make a huge error.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	// Back up to a rune boundary so the result stays valid UTF-8.
	i := max
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "..."
}
