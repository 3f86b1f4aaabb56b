package xapi

// MaxIDDigits is the most digits an X id has: X's OpenAPI pattern for post
// and user ids is ^[0-9]{1,19}$.
const MaxIDDigits = 19

// ValidID reports whether s is an X id (a post, user, DM event, media or
// webhook id) as X writes it: 1 to MaxIDDigits ASCII digits, no leading
// zero, not 0. See the package doc for why 20 digits are refused.
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDDigits || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
