package xfake

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OAuth 1.0a verification (RFC 5849), in three layers: pure functions over
// strings (percentEncode, signatureBase, signHMACSHA1), a header parser, and
// verifyOAuth1, which checks one request against the server's accounts.

// errAuth* describe why a request was refused. They end up in the server's
// log and in Request.AuthError, never in the response body (X answers every
// authentication failure with the same 401 body) and never carry a secret,
// a signature or a computed MAC.
var (
	errAuthMissing   = errors.New("no Authorization header")
	errAuthScheme    = errors.New("authorization scheme not accepted by this endpoint")
	errAuthMalformed = errors.New("malformed OAuth Authorization header")
	errAuthConsumer  = errors.New("unknown oauth_consumer_key")
	errAuthToken     = errors.New("unknown oauth_token")
	errAuthMethod    = errors.New("oauth_signature_method is not HMAC-SHA1")
	errAuthVersion   = errors.New("oauth_version is not 1.0")
	errAuthStale     = errors.New("oauth_timestamp outside the accepted window")
	errAuthNonce     = errors.New("oauth_nonce already used")
	errAuthSignature = errors.New("oauth_signature does not match")
	errAuthBearer    = errors.New("unknown bearer token")
)

// percentEncode encodes s as RFC 5849 section 3.6 requires: every byte
// except the unreserved characters ALPHA, DIGIT, '-', '.', '_' and '~' becomes
// %XX with upper-case hex digits.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// baseStringURI builds the base string URI of RFC 5849 section 3.4.1.2:
// lower-case scheme and host, the port only when it is not the scheme's
// default, the escaped path, no query and no fragment.
func baseStringURI(scheme, host, escapedPath string) string {
	scheme = strings.ToLower(scheme)
	host = strings.ToLower(host)
	if h, port, ok := strings.Cut(host, ":"); ok && !strings.Contains(port, ":") {
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
			host = h
		}
	}
	if escapedPath == "" {
		escapedPath = "/"
	}
	return scheme + "://" + host + escapedPath
}

// signatureBase builds the signature base string of RFC 5849 section 3.4.1:
// the upper-case method, the encoded base string URI and the encoded,
// normalised parameters. params holds the query, form-body and oauth_*
// parameters; oauth_signature and realm must already be left out.
func signatureBase(method, baseURI string, params url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, pair{percentEncode(k), percentEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.ToUpper(method) + "&" + percentEncode(baseURI) + "&" + percentEncode(strings.Join(parts, "&"))
}

// signHMACSHA1 returns the base64 HMAC-SHA1 signature of base under the key
// percent(consumerSecret) "&" percent(tokenSecret).
func signHMACSHA1(base, consumerSecret, tokenSecret string) string {
	mac := hmac.New(sha1.New, []byte(percentEncode(consumerSecret)+"&"+percentEncode(tokenSecret)))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseOAuthHeader parses the value of an "Authorization: OAuth ..." header
// (RFC 5849 section 3.5.1) into its decoded parameters. realm is dropped.
func parseOAuthHeader(h string) (map[string]string, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "OAuth") {
		return nil, errAuthScheme
	}
	out := map[string]string{}
	for _, item := range strings.Split(rest, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			return nil, errAuthMalformed
		}
		key, err1 := url.PathUnescape(strings.TrimSpace(k))
		val, err2 := url.PathUnescape(v[1 : len(v)-1])
		if err1 != nil || err2 != nil {
			return nil, errAuthMalformed
		}
		if _, dup := out[key]; dup {
			return nil, errAuthMalformed
		}
		if key != "realm" {
			out[key] = val
		}
	}
	return out, nil
}

// requestParams collects the request parameters that enter the signature
// base string: the query, and the body when it is form-urlencoded. JSON and
// multipart bodies are not signed.
func requestParams(r *http.Request, body []byte) (url.Values, error) {
	params := url.Values{}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	for k, vs := range q {
		params[k] = append(params[k], vs...)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" && len(body) > 0 {
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
		for k, vs := range f {
			params[k] = append(params[k], vs...)
		}
	}
	return params, nil
}

// verifyOAuth1 checks the OAuth 1.0a header of r and returns the account
// whose access token signed it. It consumes the nonce on success.
func (s *Server) verifyOAuth1(r *http.Request, body []byte) (Account, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Account{}, errAuthMissing
	}
	op, err := parseOAuthHeader(h)
	if err != nil {
		return Account{}, err
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_timestamp", "oauth_nonce", "oauth_signature"} {
		if op[k] == "" {
			return Account{}, fmt.Errorf("%w: %s missing", errAuthMalformed, k)
		}
	}
	if !hmac.Equal([]byte(op["oauth_consumer_key"]), []byte(s.cfg.ConsumerKey)) {
		return Account{}, errAuthConsumer
	}
	s.mu.Lock()
	acct, ok := s.accounts[op["oauth_token"]]
	s.mu.Unlock()
	if !ok {
		return Account{}, errAuthToken
	}
	if op["oauth_signature_method"] != "HMAC-SHA1" {
		return Account{}, errAuthMethod
	}
	if v, ok := op["oauth_version"]; ok && v != "1.0" {
		return Account{}, errAuthVersion
	}
	ts, err := strconv.ParseInt(op["oauth_timestamp"], 10, 64)
	if err != nil {
		return Account{}, fmt.Errorf("%w: oauth_timestamp is not a number", errAuthMalformed)
	}
	now := s.now()
	if d := now.Sub(time.Unix(ts, 0)); d > s.cfg.TimestampWindow || d < -s.cfg.TimestampWindow {
		return Account{}, errAuthStale
	}

	params, err := requestParams(r, body)
	if err != nil {
		return Account{}, fmt.Errorf("%w: %v", errAuthMalformed, err)
	}
	for k, v := range op {
		if k != "oauth_signature" {
			params[k] = append(params[k], v)
		}
	}
	want := signHMACSHA1(signatureBase(r.Method, s.requestBaseURI(r), params), s.cfg.ConsumerSecret, acct.AccessTokenSecret)
	if !hmac.Equal([]byte(want), []byte(op["oauth_signature"])) {
		return Account{}, errAuthSignature
	}

	// The nonce is burnt only by a correctly signed request, so a forged
	// request cannot lock a legitimate client out.
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, at := range s.nonces {
		if now.Sub(at) > 2*s.cfg.TimestampWindow {
			delete(s.nonces, n)
		}
	}
	key := op["oauth_consumer_key"] + "\x00" + op["oauth_token"] + "\x00" + op["oauth_timestamp"] + "\x00" + op["oauth_nonce"]
	if _, used := s.nonces[key]; used {
		return Account{}, errAuthNonce
	}
	s.nonces[key] = now
	return acct, nil
}

// requestBaseURI is the base string URI the client must have signed: the
// configured SigningBaseURL with the request's path, or the scheme and Host
// the request arrived with.
func (s *Server) requestBaseURI(r *http.Request) string {
	if s.signBase != nil {
		return baseStringURI(s.signBase.Scheme, s.signBase.Host, strings.TrimSuffix(s.signBase.EscapedPath(), "/")+r.URL.EscapedPath())
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return baseStringURI(scheme, r.Host, r.URL.EscapedPath())
}

// verifyBearer checks an app-only "Authorization: Bearer" header.
func (s *Server) verifyBearer(r *http.Request) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return errAuthMissing
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return errAuthScheme
	}
	if !hmac.Equal([]byte(strings.TrimSpace(tok)), []byte(s.cfg.BearerToken)) {
		return errAuthBearer
	}
	return nil
}
