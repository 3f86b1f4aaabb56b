package webhooks

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParseAPIError: any answer parses without panicking into an error
// that names the request and matches at most one sentinel.
func FuzzParseAPIError(f *testing.F) {
	f.Add(400, []byte(`{"errors":[{"message":"CrcValidationFailed: bad"}]}`), "")
	f.Add(429, []byte(`{"title":"Too Many Requests","type":"about:blank","status":429}`), "1790000000")
	f.Add(409, []byte(`{"errors":[{"code":355,"message":"x"}]}`), "")
	f.Add(500, []byte(`not json`), "")
	f.Add(403, []byte(`{"errors":[{"message":":"},{"message":"Abc:"}],"title":"WebhookIdInvalid"}`), "-1")
	all := []error{ErrCRCFailed, ErrInvalidURL, ErrDuplicateURL, ErrWebhookLimit, ErrWebhookNotFound,
		ErrDuplicateSubscription, ErrSubscriptionLimit, ErrSubscriptionNotFound, ErrReplayConflict,
		ErrUnauthorized, ErrForbidden, ErrRateLimited, ErrUsageCapped, ErrServer, ErrBadRequest}
	f.Fuzz(func(t *testing.T, status int, body []byte, reset string) {
		h := http.Header{}
		h.Set("x-rate-limit-reset", reset)
		e := parseAPIError(http.MethodPost, "/2/webhooks", status, h, body, time.Unix(1, 0))
		if !strings.HasPrefix(e.Error(), "webhooks: POST /2/webhooks: ") {
			t.Fatalf("error text %q", e.Error())
		}
		n := 0
		for _, s := range all {
			if errors.Is(e, s) {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("%d sentinels match %v", n, e)
		}
		if status >= 400 && status < 600 && n != 1 {
			t.Fatalf("status %d matches no sentinel: %v", status, e)
		}
	})
}
