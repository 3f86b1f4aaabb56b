// Package envflag defines command-line flags named after environment
// variables (X_CONSUMER_KEY is -x-consumer-key), the convention of every
// moetron binary, and keeps secrets out of -h.
package envflag

import (
	"flag"
	"strings"
)

// Name returns the flag name for an environment variable.
func Name(env string) string { return strings.ToLower(strings.ReplaceAll(env, "_", "-")) }

// String defines the flag for env on *p. *p holds the environment's value
// (or a default) and is shown by -h as the flag's default.
func String(fs *flag.FlagSet, p *string, env, usage string) {
	fs.StringVar(p, Name(env), *p, usage)
}

// Secret defines the flag for env on *p like String, but -h never shows
// the value taken from the environment.
func Secret(fs *flag.FlagSet, p *string, env, usage string) {
	fs.Var(secret{p}, Name(env), usage)
}

type secret struct{ p *string }

// String is what flag prints as the default: nothing, whatever is set.
func (s secret) String() string { return "" }

func (s secret) Set(v string) error {
	*s.p = v
	return nil
}
