package crc_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/moetron/moetron/crc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHandlerAnswersWithFirstSecret(t *testing.T) {
	h, err := crc.NewHandler(crc.HandlerConfig{Secrets: []string{"z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu", "old-secret"}})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhook?crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553&nonce=abc", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var got map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, map[string]string{"response_token": "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="}, got)
	assert.NotContains(t, rec.Body.String(), "z3ZX4v7m")
}

func TestHandlerURLEncodedToken(t *testing.T) {
	h, err := crc.NewHandler(crc.HandlerConfig{Secrets: []string{"moetron-secret"}})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?crc_token="+url.QueryEscape("AbC123+/=_-xyz"), nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"response_token":"sha256=adikhT6dJN6HgUFiLhh9JwEVQrq6Mgj6bPc4e+J96a4="}`, rec.Body.String())
}

func TestHandlerRejects(t *testing.T) {
	var logs bytes.Buffer
	h, err := crc.NewHandler(crc.HandlerConfig{
		Secrets: []string{"apiSecret"},
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	forged := `{"for_user_id":"1","tweet_create_events":[]}`
	cases := []struct {
		name, method, target string
		want                 int
	}{
		{"no token", http.MethodGet, "/", http.StatusBadRequest},
		{"empty token", http.MethodGet, "/?crc_token=", http.StatusBadRequest},
		{"space in token (the docs vector)", http.MethodGet, "/?crc_token=test+token", http.StatusBadRequest},
		{"json body as token (signing oracle)", http.MethodGet, "/?crc_token=" + url.QueryEscape(forged), http.StatusBadRequest},
		{"129 characters", http.MethodGet, "/?crc_token=" + strings.Repeat("a", 129), http.StatusBadRequest},
		{"two tokens", http.MethodGet, "/?crc_token=a&crc_token=b", http.StatusBadRequest},
		{"bad escape", http.MethodGet, "/?crc_token=%zz", http.StatusBadRequest},
		{"post", http.MethodPost, "/?crc_token=abc", http.StatusMethodNotAllowed},
		{"put", http.MethodPut, "/?crc_token=abc", http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, nil))
			assert.Equal(t, c.want, rec.Code)
			assert.NotContains(t, rec.Body.String(), "sha256=")
			assert.NotContains(t, rec.Body.String(), "apiSecret")
		})
	}
	assert.NotContains(t, logs.String(), "apiSecret")
	assert.NotEmpty(t, logs.String(), "rejections are logged at debug level")
}

func TestNewHandlerNeedsSecret(t *testing.T) {
	_, err := crc.NewHandler(crc.HandlerConfig{})
	require.ErrorIs(t, err, crc.ErrNoSecret)
	_, err = crc.NewHandler(crc.HandlerConfig{Secrets: []string{""}})
	require.ErrorIs(t, err, crc.ErrNoSecret)
}

func TestVerifyRequest(t *testing.T) {
	body := `{"for_user_id":"1114259648326987776"}`
	newReq := func(sig string, b string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(b))
		if sig != "" {
			r.Header.Set(crc.SignatureHeader, sig)
		}
		return r
	}
	got, err := crc.VerifyRequest(httptest.NewRecorder(), newReq(crc.Sign("s", []byte(body)), body), 0, "s")
	require.NoError(t, err)
	assert.Equal(t, body, string(got))

	// Without a ResponseWriter the limit still holds.
	got, err = crc.VerifyRequest(nil, newReq(crc.Sign("s", []byte(body)), body), int64(len(body)), "s")
	require.NoError(t, err)
	assert.Equal(t, body, string(got))

	_, err = crc.VerifyRequest(nil, newReq("", body), 0, "s")
	require.ErrorIs(t, err, crc.ErrMissingSignature)

	_, err = crc.VerifyRequest(httptest.NewRecorder(), newReq(crc.Sign("other", []byte(body)), body), 0, "s")
	require.ErrorIs(t, err, crc.ErrInvalidSignature)

	for _, w := range []http.ResponseWriter{nil, httptest.NewRecorder()} {
		_, err = crc.VerifyRequest(w, newReq(crc.Sign("s", []byte(body)), body), int64(len(body)-1), "s")
		require.ErrorIs(t, err, crc.ErrBodyTooLarge)
	}
}

func TestSignRequestRoundTrip(t *testing.T) {
	body := `{"tweet_create_events":[]}`
	r := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	require.NoError(t, crc.SignRequest(r, "s"))
	assert.Equal(t, crc.Sign("s", []byte(body)), r.Header.Get(crc.SignatureHeader))
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(got), "the body stays readable")

	r = httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	require.NoError(t, crc.SignRequest(r, "s"))
	_, err = crc.VerifyRequest(nil, r, 0, "s")
	require.NoError(t, err)
}
