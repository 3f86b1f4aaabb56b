package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
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
	// RetryAfter is when X said to come back (Retry-After, or
	// x-rate-limit-reset when x-rate-limit-remaining is 0); zero if it
	// said nothing.
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

type problem struct {
	Title           string `json:"title"`
	Detail          string `json:"detail"`
	Type            string `json:"type"`
	Message         string `json:"message"`
	ConnectionIssue string `json:"connection_issue"`
}

// newHTTPError reads what it needs of a non-200 answer; body is at most a
// few KiB of it.
func newHTTPError(resp *http.Response, body []byte, now time.Time) *HTTPError {
	e := &HTTPError{StatusCode: resp.StatusCode}
	var p struct {
		problem
		Errors []problem `json:"errors"`
	}
	if json.Unmarshal(body, &p) == nil {
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
	e.RetryAfter = retryAfter(resp.Header, now)
	return e
}

// retryAfter reads Retry-After (seconds or an HTTP date), else
// x-rate-limit-reset (epoch seconds) when x-rate-limit-remaining is 0.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	if h.Get("x-rate-limit-remaining") == "0" {
		if n, err := strconv.ParseInt(h.Get("x-rate-limit-reset"), 10, 64); err == nil {
			if d := time.Unix(n, 0).Sub(now); d > 0 {
				return d
			}
		}
	}
	return 0
}
