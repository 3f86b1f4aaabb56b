package reply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
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
type ErrorDetail struct {
	Code         int                 `json:"code,omitempty"`
	Message      string              `json:"message,omitempty"`
	Title        string              `json:"title,omitempty"`
	Detail       string              `json:"detail,omitempty"`
	Type         string              `json:"type,omitempty"`
	ResourceType string              `json:"resource_type,omitempty"`
	ResourceID   string              `json:"resource_id,omitempty"`
	Parameter    string              `json:"parameter,omitempty"`
	Parameters   map[string][]string `json:"parameters,omitempty"`
}

// APIError is an error answer from X. It is parsed from both error body
// shapes X uses: problem JSON {"title","detail","type","status"} and
// {"errors":[{"code","message"}]} (X sometimes sends both at once).
type APIError struct {
	Method string // HTTP method of the request
	Path   string // URL path of the request (never the query or host)
	Status int    // HTTP status; 200 for a read answered only with errors
	Code   int    // first non-zero errors[].code (v1.1 style), else 0
	Title  string
	Detail string
	Type   string // problem type URI, e.g. https://api.twitter.com/2/problems/usage-capped
	Errors []ErrorDetail
	Kind   Kind

	// RetryAt is when X says the request may succeed again: for a rate
	// limit, the reset of the exhausted window (x-rate-limit-reset, or the
	// 24-hour reset when its remaining count is 0, or Retry-After); for a
	// usage cap, a reset header if X sent one. Zero when unknown.
	RetryAt time.Time
	// RateLimit holds the rate-limit headers of the answer.
	RateLimit RateLimit
}

// Error describes the failure without any credential: X's answers never
// echo the OAuth secrets, and request headers are not included.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reply: %s %s: %d %s", e.Method, e.Path, e.Status, e.Kind)
	msg := e.message()
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	if !e.RetryAt.IsZero() {
		b.WriteString(" (retry at ")
		b.WriteString(e.RetryAt.UTC().Format(time.RFC3339))
		b.WriteString(")")
	}
	return b.String()
}

func (e *APIError) message() string {
	if e.Detail != "" {
		if e.Title != "" && e.Title != e.Detail {
			return e.Title + ": " + e.Detail
		}
		return e.Detail
	}
	if e.Title != "" {
		return e.Title
	}
	var parts []string
	for _, d := range e.Errors {
		switch {
		case d.Message != "":
			parts = append(parts, d.Message)
		case d.Detail != "":
			parts = append(parts, d.Detail)
		case d.Title != "":
			parts = append(parts, d.Title)
		}
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrRateLimited) and friends work for the sentinel
// of e.Kind.
func (e *APIError) Is(target error) bool {
	s := e.Kind.sentinel()
	return s != nil && s == target
}

// Retryable reports whether the request may succeed if sent again later.
func (e *APIError) Retryable() bool { return e.Kind.Retryable() }

// RateLimit is the rate-limit state X reported in an answer's headers.
// Counts are -1 when the header was absent.
type RateLimit struct {
	Limit, Remaining int
	Reset            time.Time // x-rate-limit-reset (15-minute window)
	// The 24-hour caps some endpoints (POST /2/tweets, DMs) report.
	UserDayLimit, UserDayRemaining int
	UserDayReset                   time.Time
	AppDayLimit, AppDayRemaining   int
	AppDayReset                    time.Time
	RetryAfter                     time.Duration // Retry-After header, if any
}

func parseRateLimit(h http.Header) RateLimit {
	num := func(name string) int {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			return -1
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return -1
		}
		return n
	}
	epoch := func(name string) time.Time {
		n, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
		if err != nil || n <= 0 {
			return time.Time{}
		}
		return time.Unix(n, 0)
	}
	rl := RateLimit{
		Limit: num("x-rate-limit-limit"), Remaining: num("x-rate-limit-remaining"), Reset: epoch("x-rate-limit-reset"),
		UserDayLimit: num("x-user-limit-24hour-limit"), UserDayRemaining: num("x-user-limit-24hour-remaining"),
		UserDayReset: epoch("x-user-limit-24hour-reset"),
		AppDayLimit:  num("x-app-limit-24hour-limit"), AppDayRemaining: num("x-app-limit-24hour-remaining"),
		AppDayReset: epoch("x-app-limit-24hour-reset"),
	}
	if s := num("Retry-After"); s > 0 {
		rl.RetryAfter = time.Duration(s) * time.Second
	}
	return rl
}

