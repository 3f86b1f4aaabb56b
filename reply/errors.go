package reply

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// Errors of this package. Test with errors.Is. An *APIError matches the
// sentinel of its Kind (see APIError.Is); local refusals wrap one of these
// with a message that never holds a credential.
var (
	// ErrInvalidConfig means New was given a Config it cannot use.
	ErrInvalidConfig = errors.New("reply: invalid config")
	// ErrInvalidInput means an argument is missing or malformed (an empty
	// or non-decimal id, no text and no media, too many media ids).
	ErrInvalidInput = errors.New("reply: invalid input")
	// ErrImageTooLarge means an image is over MaxImageBytes; nothing was sent.
	ErrImageTooLarge = errors.New("reply: image too large")
	// ErrEmptyImage means an image of zero bytes; nothing was sent.
	ErrEmptyImage = errors.New("reply: empty image")
	// ErrUnsupportedMedia means the bytes are not PNG, JPEG, GIF or WebP.
	ErrUnsupportedMedia = errors.New("reply: unsupported media type")
	// ErrTextTooLong means a post is over MaxPostWeight weighted characters
	// (or a DM over MaxDMChars); nothing was sent.
	ErrTextTooLong = errors.New("reply: text too long")
	// ErrMediaProcessing means X reported processing_info.state "failed"
	// for an upload, or processing did not end within the poll bound.
	ErrMediaProcessing = errors.New("reply: media processing failed")

	// ErrDuplicateContent matches a 403 "duplicate content" answer: X
	// already holds a post with this text. Permanent for that text.
	ErrDuplicateContent = errors.New("reply: duplicate content")
	// ErrRateLimited matches a 429 rate-limit answer; RateLimitReset tells
	// when the window reopens.
	ErrRateLimited = errors.New("reply: rate limited")
	// ErrUsageCapped matches a 429 whose problem type ends in
	// "usage-capped": the account's usage cap is spent. Permanent until the
	// cap resets (often monthly).
	ErrUsageCapped = errors.New("reply: usage cap exceeded")
	// ErrNotAllowed matches a 403 other than duplicate content: reply not
	// allowed (not summoned), DM not allowed, media not attachable, app
	// lacks permission.
	ErrNotAllowed = errors.New("reply: not allowed")
	// ErrUnauthorized matches a 401: the credentials were refused.
	ErrUnauthorized = errors.New("reply: unauthorized")
	// ErrNotFound matches a 404 or a read answer whose only content is a
	// resource-not-found error.
	ErrNotFound = errors.New("reply: not found")
	// ErrBadRequest matches a 400 (and other 4xx not named above),
	// including an expired or unknown media id.
	ErrBadRequest = errors.New("reply: bad request")
	// ErrServer matches a 5xx answer.
	ErrServer = errors.New("reply: server error")

	// ErrUncertain is matched by *UncertainError: a post or DM may or may
	// not have been created, and the read-back could not settle it.
	ErrUncertain = errors.New("reply: outcome uncertain")
)

// Kind classifies an *APIError.
type Kind int

// Kinds of API errors. Only KindRateLimited and KindServer are retryable.
const (
	KindUnknown      Kind = iota // a status this package does not classify (e.g. 3xx); permanent
	KindBadRequest               // 400 and other 4xx; permanent
	KindUnauthorized             // 401; permanent
	KindNotAllowed               // 403 other than duplicate; permanent
	KindDuplicate                // 403 duplicate content; permanent for that text
	KindNotFound                 // 404, or a read whose only answer is resource-not-found; permanent
	KindRateLimited              // 429 rate limit; retry after RetryAt
	KindUsageCapped              // 429 usage cap; permanent until the cap resets
	KindServer                   // 5xx; retryable (for creates: after a read-back)
)

var kindNames = [...]string{"unknown", "bad request", "unauthorized", "not allowed",
	"duplicate content", "not found", "rate limited", "usage capped", "server error"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Retryable reports whether an error of this kind may succeed later
// without a change to the request.
func (k Kind) Retryable() bool { return k == KindRateLimited || k == KindServer }

func (k Kind) sentinel() error {
	switch k {
	case KindBadRequest:
		return ErrBadRequest
	case KindUnauthorized:
		return ErrUnauthorized
	case KindNotAllowed:
		return ErrNotAllowed
	case KindDuplicate:
		return ErrDuplicateContent
	case KindNotFound:
		return ErrNotFound
	case KindRateLimited:
		return ErrRateLimited
	case KindUsageCapped:
		return ErrUsageCapped
	case KindServer:
		return ErrServer
	}
	return nil
}

// ErrorDetail is one entry of an X error body's "errors" array. v1.1-style
// entries carry Code and Message; v2 entries carry Title, Detail, Type and
// the resource fields; 400 invalid-request entries carry Parameters.
type ErrorDetail = xapi.ErrorDetail

// RateLimit is the rate-limit state X reported in an answer's headers.
// Counts are -1 when the header was absent.
type RateLimit = xapi.RateLimit

// APIError is an error answer from X. It is parsed from every error body
// shape X uses: problem JSON {"title","detail","type","status"}, v2
// {"errors":[{"title","detail","type"}]} and v1.1
// {"errors":[{"code","message"}]} (X sometimes sends two at once).
//
// The embedded answer holds the fields Method, Path (never the query or
// host), Status (200 for a read answered only with errors), Code (the
// first non-zero errors[].code), Title, Detail, Type (e.g.
// https://api.x.com/2/problems/usage-capped), Errors, RateLimit and
// RetryAt: when X says the request may succeed again. For a rate limit
// that is the latest reset among exhausted windows (x-rate-limit-reset,
// the 24-hour resets when their remaining count is 0) and Retry-After; for
// a usage cap the 24-hour resets and Retry-After only; zero when X gave no
// time.
type APIError struct {
	xapi.Answer
	Kind Kind
}

// Error describes the failure without any credential: X's answers never
// echo the OAuth secrets, and request headers are not included.
func (e *APIError) Error() string { return xapi.Describe("reply", &e.Answer, e.Kind.String()) }

// Is makes errors.Is(err, ErrRateLimited) and friends work for the sentinel
// of e.Kind.
func (e *APIError) Is(target error) bool {
	s := e.Kind.sentinel()
	return s != nil && s == target
}

// Retryable reports whether the request may succeed if sent again later.
func (e *APIError) Retryable() bool { return e.Kind.Retryable() }

// parseAPIError builds an *APIError from a non-2xx answer (or a 2xx read
// answer whose body holds only errors). body may be empty or not JSON.
func parseAPIError(method, path string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Answer: xapi.ParseAnswer(method, path, status, h, body, now)}
	e.Kind = classify(&e.Answer)
	return e
}

