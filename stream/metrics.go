package stream

import "time"

// Reasons a line is skipped (the reason argument of Metrics.Skipped and the
// keys of Status.Skipped).
const (
	SkipKeepAlive = "keepalive"  // blank line or {}
	SkipOversized = "oversized"  // longer than MaxLineBytes
	SkipMalformed = "malformed"  // not a JSON object events.Decode accepts
	SkipUnknown   = "unknown"    // JSON, but neither an envelope nor an errors line
	SkipErrorLine = "error_line" // {"errors":[...]}
	SkipTruncated = "truncated"  // the connection ended inside the line
)

// SkipReasons returns every Skip* reason, for dashboards and
// pre-registration.
func SkipReasons() []string {
	return []string{SkipKeepAlive, SkipOversized, SkipMalformed, SkipUnknown, SkipErrorLine, SkipTruncated}
}

// Error kinds (the kind argument of Metrics.Failed).
const (
	ErrKindAuth        = "auth"         // 401, 403
	ErrKindRateLimit   = "rate_limit"   // 429
	ErrKindHTTP        = "http"         // other non-200 answers
	ErrKindNetwork     = "network"      // connect or read failures
	ErrKindStall       = "stall"        // silence past StallTimeout
	ErrKindStreamError = "stream_error" // {"errors":[...]} lines
	ErrKindHandle      = "handle"       // Handle returned an error
)

// ErrorKinds returns every ErrKind* kind, for dashboards and
// pre-registration.
func ErrorKinds() []string {
	return []string{ErrKindAuth, ErrKindRateLimit, ErrKindHTTP, ErrKindNetwork, ErrKindStall, ErrKindStreamError, ErrKindHandle}
}

// Metrics are optional hooks the Consumer calls as it works, for wiring
// Prometheus or similar (webhookserver does). Every field may be nil (a nil
// field, or a nil *Metrics, does nothing). Hooks are called from many
// goroutines at once and must be fast and safe for concurrent use.
type Metrics struct {
	// Connected is called with true when a stream opened and with false
	// when it closed (or failed to open).
	Connected func(open bool)
	// Reconnecting is called before each connection attempt after the
	// first.
	Reconnecting func()
	// Taken is called for each event handed off durably (Handle returned
	// nil), with the time it was taken.
	Taken func(at time.Time)
	// Skipped is called for each line skipped; reason is one of
	// SkipReasons.
	Skipped func(reason string)
	// Failed is called for each failure; kind is one of ErrorKinds. err
	// never holds the bearer token.
	Failed func(kind string, err error)
}

func (m *Metrics) connected(open bool) {
	if m != nil && m.Connected != nil {
		m.Connected(open)
	}
}

func (m *Metrics) reconnecting() {
	if m != nil && m.Reconnecting != nil {
		m.Reconnecting()
	}
}

func (m *Metrics) taken(at time.Time) {
	if m != nil && m.Taken != nil {
		m.Taken(at)
	}
}

func (m *Metrics) skipped(reason string) {
	if m != nil && m.Skipped != nil {
		m.Skipped(reason)
	}
}

func (m *Metrics) failed(kind string, err error) {
	if m != nil && m.Failed != nil {
		m.Failed(kind, err)
	}
}
