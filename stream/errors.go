package stream

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// Sentinel errors.
var (
	// ErrUnauthorized is matched (errors.Is) by the *HTTPError of a 401 or
	// 403: the bearer token is wrong, revoked, or not an app token. Run
	// returns it instead of retrying.
	ErrUnauthorized = errors.New("stream: X refused the bearer token")
	// ErrNotConnected is returned by Ready while no stream is open.
	ErrNotConnected = errors.New("stream: not connected")
	// ErrRunning is returned by a second concurrent Run.
	ErrRunning = errors.New("stream: Run is already running")
	// errStalled is the cause of a connection given up for silence.
	errStalled = errors.New("stream: no data within the stall timeout")
)

// HTTPError is a connect that X answered with a status other than 200.
type HTTPError struct {
	StatusCode int
	// Title, Detail and Type are from X's problem body, where it had one
	// (Detail falls back to the first errors[].message).
	Title, Detail, Type string
	// ConnectionIssue is X's connection_issue, e.g. "TooManyConnections".
	ConnectionIssue string
	// RetryAfter is how long X said to stay away: the latest of
	// Retry-After (seconds or an HTTP date) and the reset of each
	// exhausted rate-limit window; zero if it said nothing.
	RetryAfter time.Duration

	backfill bool // the body names backfill
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stream: X answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	for _, s := range []string{e.ConnectionIssue, e.Title, e.Detail} {
		if s != "" {
			b.WriteString(": ")
			b.WriteString(s)
		}
	}
	return b.String()
}

// Is makes a 401 or 403 match ErrUnauthorized.
func (e *HTTPError) Is(target error) bool {
	return target == ErrUnauthorized && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// StreamError is an {"errors":[...]} line X sent on an open stream.
type StreamError struct {
	Title, Detail, Type string
}

func (e *StreamError) Error() string {
	s := "stream: X sent an error line: " + e.Title
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Disconnect reports whether X is about to close the stream
// ("operational-disconnect"): the Consumer reconnects at once.
func (e *StreamError) Disconnect() bool {
	return strings.Contains(e.Title, "operational-disconnect") || strings.HasSuffix(e.Type, "operational-disconnect")
}

// newHTTPError reads what it needs of a non-200 answer; body is at most a
// few KiB of it.
func newHTTPError(resp *http.Response, body []byte, now time.Time) *HTTPError {
	e := &HTTPError{StatusCode: resp.StatusCode}
	if p, ok := xapi.ParseBody(body); ok {
		e.Title, e.Detail, e.Type, e.ConnectionIssue = p.Title, p.Detail, p.Type, p.ConnectionIssue
		if len(p.Errors) > 0 {
			if e.Detail == "" {
				e.Detail = p.Errors[0].Message
				if e.Detail == "" {
					e.Detail = p.Errors[0].Detail
				}
			}
			if e.Title == "" {
				e.Title = p.Errors[0].Title
			}
		}
	}
	e.backfill = strings.Contains(strings.ToLower(string(body)), "backfill")
	// The one rule of internal/xapi: the latest of Retry-After and the
	// exhausted windows' resets; nothing when X gave no time.
	if at := xapi.ParseRateLimit(resp.Header, now).RetryAt(now); at.After(now) {
		e.RetryAfter = at.Sub(now)
	}
	return e
}
