package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// This file lists the commands README.md shows and checks that each one is
// covered (the team rule: every command the README shows is run as written
// by a test or by make demo). readme_test.go holds the tests that run them.
//
// What counts as a command:
//
//   - Every line of every fenced code block, except ```mermaid blocks:
//     lines ending in a backslash are joined with the next, a trailing
//     "# comment" (a # at the start or after a blank, outside quotes) is
//     removed, and blank and comment-only lines are dropped. Variable
//     assignments (url=..., export X_BEARER_TOKEN=...) are commands too:
//     the test that covers the block must supply or use each of them (an
//     export's "..." is a value the test fills in), so a variable the README
//     starts exporting needs a value in the test.
//   - Every inline code span in prose (tables included) that, after any
//     leading VAR=value words, starts with "go ", "make ", "curl " or
//     "bash " (DELIVERY=stream go run ./examples/webhook); a span of VAR=value
//     words alone (COMMANDS_FILE=bot.yaml) is a setting, not a command.
//   - examples/register subcommands: a span "register <subcommand> ..."
//     anywhere, and, in a paragraph that names examples/register, a span
//     that starts with a subcommand name (`list`, `replay -from 2h`,
//     `migrate -drop-aaa`); those get "register " in front. Their text is a
//     synopsis: [x] is optional (run with and without), a|b are
//     alternatives (each is run), and upper-case words (ID, ID...) are
//     values the test supplies.
//   - A span that starts with a program directory of this repository (one
//     with a main.go, such as bench/delivery) followed by arguments: the
//     benchmark tables name their runs that way (`bench/delivery -n 2000
//     -rounds 2`). The directory alone (`examples/moegen`) is a link, not
//     a command.

// readmeCmd is one command README.md shows.
type readmeCmd struct {
	Text     string // normalized as described above
	Line     int    // 1-based line where it starts
	Block    bool   // from a fenced code block, else an inline span
	Synopsis bool   // a register subcommand synopsis (see variants)
}

// registerSubcommands are the commands of examples/register, as its -h
// lists them; TestREADMECoverage checks the list against the binary.
var registerSubcommands = []string{"register", "list", "status", "validate", "delete", "subscribe", "replay",
	"xaa list", "xaa ensure", "xaa delete", "migrate"}

// readmeParser lists a README's commands.
type readmeParser struct {
	registerSubcommands []string
	// isProgram reports whether dir (slash-separated, relative to the
	// repository root) is a main package.
	isProgram func(dir string) bool
}

// repoParser is the parser for this repository's README.
func repoParser() readmeParser {
	return readmeParser{registerSubcommands: registerSubcommands, isProgram: func(dir string) bool {
		if strings.Contains(dir, "..") {
			return false
		}
		_, err := os.Stat(filepath.Join(moduleRoot, filepath.FromSlash(dir), "main.go"))
		return err == nil
	}}
}

var (
	assignRe      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	commandPrefix = []string{"go ", "make ", "curl ", "bash "}
	listItemRe    = regexp.MustCompile(`^([-*+]|[0-9]+[.)]) `)
)

