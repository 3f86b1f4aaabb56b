package xapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moetron/moetron/internal/xapi"
	"github.com/moetron/moetron/xfake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The OAuth 1.0a transport signs so that the fake X, which checks the
// signature the way X does, accepts it; a wrong secret is refused.
func TestOAuth1SignsForX(t *testing.T) {
	x := xfake.Start(t, xfake.Config{})
	cfg := x.Config()
	get := func(tokenSecret string) int {
		rt := xapi.OAuth1(nil, cfg.ConsumerKey, cfg.ConsumerSecret, cfg.AccessToken, tokenSecret)
		req, err := http.NewRequest(http.MethodGet, x.URL()+"/2/users/me", nil)
		require.NoError(t, err)
		resp, err := xapi.NewHTTPClient(rt, 5*time.Second).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, get(cfg.AccessTokenSecret))
	assert.Equal(t, http.StatusUnauthorized, get("wrong-secret"))
}

// A redirect is not followed: the signed request would go elsewhere.
func TestNewHTTPClientKeepsRedirects(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	redirect := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/steal", http.StatusFound))
	defer redirect.Close()
	c := xapi.NewHTTPClient(xapi.OAuth1(nil, "ck", "cs", "at", "ats"), 5*time.Second)
	resp, err := c.Get(redirect.URL + "/2/tweets")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Zero(t, hits.Load())
	assert.Equal(t, 5*time.Second, c.Timeout)
}

func TestStripURL(t *testing.T) {
	const secret = "s3cr3t"
	c := &http.Client{Timeout: time.Second}
	_, err := c.Get("http://127.0.0.1:1/2/tweets?token=" + secret)
	require.Error(t, err)
	require.Contains(t, err.Error(), secret, "the url.Error repeats the URL")
	stripped := xapi.StripURL(err)
	assert.NotContains(t, stripped.Error(), secret)
	assert.NotContains(t, stripped.Error(), "127.0.0.1:1/2/tweets")

	plain := errors.New("plain")
	assert.Same(t, plain, xapi.StripURL(plain))
	wrapped := fmt.Errorf("send: %w", &url.Error{Op: "Post", URL: "https://api.x.com/2/tweets?t=" + secret, Err: context.DeadlineExceeded})
	inner := xapi.StripURL(wrapped)
	assert.ErrorIs(t, inner, context.DeadlineExceeded, "what the wrapper held is kept")
	assert.NotContains(t, inner.Error(), secret)
}

func TestReadBodyCaps(t *testing.T) {
	b, err := xapi.ReadBody(bytes.NewReader(make([]byte, xapi.MaxResponseBytes+10)))
	require.NoError(t, err)
	assert.Len(t, b, xapi.MaxResponseBytes)
	b, err = xapi.ReadBody(strings.NewReader("ok"))
	require.NoError(t, err)
	assert.Equal(t, "ok", string(b))
}
