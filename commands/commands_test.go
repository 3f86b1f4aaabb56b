package commands_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
)

func TestDefaultIsTheDesignTable(t *testing.T) {
	s := commands.Default()
	assert.Same(t, filter.DefaultTable(), s.Table())
	assert.Equal(t, []string{"rand", "mess", "name"}, s.Names())
	def := imagegen.DefaultCommands()
	for _, args := range []string{"", "hello", "12345", "さくら"} {
		for _, name := range s.Names() {
			want, err := def.Request(name, args, "tweet:1332557345071644672")
			require.NoError(t, err)
			got, err := s.Request(name, args, "tweet:1332557345071644672")
			require.NoError(t, err)
			assert.Equal(t, want, got, "%s %q", name, args)
			got, err = s.Generation().Request(name, args, "tweet:1332557345071644672")
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}
	}
	s2, err := commands.Load("")
	require.NoError(t, err)
	assert.Same(t, s, s2)
}

// The example file is the default table plus two commands; it must load and
// mean what its comments say.
func TestExampleFile(t *testing.T) {
	s, err := commands.Load("../docs/commands.example.yaml")
	require.NoError(t, err)
	assert.Equal(t, []string{"rand", "mess", "name", "daily", "wild"}, s.Names())
	for _, name := range []string{"rand", "mess", "name"} {
		for _, args := range []string{"", "sakura", "42"} {
			want, _ := commands.Default().Request(name, args, "dm:9")
			got, err := s.Request(name, args, "dm:9")
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}
		want, _ := commands.Default().Lookup(name)
		got, _ := s.Lookup(name)
		assert.Equal(t, want.Model, got.Model, name)
	}
	daily, ok := s.Lookup("daily")
	require.True(t, ok)
	assert.Equal(t, []string{"moedaily", "moetoday"}, daily.Keywords)
	assert.Equal(t, commands.SeedRule{Kind: commands.SeedFixed, Fixed: 20261126}, daily.Seed)
	assert.Equal(t, filter.KindTweet, daily.Only)
	req, err := s.Request("daily", "anything", "tweet:5")
	require.NoError(t, err)
	assert.Equal(t, imagegen.Request{Seed: 20261126, Psi: 0.7}, req)

	tab := s.Table()
	m, ok := tab.MatchIn(filter.KindTweet, "@bot MoeToday please")
	require.True(t, ok)
	assert.Equal(t, "daily", m.Command)
	_, ok = tab.MatchIn(filter.KindDM, "moetoday please")
	assert.False(t, ok, "daily is for posts only")
	m, ok = tab.MatchIn(filter.KindDM, "moechaos")
	require.True(t, ok)
	assert.Equal(t, "wild", m.Command)
	// A posts-only keyword before a DM keyword: the DM one decides.
	m, ok = tab.MatchIn(filter.KindDM, "moetoday or moewild")
	require.True(t, ok)
	assert.Equal(t, "wild", m.Command)
	_, ok = tab.MatchIn(filter.KindTweet, "@bot moewild")
	assert.False(t, ok, "wild is for DMs only")
}

func TestBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"syntax", "commands:\n  - name: a\n    keywords: \"moea\n", ":3: found unexpected end of stream"},
		{"tab", "commands:\n\t- name: a\n", ":2: found character that cannot start any token"},
		{"unknown top", "command:\n  - name: a\n", ":1: command: unknown field"},
		{"unknown field", "commands:\n  - name: a\n    keywords: moea\n    psy: 0.5\n", ":4: commands[0].psy: unknown field"},
		{"psi range", "commands:\n  - name: a\n    keywords: moea\n\n    psi: 3\n", ":5: commands[0].psi: 3 is not in (0, 2]"},
		{"psi text", "commands:\n  - name: a\n    keywords: moea\n    psi: high\n", `:4: commands[0].psi: "high" is not a number`},
		{"seed", "commands:\n  - name: a\n    keywords: moea\n    seed: -1\n", ":4: commands[0].seed: -1 is not a seed"},
		{"seed word", "commands:\n  - name: a\n    keywords: moea\n    seed: name\n", `:4: commands[0].seed: "name" is not random, args`},
		{"in", "commands:\n  - name: a\n    keywords: moea\n    in: [posts, mail]\n", `:4: commands[0].in: "mail" is not posts or dms`},
		{"bad keyword", "commands:\n  - name: a\n    keywords: [moea, \"#moeb\"]\n", `:3: commands[0].keywords: keyword "#moeb"`},
		{"no keywords", "commands:\n  - name: a\n    psi: 1\n", `:2: commands[0].keywords: no keywords`},
		{"bad name", "commands:\n  - name: Big\n    keywords: moea\n", `:2: commands[0].name: name "Big"`},
		{"dup name", "commands:\n  - name: a\n    keywords: moea\n  - name: a\n    keywords: moeb\n", `:4: commands[1].name: "a" is the name of an earlier command`},
		{"dup keyword", "commands:\n  - name: a\n    keywords: moea\n  - name: b\n    aliases: [MOEA]\n", `:5: commands[1].keywords: "MOEA" is already a keyword of "a"`},
		{"field twice", "commands:\n  - name: a\n    keywords: moea\n    psi: 1\n    psi: 2\n", `:5: commands[0].psi: given twice`},
		{"template syntax", "commands:\n  - name: a\n    keywords: moea\n    reply: \"{{.Seed\"\n", `:4: commands[0].reply: does not parse`},
		{"template field", "commands:\n  - name: a\n    keywords: moea\n    reply: \"{{.Sed}} {{.RequestID}}\"\n", `:4: commands[0].reply: does not render`},
		{"template same", "commands:\n  - name: a\n    keywords: moea\n    reply: \"Here you go\"\n", `:4: commands[0].reply: renders the same text for two jobs`},
		{"template args", "commands:\n  - name: a\n    keywords: moea\n    reply: \"{{.Args}} #{{.RequestID}}\"\n", `:4: commands[0].reply: includes {{.Args}}`},
		{"template long", "commands:\n  - name: a\n    keywords: moea\n    reply: \"{{.RequestID}}" + strings.Repeat("あ", 140) + "\"\n", `:4: commands[0].reply: renders 286 weighted characters`},
		{"empty", "", ":1: empty file"},
		{"no commands", "commands: []\n", ":1: commands: no commands"},
		{"not a list", "commands: rand\n", ":1: commands: must be a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bot.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tc.file), 0o600))
			_, err := commands.Load(path)
			require.Error(t, err)
			assert.ErrorIs(t, err, commands.ErrInvalid)
			assert.Contains(t, err.Error(), "commands file "+path+tc.want)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := commands.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrNotExist))
	assert.Contains(t, err.Error(), "COMMANDS_FILE")
}

func TestModelPathIsRelativeToTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bot.yaml")
	require.NoError(t, os.WriteFile(path, []byte("commands:\n  - name: a\n    keywords: moea\n    model: m/portrait.onnx\n  - name: b\n    keywords: moeb\n    model: /abs/x.onnx\n"), 0o600))
	s, err := commands.Load(path)
	require.NoError(t, err)
	a, _ := s.Lookup("a")
	b, _ := s.Lookup("b")
	assert.Equal(t, filepath.Join(dir, "m", "portrait.onnx"), a.Model)
	assert.Equal(t, "/abs/x.onnx", b.Model)
	_, err = s.Request("cat", "", "tweet:1")
	assert.ErrorIs(t, err, imagegen.ErrUnknownCommand)
}

func TestBundledModels(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bot.yaml")
	require.NoError(t, os.WriteFile(path, []byte("commands:\n  - name: a\n    keywords: moea\n    model: bundled:cppn\n"), 0o600))
	s, err := commands.Load(path)
	require.NoError(t, err)
	a, _ := s.Lookup("a")
	assert.Equal(t, bundled.RefCPPN, a.Model, "a bundled reference is not a path relative to the file")

	require.NoError(t, os.WriteFile(path, []byte("commands:\n  - name: a\n    keywords: moea\n    model: bundled:stylegan\n"), 0o600))
	_, err = commands.Load(path)
	var fe *commands.FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 4, fe.Line)
	assert.Equal(t, "commands[0].model", fe.Field)
	assert.ErrorIs(t, err, bundled.ErrUnknown)

	_, err = commands.New(commands.Command{Name: "a", Keywords: []string{"moea"}, Psi: 1, Model: "bundled:x"})
	assert.ErrorIs(t, err, commands.ErrInvalid)
}

func TestDefaultModels(t *testing.T) {
	want := map[string]string{"rand": bundled.RefPortrait, "mess": bundled.RefCPPN, "name": bundled.RefPortrait}
	for name, ref := range want {
		c, ok := commands.Default().Lookup(name)
		require.True(t, ok)
		assert.Equal(t, ref, c.ModelFor(""), name)
		assert.Equal(t, "/m/stylegan.onnx", c.ModelFor("/m/stylegan.onnx"), "%s: MODEL_PATH replaces the bundled stand-in", name)
		assert.Equal(t, bundled.RefCPPN, c.ModelFor(bundled.RefCPPN), name)
	}
}

func TestModelFor(t *testing.T) {
	for _, tc := range []struct{ model, worker, want string }{
		{"", "", commands.DefaultModel},
		{"", "/w.onnx", "/w.onnx"},
		{"/c.onnx", "", "/c.onnx"},
		{"/c.onnx", "/w.onnx", "/c.onnx"},
		{bundled.RefCPPN, "", bundled.RefCPPN},
		{bundled.RefCPPN, "/w.onnx", "/w.onnx"},
		{bundled.RefCPPN, bundled.RefPortrait, bundled.RefPortrait},
	} {
		c := commands.Command{Model: tc.model}
		assert.Equal(t, tc.want, c.ModelFor(tc.worker), "model %q, MODEL_PATH %q", tc.model, tc.worker)
	}
	assert.Equal(t, bundled.RefPortrait, commands.DefaultModel)
}

func TestNewValidates(t *testing.T) {
	_, err := commands.New(commands.Command{Name: "a", Keywords: []string{"moea"}, Psi: 0})
	require.ErrorIs(t, err, commands.ErrInvalid)
	assert.Contains(t, err.Error(), `command "a": psi: 0 is not in (0, 2]`)
	s, err := commands.New(commands.Command{Name: "a", Keywords: []string{"moea"}, Psi: 1})
	require.NoError(t, err)
	c, _ := s.Lookup("a")
	assert.Equal(t, commands.SeedRandom, c.Seed.Kind, "the zero seed rule is random")
}
