package xapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/dghubble/oauth1"
)

// MaxResponseBytes caps how much of an answer from X is read.
const MaxResponseBytes = 1 << 20

// ReadBody reads at most MaxResponseBytes of an answer's body.
func ReadBody(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, MaxResponseBytes))
}

// OAuth1 returns a RoundTripper that signs every request with OAuth 1.0a
// (HMAC-SHA1, github.com/dghubble/oauth1) as the user of the access token
// and sends it over base (nil means http.DefaultTransport).
func OAuth1(base http.RoundTripper, consumerKey, consumerSecret, accessToken, accessTokenSecret string) http.RoundTripper {
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: base})
	return oauth1.NewConfig(consumerKey, consumerSecret).
		Client(ctx, oauth1.NewToken(accessToken, accessTokenSecret)).Transport
}

// NewHTTPClient returns a client over rt with the given timeout that does
// not follow redirects: X's API does not redirect, and following one would
// send a signed request or a Bearer token to wherever it points. The 3xx
// answer itself is returned.
func NewHTTPClient(rt http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// StripURL drops the *url.Error wrapper of a transport error, whose text
// repeats the full URL, query included; callers name the method and path
// themselves.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Sleep waits d, or until ctx ends and then returns ctx.Err(); for d <= 0
// it returns ctx.Err() at once. It is the default of the clients'
// injectable sleep (retry backoff, rate-limit waits) and of the fake X's
// delays.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
