package webhooks

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// Errors of this package. Test with errors.Is. An *APIError matches the
// sentinel of its failure reason (see APIError.Is); local refusals wrap
// ErrInvalidConfig or ErrInvalidInput with a message that never holds a
// credential.
var (
	// ErrInvalidConfig means New or NewMonitor was given a config it
	// cannot use.
	ErrInvalidConfig = errors.New("webhooks: invalid config")
	// ErrInvalidInput means an argument is missing or malformed (an empty
	// or non-decimal id, a URL that is not absolute http(s), a replay
	// window that ends before it starts).
	ErrInvalidInput = errors.New("webhooks: invalid input")
	// ErrNoUserAuth means a user-context call (Subscribe, CheckSubscription,
	// EnsureSubscribed) was made on a Client configured without the four
	// OAuth 1.0a values. Nothing was sent.
	ErrNoUserAuth = errors.New("webhooks: no OAuth 1.0a user credentials configured")
	// ErrBadResponse means X answered 2xx with a body this package cannot
	// read.
	ErrBadResponse = errors.New("webhooks: unreadable answer from X")

	// ErrCRCFailed matches CrcValidationFailed: X's CRC request to the
	// webhook URL failed (wrong response_token, bad JSON, redirect,
	// timeout, non-200), on registration or re-validation.
	ErrCRCFailed = errors.New("webhooks: CRC validation failed")
	// ErrInvalidURL matches UrlValidationFailed: X refused the URL itself
	// (not https, has a port, too long).
	ErrInvalidURL = errors.New("webhooks: URL refused")
	// ErrDuplicateURL matches DuplicateUrlFailed: the URL is already
	// registered (Ensure reuses it instead).
	ErrDuplicateURL = errors.New("webhooks: URL already registered")
	// ErrWebhookLimit matches WebhookLimitExceeded: the account already has
	// as many webhooks as its tier allows (1 on Pay-Per-Use). Delete one.
	ErrWebhookLimit = errors.New("webhooks: webhook limit reached")
	// ErrWebhookNotFound matches WebhookIdInvalid and a 404: no webhook
	// with that id.
	ErrWebhookNotFound = errors.New("webhooks: no such webhook")
	// ErrDuplicateSubscription matches DuplicateSubscriptionFailed (AAA:
	// the user is already subscribed) and DuplicateSubscription (XAA: a
	// subscription with that event type and filter exists). EnsureSubscribed
	// and EnsureActivity treat it as success.
	ErrDuplicateSubscription = errors.New("webhooks: already subscribed")
	// ErrSubscriptionLimit matches SubscriptionLimitExceeded.
	ErrSubscriptionLimit = errors.New("webhooks: subscription limit reached")
	// ErrSubscriptionNotFound matches SubscriptionNotFound: the user is
	// not subscribed to the webhook (AAA), or no XAA subscription has that
	// id (a 404 on /2/activity/subscriptions).
	ErrSubscriptionNotFound = errors.New("webhooks: no such subscription")
	// ErrReplayConflict matches ReplayConflictError, HTTP 409 and v1.1
	// code 355: a replay job is already running for the webhook.
	ErrReplayConflict = errors.New("webhooks: replay already running")

	// ErrUnauthorized matches a 401: the Bearer token or the OAuth
	// signature was refused.
	ErrUnauthorized = errors.New("webhooks: unauthorized")
	// ErrForbidden matches a 403: the app may not use the endpoint (for
	// example it lacks Account Activity access).
	ErrForbidden = errors.New("webhooks: forbidden")
	// ErrRateLimited matches a 429 rate limit; APIError.RetryAt says when
	// the window reopens.
	ErrRateLimited = errors.New("webhooks: rate limited")
	// ErrUsageCapped matches a 429 whose problem type ends in
	// "usage-capped".
	ErrUsageCapped = errors.New("webhooks: usage cap exceeded")
	// ErrServer matches a 5xx answer.
	ErrServer = errors.New("webhooks: X server error")
	// ErrBadRequest matches any other 4xx.
	ErrBadRequest = errors.New("webhooks: bad request")
)

// Failure reasons X puts at the start of an error message on the webhook
// and Account Activity endpoints ("CrcValidationFailed: ...").
const (
	ReasonCRCFailed             = "CrcValidationFailed"
	ReasonURLInvalid            = "UrlValidationFailed"
	ReasonDuplicateURL          = "DuplicateUrlFailed"
	ReasonWebhookLimit          = "WebhookLimitExceeded"
	ReasonWebhookIDInvalid      = "WebhookIdInvalid"
	ReasonDuplicateSubscription = "DuplicateSubscriptionFailed"
	ReasonSubscriptionLimit     = "SubscriptionLimitExceeded"
	ReasonSubscriptionNotFound  = "SubscriptionNotFound"
	ReasonReplayConflict        = "ReplayConflictError"
	// ReasonDuplicateActivity is the name X gives a repeated XAA
	// subscription (observed, not documented).
	ReasonDuplicateActivity = "DuplicateSubscription"
)

