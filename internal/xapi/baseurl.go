package xapi

import (
	"errors"
	"net/url"
	"strings"
)

// DefaultBaseURL is X's API root, used when X_API_BASE is empty.
const DefaultBaseURL = "https://api.x.com"

// errBaseURL does not echo the value: a malformed URL may hold anything (a
// pasted token).
var errBaseURL = errors.New("must be an http(s) URL without query, fragment or user info")

// BaseURL returns the API root to send requests to: DefaultBaseURL for "",
// else s without trailing slashes once it is an absolute http(s) URL with
// a host and no query, fragment or user info. The error names the rule,
// never the value; callers prefix the setting's name.
func BaseURL(s string) (string, error) {
	if s == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return "", errBaseURL
	}
	return strings.TrimRight(s, "/"), nil
}
