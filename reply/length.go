package reply

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Length limits checked before anything is sent.
const (
	// MaxPostWeight is X's limit on a post's WeightedLength.
	MaxPostWeight = 280
	// MaxDMChars is the DM text limit in code points (X's legacy limit;
	// v2 documents none).
	MaxDMChars = 10000
	// URLWeight is what every URL counts for, whatever its length.
	URLWeight = 23
)

// WeightedLength returns the length X counts for a post's text under the
// twitter-text v3 rules: the text is NFC-normalised; a URL (a token that
// starts with http:// or https://, trailing punctuation excluded) counts
// URLWeight; an emoji, including a whole ZWJ sequence, a flag, a keycap or
// an emoji with modifiers, counts 2; any other code point counts 1 in the
// ranges U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F, U+2032–U+2037
// and 2 elsewhere (so CJK counts 2 per character).
//
// Bare domains without a scheme ("example.com") are counted as text here,
// whereas twitter-text may count them as URLs; the bot's templates should
// use full URLs if any.
func WeightedLength(text string) int {
	s := norm.NFC.String(text)
	n := 0
	for i := 0; i < len(s); {
		if j := urlEnd(s, i); j > i {
			n += URLWeight
			i = j
			continue
		}
		if j := emojiEnd(s, i); j > i {
			n += 2
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n += runeWeight(r)
		i += size
	}
	return n
}

func runeWeight(r rune) int {
	switch {
	case r <= 4351, r >= 8192 && r <= 8205, r >= 8208 && r <= 8223, r >= 8242 && r <= 8247:
		return 1
	}
	return 2
}

// urlEnd returns the end of a URL starting at i, or i if none starts
// there. A URL must start at the text's start or after a non-letter, non
// digit character, and runs to the next space, less any trailing
// punctuation.
func urlEnd(s string, i int) int {
	rest := s[i:]
	var scheme int
	switch {
	case hasPrefixFold(rest, "https://"):
		scheme = len("https://")
	case hasPrefixFold(rest, "http://"):
		scheme = len("http://")
	default:
		return i
	}
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '@' || r == '/' {
			return i
		}
	}
	end := i + scheme
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' {
			break
		}
		end += size
	}
	for end > i+scheme {
		r, size := utf8.DecodeLastRuneInString(s[:end])
		if !strings.ContainsRune(".,;:!?)]}'\"", r) {
			break
		}
		end -= size
	}
	// A scheme with no host is not a URL.
	if end == i+scheme || !strings.Contains(s[i+scheme:end], ".") {
		return i
	}
	return end
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// emojiEnd returns the end of an emoji sequence starting at i, or i if
// none starts there. It recognises what X's emoji parser treats as one
// emoji: pictographs with optional variation selector, skin-tone
// modifiers, tag sequences and ZWJ joins; regional-indicator pairs (flags);
// keycaps ([0-9#*] FE0F? 20E3).
func emojiEnd(s string, i int) int {
	r, size := utf8.DecodeRuneInString(s[i:])
	j := i + size
	switch {
	case isRegional(r):
		if r2, size2 := utf8.DecodeRuneInString(s[j:]); isRegional(r2) {
			return j + size2
		}
		return j
	case r == '#' || r == '*' || (r >= '0' && r <= '9'):
		k := j
		if r2, size2 := utf8.DecodeRuneInString(s[k:]); r2 == 0xFE0F {
			k += size2
		}
		if r2, size2 := utf8.DecodeRuneInString(s[k:]); r2 == 0x20E3 {
			return k + size2
		}
		return i
	case !isPictograph(r):
		return i
	}
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		switch {
		case r == 0xFE0F || r == 0xFE0E || (r >= 0x1F3FB && r <= 0x1F3FF) || (r >= 0xE0020 && r <= 0xE007F) || r == 0x20E3:
			j += size
		case r == 0x200D:
			r2, size2 := utf8.DecodeRuneInString(s[j+size:])
			if !isPictograph(r2) {
				return j
			}
			j += size + size2
		default:
			return j
		}
	}
	return j
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// isPictograph approximates Unicode's Extended_Pictographic property with
// the blocks that hold emoji.
func isPictograph(r rune) bool {
	switch {
	case r >= 0x1F000 && r <= 0x1FAFF,
		r >= 0x2600 && r <= 0x27BF,
		r >= 0x2300 && r <= 0x23FF,
		r >= 0x2B00 && r <= 0x2BFF,
		r >= 0x2190 && r <= 0x21FF,
		r == 0x00A9, r == 0x00AE, r == 0x203C, r == 0x2049, r == 0x2122, r == 0x2139,
		r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299:
		return true
	}
	return false
}

// checkPostText refuses an empty-without-media or overlong post text.
func checkPostText(text string) error {
	if w := WeightedLength(text); w > MaxPostWeight {
		return &textError{weight: w, limit: MaxPostWeight}
	}
	if !utf8.ValidString(text) {
		return &textError{invalid: true}
	}
	return nil
}

func checkDMText(text string) error {
	if !utf8.ValidString(text) {
		return &textError{invalid: true}
	}
	if n := utf8.RuneCountInString(text); n > MaxDMChars {
		return &textError{weight: n, limit: MaxDMChars, dm: true}
	}
	return nil
}

type textError struct {
	weight, limit int
	dm, invalid   bool
}

func (e *textError) Error() string {
	switch {
	case e.invalid:
		return "reply: invalid input: text is not valid UTF-8"
	case e.dm:
		return "reply: text too long: " + strconv.Itoa(e.weight) + " characters, DM limit " + strconv.Itoa(e.limit)
	}
	return "reply: text too long: weighted length " + strconv.Itoa(e.weight) + ", limit " + strconv.Itoa(e.limit)
}

func (e *textError) Is(target error) bool {
	if e.invalid {
		return target == ErrInvalidInput
	}
	return target == ErrTextTooLong
}
