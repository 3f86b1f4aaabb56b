package filter

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatchWholeWord(t *testing.T) {
	tab := DefaultTable()
	cases := []struct {
		text    string
		command string // "" means no match
		keyword string
		args    string
	}{
		{"@bot moerand", "rand", "moerand", ""},
		{"@bot moerand!", "rand", "moerand", "!"},
		{"moerand", "rand", "moerand", ""},
		{"MoeRand", "rand", "MoeRand", ""},
		{"MOENAME  hello world  ", "name", "MOENAME", "hello world"},
		{"@bot moename hello", "name", "moename", "hello"},
		{"(moemess)", "mess", "moemess", ")"},
		{"#moerand please", "rand", "moerand", "please"},
		{"please, moerand.", "rand", "moerand", "."},
		{"moerand\nsecond line", "rand", "moerand", "second line"},
		{"\tmoemess\t", "mess", "moemess", ""},
		{"画像moerand", "", "", ""}, // a letter (Han) joins the word
		{"画像 moerand ください", "rand", "moerand", "ください"},
		{"「moerand」", "rand", "moerand", "」"}, // CJK brackets are punctuation
		{"moerand🎲", "rand", "moerand", "🎲"},  // emoji is not a word character
		{"moerandom", "", "", ""},
		{"xmoerand", "", "", ""},
		{"moerand2", "", "", ""},
		{"2moerand", "", "", ""},
		{"moerand_x", "", "", ""},
		{"_moerand", "", "", ""},
		{"moerande\u0301", "", "", ""},               // combining mark continues the word
		{"moerand\u0301", "", "", ""},                // even right after the keyword
		{"moerand\u200d", "", "", ""},                // zero-width joiner is a word character
		{"moerand\u203fx", "", "", ""},               // U+203F is connector punctuation (Pc)
		{"moerand\u0663", "", "", ""},                // Arabic-Indic digit three (Nd)
		{"moerand\u00a0hi", "rand", "moerand", "hi"}, // no-break space separates and is trimmed
		{"moe rand", "", "", ""},
		{"", "", "", ""},
		{"moerandom then moename bob", "name", "moename", "bob"},
		{"moename first then moerand", "name", "moename", "first then moerand"},
		{"moemess moerand", "mess", "moemess", "moerand"},
		{"\xffmoerand\xfe", "rand", "moerand", "\xfe"}, // invalid bytes separate words
		{"ｍｏｅｒａｎｄ", "", "", ""},                        // fullwidth letters are other letters
	}
	for _, c := range cases {
		m, ok := tab.Match(c.text)
		if c.command == "" {
			assert.False(t, ok, "Match(%q) = %+v, want no match", c.text, m)
			continue
		}
		if assert.True(t, ok, "Match(%q) found nothing", c.text) {
			assert.Equal(t, c.command, m.Command, "command of %q", c.text)
			assert.Equal(t, c.keyword, m.Keyword, "keyword of %q", c.text)
			assert.Equal(t, c.args, m.Args, "args of %q", c.text)
			assert.Equal(t, c.keyword, c.text[m.Offset:m.Offset+len(m.Keyword)], "offset of %q", c.text)
		}
	}
}

func TestMatchUnicodeKeywordAndFolding(t *testing.T) {
	tab, err := NewTable(
		Command{Name: "rand", Keywords: []string{"moerand", "萌え"}},
		Command{Name: "name", Keywords: []string{"Straße", "ΣΊΣΥΦΟΣ", "kawaii"}},
	)
	require.NoError(t, err)
	cases := map[string]string{
		"@bot 萌え":        "rand",
		"@bot 萌えて":       "", // Hiragana te continues the word
		"STRASSE":        "", // full case folding is not simple folding
		"STRAßE x":       "name",
		"σίσυφος":        "name", // final sigma folds to sigma
		"MOErand":        "rand",
		"\u212Aawaii":    "name", // the Kelvin sign folds to k (3 bytes vs 1, same rune count)
		"kawaii\u212A":   "",     // and is a letter, so it continues the word
		"moeRAND moeRAN": "rand",
	}
	for text, want := range cases {
		m, ok := tab.Match(text)
		assert.Equal(t, want != "", ok, "Match(%q) ok", text)
		assert.Equal(t, want, m.Command, "Match(%q)", text)
	}
}

func TestMatchFirstByPosition(t *testing.T) {
	// Table order must not matter: position in the text decides.
	tab := MustTable(
		Command{Name: "a", Keywords: []string{"alpha"}},
		Command{Name: "b", Keywords: []string{"beta"}},
	)
	m, ok := tab.Match("beta then alpha")
	require.True(t, ok)
	assert.Equal(t, "b", m.Command)
	assert.Equal(t, "then alpha", m.Args)
	assert.Equal(t, 0, m.Offset)
}

func TestNewTableErrors(t *testing.T) {
	long := strings.Repeat("a", 65)
	cases := map[string][]Command{
		"no commands":       nil,
		"empty name":        {{Name: "", Keywords: []string{"x"}}},
		"upper-case name":   {{Name: "Rand", Keywords: []string{"x"}}},
		"name with space":   {{Name: "my cmd", Keywords: []string{"x"}}},
		"long name":         {{Name: strings.Repeat("n", 33), Keywords: []string{"x"}}},
		"duplicate name":    {{Name: "a", Keywords: []string{"x"}}, {Name: "a", Keywords: []string{"y"}}},
		"no keywords":       {{Name: "a"}},
		"empty keyword":     {{Name: "a", Keywords: []string{""}}},
		"keyword w/ space":  {{Name: "a", Keywords: []string{"moe rand"}}},
		"keyword w/ hash":   {{Name: "a", Keywords: []string{"#moerand"}}},
		"keyword too long":  {{Name: "a", Keywords: []string{long}}},
		"keyword bad utf8":  {{Name: "a", Keywords: []string{"moe\xff"}}},
		"keyword reused":    {{Name: "a", Keywords: []string{"moerand"}}, {Name: "b", Keywords: []string{"MoeRand"}}},
		"keyword twice one": {{Name: "a", Keywords: []string{"x", "X"}}},
	}
	for name, cmds := range cases {
		tab, err := NewTable(cmds...)
		assert.ErrorIs(t, err, ErrInvalidTable, name)
		assert.Nil(t, tab, name)
	}
	assert.Panics(t, func() { MustTable() })
}

func TestTableCopies(t *testing.T) {
	cmds := DefaultCommands()
	tab := MustTable(cmds...)
	cmds[0].Keywords[0] = "changed"
	got := tab.Commands()
	assert.Equal(t, DefaultCommands(), got, "the table must not alias its input")
	got[1].Keywords[0] = "changed too"
	assert.Equal(t, DefaultCommands(), tab.Commands(), "Commands must return a copy")
	assert.True(t, tab.Has("mess"))
	assert.False(t, tab.Has("moemess"))
	_, ok := tab.Match("changed")
	assert.False(t, ok)
}
