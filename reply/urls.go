package reply

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// urlSpans returns the byte ranges of s that twitter-text's URL extractor
// (extractUrlsWithIndices, with URLs without a scheme) takes for URLs:
// an optional http:// or https://, a host whose last label starts with a
// top-level domain it knows (genericTLDs, countryTLDs, or xn--…) followed
// by a boundary, an optional port, a path that ends on a character a URL
// may end with (or a balanced parenthesis) and a query likewise. A URL
// must not follow a letter, digit, @, $ or #; one without a scheme must
// not follow - _ . or /, and its host must be in Latin letters.
//
// Written from twitter-text's patterns; the known simplifications (a
// scheme-less host mixing Latin and other scripts is not a URL here,
// where twitter-text would take its Latin tail; the 4096-character limit
// is not checked) are tested as such in the corpus or not at all.
func urlSpans(s string) [][2]int {
	var spans [][2]int
	for i := 0; i < len(s); {
		if end, skip := urlAt(s, i); end > i {
			spans = append(spans, [2]int{i, end})
			i = end
			continue
		} else if skip > i {
			i = skip
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return spans
}

// urlAt returns the end of a URL starting at i (end > i), or the end of a
// host that twitter-text matched but refused (skip > i: scanning goes on
// after it), or neither.
func urlAt(s string, i int) (end, skip int) {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if !validBeforeURL(r) {
			return i, i
		}
	}
	p := i
	scheme := false
	switch {
	case hasPrefixFold(s[i:], "https://"):
		p, scheme = i+len("https://"), true
	case hasPrefixFold(s[i:], "http://"):
		p, scheme = i+len("http://"), true
	}
	host := hostEnd(s, p)
	if host == p {
		return i, i
	}
	if !scheme {
		if i > 0 {
			if r, _ := utf8.DecodeLastRuneInString(s[:i]); strings.ContainsRune("-_./", r) {
				return i, host
			}
		}
		for _, r := range s[p:host] {
			if !latinDomainRune(r) && r != '.' {
				return i, host
			}
		}
	}
	end = host
	if end < len(s) && s[end] == ':' {
		j := end + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > end+1 {
			end = j
		}
	}
	if scheme && strings.EqualFold(s[p:host], "t.co") {
		if end < len(s) && s[end] == '/' {
			j := end + 1
			for j < len(s) && isASCIIAlnum(s[j]) {
				j++
			}
			if j > end+1 {
				return queryEnd(s, j), 0
			}
		}
		return end, 0
	}
	if end < len(s) && s[end] == '/' {
		end = pathEnd(s, end+1)
	}
	return queryEnd(s, end), 0
}

// validBeforeURL: what may precede a URL (twitter-text's
// validUrlPrecedingChars).
func validBeforeURL(r rune) bool {
	switch {
	case isDirectional(r):
		return true
	case r < utf8.RuneSelf && isASCIIAlnum(byte(r)), r == '@', r == '＠', r == '$', r == '#', r == '＃',
		r == 0xFFFE, r == 0xFEFF, r == 0xFFFF:
		return false
	}
	return true
}

func isDirectional(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x2066 && r <= 0x2069)
}

func isASCIIAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// domainRune: a character a host label may hold (anything but punctuation,
// spaces, invalid characters and directional marks).
func domainRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf && strings.ContainsRune("!'#%&()*+,\\-./:;<=>?@[]^_{|}~$`\"", r):
		return false
	case unicode.IsSpace(r), r == 0x180E, r == 0x85, r == 0xA0, r == 0xFFFE, r == 0xFEFF, r == 0xFFFF, isDirectional(r):
		return false
	}
	return r >= 0x21 && r != utf8.RuneError
}

// latinDomainRune: the characters of a host without a scheme
// (validAsciiDomain).
func latinDomainRune(r rune) bool {
	r = unicode.ToLower(r)
	return r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || latinAccent(r)
}

func latinAccent(r rune) bool {
	switch {
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0xFF, r >= 0x100 && r <= 0x24F,
		r == 0x253, r == 0x254, r == 0x256, r == 0x257, r == 0x259, r == 0x25B, r == 0x263, r == 0x268,
		r == 0x26F, r == 0x272, r == 0x289, r == 0x28B, r == 0x2BB, r >= 0x300 && r <= 0x36F, r >= 0x1E00 && r <= 0x1EFF:
		return true
	}
	return false
}

