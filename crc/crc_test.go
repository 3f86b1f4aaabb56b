package crc_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/moetron/moetron/crc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Known answers. Each expected value was computed outside Go with
//
//	printf '%s' "$TOKEN" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
//
// The first two are also published vectors (see shared/reference/x-api.md
// §3.1): X's docs example and TwitterDev's example gist inputs.
var vectors = []struct {
	secret, msg, want string
}{
	{"apiSecret", "test token", "sha256=O5hJl2njQRIa4vsumZ+3oom9ECR5m3aQLRZkPoYelp0="},
	{"z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu", "9b4507b3-9040-4669-9ca3-6b94edb50553", "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="},
	{"moetron-secret", "AbC123+/=_-xyz", "sha256=adikhT6dJN6HgUFiLhh9JwEVQrq6Mgj6bPc4e+J96a4="},
	{"", "token", "sha256=OmpwtX+RnZIYvTXCT5jD565zPmCy6MgcO+j8894j4GU="},
	{"moetron-secret", `{"for_user_id":"1114259648326987776"}`, "sha256=s0lB+S1iTDob4HJw6JZC8SjF9wcRiJ/KLr1+yhM03TY="},
	{"secret2", `{"for_user_id":"1114259648326987776"}`, "sha256=X2fWWe/NCLRJ5wKQSH6hsM7BHkBxBoYsl8z5wnzO7NY="},
}

func TestResponseTokenKnownAnswers(t *testing.T) {
	for _, v := range vectors {
		assert.Equal(t, v.want, crc.ResponseToken(v.secret, v.msg), "secret %q msg %q", v.secret, v.msg)
		assert.Equal(t, v.want, crc.Sign(v.secret, []byte(v.msg)))
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"for_user_id":"1114259648326987776"}`)
	good := vectors[4].want  // moetron-secret
	other := vectors[5].want // secret2

	require.NoError(t, crc.Verify(body, good, "moetron-secret"))
	// Rotation: any configured secret may have signed, in any position.
	require.NoError(t, crc.Verify(body, other, "moetron-secret", "secret2"))
	require.NoError(t, crc.Verify(body, good, "", "old", "moetron-secret"))
	// The algorithm label is matched case-insensitively, spaces trimmed.
	require.NoError(t, crc.Verify(body, " SHA256="+strings.TrimPrefix(good, "sha256=")+" ", "moetron-secret"))

	cases := []struct {
		name    string
		body    []byte
		sig     string
		secrets []string
		want    error
	}{
		{"empty header", body, "", []string{"moetron-secret"}, crc.ErrMissingSignature},
		{"blank header", body, "   ", []string{"moetron-secret"}, crc.ErrMissingSignature},
		{"wrong secret", body, good, []string{"secret2"}, crc.ErrInvalidSignature},
		{"body changed", append([]byte(" "), body...), good, []string{"moetron-secret"}, crc.ErrInvalidSignature},
		{"no prefix", body, strings.TrimPrefix(good, "sha256="), []string{"moetron-secret"}, crc.ErrMalformedSignature},
		{"sha1 prefix", body, "sha1=" + strings.TrimPrefix(good, "sha256="), []string{"moetron-secret"}, crc.ErrMalformedSignature},
		{"not base64", body, "sha256=!!!!", []string{"moetron-secret"}, crc.ErrMalformedSignature},
		{"short mac", body, "sha256=" + base64.StdEncoding.EncodeToString([]byte("short")), []string{"moetron-secret"}, crc.ErrMalformedSignature},
		{"hex mac", body, "sha256=" + strings.Repeat("ab", sha256.Size), []string{"moetron-secret"}, crc.ErrMalformedSignature},
		{"prefix only", body, "sha256=", []string{"moetron-secret"}, crc.ErrMalformedSignature},
		{"no secrets", body, good, nil, crc.ErrNoSecret},
		{"only empty secrets", body, good, []string{"", ""}, crc.ErrNoSecret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := crc.Verify(c.body, c.sig, c.secrets...)
			require.ErrorIs(t, err, c.want)
			for _, s := range c.secrets {
				if s != "" {
					assert.NotContains(t, err.Error(), s, "error text must not carry a secret")
				}
			}
			assert.NotContains(t, err.Error(), strings.TrimPrefix(good, "sha256="), "error text must not carry a MAC")
		})
	}
}

func TestVerifyRejectsEveryFlippedBit(t *testing.T) {
	body := bytes.Repeat([]byte("moe"), 100)
	sig := crc.Sign("k", body)
	mac, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "sha256="))
	require.NoError(t, err)
	for i := range len(mac) * 8 {
		bad := bytes.Clone(mac)
		bad[i/8] ^= 1 << (i % 8)
		err := crc.Verify(body, "sha256="+base64.StdEncoding.EncodeToString(bad), "k")
		require.ErrorIs(t, err, crc.ErrInvalidSignature, "bit %d", i)
	}
}

func TestValidToken(t *testing.T) {
	good := []string{"a", "9b4507b3-9040-4669-9ca3-6b94edb50553", "AbC123+/=_-xyz", strings.Repeat("x", 128)}
	for _, tok := range good {
		assert.True(t, crc.ValidToken(tok), tok)
	}
	bad := []string{"", "test token", strings.Repeat("x", 129), `{"a":1}`, "tok\n", "tök", "a.b", "a%2Bb", "a&b", "\x00"}
	for _, tok := range bad {
		assert.False(t, crc.ValidToken(tok), "%q", tok)
	}
}

func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte(`{"k":"v"},`), 300) // 3,000 bytes
	sig := crc.Sign("consumer-secret", body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := crc.Verify(body, sig, "consumer-secret"); err != nil {
			b.Fatal(err)
		}
	}
}
