package xfake

import (
	"testing"

	"github.com/moetron/moetron/crc"
	"github.com/stretchr/testify/assert"
)

// The fake computes its HMACs itself so that a bug in package crc cannot
// hide behind the same bug here; this test keeps the two in agreement.
func TestHMACAgreesWithCRCPackage(t *testing.T) {
	// Known answer from the project's X API reference (§3.1).
	assert.Equal(t, "sha256=O5hJl2njQRIa4vsumZ+3oom9ECR5m3aQLRZkPoYelp0=", hmacSHA256("apiSecret", []byte("test token")))
	for _, msg := range []string{"test token", "9b4507b3-9040-4669-9ca3-6b94edb50553", `{"for_user_id":"1"}`} {
		assert.Equal(t, crc.ResponseToken("apiSecret", msg), hmacSHA256("apiSecret", []byte(msg)))
		assert.Equal(t, crc.Sign("apiSecret", []byte(msg)), hmacSHA256("apiSecret", []byte(msg)))
	}
}
