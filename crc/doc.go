// Package crc answers X's Challenge-Response Check and signs and verifies
// the signature X puts on every webhook POST.
//
// Both use the same construction: "sha256=" + base64(HMAC-SHA256(consumer
// secret, message)), where the message is the crc_token for a CRC and the
// raw request body for a POST (header SignatureHeader).
//
// The package is layered: pure functions over bytes (ResponseToken, Sign,
// Verify, ValidToken; Verifier is Verify for a fixed set of secrets that
// reuses its HMAC state, for servers), then request helpers (VerifyRequest caps the body
// before verifying it, SignRequest signs a test request), then Handler, the
// http.Handler for the CRC GET.
//
// Because a CRC answer is an HMAC of a caller-chosen string under the same
// key as POST signatures, answering any string would let anyone obtain a
// valid signature for a forged body. Handler therefore signs only
// token-shaped values (ValidToken: 1 to 128 characters of A-Za-z0-9+/=_-),
// which can never be a JSON object.
//
// Several secrets may be configured during a rotation: Verify accepts a
// signature made with any of them, and Handler answers with the first.
// Secrets and computed MACs never appear in errors or logs.
package crc
