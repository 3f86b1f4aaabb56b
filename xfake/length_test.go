package xfake

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fake counts like twitter-text (and reply): a ZWJ family is one emoji,
// text is NFC-normalised, a bare domain is a URL.
func TestWeightedLengthIsTwitterTexts(t *testing.T) {
	assert.Equal(t, 2, WeightedLength("👨\u200d👩\u200d👧\u200d👦"))
	assert.Equal(t, 4, WeightedLength("cafe\u0301"))
	assert.Equal(t, 2, WeightedLength("🇯🇵"))
	assert.Equal(t, 4+23+4, WeightedLength("see example.com now"))

	// 139 families and 2 letters: 280, accepted; X would accept it too.
	f := start(t, Config{})
	text := strings.Repeat("👨\u200d👩\u200d👧\u200d👦", 139) + "ok"
	r := f.do(f.bot, http.MethodPost, "/2/tweets", "application/json", []byte(`{"text":"`+text+`"}`))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
}