// parse lists every command src shows, in order, repeats included.
func (p readmeParser) parse(src string) []readmeCmd {
	var out []readmeCmd
	lines := strings.Split(src, "\n")
	var para []string // the current prose paragraph
	paraStart := 0
	flush := func() {
		if len(para) > 0 {
			out = append(out, p.spans(para, paraStart)...)
		}
		para = nil
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if fence, ok := strings.CutPrefix(trimmed, "```"); ok {
			flush()
			info := strings.Fields(fence)
			skip := len(info) > 0 && info[0] == "mermaid"
			joined, start := "", 0
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				if skip {
					continue
				}
				l := strings.TrimSpace(lines[i])
				if joined == "" {
					start = i + 1
				}
				if cont, ok := strings.CutSuffix(l, `\`); ok {
					joined += strings.TrimSpace(cont) + " "
					continue
				}
				cmd := strings.TrimSpace(stripComment(joined + l))
				joined = ""
				if cmd != "" {
					out = append(out, readmeCmd{Text: cmd, Line: start, Block: true})
				}
			}
			continue
		}
		table := strings.HasPrefix(trimmed, "|")
		if trimmed == "" || table || strings.HasPrefix(trimmed, "<!--") {
			flush()
			if table { // each row is a paragraph of its own
				out = append(out, p.spans([]string{strings.ReplaceAll(line, `\|`, "|")}, i+1)...)
			}
			continue
		}
		if listItemRe.MatchString(trimmed) { // each list item is a paragraph of its own
			flush()
		}
		if len(para) == 0 {
			paraStart = i + 1
		}
		para = append(para, line)
	}
	flush()
	return out
}

// spans lists the commands among the inline code spans of one paragraph
// whose first line is line start.
func (p readmeParser) spans(para []string, start int) []readmeCmd {
	text := strings.Join(para, "\n")
	inRegister := strings.Contains(text, "examples/register")
	var out []readmeCmd
	for i := 0; i < len(text); {
		if text[i] != '`' {
			i++
			continue
		}
		n := 0
		for i+n < len(text) && text[i+n] == '`' {
			n++
		}
		delim := text[i : i+n]
		end := strings.Index(text[i+n:], delim)
		if end < 0 {
			break
		}
		span := strings.TrimSpace(strings.ReplaceAll(text[i+n:i+n+end], "\n", " "))
		line := start + strings.Count(text[:i], "\n")
		if c, ok := p.classify(span, inRegister); ok {
			c.Line = line
			out = append(out, c)
		}
		i += n + end + n
	}
	return out
}

// classify decides whether an inline span is a command.
func (p readmeParser) classify(span string, inRegister bool) (readmeCmd, bool) {
	words := strings.Fields(span)
	for len(words) > 0 && assignRe.MatchString(words[0]) {
		words = words[1:]
	}
	if len(words) == 0 {
		return readmeCmd{}, false
	}
	rest := strings.Join(words, " ") + " "
	for _, pre := range commandPrefix {
		if strings.HasPrefix(rest, pre) {
			return readmeCmd{Text: span}, true
		}
	}
	if words[0] == "register" && len(words) > 1 && p.isSubcommand(words[1:]) {
		return readmeCmd{Text: span, Synopsis: true}, true
	}
	if inRegister && p.isSubcommand(words) {
		return readmeCmd{Text: "register " + span, Synopsis: true}, true
	}
	if len(words) > 1 && len(words) == len(strings.Fields(span)) && p.isProgram != nil &&
		strings.Contains(words[0], "/") && p.isProgram(strings.TrimPrefix(strings.TrimSuffix(words[0], "/"), "./")) {
		return readmeCmd{Text: span}, true
	}
	return readmeCmd{}, false
}

// isSubcommand reports whether words start with a register subcommand.
func (p readmeParser) isSubcommand(words []string) bool {
	for _, s := range p.registerSubcommands {
		sw := strings.Fields(s)
		if len(words) >= len(sw) && slices.Equal(words[:len(sw)], sw) {
			return true
		}
	}
	return false
}

// stripComment removes a trailing shell comment: a # at the start or after
// a blank, outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '\\':
			i++
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i]
		}
	}
	return s
}

// variants expands a register synopsis into the command lines it stands
// for: "[x]" is there or not, "a|b" is a or b. Other commands are their
// own single variant.
func variants(c readmeCmd) []string {
	if !c.Synopsis {
		return []string{c.Text}
	}
	out := [][]string{nil}
	for _, w := range strings.Fields(c.Text) {
		var alts []string
		switch {
		case strings.HasPrefix(w, "[") && strings.HasSuffix(w, "]"):
			alts = []string{"", strings.Trim(w, "[]")}
		default:
			alts = strings.Split(w, "|")
		}
		var next [][]string
		for _, o := range out {
			for _, a := range alts {
				n := slices.Clone(o)
				if a != "" {
					n = append(n, a)
				}
				next = append(next, n)
			}
		}
		out = next
	}
	var s []string
	for _, o := range out {
		s = append(s, strings.Join(o, " "))
	}
	return s
}

// readmeCoverage says how one README command is run. by is either the name
// of the test in this package that runs it as written (its arguments as
// the README shows them; only environment values such as tokens, URLs and
// paths come from the test, pointing at xfake and temporary directories;
// for "go run ./examples/X args" the test runs the binary TestMain built
// from examples/X with the same args), or "<what> <file>: <text>", a
// command run by something else, where file (relative to the repository
// root) must contain text, which TestREADMECoverage checks:
//
//   - "ci": what CI runs (.ci/run);
//   - "demo": run by make demo (scripts/demo.sh, examples/demo, package demo);
//   - "bench": run by make bench (scripts/bench.sh), which TestREADMEMakeBench
//     runs with small settings (under CI, or with MOETRON_README_BENCH=1).
type readmeCoverage struct {
	cmd string
	by  string
}

