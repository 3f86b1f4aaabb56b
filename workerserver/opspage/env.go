package opspage

import (
	"errors"
	"flag"
	"fmt"

	"github.com/moetron/moetron/internal/envflag"
)

// Environment variable names read by FromLookup.
const (
	// EnvPage turns the page on (the default) or off: "on" or "off".
	EnvPage = "OPS_PAGE"
	// EnvToken is the operator token. Unset: the page is served only on a
	// loopback connection. Set: every request needs it (see the package
	// documentation).
	EnvToken = "OPS_TOKEN"
)

// Values of Env.Page.
const (
	PageOn  = "on"
	PageOff = "off"
)

// MinTokenLen is the shortest OPS_TOKEN accepted: a token guards requeue
// and the list of users, so it must not be guessable.
const MinTokenLen = 16

// ErrConfig is wrapped by Env.Validate's and New's errors.
var ErrConfig = errors.New("opspage: invalid config")

// Env is the page's part of a worker's configuration.
type Env struct {
	// Page is PageOn or PageOff (OPS_PAGE). Empty means PageOn.
	Page string
	// Token is the operator token (OPS_TOKEN), at least MinTokenLen
	// characters. Empty means none: the page answers loopback connections
	// only. A secret: never logged, String shows set or unset.
	Token string
}

// FromLookup reads an Env through getenv (os.Getenv, or a map in tests).
func FromLookup(getenv func(string) string) Env {
	return Env{Page: getenv(EnvPage), Token: getenv(EnvToken)}
}

// Flags binds e's fields to -ops-page and -ops-token (a secret: prefer the
// environment, flags show up in process listings). The current values are
// the defaults.
func (e *Env) Flags(fs *flag.FlagSet) {
	envflag.String(fs, &e.Page, EnvPage, "operator page at /ops/ on the metrics listener: on or off (default on)")
	envflag.Secret(fs, &e.Token, EnvToken, "operator token: required by every /ops/ request when set; "+
		"unset, /ops/ answers loopback connections only (secret, prefer the environment)")
}

// On reports whether the page is served.
func (e Env) On() bool { return e.Page != PageOff }

// Validate reports a Page other than on or off and a Token shorter than
// MinTokenLen in one error wrapping ErrConfig, never showing the token.
func (e Env) Validate() error {
	var p envflag.Problems
	p.Add(e.Problems()...)
	return p.Err(ErrConfig)
}

// Problems lists what Validate reports, for a caller that folds them into
// its own configuration error.
func (e Env) Problems() []string {
	var probs []string
	switch e.Page {
	case "", PageOn, PageOff:
	default:
		probs = append(probs, fmt.Sprintf("%s %q is not %s or %s", EnvPage, e.Page, PageOn, PageOff))
	}
	if e.Token != "" && len(e.Token) < MinTokenLen {
		probs = append(probs, fmt.Sprintf("%s is shorter than %d characters", EnvToken, MinTokenLen))
	}
	return probs
}

// String shows the settings, the token only as set or unset.
func (e Env) String() string {
	page, token := PageOn, "unset"
	if !e.On() {
		page = PageOff
	}
	if e.Token != "" {
		token = "set"
	}
	return "page=" + page + " token=" + token
}
