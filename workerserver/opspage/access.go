package opspage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
)

// Names of the CSRF cookie and form field.
const (
	CSRFCookie = "moetron_ops_csrf"
	CSRFField  = "csrf"
)

// nonceLen is the CSRF cookie's random bytes.
const nonceLen = 18

// Why a request was let in.
type access int

const (
	accessLoopback access = iota + 1 // no token configured, loopback connection
	accessBasic                      // the token as a Basic password (a browser)
	accessBearer                     // Authorization: Bearer <token> (a script)
)

// Errors of the access and CSRF checks; their texts are what the client
// reads.
var (
	errNotLoopback = errors.New("the operator page answers only loopback connections addressed to " +
		"localhost, 127.0.0.1 or [::1] unless " + EnvToken + " is set")
	errNeedToken  = errors.New("the operator page needs " + EnvToken + " (as a Bearer token, or as the password when the browser asks)")
	errCSRF       = errors.New("requeue refused: the form's CSRF token is missing or does not match its cookie (reload the page and try again)")
	errCrossOrign = errors.New("requeue refused: the request does not come from this page's origin")
)

// authorize decides whether r may see the page. With a token configured,
// every request must carry it; without one, only a loopback connection
// whose Host names a loopback address (so that a site whose name a DNS
// rebinding points at 127.0.0.1 cannot read the page) is let in.
func (p *Page) authorize(r *http.Request) (access, int, error) {
	if p.token != nil {
		auth := r.Header.Get("Authorization")
		if t, ok := strings.CutPrefix(auth, "Bearer "); ok && p.tokenMatches(t) {
			return accessBearer, 0, nil
		}
		if _, pw, ok := r.BasicAuth(); ok && p.tokenMatches(pw) {
			return accessBasic, 0, nil
		}
		if auth != "" {
			p.log.Warn("operator page: wrong token", "remote", r.RemoteAddr)
		}
		return 0, http.StatusUnauthorized, errNeedToken
	}
	if !loopbackConn(r) || !loopbackHost(r.Host) {
		return 0, http.StatusForbidden, errNotLoopback
	}
	return accessLoopback, 0, nil
}

// tokenMatches compares in constant time (of the digests, so the token's
// length does not leak either).
func (p *Page) tokenMatches(t string) bool {
	d := sha256.Sum256([]byte(t))
	return subtle.ConstantTimeCompare(d[:], p.token) == 1
}

// loopbackConn reports whether r came in on a loopback address of this
// machine (the local end of its connection, which http.Server records).
func loopbackConn(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names a loopback address.
func loopbackHost(h string) bool {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// csrfNonce returns the request's CSRF cookie value, or a new one (set on
// w) when it has none that this process could have made.
func (p *Page) csrfNonce(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && validNonce(c.Value) {
		return c.Value
	}
	b := make([]byte, nonceLen)
	rand.Read(b)
	n := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name: CSRFCookie, Value: n, Path: cookiePath(r), HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return n
}

func validNonce(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == nonceLen
}

// cookiePath is the directory of the page's URL (where requeue is posted).
func cookiePath(r *http.Request) string {
	p := r.URL.Path
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "/"
}

// csrfToken is the form token bound to a cookie nonce: an HMAC with this
// process's random key, so only a page this process served carries it.
func (p *Page) csrfToken(nonce string) string {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("moetron ops csrf\x00"))
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF applies the browser checks to a requeue POST: the request
// comes from this origin (Sec-Fetch-Site, else Origin against Host) and
// carries the form token that matches its cookie.
func (p *Page) checkCSRF(r *http.Request) error {
	if err := p.cop.Check(r); err != nil {
		return errCrossOrign
	}
	c, err := r.Cookie(CSRFCookie)
	if err != nil || !validNonce(c.Value) {
		return errCSRF
	}
	want := p.csrfToken(c.Value)
	got := r.PostForm.Get(CSRFField)
	if !hmac.Equal([]byte(got), []byte(want)) {
		return errCSRF
	}
	return nil
}
