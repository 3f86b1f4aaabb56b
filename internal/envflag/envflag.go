// Package envflag defines command-line flags named after environment
// variables (X_CONSUMER_KEY is -x-consumer-key), the convention of every
// moetron binary, and keeps secrets out of -h.
package envflag

import (
	"flag"
	"log/slog"
	"os"
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

// Parse adds -debug to fs (default: LOG_LEVEL=debug), parses args and
// returns the text logger on stderr a binary should use. -h gives
// flag.ErrHelp, which callers treat as a clean exit.
func Parse(fs *flag.FlagSet, args []string) (*slog.Logger, error) {
	debug := fs.Bool("debug", os.Getenv("LOG_LEVEL") == "debug", "log debug records (or LOG_LEVEL=debug)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}