// v1.1 error codes that still show up in bodies.
const (
	codeUnauthorized   = 32
	codeBadToken       = 89
	codeReplayConflict = 355
)

var reasonSentinels = map[string]error{
	ReasonCRCFailed:             ErrCRCFailed,
	ReasonURLInvalid:            ErrInvalidURL,
	ReasonDuplicateURL:          ErrDuplicateURL,
	ReasonWebhookLimit:          ErrWebhookLimit,
	ReasonWebhookIDInvalid:      ErrWebhookNotFound,
	ReasonDuplicateSubscription: ErrDuplicateSubscription,
	ReasonSubscriptionLimit:     ErrSubscriptionLimit,
	ReasonSubscriptionNotFound:  ErrSubscriptionNotFound,
	ReasonReplayConflict:        ErrReplayConflict,
	ReasonDuplicateActivity:     ErrDuplicateSubscription,
}

// ErrorDetail is one entry of an X error body's "errors" array: v1.1-style
// entries carry Code and Message, v2 entries Title, Detail and Type.
type ErrorDetail = xapi.ErrorDetail

// APIError is an error answer from X, parsed from every body shape X uses:
// problem JSON {"title","detail","type","status"}, v2
// {"errors":[{"title","detail","type"}]} and v1.1
// {"errors":[{"code","message"}]} (sometimes two at once). It never holds
// request headers, so no credential can leak through it.
//
// The embedded answer holds the fields Method, Path (no host, no query),
// Status, Code (the first non-zero errors[].code), Title, Detail, Type,
// Errors, RateLimit and RetryAt: for a rate limit, the latest reset among
// the exhausted windows and Retry-After; for a usage cap the 24-hour
// resets and Retry-After only; zero when X gave no time or the answer is
// neither (the rule is internal/xapi's, shared with reply and stream).
type APIError struct {
	xapi.Answer
	// Reason is the failure reason X put before the first colon of an
	// errors[].message, e.g. ReasonCRCFailed; "" when there is none.
	Reason string
}

// Error describes the failure: method, path, status and X's own message.
func (e *APIError) Error() string { return xapi.Describe("webhooks", &e.Answer, "") }

// sentinel picks the one sentinel e matches: the reason first, then a
// usage cap or a rate limit, then the v1.1 code, then the status.
func (e *APIError) sentinel() error {
	if s, ok := reasonSentinels[e.Reason]; ok {
		return s
	}
	switch {
	case xapi.UsageCapped(&e.Answer):
		return ErrUsageCapped
	case xapi.RateLimited(&e.Answer):
		return ErrRateLimited
	}
	switch e.Code {
	case codeReplayConflict:
		return ErrReplayConflict
	case codeUnauthorized, codeBadToken:
		return ErrUnauthorized
	}
	switch {
	case e.Status == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.Status == http.StatusForbidden:
		return ErrForbidden
	case e.Status == http.StatusNotFound:
		return ErrWebhookNotFound
	case e.Status == http.StatusConflict:
		return ErrReplayConflict
	case e.Status >= 500:
		return ErrServer
	case e.Status >= 400:
		return ErrBadRequest
	}
	return nil
}

// Is makes errors.Is(err, ErrCRCFailed) and the other sentinels work.
func (e *APIError) Is(target error) bool {
	s := e.sentinel()
	return s != nil && s == target
}

// Retryable reports whether the same request may succeed later: rate
// limits, 5xx answers and replay conflicts (once the running job ends).
func (e *APIError) Retryable() bool {
	switch e.sentinel() {
	case ErrRateLimited, ErrServer, ErrReplayConflict:
		return true
	}
	return false
}

// parseAPIError builds an *APIError from a non-2xx answer. body may be
// empty or not JSON.
func parseAPIError(method, path string, status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Answer: xapi.ParseAnswer(method, path, status, h, body, now)}
	for _, d := range e.Errors {
		if e.Reason = reasonOf(d.Message); e.Reason != "" {
			break
		}
	}
	if e.Reason == "" {
		// Some answers put the reason in the problem title instead.
		if _, ok := reasonSentinels[e.Title]; ok {
			e.Reason = e.Title
		}
	}
	return e
}

// reasonOf returns the word before the first colon of msg when it looks
// like one of X's reason names (letters only, starting upper case).
func reasonOf(msg string) string {
	name, _, ok := strings.Cut(msg, ":")
	if !ok || name == "" || name[0] < 'A' || name[0] > 'Z' {
		return ""
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return ""
		}
	}
	return name
}
