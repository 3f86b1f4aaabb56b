package imagegen

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNameSeedMatchesPython(t *testing.T) {
	b, err := os.ReadFile("testdata/seeds.json")
	require.NoError(t, err)
	var cases []struct {
		Args string `json:"args"`
		Seed uint32 `json:"seed"`
	}
	require.NoError(t, json.Unmarshal(b, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		assert.Equal(t, c.Seed, NameSeed(c.Args, "ignored"), "args %q", c.Args)
	}
}

func TestRandomSeed(t *testing.T) {
	// With a key: deterministic per key, different across keys.
	a := RandomSeed("", "tweet:1332557345071644672")
	assert.Equal(t, a, RandomSeed("whatever", "tweet:1332557345071644672"))
	assert.NotEqual(t, a, RandomSeed("", "tweet:1332557345071644673"))

	// Without a key: drawn from the random source.
	old := randUint32
	t.Cleanup(func() { randUint32 = old })
	next := uint32(7)
	randUint32 = func() uint32 { next++; return next }
	assert.Equal(t, uint32(8), RandomSeed("", ""))
	assert.Equal(t, uint32(9), RandomSeed("x", ""))
}

func TestDefaultCommands(t *testing.T) {
	c := DefaultCommands()
	assert.Equal(t, []string{"mess", "name", "rand"}, c.Names())

	req, err := c.Request("name", "hello", "tweet:1")
	require.NoError(t, err)
	assert.Equal(t, Request{Seed: 338222994, Psi: 0.55}, req)

	req, err = c.Request("mess", "", "dm:9")
	require.NoError(t, err)
	assert.Equal(t, float32(1), req.Psi)
	assert.Equal(t, RandomSeed("", "dm:9"), req.Seed)

	req, err = c.Request("rand", "", "dm:9")
	require.NoError(t, err)
	assert.Equal(t, float32(0.55), req.Psi)

	_, err = c.Request("nope", "", "")
	assert.ErrorIs(t, err, ErrUnknownCommand)
	assert.ErrorContains(t, err, `"nope"`)
}

func TestRegisterCommand(t *testing.T) {
	c := DefaultCommands()
	fixed := func(args, key string) uint32 { return 77 }
	require.NoError(t, c.Register(Command{Name: "seven", Psi: 0.7, Seed: fixed}))
	req, err := c.Request("seven", "", "")
	require.NoError(t, err)
	assert.Equal(t, Request{Seed: 77, Psi: 0.7}, req)

	// Replacing a built-in.
	require.NoError(t, c.Register(Command{Name: "rand", Psi: 0.9, Seed: fixed}))
	req, err = c.Request("rand", "", "")
	require.NoError(t, err)
	assert.Equal(t, Request{Seed: 77, Psi: 0.9}, req)

	// Bad entries are refused and change nothing.
	assert.ErrorIs(t, c.Register(Command{Psi: 0.5, Seed: fixed}), ErrConfig)
	assert.ErrorIs(t, c.Register(Command{Name: "x", Psi: 0.5}), ErrConfig)
	assert.ErrorIs(t, c.Register(Command{Name: "x", Psi: 0, Seed: fixed}), ErrBadRequest)
	assert.ErrorIs(t, c.Register(Command{Name: "x", Psi: 3, Seed: fixed}), ErrBadRequest)
	_, ok := c.Lookup("x")
	assert.False(t, ok)

	// The zero Commands is usable.
	var z Commands
	require.NoError(t, z.Register(Command{Name: "a", Psi: 1, Seed: fixed}))
	assert.Equal(t, []string{"a"}, z.Names())
}