// hostEnd returns the end of a host starting at p: one or more labels, a
// dot, and a label that starts with a known top-level domain followed by
// a boundary; the most labels that allow this win. It returns p if none.
func hostEnd(s string, p int) int {
	var starts []int // label starts
	j := p
	for {
		k := labelEnd(s, j)
		if k == j {
			break
		}
		starts = append(starts, j)
		if k < len(s) && s[k] == '.' {
			j = k + 1
			continue
		}
		break
	}
	for n := len(starts) - 1; n >= 1; n-- {
		if e := tldEnd(s, starts[n]); e > starts[n] {
			return e
		}
	}
	return p
}

// labelEnd returns the end of a host label at j: domain characters, with
// - and _ inside but not at either end.
func labelEnd(s string, j int) int {
	end := j
	for k := j; k < len(s); {
		r, size := utf8.DecodeRuneInString(s[k:])
		switch {
		case domainRune(r):
			k += size
			end = k
		case (r == '-' || r == '_') && k > j:
			k += size
		default:
			return end
		}
	}
	return end
}

// tldEnd returns the end of a known top-level domain at j followed by a
// boundary (not an ASCII letter or digit, @, + or -), or j.
func tldEnd(s string, j int) int {
	if hasPrefixFold(s[j:], "xn--") {
		k := j + 4
		for k < len(s) && (isASCIIAlnum(s[k]) || s[k] == '-') {
			k++
		}
		if k > j+4 {
			return k
		}
	}
	best := j
	for k, n := j, 0; k < len(s) && n < 30; n++ {
		_, size := utf8.DecodeRuneInString(s[k:])
		k += size
		t := strings.ToLower(s[j:k])
		if _, ok := genericTLDs[t]; !ok {
			if _, ok := countryTLDs[t]; !ok {
				continue
			}
		}
		if k == len(s) || !(isASCIIAlnum(s[k]) || strings.IndexByte("@+-", s[k]) >= 0) {
			best = k
		}
	}
	return best
}

// pathChar: validGeneralUrlPathChars (parentheses apart).
func pathChar(r rune) bool {
	r = unicode.ToLower(r)
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x400 && r <= 0x4FF || r == 0x2013 ||
		strings.ContainsRune("!*';:=+,.$/%#[]-_~@|&", r) || latinAccent(r)
}

// pathEndChar: what a path may end with (validUrlPathEndingChars).
func pathEndChar(r rune) bool {
	r = unicode.ToLower(r)
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r >= 0x400 && r <= 0x4FF ||
		strings.ContainsRune("+-=_#/", r) || latinAccent(r)
}

// pathEnd returns the end of the path whose characters start at j (just
// after its slash): path characters and balanced parentheses, cut back to
// the last character a path may end with.
func pathEnd(s string, j int) int {
	good := j
	for k := j; k < len(s); {
		r, size := utf8.DecodeRuneInString(s[k:])
		switch {
		case r == '(':
			e := parenEnd(s, k)
			if e == k {
				return good
			}
			k, good = e, e
		case pathChar(r):
			k += size
			if pathEndChar(r) {
				good = k
			}
		default:
			return good
		}
	}
	return good
}

// parenEnd returns the end of a balanced "(…)" at k (one level of nesting
// inside), or k.
func parenEnd(s string, k int) int {
	depth := 0
	for j := k; j < len(s); {
		r, size := utf8.DecodeRuneInString(s[j:])
		j += size
		switch {
		case r == '(':
			depth++
			if depth > 2 {
				return k
			}
		case r == ')':
			depth--
			if depth == 0 {
				if j-size == k+1 {
					return k // "()" is not balanced content
				}
				return j
			}
		case !pathChar(r):
			return k
		}
	}
	return k
}

// queryEnd extends a URL ending at j by a query: "?" and query characters
// up to the last one a query may end with; none if there is no such end.
func queryEnd(s string, j int) int {
	if j >= len(s) || s[j] != '?' {
		return j
	}
	end := j
	for k := j + 1; k < len(s); k++ {
		c := s[k] | 0x20
		switch {
		case c >= 'a' && c <= 'z' && s[k] >= 'A', s[k] >= '0' && s[k] <= '9', strings.IndexByte("-_&=#/", s[k]) >= 0:
			end = k + 1
		case strings.IndexByte("!?*'@();:+$%[].,~|", s[k]) >= 0:
		default:
			return end
		}
	}
	return end
}