// classify maps status, problem type and v1.1 codes to a Kind. See the
// table in doc.go.
func classify(a *xapi.Answer) Kind {
	switch {
	case xapi.UsageCapped(a):
		return KindUsageCapped
	case xapi.RateLimited(a):
		return KindRateLimited
	case a.Status >= 500:
		return KindServer
	case xapi.HasCode(a, 187) || (a.Status == http.StatusForbidden && xapi.HasText(a, "duplicate")):
		return KindDuplicate
	case a.Status == http.StatusUnauthorized || xapi.HasCode(a, 32, 89):
		return KindUnauthorized
	case a.Status == http.StatusForbidden:
		return KindNotAllowed
	case a.Status == http.StatusNotFound || (a.Status < 300 && xapi.HasType(a, "resource-not-found")):
		return KindNotFound
	case a.Status >= 400:
		return KindBadRequest
	case a.Status < 300 && xapi.HasType(a, "not-authorized-for-resource"):
		return KindNotAllowed
	}
	return KindUnknown
}

// TransportError is a failure to get an answer from X: DNS, connect, TLS,
// a reset connection, a timeout. Sent tells whether the whole request was
// written before the failure; when it was, X may have acted on it.
type TransportError struct {
	Method, Path string
	Sent         bool
	Err          error
}

func (e *TransportError) Error() string {
	state := "before the request was sent"
	if e.Sent {
		state = "after the request was sent"
	}
	return fmt.Sprintf("reply: %s %s: transport failure %s: %v", e.Method, e.Path, state, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// UncertainError means a create (POST /2/tweets or a DM) may have
// succeeded: the connection failed after the request was sent, or X
// answered 5xx, and the read-back could not confirm either way (no
// Config.BotUserID, the read-back itself failed, or attempts ran out).
// Do not post again blindly: check with FindReply or FindDM using the
// fields here first, e.g. when the job is redelivered.
type UncertainError struct {
	Op string // "post" or "dm"
	// For a post: the tweet replied to. For a DM: the participant and the
	// text that was sent.
	InReplyToTweetID string
	ParticipantID    string
	Text             string
	// Since is a safe lower bound for the creation time to search from.
	Since time.Time
	// Err is the last failure (transport, 5xx, or the read-back's own).
	Err error
}

func (e *UncertainError) Error() string {
	target := "in reply to " + e.InReplyToTweetID
	if e.Op == "dm" {
		target = "to " + e.ParticipantID
	} else if e.InReplyToTweetID == "" {
		target = "(not a reply)"
	}
	return fmt.Sprintf("reply: %s %s may have been created (check since %s): %v",
		e.Op, target, e.Since.UTC().Format(time.RFC3339), e.Err)
}

// Is matches ErrUncertain.
func (e *UncertainError) Is(target error) bool { return target == ErrUncertain }

func (e *UncertainError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth trying again later with the
// same request: transport failures, 5xx and 429 rate limits. Local
// refusals, other API errors, usage caps, cancellations and
// *UncertainError (check first, see FindReply) are not.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ue *UncertainError
	if errors.As(err, &ue) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var te *TransportError
	return errors.As(err, &te)
}

// IsDuplicate reports whether X refused a post as duplicate content.
func IsDuplicate(err error) bool { return errors.Is(err, ErrDuplicateContent) }

// RateLimitReset returns when a rate-limited (or usage-capped) request may
// be sent again, if err carries that time. A worker uses it to extend a
// job's visibility instead of failing it.
func RateLimitReset(err error) (time.Time, bool) {
	var ae *APIError
	if errors.As(err, &ae) && (ae.Kind == KindRateLimited || ae.Kind == KindUsageCapped) && !ae.RetryAt.IsZero() {
		return ae.RetryAt, true
	}
	return time.Time{}, false
}
