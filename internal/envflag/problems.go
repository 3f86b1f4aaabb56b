package envflag

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/moetron/moetron/internal/xapi"
)

// Problems collects what is wrong with a binary's settings so that one
// error can name all of it: the missing variables first, then every bad
// value. Messages name variables, never secret values.
type Problems struct {
	missing, bad []string
}

// Need records env as missing when value is blank.
func (p *Problems) Need(value, env string) {
	if strings.TrimSpace(value) == "" {
		p.missing = append(p.missing, env)
	}
}

// Bad records a bad value.
func (p *Problems) Bad(format string, args ...any) {
	p.bad = append(p.bad, fmt.Sprintf(format, args...))
}

// Add records ready-made messages (for example those of a nested config).
func (p *Problems) Add(msgs ...string) { p.bad = append(p.bad, msgs...) }

// URL records value as bad unless it is an absolute http(s) URL.
func (p *Problems) URL(value, env string) {
	if u, err := url.Parse(value); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.Bad("%s %q is not an http(s) URL", env, value)
	}
}

// UserID records value as bad unless it is empty (Need reports that) or an
// X user id (xapi.ValidID, the rule every package applies).
func (p *Problems) UserID(value, env string) {
	if value != "" && !xapi.ValidID(value) {
		p.Bad("%s %q is not a decimal user id", env, value)
	}
}

// Err returns nil when nothing was recorded, else one error wrapping kind:
// "kind: missing A, B; bad 1; bad 2".
func (p *Problems) Err(kind error) error {
	var parts []string
	if len(p.missing) > 0 {
		parts = append(parts, "missing "+strings.Join(p.missing, ", "))
	}
	parts = append(parts, p.bad...)
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", kind, strings.Join(parts, "; "))
}

// IsDecimal reports whether s is 1 to 20 ASCII digits (a port; X ids are
// checked with xapi.ValidID).
func IsDecimal(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
