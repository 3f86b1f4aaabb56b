package reply

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/text/unicode/norm"
)

func TestWeightedLength(t *testing.T) {
	cases := []struct {
		name string
		text string
		want int
	}{
		{"empty", "", 0},
		{"ascii", "Here's your generated image!", 28},
		{"latin-1 and latin extended", "café Ōsaka", 10},
		{"decomposed e-acute is NFC-normalised", "cafe\u0301", 4},
		{"cjk", "日本語", 6},
		{"hangul", "안녕", 4},
		{"general punctuation weighs 1", "\u2018quoted\u2019 \u2026", 11},
		{"single emoji", "😀", 2},
		{"emoji with skin tone", "👍🏽", 2},
		{"zwj family", "👨\u200d👩\u200d👧\u200d👦", 2},
		{"heart with VS16", "❤\ufe0f", 2},
		{"flag", "🇯🇵", 2},
		{"two flags", "🇯🇵🇫🇷", 4},
		{"lone regional indicator", "🇯", 2},
		{"england tag flag", "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", 2},
		{"keycap", "1\ufe0f\u20e3", 2},
		{"plain digit", "1", 1},
		{"https url", "https://example.com/a/very/long/path/that/is/much/longer/than/twenty-three", 23},
		{"http url in text", "see http://x.co now", 4 + 23 + 4},
		{"url trailing period", "go https://example.com.", 3 + 23 + 1},
		{"two urls", "https://a.com https://b.org/x", 23 + 1 + 23},
		{"scheme without host", "https:// x", 10},
		{"mixed", "@alice 画像 🎨 https://t.co/abc (seed 42)", 7 + 4 + 1 + 2 + 1 + 23 + 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, WeightedLength(tc.text))
		})
	}
}

func TestCheckPostTextLimit(t *testing.T) {
	assert.NoError(t, checkPostText(strings.Repeat("a", 280)))
	assert.NoError(t, checkPostText(strings.Repeat("字", 140)))
	err := checkPostText(strings.Repeat("字", 141))
	assert.ErrorIs(t, err, ErrTextTooLong)
	assert.Contains(t, err.Error(), "282")
	assert.ErrorIs(t, checkPostText(strings.Repeat("a", 281)), ErrTextTooLong)
	assert.NoError(t, checkPostText(strings.Repeat("https://example.com/"+strings.Repeat("x", 100)+" ", 11)))
	assert.ErrorIs(t, checkPostText("bad \xff"), ErrInvalidInput)
	assert.False(t, errors.Is(checkPostText("bad \xff"), ErrTextTooLong))
	assert.ErrorIs(t, checkDMText(strings.Repeat("字", MaxDMChars+1)), ErrTextTooLong)
	assert.NoError(t, checkDMText(strings.Repeat("字", MaxDMChars)))
}

func FuzzWeightedLength(f *testing.F) {
	for _, s := range []string{"", "abc", "👨\u200d👩", "https://x.com/", "🇯🇵1\u20e3", "a.co", "☝\ufe0e🏽", "x.com/(a(b))?q=1!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Every code point weighs at most 2, and every URL (23) holds a dot.
		n := WeightedLength(s)
		if n < 0 || n > 2*len(norm.NFC.String(s))+URLWeight*strings.Count(s, ".") {
			t.Fatalf("WeightedLength(%q) = %d", s, n)
		}
	})
}