// readmeTable is the coverage of every command README.md shows: one line
// each, the command exactly as the parser lists it. TestREADMECoverage fails
// on a README command that is not here and on an entry the README no
// longer shows.
var readmeTable = []readmeCoverage{
	// Top of the README and "Development".
	{"make demo", "TestREADMEMakeDemo"},
	{"make test", "ci .ci/run: make test"},
	{"go test ./...", "ci scripts/test.sh: go test -race -count=1 -timeout 20m ./..."},
	{"make bench", "TestREADMEMakeBench"},
	{"make ort", "TestREADMETools"},
	// "At home on a GPU PC": the stream bot.
	{"export X_CONSUMER_KEY=... X_CONSUMER_SECRET=... X_ACCESS_TOKEN=... X_ACCESS_TOKEN_SECRET=...", "TestREADMEBot"},
	{"export X_BEARER_TOKEN=... BOT_USER_ID=1114259648326987776", "TestREADMEBot"},
	{"go run ./examples/bot", "TestREADMEBot"},
	{"DELIVERY=stream go run ./examples/webhook", "TestREADMEStreamTwoProcesses"},
	{"go run ./examples/worker", "TestREADMEWebhook"},
	// "With a public HTTPS URL": the webhook.
	{"export WEBHOOK_URL=https://bot.example.com/webhook", "TestREADMEWebhook"},
	{"go run ./examples/webhook &", "TestREADMEWebhook"},
	{"go run ./examples/register xaa list", "TestREADMEWebhook"},
	// examples/register, the manual tool.
	{"register register", "TestREADMERegister"},
	{"register list", "TestREADMERegister"},
	{"register validate", "TestREADMERegister"},
	{"register delete", "TestREADMERegister"},
	{"register status", "TestREADMERegister"},
	{"register replay -from 2h", "TestREADMERegister"},
	{"register xaa list", "TestREADMERegister"},
	{"register xaa ensure [-stream]", "TestREADMERegister"},
	{"register xaa delete ID...|-all-moetron", "TestREADMERegister"},
	{"register migrate", "TestREADMERegister"},
	{"go run ./examples/register migrate -dry-run", "TestREADMERegister"},
	{"register migrate -drop-aaa", "TestREADMERegister"},
	// "A signed delivery by hand": the block runs as a whole.
	{"url=http://127.0.0.1:8080/webhook", "TestREADMESignedPost"},
	{`curl -s "$url?crc_token=hello"; echo`, "TestREADMESignedPost"},
	{"body=$(cat events/eventstest/testdata/xaa_post_mention_create.json)", "TestREADMESignedPost"},
	{`sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$X_CONSUMER_SECRET" -binary | base64)`, "TestREADMESignedPost"},
	{`curl -s -o /dev/null -w '%{http_code}\n' -H "x-twitter-webhooks-signature: sha256=$sig" -H 'content-type: application/json' --data-binary "$body" "$url"`, "TestREADMESignedPost"},
	{"go run ./examples/queuetool peek", "TestREADMESignedPost"},
	// "Tools" and the settings table.
	{"go run ./examples/moegen -o sakura.png moename sakura", "TestREADMETools"},
	{"go run ./examples/fakex -addr 127.0.0.1:8089", "TestREADMETools"},
	{"go run ./examples/queuetool len", "TestREADMETools"},
	{"go run github.com/moetron/moetron/examples/ortfetch", "TestREADMETools"},
}

// readmePath is the README the tests read: README.md at the repository
// root, or MOETRON_README (to check the coverage of an edited copy).
func readmePath() string {
	if p := os.Getenv("MOETRON_README"); p != "" {
		return p
	}
	return filepath.Join(moduleRoot, "README.md")
}

// readmeCommands parses the README the tests read.
func readmeCommands(t testing.TB) []readmeCmd {
	t.Helper()
	b, err := os.ReadFile(readmePath())
	if err != nil {
		t.Fatal(err)
	}
	return repoParser().parse(string(b))
}

// coverageProblems compares the commands a README shows with a coverage
// table: a command without an entry, an entry the README does not show,
// an entry listed twice.
func coverageProblems(cmds []readmeCmd, table []readmeCoverage) []string {
	var problems []string
	shown := map[string]bool{}
	listed := map[string]bool{}
	for _, e := range table {
		if listed[e.cmd] {
			problems = append(problems, fmt.Sprintf("readmeTable lists %q twice", e.cmd))
		}
		listed[e.cmd] = true
	}
	for _, c := range cmds {
		if !listed[c.Text] && !shown[c.Text] {
			problems = append(problems, fmt.Sprintf("README line %d shows %q, which readmeTable does not cover: "+
				"add a line saying which test runs it as written (or that make demo, CI or make bench does)", c.Line, c.Text))
		}
		shown[c.Text] = true
	}
	for _, e := range table {
		if !shown[e.cmd] {
			problems = append(problems, fmt.Sprintf("readmeTable covers %q, which the README no longer shows: remove the entry", e.cmd))
		}
	}
	return problems
}

// coverageFor returns the table entry of a command.
func coverageFor(text string) (readmeCoverage, bool) {
	for _, e := range readmeTable {
		if e.cmd == text {
			return e, true
		}
	}
	return readmeCoverage{}, false
}

// readFileLines returns a file's lines (for the evidence checks).
func readFileLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}
