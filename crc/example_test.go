package crc_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/moetron/moetron/crc"
)

func ExampleResponseToken() {
	fmt.Println(crc.ResponseToken("apiSecret", "test token"))
	// Output: sha256=O5hJl2njQRIa4vsumZ+3oom9ECR5m3aQLRZkPoYelp0=
}

func ExampleVerify() {
	body := []byte(`{"for_user_id":"1114259648326987776"}`)
	header := crc.Sign("new-secret", body)
	// During a rotation both the new and the old secret are accepted.
	fmt.Println(crc.Verify(body, header, "new-secret", "old-secret"))
	fmt.Println(crc.Verify(body, header, "another-secret"))
	// Output:
	// <nil>
	// crc: invalid signature
}

// Sign a fixture body in a test, as X would, and post it to a handler.
func ExampleSignRequest() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := crc.VerifyRequest(w, r, 0, "consumer-secret")
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "verified %d bytes", len(body))
	})
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(`{"tweet_create_events":[]}`))
	if err := crc.SignRequest(req, "consumer-secret"); err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	out, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, string(out))
	// Output: 200 verified 26 bytes
}

// The answer below was checked with
// printf %s abc123 | openssl dgst -sha256 -hmac apiSecret -binary | base64.
func ExampleHandler() {
	h, err := crc.NewHandler(crc.HandlerConfig{Secrets: []string{"apiSecret"}})
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhook?crc_token=abc123", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body.String())
	// Output:
	// 200 application/json
	// {"response_token":"sha256=U21bDzd3KdPYcahwtjMHZz6yQMqNOb8jvN9/4BQJrdE="}
}
