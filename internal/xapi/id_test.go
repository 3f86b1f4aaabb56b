package xapi

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// idCases are shared with the agreement test of the packages that check
// ids; see agree_test.go.
var idCases = []struct {
	ID   string
	Want bool
	Why  string
}{
	{"1", true, "one digit"},
	{"1332557345071644672", true, "a real post id, 19 digits"},
	{"9223372036854775807", true, "int64 max, 19 digits"},
	{"9999999999999999999", true, "the largest 19-digit id"},
	{"10000000000000000000", false, "20 digits, though it fits uint64"},
	{"18446744073709551615", false, "uint64 max: 20 digits"},
	{"18446744073709551616", false, "uint64 overflow"},
	{"123456789012345678901", false, "21 digits"},
	{"", false, "empty"},
	{"0", false, "zero is no id"},
	{"00", false, "zeros"},
	{"0123", false, "leading zero: a second spelling of 123"},
	{"+1", false, "plus sign"},
	{"-1", false, "minus sign"},
	{" 1", false, "leading space"},
	{"1 ", false, "trailing space"},
	{"1e3", false, "exponent"},
	{"1.5", false, "fraction"},
	{"0x1f", false, "hex"},
	{"12a", false, "letter"},
	{"١٢٣", false, "Arabic-Indic digits"},
	{"１２３", false, "fullwidth digits"},
}

func TestValidID(t *testing.T) {
	for _, tc := range idCases {
		assert.Equal(t, tc.Want, ValidID(tc.ID), "%q: %s", tc.ID, tc.Why)
	}
}

// FuzzValidID: ValidID accepts exactly the canonical decimal form of the
// numbers 1 to 10^19-1, each of which fits in a uint64.
func FuzzValidID(f *testing.F) {
	for _, tc := range idCases {
		f.Add(tc.ID)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := strconv.ParseUint(s, 10, 64)
		canonical := err == nil && n > 0 && strconv.FormatUint(n, 10) == s && len(s) <= MaxIDDigits
		if got := ValidID(s); got != canonical {
			t.Fatalf("ValidID(%q) = %v, want %v", s, got, canonical)
		}
	})
}
