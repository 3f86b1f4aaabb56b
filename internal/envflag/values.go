package envflag

import (
	"fmt"
	"strconv"
	"time"
)

// Values reads typed settings through Getenv (os.Getenv, or a map in
// tests). A value that does not parse leaves a message in Bad, naming the
// variable, for the config's Validate to report with its other problems;
// an unset one leaves its target alone.
type Values struct {
	Getenv func(string) string
	Bad    []string
}

// Duration reads env as a Go duration (30s, 2m) into *p.
func (v *Values) Duration(env string, p *time.Duration) {
	if s := v.Getenv(env); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			v.Bad = append(v.Bad, fmt.Sprintf("%s %q is not a duration such as 30s or 2m", env, s))
		}
		*p = d
	}
}

// Int reads env as a whole number into *p.
func (v *Values) Int(env string, p *int) {
	if s := v.Getenv(env); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			v.Bad = append(v.Bad, fmt.Sprintf("%s %q is not a whole number", env, s))
		}
		*p = n
	}
}

// SetOrUnset is how a config's String shows a secret: "set" or "unset",
// never the value.
func SetOrUnset(v string) string {
	if v == "" {
		return "unset"
	}
	return "set"
}
