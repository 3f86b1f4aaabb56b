package filter

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default command names (the "command" field of a Job).
const (
	CommandRand = "rand"
	CommandMess = "mess"
	CommandName = "name"
)

// Limits on a command table.
const (
	maxCommandName = 32
	maxKeyword     = 64
)

// Command is one entry of a command table: a name that ends up in the job
// and the keywords that trigger it.
type Command struct {
	// Name is what Job.Command carries: 1-32 characters of a-z, 0-9, '_'
	// and '-'.
	Name string
	// Keywords trigger the command, compared case-insensitively (Unicode
	// simple case folding). Each keyword is one word: 1-64 bytes of word
	// characters (see Table.Match), so "moerand" is fine and "moe rand" or
	// "#moerand" is not. A keyword may belong to one command only.
	Keywords []string
	// Only limits where the command is available: "" (the zero value) means
	// posts and DMs, KindTweet posts only, KindDM DMs only. Elsewhere its
	// keywords are ordinary words (see Table.MatchIn).
	Only Kind
}

// DefaultCommands returns the default command table:
// rand (moerand), mess (moemess) and name (moename). The slice is a fresh
// copy; callers may append aliases to it.
func DefaultCommands() []Command {
	return []Command{
		{Name: CommandRand, Keywords: []string{"moerand"}},
		{Name: CommandMess, Keywords: []string{"moemess"}},
		{Name: CommandName, Keywords: []string{"moename"}},
	}
}

// Table is a validated, immutable command table. It is safe for concurrent
// use. Its methods are pure functions of their arguments: Match finds a
// command in a text, Evaluate decides what a webhook payload asks for, and
// ParseJob reads a queue message.
type Table struct {
	commands []Command
	keywords []keyword // in table order
}

type keyword struct {
	word    string
	runes   int // rune count, a cheap pre-check before strings.EqualFold
	command string
	only    Kind // the command's Only
}

// NewTable validates cmds and returns a table. It fails with an error
// wrapping ErrInvalidTable when there are no commands, when a name or
// keyword is malformed, or when a name or keyword (case-insensitively) is
// used twice.
func NewTable(cmds ...Command) (*Table, error) {
	if len(cmds) == 0 {
		return nil, fmt.Errorf("%w: no commands", ErrInvalidTable)
	}
	t := &Table{commands: make([]Command, 0, len(cmds))}
	names := map[string]bool{}
	for i, c := range cmds {
		if err := checkCommandName(c.Name); err != nil {
			return nil, fmt.Errorf("%w: command %d: %v", ErrInvalidTable, i, err)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("%w: command name %q used twice", ErrInvalidTable, c.Name)
		}
		names[c.Name] = true
		if c.Only != "" && c.Only != KindTweet && c.Only != KindDM {
			return nil, fmt.Errorf("%w: command %q: Only %q is not %q or %q", ErrInvalidTable, c.Name, c.Only, KindTweet, KindDM)
		}
		if len(c.Keywords) == 0 {
			return nil, fmt.Errorf("%w: command %q has no keywords", ErrInvalidTable, c.Name)
		}
		for _, w := range c.Keywords {
			if err := checkKeyword(w); err != nil {
				return nil, fmt.Errorf("%w: command %q: %v", ErrInvalidTable, c.Name, err)
			}
			for _, k := range t.keywords {
				if strings.EqualFold(k.word, w) {
					return nil, fmt.Errorf("%w: keyword %q of command %q is already a keyword of %q",
						ErrInvalidTable, w, c.Name, k.command)
				}
			}
			t.keywords = append(t.keywords, keyword{word: w, runes: utf8.RuneCountInString(w), command: c.Name, only: c.Only})
		}
		t.commands = append(t.commands, Command{Name: c.Name, Keywords: append([]string(nil), c.Keywords...), Only: c.Only})
	}
	return t, nil
}

// MustTable is NewTable that panics on error, for package-level tables
// built from literals.
func MustTable(cmds ...Command) *Table {
	t, err := NewTable(cmds...)
	if err != nil {
		panic(err)
	}
	return t
}

var defaultTable = MustTable(DefaultCommands()...)

