package crc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxBodyBytes is the body limit VerifyRequest applies when given 0.
const DefaultMaxBodyBytes = 1 << 20

// VerifyRequest reads r's body, at most maxBytes of it (0 means
// DefaultMaxBodyBytes), and verifies its SignatureHeader against secrets.
// It returns the raw body when the signature is good. A body over the limit
// gives an error matching ErrBodyTooLarge; signature failures match the
// errors of Verify. When w is not nil the body is wrapped in
// http.MaxBytesReader so that the server closes the connection after an
// oversized body.
func VerifyRequest(w http.ResponseWriter, r *http.Request, maxBytes int64, secrets ...string) ([]byte, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return nil, ErrMissingSignature
	}
	var body io.Reader = r.Body
	if r.Body == nil {
		body = http.NoBody
	}
	if w != nil {
		body = http.MaxBytesReader(w, io.NopCloser(body), maxBytes)
	} else {
		body = io.LimitReader(body, maxBytes+1)
	}
	data, err := io.ReadAll(body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || int64(len(data)) > maxBytes:
		return nil, fmt.Errorf("%w: limit is %d bytes", ErrBodyTooLarge, maxBytes)
	case err != nil:
		return nil, fmt.Errorf("crc: reading body: %w", err)
	}
	if err := Verify(data, sig, secrets...); err != nil {
		return nil, err
	}
	return data, nil
}

// SignRequest sets r's SignatureHeader to the signature of its body under
// secret, as X would, and leaves the body readable. It is meant for tests
// that post fixtures to a webhook handler.
func SignRequest(r *http.Request, secret string) error {
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return fmt.Errorf("crc: reading body: %w", err)
		}
		_ = r.Body.Close()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.Header.Set(SignatureHeader, Sign(secret, body))
	return nil
}
