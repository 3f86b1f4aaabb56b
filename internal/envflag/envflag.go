// Package envflag defines command-line flags named after environment
// variables (X_CONSUMER_KEY is -x-consumer-key), the convention of every
// moetron binary, and keeps secrets out of -h.
package envflag

import (
	"flag"
	"fmt"
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

// EnvLogLevel is the log level variable every binary reads (flag
// -log-level): debug, info (the default), warn or error.
const EnvLogLevel = "LOG_LEVEL"

// Parse adds -log-level (default $LOG_LEVEL, else info) and -debug (short
// for -log-level debug) to fs, parses args and returns the text logger on
// stderr a binary should use. A level that is not debug, info, warn or
// error is an error naming it. -h gives flag.ErrHelp, which callers treat
// as a clean exit.
func Parse(fs *flag.FlagSet, args []string) (*slog.Logger, error) {
	level, err := parse(fs, args, os.Getenv)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}

// parse is Parse's work: the flags, and the level they and getenv say.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) (slog.Level, error) {
	name := getenv(EnvLogLevel)
	String(fs, &name, EnvLogLevel, "log level: debug (every request and decision), info, warn or error (default info)")
	debug := fs.Bool("debug", false, "log debug records (-"+Name(EnvLogLevel)+" debug)")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	var level slog.Level // info
	switch {
	case *debug:
		level = slog.LevelDebug
	case name != "":
		if err := level.UnmarshalText([]byte(name)); err != nil {
			return 0, fmt.Errorf("%s %q is not debug, info, warn or error", EnvLogLevel, name)
		}
	}
	return level, nil
}