// DefaultTable returns the table of DefaultCommands.
func DefaultTable() *Table { return defaultTable }

// Commands returns a copy of the table's commands, in table order.
func (t *Table) Commands() []Command {
	out := make([]Command, len(t.commands))
	for i, c := range t.commands {
		out[i] = Command{Name: c.Name, Keywords: append([]string(nil), c.Keywords...), Only: c.Only}
	}
	return out
}

// Has reports whether the table has a command with this name.
func (t *Table) Has(name string) bool {
	for _, c := range t.commands {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Match is a command found in a text.
type Match struct {
	// Command is the command's name.
	Command string
	// Keyword is the keyword as written in the text (its original case).
	Keyword string
	// Offset is the byte offset of the keyword in the text.
	Offset int
	// Args is the text after the keyword with surrounding white space
	// removed; "" when nothing follows.
	Args string
}

// Match finds the first keyword of the table in text, by position, and
// reports the command it triggers. A keyword matches as a whole word,
// ignoring case, anywhere in the text.
//
// A word is a maximal run of word characters: Unicode letters (L), marks
// (M), decimal digits (Nd), connector punctuation (Pc, which includes '_')
// and the joiners U+200C and U+200D, the \w class of Unicode's regular
// expression guideline (UTS #18). Anything else separates words. So
// "@bot moerand!", "#moerand" and "(MoeRand)" contain the keyword
// moerand, while "moerandom", "moerand_2", "moerand2" and "xmoerand" do
// not. Invalid UTF-8 bytes separate words.
func (t *Table) Match(text string) (Match, bool) { return t.MatchIn("", text) }

// MatchIn is Match for a text of kind KindTweet or KindDM: the keywords of
// commands not available there (Command.Only) are skipped, as if they were
// ordinary words. An empty kind matches every keyword, as Match does.
func (t *Table) MatchIn(kind Kind, text string) (Match, bool) {
	start, runes := -1, 0
	for i := 0; i <= len(text); {
		var r rune
		size := 0
		if i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		if size > 0 && isWordRune(r, size) {
			if start < 0 {
				start, runes = i, 0
			}
			runes++
			i += size
			continue
		}
		if start >= 0 {
			word := text[start:i]
			for _, k := range t.keywords {
				if k.runes == runes && (kind == "" || k.only == "" || k.only == kind) && strings.EqualFold(k.word, word) {
					return Match{
						Command: k.command,
						Keyword: word,
						Offset:  start,
						Args:    strings.TrimSpace(text[i:]),
					}, true
				}
			}
			start = -1
		}
		if size == 0 {
			break
		}
		i += size
	}
	return Match{}, false
}

// isWordRune reports whether r (decoded from size bytes) is a word
// character. A RuneError of size 1 is an invalid byte, not a word
// character.
func isWordRune(r rune, size int) bool {
	if r < utf8.RuneSelf {
		return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	if r == utf8.RuneError && size == 1 {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Pc, r) || r == '\u200c' || r == '\u200d'
}

func checkCommandName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > maxCommandName {
		return fmt.Errorf("name %q longer than %d bytes", name, maxCommandName)
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z')) {
			return fmt.Errorf("name %q: only a-z, 0-9, '_' and '-' are allowed", name)
		}
	}
	return nil
}

func checkKeyword(w string) error {
	if w == "" {
		return fmt.Errorf("empty keyword")
	}
	if len(w) > maxKeyword {
		return fmt.Errorf("keyword %q longer than %d bytes", w, maxKeyword)
	}
	if !utf8.ValidString(w) {
		return fmt.Errorf("keyword %q is not valid UTF-8", w)
	}
	for _, r := range w {
		if !isWordRune(r, utf8.RuneLen(r)) {
			return fmt.Errorf("keyword %q: %q is not a word character", w, r)
		}
	}
	return nil
}

// CheckCommandName reports why name cannot be a command name (see
// Command.Name), or nil.
func CheckCommandName(name string) error { return checkCommandName(name) }

// CheckKeyword reports why w cannot be a keyword (see Command.Keywords), or
// nil.
func CheckKeyword(w string) error { return checkKeyword(w) }
