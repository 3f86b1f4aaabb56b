package filter

import "errors"

// Errors of this package. Test with errors.Is. Every error ParseJob
// returns wraps ErrInvalidJob and, where one applies, one of the more
// specific errors below it; an invalid job will never become valid, so a
// consumer should treat it as permanent (do not retry). The specific
// errors carry no "filter:" prefix because they always appear wrapped:
// "filter: invalid job message: invalid id: respond_id "0x1f" is not a
// decimal string".
var (
	// ErrInvalidTable means NewTable was given a malformed command table.
	ErrInvalidTable = errors.New("filter: invalid command table")
	// ErrInvalidConfig means New was given a malformed Config.
	ErrInvalidConfig = errors.New("filter: invalid config")

	// ErrInvalidJob is wrapped by every error of ParseJob and Job.Body.
	ErrInvalidJob = errors.New("filter: invalid job message")
	// ErrTooLarge means a job message is over MaxMessageSize bytes.
	ErrTooLarge = errors.New("job message too large")
	// ErrMalformed means the message is neither a JSON object nor standard
	// base64 of one, or a field has the wrong JSON type.
	ErrMalformed = errors.New("not a JSON object or base64 of one")
	// ErrMsgType means msg_type is missing or is not "tweet" or "dm".
	ErrMsgType = errors.New(`msg_type must be "tweet" or "dm"`)
	// ErrMissingField means a required field (respond_id; user_id for a
	// dm) is missing or empty.
	ErrMissingField = errors.New("required field missing")
	// ErrInvalidID means an id is not an X id (1 to 19 decimal digits, no
	// leading zero: the rule reply, webhooks and the worker apply too), or
	// the id field does not agree with msg_type and respond_id.
	ErrInvalidID = errors.New("invalid id")
	// ErrNoCommand means a message without a command field whose text
	// holds no keyword of the command table.
	ErrNoCommand = errors.New("no command in text")
	// ErrInvalidTime means received_at is not an RFC 3339 time.
	ErrInvalidTime = errors.New("received_at is not an RFC 3339 time")
)
