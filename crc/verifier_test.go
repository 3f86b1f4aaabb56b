package crc_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/crc"
)

// TestVerifierMatchesVerify holds the reusing Verifier to Verify's answer
// for every kind of signature, each checked twice so that reused HMAC
// states are exercised.
func TestVerifierMatchesVerify(t *testing.T) {
	body := []byte(`{"for_user_id":"1"}`)
	good := crc.Sign("s2", body)
	enc := good[len("sha256="):]
	sigs := []string{
		good, " " + good + " ", "SHA256=" + enc, crc.Sign("other", body), crc.Sign("s2", []byte("x")),
		"", "sha256=", "sha256=" + enc[:43], "sha256=" + enc + "=", "sha256=" + enc[:20] + "\n" + enc[20:],
		"sha256=" + enc[:20] + "\r\n" + enc[20:], "sha256=" + enc[:43] + "!", "sha1=" + enc,
		"sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", "sha256=" + enc[:40] + "\n\n\n\n",
	}
	for _, secrets := range [][]string{nil, {""}, {"s2"}, {"s1", "s2"}, {"", "s2", "s3"}, {"s1"}} {
		v := crc.NewVerifier(secrets...)
		for _, sig := range sigs {
			want := crc.Verify(body, sig, secrets...)
			for range 2 {
				require.Equal(t, want, v.Verify(body, sig), "secrets %q signature %q", secrets, sig)
			}
		}
	}
}
