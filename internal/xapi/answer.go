package xapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxMessageEntries is how many errors[] entries an error message quotes;
// the rest are counted ("(+N more)").
const MaxMessageEntries = 3

// maxHint is how many characters of a body that is not JSON an error keeps.
const maxHint = 120

// ErrorDetail is one entry of an X error body's "errors" array: v1.1
// entries carry Code and Message; v2 entries Title, Detail, Type and the
// resource fields; 400 invalid-request entries Parameters.
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

// Body is an X error body, the union of its shapes.
type Body struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Type   string `json:"type"`
	Status int    `json:"status"`
	// ConnectionIssue is set on the stream endpoints' problems, e.g.
	// "TooManyConnections".
	ConnectionIssue string        `json:"connection_issue"`
	Errors          []ErrorDetail `json:"errors"`
	// Data is present on 2xx answers (with or without partial errors).
	Data json.RawMessage `json:"data"`
}

// ParseBody reads b as an X error body; false when b is not a JSON object.
func ParseBody(b []byte) (Body, bool) {
	var body Body
	if json.Unmarshal(b, &body) != nil {
		return Body{}, false
	}
	return body, true
}

// OnlyErrors reports whether the body holds errors and no data: a read
// that X answered 2xx without the resource.
func (b Body) OnlyErrors() bool {
	return len(b.Errors) > 0 && (len(b.Data) == 0 || string(b.Data) == "null")
}

// Message is the body's message, in the order the package doc gives.
func (b Body) Message() string { return message(b.Title, b.Detail, b.Errors) }

// Answer is an error answer from X: the request it answered, the parsed
// body and the rate-limit headers. Packages embed it in their own error
// types, which add the classification (a kind, a reason) and the Error
// method; so its helpers are functions, not methods.
type Answer struct {
	Method string // HTTP method of the request
	Path   string // URL path of the request (no host, no query)
	Status int    // HTTP status; 200 for a read answered only with errors
	Code   int    // first non-zero errors[].code (v1.1 style), else 0
	Title  string // problem title
	// Detail is the problem detail; for a body that is not JSON, a short
	// printable hint of it.
	Detail string
	// Type is the problem type URI (the first entry's when the top level
	// has none), e.g. https://api.x.com/2/problems/usage-capped.
	Type   string
	Errors []ErrorDetail

	// RetryAt is when X says the request may succeed again: for a rate
	// limit RateLimit.RetryAt, for a usage cap RateLimit.CapRetryAt; zero
	// otherwise or when X gave no time (see the package doc).
	RetryAt time.Time
	// RateLimit holds the rate-limit headers of the answer.
	RateLimit RateLimit
}

// ParseAnswer builds the Answer of a non-2xx answer (or of a 2xx read
// whose body holds only errors) read at now. body may be empty or not
// JSON.
func ParseAnswer(method, path string, status int, h http.Header, body []byte, now time.Time) Answer {
	a := Answer{Method: method, Path: path, Status: status, RateLimit: ParseRateLimit(h, now)}
	if b, ok := ParseBody(body); ok {
		a.Title, a.Detail, a.Type, a.Errors = b.Title, b.Detail, b.Type, b.Errors
		for _, d := range b.Errors {
			if d.Code != 0 {
				a.Code = d.Code
				break
			}
		}
		if a.Type == "" && len(b.Errors) > 0 {
			a.Type = b.Errors[0].Type
		}
	} else if len(body) > 0 {
		// Not JSON (a proxy's HTML page, say): keep a short printable hint.
		a.Detail = shorten(string(body), maxHint)
	}
	switch {
	case UsageCapped(&a):
		a.RetryAt = a.RateLimit.CapRetryAt(now)
	case RateLimited(&a):
		a.RetryAt = a.RateLimit.RetryAt(now)
	}
	return a
}

// Message is the answer's message, in the order the package doc gives.
func Message(a *Answer) string { return message(a.Title, a.Detail, a.Errors) }

// Describe is the text of an error built on a: see the package doc for the
// layout. kind may be "".
func Describe(pkg string, a *Answer, kind string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s: %d", pkg, a.Method, a.Path, a.Status)
	if kind != "" {
		b.WriteString(" ")
		b.WriteString(kind)
	}
	if msg := Message(a); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if a.Code != 0 {
		fmt.Fprintf(&b, " (code %d)", a.Code)
	}
	if !a.RetryAt.IsZero() {
		b.WriteString(" (retry at ")
		b.WriteString(a.RetryAt.UTC().Format(time.RFC3339))
		b.WriteString(")")
	}
	return b.String()
}

func message(title, detail string, errs []ErrorDetail) string {
	var parts []string
	switch {
	case title != "" && detail != "" && title != detail:
		parts = append(parts, title+": "+detail)
	case detail != "":
		parts = append(parts, detail)
	case title != "":
		parts = append(parts, title)
	}
	said := strings.Join(parts, "; ")
	quoted, more := 0, 0
	for _, d := range errs {
		s := d.Message
		if s == "" {
			s = d.Detail
		}
		if s == "" {
			s = d.Title
		}
		if s == "" || strings.Contains(said, s) {
			continue
		}
		if quoted == MaxMessageEntries {
			more++
			continue
		}
		quoted++
		parts = append(parts, s)
		said += "; " + s
	}
	msg := strings.Join(parts, "; ")
	if more > 0 {
		msg += " (+" + strconv.Itoa(more) + " more)"
	}
	return msg
}

func shorten(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == ' ' || r == 0x7f }), " ")
	s = strings.ToValidUTF8(s, "�")
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

// HasType reports whether the problem type, or an entry's, ends in
// /<kind>, e.g. "resource-not-found".
func HasType(a *Answer, kind string) bool {
	if typeIs(a.Type, kind) {
		return true
	}
	for _, d := range a.Errors {
		if typeIs(d.Type, kind) {
			return true
		}
	}
	return false
}

// HasCode reports whether an entry carries one of the v1.1 codes.
func HasCode(a *Answer, codes ...int) bool {
	for _, d := range a.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// HasText reports whether the title, the detail or an entry's text holds
// substr, ignoring case.
func HasText(a *Answer, substr string) bool {
	substr = strings.ToLower(substr)
	if strings.Contains(strings.ToLower(a.Title), substr) || strings.Contains(strings.ToLower(a.Detail), substr) {
		return true
	}
	for _, d := range a.Errors {
		if strings.Contains(strings.ToLower(d.Message+" "+d.Detail+" "+d.Title), substr) {
			return true
		}
	}
	return false
}

// UsageCapped reports whether the answer says the account's usage cap is
// spent: a problem type ending in /usage-capped or the title
// UsageCapExceeded.
func UsageCapped(a *Answer) bool {
	return HasType(a, "usage-capped") || a.Title == "UsageCapExceeded"
}

// RateLimited reports whether the answer is a rate limit: status 429, v1.1
// code 88 or a type ending in /rate-limit-exceeded. A usage cap is also a
// 429; test UsageCapped first.
func RateLimited(a *Answer) bool {
	return a.Status == http.StatusTooManyRequests || HasCode(a, 88) || HasType(a, "rate-limit-exceeded")
}
