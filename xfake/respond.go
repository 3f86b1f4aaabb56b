package xfake

import (
	"encoding/json"
	"mime"
	"net/http"
)

// Response bodies as X sends them (see the project's x-api reference §6.3).
const (
	// DuplicateContentDetail is the detail of X's 403 for a repeated post.
	DuplicateContentDetail = "You are not allowed to create a Tweet with duplicate content."
	// DMMediaDetail is the detail of X's 403 for media that a DM may not carry.
	DMMediaDetail = "You are not permitted to attach this media to a DM event."
	// JSONContentTypeMessage is X's 400 message for a body sent without
	// Content-Type application/json.
	JSONContentTypeMessage = "Requests with bodies must have content-type of application/json."
	// UsageCappedType is the problem type of X's 429 usage-cap body.
	UsageCappedType    = "https://api.twitter.com/2/problems/usage-capped"
	invalidRequestType = "https://api.twitter.com/2/problems/invalid-request"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"title":"Internal Server Error","type":"about:blank","status":500}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeProblem writes X's RFC 7807-style body.
func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	writeJSON(w, status, map[string]any{"title": title, "detail": detail, "type": "about:blank", "status": status})
}

// writeInvalid writes X's 400 "Invalid Request" body with one message.
func writeInvalid(w http.ResponseWriter, message string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"errors": []map[string]any{{"message": message}},
		"title":  "Invalid Request",
		"detail": "One or more parameters to your request was invalid.",
		"type":   invalidRequestType,
	})
}

// writeErrors writes the {"errors":[{"message"}]} body that X's webhook and
// Account Activity endpoints answer failures with, e.g.
// "CrcValidationFailed: ...".
func writeErrors(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"message": message}}})
}

func writeDuplicate(w http.ResponseWriter) {
	writeProblem(w, http.StatusForbidden, "Forbidden", DuplicateContentDetail)
}

func writeUsageCapped(w http.ResponseWriter) {
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"account_id": 1, "product_name": "standard-basic",
		"title": "UsageCapExceeded", "period": "Monthly", "scope": "Product",
		"detail": "Usage cap exceeded: Monthly product cap", "type": UsageCappedType,
	})
}

// decodeJSON checks the content type of a JSON endpoint and decodes the
// body into v. It writes X's 400 and returns false on failure. An empty body
// is allowed when allowEmpty is set.
func decodeJSON(c *call, v any, allowEmpty bool) bool {
	if len(c.body) == 0 {
		if allowEmpty {
			return true
		}
		writeInvalid(c.w, "Request body is required.")
		return false
	}
	if mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type")); mt != "application/json" {
		writeInvalid(c.w, JSONContentTypeMessage)
		return false
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		writeInvalid(c.w, "Request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}
