package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/botserver"
	"github.com/moetron/moetron/internal/envflag"
)

// envOnly are the README's variables that are deliberately not flags
// (the README's table says so).
var envOnly = map[string]bool{"X_CONSUMER_SECRET_PREVIOUS": true}

// The README says every setting is an environment variable and a flag of
// the same name: the bot, which takes the webhook's and the worker's
// settings, has a flag for every variable of its table.
func TestEveryREADMEVariableIsAFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	var vars []string
	row := regexp.MustCompile("^\\| (`[A-Z][A-Z0-9_]*`.*?) \\|")
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	for _, line := range strings.Split(string(readme), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			for _, v := range name.FindAllStringSubmatch(m[1], -1) {
				vars = append(vars, v[1])
			}
		}
	}
	require.Greater(t, len(vars), 30, "the README's table of variables was found")

	var cfg botserver.Config
	fs := flags(&cfg)
	fs.SetOutput(io.Discard)
	_, err = envflag.Parse(fs, nil)
	require.NoError(t, err)
	for _, v := range vars {
		if envOnly[v] {
			assert.Nil(t, fs.Lookup(envflag.Name(v)), "%s is environment only", v)
			continue
		}
		assert.NotNil(t, fs.Lookup(envflag.Name(v)), "README variable %s has no flag -%s", v, envflag.Name(v))
	}
}