// resetFor picks when a 429 will clear: the latest reset among exhausted
// windows (a 24-hour window with remaining 0 outranks the 15-minute one),
// else the 15-minute reset, else Retry-After from now.
func (rl RateLimit) resetFor(now time.Time) time.Time {
	var at time.Time
	if rl.UserDayRemaining == 0 && rl.UserDayReset.After(at) {
		at = rl.UserDayReset
	}
	if rl.AppDayRemaining == 0 && rl.AppDayReset.After(at) {
		at = rl.AppDayReset
	}
	if rl.Remaining == 0 && rl.Reset.After(at) {
		at = rl.Reset
	}
	if at.IsZero() && !rl.Reset.IsZero() {
		at = rl.Reset
	}
	if at.IsZero() && rl.RetryAfter > 0 {
		at = now.Add(rl.RetryAfter)
	}
	return at
}

// errorBody is the union of X's error body shapes.
type errorBody struct {
	Title  string        `json:"title"`
	Detail string        `json:"detail"`
	Type   string        `json:"type"`
	Status int           `json:"status"`
	Errors []ErrorDetail `json:"errors"`
	// Data is present on 200 answers with partial errors.
	Data json.RawMessage `json:"data"`
}

// parseAPIError builds an *APIError from a non-2xx answer (or a 2xx read
// answer whose body holds only errors). body may be empty or not JSON.
func parseAPIError(method, path string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Method: method, Path: path, Status: status, RateLimit: parseRateLimit(h)}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		e.Title, e.Detail, e.Type, e.Errors = eb.Title, eb.Detail, eb.Type, eb.Errors
		for _, d := range eb.Errors {
			if d.Code != 0 {
				e.Code = d.Code
				break
			}
		}
		if e.Type == "" && len(eb.Errors) > 0 {
			e.Type = eb.Errors[0].Type
		}
	} else if len(body) > 0 && status >= 400 {
		// Not JSON (a proxy's HTML page, say): keep a short, printable hint.
		e.Detail = shorten(string(body), 120)
	}
	e.Kind = classify(e)
	switch e.Kind {
	case KindRateLimited:
		e.RetryAt = e.RateLimit.resetFor(now)
	case KindUsageCapped:
		// A cap has no documented reset header; use a 24-hour one if X sent it.
		rl := e.RateLimit
		rl.Reset, rl.Remaining = time.Time{}, -1
		e.RetryAt = rl.resetFor(now)
	}
	return e
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// typeIs reports whether a problem type URI ends in /<kind> (X uses both
// api.x.com and api.twitter.com prefixes).
func typeIs(t, kind string) bool {
	return t == kind || strings.HasSuffix(t, "/"+kind)
}

func (e *APIError) anyText(substr string) bool {
	substr = strings.ToLower(substr)
	if strings.Contains(strings.ToLower(e.Detail), substr) || strings.Contains(strings.ToLower(e.Title), substr) {
		return true
	}
	for _, d := range e.Errors {
		if strings.Contains(strings.ToLower(d.Message+" "+d.Detail+" "+d.Title), substr) {
			return true
		}
	}
	return false
}

func (e *APIError) anyType(kind string) bool {
	if typeIs(e.Type, kind) {
		return true
	}
	for _, d := range e.Errors {
		if typeIs(d.Type, kind) {
			return true
		}
	}
	return false
}

func (e *APIError) anyCode(codes ...int) bool {
	for _, d := range e.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// classify maps status, problem type and v1.1 codes to a Kind. See the
// table in doc.go.
func classify(e *APIError) Kind {
	switch {
	case e.anyType("usage-capped") || e.Title == "UsageCapExceeded":
		return KindUsageCapped
	case e.Status == http.StatusTooManyRequests || e.anyCode(88) || e.anyType("rate-limit-exceeded"):
		return KindRateLimited
	case e.Status >= 500:
		return KindServer
	case e.anyCode(187) || (e.Status == http.StatusForbidden && e.anyText("duplicate")):
		return KindDuplicate
	case e.Status == http.StatusUnauthorized || e.anyCode(32, 89):
		return KindUnauthorized
	case e.Status == http.StatusForbidden:
		return KindNotAllowed
	case e.Status == http.StatusNotFound || (e.Status < 300 && e.anyType("resource-not-found")):
		return KindNotFound
	case e.Status >= 400:
		return KindBadRequest
	case e.Status < 300 && e.anyType("not-authorized-for-resource"):
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
