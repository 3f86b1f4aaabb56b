package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/commands"
	"github.com/moetron/moetron/crc"
	"github.com/moetron/moetron/events/eventstest"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/moegen"
	"github.com/moetron/moetron/queue/queueopen"
	"github.com/moetron/moetron/webhooks"
	"github.com/moetron/moetron/xfake"
)

// The tests here run the commands README.md shows, as written; the list of
// those commands and the table saying which test runs each are in
// readme_parse_test.go. Each test ends by checking that it ran every
// command the table gives it (every variant of a register synopsis).
//
// README commands run with the environment of this process minus the
// project's own variables (X_*, QUEUE_*, WEBHOOK_*, ...) and make's, so a developer's
// settings do not leak in, plus the values each test supplies: xfake's
// tokens and URL, temporary directories (XDG_STATE_HOME, so the default
// queue file lands there), and a listen address where the README's
// default port is taken.

// readmeScrub matches the variables README commands do not inherit.
var readmeScrub = regexp.MustCompile(`^(X_[A-Z_]*|QUEUE_[A-Z_]*|WEBHOOK_[A-Z_]*|SPOOL_[A-Z_]*|WORKER_[A-Z_]*|STREAM_[A-Z_]*|` +
	`METRICS_ADDR|BOT_USER_ID|DELIVERY|USER_RATE_LIMIT|COMMANDS_FILE|MODEL_PATH|DEVICE|IMAGE_FORMAT|LOG_LEVEL|PORT|` +
	`OPS_PAGE|OPS_TOKEN|XDG_STATE_HOME|AZURE_STORAGE_CONNECTION_STRING|` +
	// make's own, set when the tests run under make test: a user's shell has
	// none, and with them a nested make prints "Entering directory" lines.
	`MAKEFLAGS|MAKELEVEL|MFLAGS|MAKEOVERRIDES)=`)

// readmeEnv is this process's environment without the project's variables,
// then kv (later values win).
func readmeEnv(kv ...string) []string {
	var env []string
	for _, s := range os.Environ() {
		if !readmeScrub.MatchString(s) {
			env = append(env, s)
		}
	}
	return append(env, kv...)
}

// readmeBinary is needBinary for binaries TestMain does not build: it
// builds them the first time a test asks.
func readmeBinary(t testing.TB, name string) string {
	t.Helper()
	if _, ok := bins.path[name]; !ok {
		if _, tried := bins.missing[name]; !tried {
			buildBinary(name)
		}
	}
	return needBinary(t, name)
}

// readmeRun runs README commands for one test and checks, when the test
// ends, that it ran every command readmeTable gives it.
type readmeRun struct {
	t       *testing.T
	cmds    map[string]readmeCmd // by text
	ran     map[string]bool      // variants run
	skipped map[string]string    // variants not run, and why
}

func newReadmeRun(t *testing.T) *readmeRun {
	t.Helper()
	r := &readmeRun{t: t, cmds: map[string]readmeCmd{}, ran: map[string]bool{}, skipped: map[string]string{}}
	for _, c := range readmeCommands(t) {
		if _, ok := r.cmds[c.Text]; !ok {
			r.cmds[c.Text] = c
		}
	}
	t.Cleanup(func() {
		if t.Failed() || t.Skipped() {
			return
		}
		for _, e := range readmeTable {
			c, ok := r.cmds[e.cmd]
			if e.by != t.Name() || !ok { // a stale entry is TestREADMECoverage's to report
				continue
			}
			for _, v := range variants(c) {
				switch why, skipped := r.skipped[v]; {
				case r.ran[v]:
				case skipped:
					t.Logf("README line %d: %q not run: %s", c.Line, v, why)
				default:
					t.Errorf("readmeTable says %s runs %q (README line %d), but it did not run %q", t.Name(), e.cmd, c.Line, v)
				}
			}
		}
	})
	return r
}

// sub is r for a subtest: the same record of what ran, t's failures.
func (r *readmeRun) sub(t *testing.T) *readmeRun {
	s := *r
	s.t = t
	return &s
}

// lookup finds the README command that text is (or is a variant of).
func (r *readmeRun) lookup(text string) readmeCmd {
	r.t.Helper()
	if c, ok := r.cmds[text]; ok {
		return c
	}
	for _, c := range r.cmds {
		if slices.Contains(variants(c), text) {
			return c
		}
	}
	r.t.Fatalf("%q is not a command %s shows", text, readmePath())
	return readmeCmd{}
}

// skip records that a command could not be run here, and why. Under CI
// that is a failure.
func (r *readmeRun) skip(text, why string) {
	r.t.Helper()
	r.lookup(text)
	if os.Getenv("CI") != "" {
		r.t.Errorf("%q cannot be run: %s", text, why)
	}
	r.skipped[text] = why
}

// runOpts are what a test supplies to a README command.
type runOpts struct {
	env     []string            // VAR=value: tokens, URLs, paths
	dir     string              // working directory (default: a temporary one; make and go run in the repository root)
	fill    map[string][]string // values of a synopsis's upper-case placeholders (ID...)
	timeout time.Duration       // default 2 minutes
}

var placeholderRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]*(\.\.\.)?$`)

// shellWords splits a command line into words when it needs no shell
// (plain words and quotes without expansions), else reports false.
func shellWords(s string) ([]string, bool) {
	if strings.ContainsAny(s, "$|;<>()`\\*?~") {
		return nil, false
	}
	var words []string
	var cur strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, false
	}
	if in {
		words = append(words, cur.String())
	}
	for i, w := range words {
		if strings.Contains(w, "&") && (w != "&" || i != len(words)-1) {
			return nil, false
		}
	}
	return words, true
}

// command turns a README command (or a variant) into the process that
// runs it as written: leading VAR=value words go into the environment,
// "go run ./examples/X" (or the module path of it) is the binary built
// from examples/X, a register synopsis runs examples/register, and a line
// that needs a shell runs under bash. It reports whether the line ends in
// " &" (to be run in the background).
func (r *readmeRun) command(ctx context.Context, text string, o runOpts) (cmd *exec.Cmd, background bool) {
	r.t.Helper()
	c := r.lookup(text)
	dir := o.dir
	words, plain := shellWords(text)
	if !plain {
		if dir == "" {
			dir = moduleRoot
		}
		cmd = exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", text)
		cmd.Env, cmd.Dir = readmeEnv(o.env...), dir
		return cmd, false
	}
	var env []string
	for len(words) > 0 && assignRe.MatchString(words[0]) {
		env, words = append(env, words[0]), words[1:]
	}
	if n := len(words); n > 0 && words[n-1] == "&" {
		background, words = true, words[:n-1]
	}
	var argv []string
	for _, w := range words {
		if c.Synopsis && placeholderRe.MatchString(w) {
			v, ok := o.fill[w]
			if !ok {
				r.t.Fatalf("%q: the test gives no value for %s", text, w)
			}
			argv = append(argv, v...)
			continue
		}
		argv = append(argv, w)
	}
	switch {
	case len(argv) >= 3 && argv[0] == "go" && argv[1] == "run" &&
		strings.HasPrefix(strings.TrimPrefix(strings.TrimPrefix(argv[2], "github.com/moetron/moetron/"), "./"), "examples/"):
		name := filepath.Base(argv[2])
		argv = append([]string{readmeBinary(r.t, name)}, argv[3:]...)
	case c.Synopsis:
		argv[0] = readmeBinary(r.t, "register")
	case argv[0] == "go" || argv[0] == "make":
		if dir == "" {
			dir = moduleRoot
		}
	}
	if dir == "" {
		dir = r.t.TempDir()
	}
	cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = readmeEnv(append(o.env, env...)...), dir
	return cmd, background
}

// run runs a README command to its end and returns its output; a failure
// to start, a non-zero exit or the timeout is err.
func (r *readmeRun) run(text string, o runOpts) (stdout, stderr string, err error) {
	r.t.Helper()
	if o.timeout == 0 {
		o.timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	cmd, bg := r.command(ctx, text, o)
	if bg {
		r.t.Fatalf("%q runs in the background: start it", text)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	r.ran[text] = true
	r.t.Logf("$ %s  (%v, %s)\n%s", text, err, time.Since(start).Round(time.Millisecond), clip(out.String(), 2000))
	return out.String(), errb.String(), err
}

// mustRun is run that fails the test unless the command exits 0.
func (r *readmeRun) mustRun(text string, o runOpts) string {
	r.t.Helper()
	out, errs, err := r.run(text, o)
	if err != nil {
		r.t.Fatalf("%q: %v\nstdout:\n%s\nstderr:\n%s", text, err, out, clip(errs, 4000))
	}
	return out
}

// start starts a README command that serves (it may end in " &") as a
// proc, which the test stops.
func (r *readmeRun) start(name, text string, o runOpts) *proc {
	r.t.Helper()
	cmd, _ := r.command(context.Background(), text, o)
	p := newProc(r.t, name, cmd.Path, cmd.Env, cmd.Args[1:]...)
	p.Start()
	r.ran[text] = true
	r.t.Logf("$ %s  (started as %s)", text, name)
	return p
}

// exports turns README export lines into the environment: each VAR=value
// as written, except that a value in fill (the test's token, URL or path)
// takes its place; a "..." needs one.
func (r *readmeRun) exports(fill map[string]string, lines ...string) []string {
	r.t.Helper()
	var env []string
	for _, line := range lines {
		r.lookup(line)
		words := strings.Fields(line)
		if len(words) < 2 || words[0] != "export" {
			r.t.Fatalf("%q is not an export line", line)
		}
		for _, w := range words[1:] {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				r.t.Fatalf("%q: %q is not VAR=value", line, w)
			}
			if f, ok := fill[k]; ok {
				v = f
			} else if v == "..." {
				r.t.Fatalf("%q: the test has no value for %s", line, k)
			}
			env = append(env, k+"="+v)
		}
		r.ran[line] = true
	}
	return env
}

// exportValue is the value an export line gives a variable, as written.
func (r *readmeRun) exportValue(line, key string) string {
	r.t.Helper()
	r.lookup(line)
	for _, w := range strings.Fields(line)[1:] {
		if k, v, _ := strings.Cut(w, "="); k == key {
			return v
		}
	}
	r.t.Fatalf("%q sets no %s", line, key)
	return ""
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "\n[...]"
	}
	return s
}

// portFree reports whether addr can be listened on now.
func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// waitListening waits until url answers 200. It reports false when p
// exited because its address was in use (another program on this machine
// has the README's default port), and fails t when p exited otherwise or
// url does not answer within a minute.
func waitListening(t *testing.T, p *proc, url string) bool {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if gone, perr := p.Exited(); gone {
			if strings.Contains(tail(p.log, 20), "address already in use") {
				return false
			}
			t.Fatalf("%s exited (%v) before %s answered; last: %v", p.name, perr, url, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not answer 200 within a minute: %v", p.name, url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// xfakeFill is what the README's "..." stand for, from a fake X.
func xfakeFill(x *xfake.Server) map[string]string {
	c := x.Config()
	return map[string]string{"X_CONSUMER_KEY": c.ConsumerKey, "X_CONSUMER_SECRET": c.ConsumerSecret,
		"X_ACCESS_TOKEN": c.AccessToken, "X_ACCESS_TOKEN_SECRET": c.AccessTokenSecret,
		"X_BEARER_TOKEN": c.BearerToken, "BOT_USER_ID": c.BotUserID}
}

// The README's export lines of the stream bot, which the webhook block
// builds on.
const (
	readmeExportOAuth  = "export X_CONSUMER_KEY=... X_CONSUMER_SECRET=... X_ACCESS_TOKEN=... X_ACCESS_TOKEN_SECRET=..."
	readmeExportBearer = "export X_BEARER_TOKEN=... BOT_USER_ID=1114259648326987776"
)

// readmeXfake starts a fake X for the bot the README configures (its
// BOT_USER_ID as written).
func readmeXfake(t *testing.T, r *readmeRun) *xfake.Server {
	x := xfake.Start(t, xfake.Config{BotUserID: r.exportValue(readmeExportBearer, "BOT_USER_ID"), DuplicateWindow: time.Hour})
	x.SetStreamOptions(xfake.StreamOptions{KeepAlive: streamKeepAlive, RetryAfter: time.Second})
	return x
}

// defaultQueue is the SQLite queue the binaries use with nothing but
// XDG_STATE_HOME set, as the README's settings table says.
func defaultQueue(state string) qconf {
	return qconf{queueopen.Env{Backend: queueopen.BackendSQLite, Name: "moetron", Path: filepath.Join(state, "moetron", "queue.db")}}
}

// checkPrivateFile fails t unless path exists with mode 0600.
func checkPrivateFile(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
}

// TestREADMECoverage checks the coverage table against README.md: every
// command it shows has an entry, every entry is still shown, every entry
// names a test of this package or evidence that CI, make demo or make bench
// runs it, and the parser's list of register subcommands is the binary's.
func TestREADMECoverage(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) == 0 {
		t.Fatalf("no commands found in %s", readmePath())
	}
	for _, p := range coverageProblems(cmds, readmeTable) {
		t.Error(p)
	}
	var src strings.Builder
	files, _ := filepath.Glob(filepath.Join(moduleRoot, "e2e", "*_test.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		src.Write(b)
	}
	evidence := regexp.MustCompile(`^(ci|demo|bench) ([^:]+): (.+)$`)
	seen := map[string]bool{}
	for _, c := range cmds {
		if seen[c.Text] {
			continue
		}
		seen[c.Text] = true
		e, ok := coverageFor(c.Text)
		if !ok {
			continue
		}
		t.Logf("README line %3d: %-60s %s", c.Line, c.Text, e.by)
	}
	for _, e := range readmeTable {
		if strings.HasPrefix(e.by, "Test") {
			if !strings.Contains(src.String(), "func "+e.by+"(t *testing.T) {") {
				t.Errorf("%q: no test %s in e2e", e.cmd, e.by)
			}
			continue
		}
		m := evidence.FindStringSubmatch(e.by)
		if m == nil {
			t.Errorf("%q: coverage %q is neither a test name nor \"ci|demo|bench <file>: <text>\"", e.cmd, e.by)
			continue
		}
		if !slices.ContainsFunc(readFileLines(t, filepath.Join(moduleRoot, m[2])), func(l string) bool { return strings.Contains(l, m[3]) }) {
			t.Errorf("%q: covered by %s, but %s does not contain %q", e.cmd, m[1], m[2], m[3])
		}
	}

	// The register subcommands the parser knows are the binary's.
	bin := readmeBinary(t, "register")
	var help bytes.Buffer
	cmd := exec.Command(bin, "-h")
	cmd.Stderr, cmd.Env = &help, readmeEnv()
	require.NoError(t, cmd.Run())
	var got []string
	in := false
	for line := range strings.Lines(help.String()) {
		switch {
		case strings.HasPrefix(line, "commands:"):
			in = true
		case strings.HasPrefix(line, "flags:"):
			in = false
		case in && len(line) > 13:
			got = append(got, strings.TrimSpace(line[2:13]))
		}
	}
	assert.ElementsMatch(t, registerSubcommands, got, "register -h lists these commands:\n%s", help.String())
}

// TestREADMEParser runs the parser and the coverage check on a made-up
// README, and on the real one with a command added and one removed: the
// check names each.
func TestREADMEParser(t *testing.T) {
	doc := "# t\n\nRun `make demo`; then `DELIVERY=stream go run ./examples/webhook` or `curl -s x`.\n" +
		"A setting `COMMANDS_FILE=bot.yaml`, a package `examples/moegen`, a run `bench/delivery -n 5`.\n\n" +
		"```mermaid\nflowchart LR\n  a --> b\n```\n\n" +
		"```sh\nexport A=... B=1   # comment\n\n# only a comment\ncurl -s \"$u?x=1#frag\" \\\n  -H 'a: b'   # joined\n" +
		"go run ./examples/bot &\n```\n\n" +
		"`examples/register` is the tool: `list`, `xaa ensure [-stream]`, `xaa delete ID...|-all`,\n`replay\n-from 2h`.\n\n" +
		"Elsewhere `list` and `register migrate` and `moerand`.\n\n" +
		"- a list item naming `examples/register`\n- `status` in another item\n\n" +
		"| a | `go test -bench . ./x/` \\| `V=a\\|b` |\n"
	p := readmeParser{registerSubcommands: registerSubcommands, isProgram: func(d string) bool { return d == "bench/delivery" }}
	got := p.parse(doc)
	var texts []string
	for _, c := range got {
		texts = append(texts, fmt.Sprintf("%d %t %t %s", c.Line, c.Block, c.Synopsis, c.Text))
	}
	assert.Equal(t, []string{
		"3 false false make demo",
		"3 false false DELIVERY=stream go run ./examples/webhook",
		"3 false false curl -s x",
		"4 false false bench/delivery -n 5",
		"12 true false export A=... B=1",
		`15 true false curl -s "$u?x=1#frag" -H 'a: b'`,
		"17 true false go run ./examples/bot &",
		"20 false true register list",
		"20 false true register xaa ensure [-stream]",
		"20 false true register xaa delete ID...|-all",
		"21 false true register replay -from 2h",
		"24 false true register migrate",
		"29 false false go test -bench . ./x/",
	}, texts)

	assert.Equal(t, []string{"register xaa ensure", "register xaa ensure -stream"}, variants(got[8]))
	assert.Equal(t, []string{"register xaa delete ID...", "register xaa delete -all"}, variants(got[9]))
	assert.Equal(t, []string{`curl -s "$u?x=1#frag" -H 'a: b'`}, variants(got[5]))

	table := []readmeCoverage{{"make demo", "x"}, {"make demo", "x"}, {"make gone", "x"}}
	problems := coverageProblems(p.parse("`make demo` and `make new`\n"), table)
	require.Len(t, problems, 3, "%q", problems)
	assert.Contains(t, problems[0], `lists "make demo" twice`)
	assert.Contains(t, problems[1], `line 1 shows "make new"`)
	assert.Contains(t, problems[2], `covers "make gone"`)

	// The real README and table: clean, then with a new command and
	// without one.
	b, err := os.ReadFile(readmePath())
	require.NoError(t, err)
	real := string(b)
	assert.Empty(t, coverageProblems(repoParser().parse(real), readmeTable))
	added := real + "\n```sh\ngo run ./examples/frobnicate -x   # new\n```\n\nAnd `register status -v` too.\n"
	problems = coverageProblems(repoParser().parse(added), readmeTable)
	require.Len(t, problems, 2, "%q", problems)
	assert.Contains(t, problems[0], `"go run ./examples/frobnicate -x"`)
	assert.Contains(t, problems[1], `"register status -v"`)
	removed := strings.ReplaceAll(real, "`make ort`", "make ort")
	removed = regexp.MustCompile(`(?m)^make ort .*\n`).ReplaceAllString(removed, "")
	problems = coverageProblems(repoParser().parse(removed), readmeTable)
	require.Len(t, problems, 1, "%q", problems)
	assert.Contains(t, problems[0], `covers "make ort", which the README no longer shows`)
}

// readmeBlock returns the lines of the first ```sh block after the line of
// README.md that contains marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	f, err := os.Open(readmePath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	state := 0 // 0: looking for the marker, 1: for the fence, 2: in the block
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case state == 0 && strings.Contains(line, marker):
			state = 1
		case state == 1 && line == "```sh":
			state = 2
		case state == 2 && line == "```":
			return b.String()
		case state == 2:
			b.WriteString(line + "\n")
		}
	}
	t.Fatalf("README.md has no ```sh block after %q", marker)
	return ""
}

// TestREADMESignedPost runs the README's "signed delivery by hand" block
// as written against the webhook binary, with only its url line pointed at
// the test's webhook: the CRC answer and a 200 come back, and the fixture's
// mention is a job on the queue, which `go run ./examples/queuetool peek`
// then shows.
func TestREADMESignedPost(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "openssl", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	r := newReadmeRun(t)
	block := readmeBlock(t, "TestREADMESignedPost")
	urlLine := regexp.MustCompile(`(?m)^url=\S+`)
	if !urlLine.MatchString(block) {
		t.Fatalf("the README block no longer starts with url=...:\n%s", block)
	}
	q := sqliteQueue(t)
	s := newStack(t, q, stackOptions{noWorker: true, xcfg: xfake.Config{BotUserID: eventstest.BotUserID}})
	script := urlLine.ReplaceAllString(block, "url="+s.url())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = moduleRoot
	cmd.Env = readmeEnv("X_CONSUMER_SECRET=" + s.x.Config().ConsumerSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README block failed: %v\n%s", err, out)
	}
	for _, c := range repoParser().parse("```sh\n" + block + "```\n") {
		r.lookup(c.Text)
		r.ran[c.Text] = true
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"response_token":"sha256=`) || lines[1] != "200" {
		t.Fatalf("README block printed %q; want the CRC answer and 200", out)
	}
	o := q.open(t)
	eventually(t, 10*time.Second, "the job on the queue", func() error {
		n, err := o.Queue.Len(context.Background())
		if err == nil && n != 1 {
			err = fmt.Errorf("queue length %d, want 1", n)
		}
		return err
	}, s.webhook)

	peek := r.mustRun("go run ./examples/queuetool peek", runOpts{env: q.vars()})
	if n := strings.Count(strings.TrimSpace(peek), "\n") + 1; n != 1 || !strings.Contains(peek, "1332557345071644690") {
		t.Errorf("queuetool peek printed %d lines %q, want the fixture's post 1332557345071644690", n, peek)
	}
}

// TestREADMEBot runs the home bot as the README's first block shows: its
// exports (the "..." from the fake X, BOT_USER_ID as written) and
// `go run ./examples/bot`, which listens on 127.0.0.1:8080 (when that port
// is taken here, the test sets METRICS_ADDR, the bot's listen address, to
// a free one). The bot subscribes itself, reads the stream, keeps its
// queue in the default file under XDG_STATE_HOME and answers a mention and
// a reply with an image each; SIGTERM ends it with status 0.
func TestREADMEBot(t *testing.T) {
	r := newReadmeRun(t)
	needORT(t)
	x := readmeXfake(t, r)
	state := t.TempDir()
	env := append(r.exports(xfakeFill(x), readmeExportOAuth, readmeExportBearer),
		"X_API_BASE="+x.URL(), "XDG_STATE_HOME="+state)
	addr := botserverDefaultAddr
	var p *proc
	if portFree(addr) {
		p = r.start("bot", "go run ./examples/bot", runOpts{env: env})
		if !waitListening(t, p, "http://"+addr+"/readyz") {
			p = nil
		}
	}
	if p == nil {
		addr = freeAddr(t)
		env = append(env, "METRICS_ADDR="+addr)
		t.Logf("%s is taken here: the bot listens on METRICS_ADDR=%s", botserverDefaultAddr, addr)
		p = r.start("bot2", "go run ./examples/bot", runOpts{env: env})
		if !waitListening(t, p, "http://"+addr+"/readyz") {
			t.Fatalf("%s was taken too", addr)
		}
	}
	s := &stack{t: t, x: x, q: defaultQueue(state), delivery: "stream", webhook: p}
	s.waitSubscribed()
	s.waitReady("bot healthy", "http://"+addr+"/healthz", p)

	cs := s.xaaCommands(2)
	s.publishAll(cs)
	s.waitAnswered(cs, time.Minute)
	s.settle(500 * time.Millisecond)
	s.checkExactlyOnce(cs)
	checkPrivateFile(t, s.q.env.Path)
	if m := scrape(t, "http://"+addr+"/metrics"); m.sum("moetron_worker_jobs_total", `outcome="replied"`) != 2 {
		t.Errorf("the bot's /metrics counts %v replied jobs, want 2", m.sum("moetron_worker_jobs_total", `outcome="replied"`))
	}
	if err := p.Stop(30 * time.Second); err != nil {
		t.Errorf("SIGTERM: %v, want a clean exit", err)
	}
}

// botserverDefaultAddr is where the README says the bot listens.
const botserverDefaultAddr = "127.0.0.1:8080"

// TestREADMEWebhook runs the README's webhook block: WEBHOOK_URL (the
// test's local webhook, so the fake X's CRC reaches it) on top of the
// stream block's exports, `go run ./examples/webhook &`, which registers
// itself and the XAA subscriptions, `go run ./examples/register xaa list`,
// which lists them, and `go run ./examples/worker`, which answers a
// mention and a reply the fake X delivers by signed webhook POST. The
// webhook listens on WEBHOOK_ADDR (a free port, not :8080) and the worker's
// metrics on METRICS_ADDR when 127.0.0.1:9091 is taken.
func TestREADMEWebhook(t *testing.T) {
	r := newReadmeRun(t)
	needORT(t)
	x := readmeXfake(t, r)
	state := t.TempDir()
	addr := freeAddr(t)
	fill := xfakeFill(x)
	fill["WEBHOOK_URL"] = "http://" + addr + "/webhook"
	env := append(r.exports(fill, readmeExportOAuth, readmeExportBearer, "export WEBHOOK_URL=https://bot.example.com/webhook"),
		"X_API_BASE="+x.URL(), "XDG_STATE_HOME="+state, "WEBHOOK_ADDR="+addr)

	wh := r.start("webhook", "go run ./examples/webhook &", runOpts{env: env})
	s := &stack{t: t, x: x, q: defaultQueue(state), delivery: "webhook", addr: addr, webhook: wh}
	s.waitSubscribed()
	hook := x.Webhooks()[0]
	assert.Equal(t, fill["WEBHOOK_URL"], hook.URL)

	out := r.mustRun("go run ./examples/register xaa list", runOpts{env: env})
	rows := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, rows, 1+len(webhooks.DefaultActivityEventTypes), out)
	assert.Regexp(t, `^ID\s+EVENT TYPE\s+USER\s+WEBHOOK\s+TAG$`, rows[0])
	for _, ev := range webhooks.DefaultActivityEventTypes {
		assert.Regexp(t, `(?m)^[0-9]+\s+`+regexp.QuoteMeta(ev)+`\s+`+fill["BOT_USER_ID"]+`\s+`+hook.ID+`\s+\S+$`, out)
	}

	s.wmetrics = "127.0.0.1:9091"
	wenv := env
	if !portFree(s.wmetrics) {
		s.wmetrics = freeAddr(t)
		wenv = append(slices.Clone(env), "METRICS_ADDR="+s.wmetrics)
	}
	s.worker = r.start("worker", "go run ./examples/worker", runOpts{env: wenv})
	s.waitReady("worker ready", "http://"+s.wmetrics+"/readyz", s.worker)

	cs := []*cmd{s.xaaPost(webhooks.EventPostMention, "moerand"), s.xaaPost(webhooks.EventPostReply, "moename readme")}
	s.publishAll(cs)
	s.waitAnswered(cs, time.Minute)
	s.settle(500 * time.Millisecond)
	s.checkExactlyOnce(cs)
	for _, p := range []*proc{s.worker, wh} {
		if err := p.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: SIGTERM: %v, want a clean exit", p.name, err)
		}
	}
	if n := len(x.Deliveries()); n < len(cs) {
		t.Errorf("the fake X made %d webhook deliveries, want at least %d", n, len(cs))
	}
}

// TestREADMEStreamTwoProcesses runs "the same as two processes":
// `DELIVERY=stream go run ./examples/webhook` and `go run ./examples/worker`
// on the default SQLite file; a mention and a DM on the stream are
// answered.
func TestREADMEStreamTwoProcesses(t *testing.T) {
	r := newReadmeRun(t)
	needORT(t)
	x := readmeXfake(t, r)
	state := t.TempDir()
	addr := freeAddr(t)
	env := append(r.exports(xfakeFill(x), readmeExportOAuth, readmeExportBearer),
		"X_API_BASE="+x.URL(), "XDG_STATE_HOME="+state, "WEBHOOK_ADDR="+addr)
	wh := r.start("webhook", "DELIVERY=stream go run ./examples/webhook", runOpts{env: env})
	s := &stack{t: t, x: x, q: defaultQueue(state), delivery: "stream", addr: addr, webhook: wh, wmetrics: freeAddr(t)}
	s.waitReady("webhook stream connected", "http://"+addr+"/readyz", wh)
	s.waitSubscribed()
	s.worker = r.start("worker", "go run ./examples/worker", runOpts{env: append(slices.Clone(env), "METRICS_ADDR="+s.wmetrics)})
	s.waitReady("worker ready", "http://"+s.wmetrics+"/readyz", s.worker)
	cs := []*cmd{s.xaaPost(webhooks.EventPostMention, "moemess"), s.xaaDM("moerand")}
	s.publishAll(cs)
	s.waitAnswered(cs, time.Minute)
	s.settle(500 * time.Millisecond)
	s.checkExactlyOnce(cs)
	for _, p := range []*proc{s.worker, wh} {
		if err := p.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: SIGTERM: %v, want a clean exit", p.name, err)
		}
	}
}

// TestREADMERegister runs every examples/register command the README names
// against the fake X, with WEBHOOK_URL on a local endpoint that answers the
// fake's CRC, and checks what each did on the fake: register, list,
// status, validate (of a webhook X marked invalid), replay -from 2h, the
// XAA commands, the migration from an AAA subscription, and delete.
func TestREADMERegister(t *testing.T) {
	r := newReadmeRun(t)
	x := xfake.Start(t, xfake.Config{})
	fc := x.Config()
	h, err := crc.NewHandler(crc.HandlerConfig{Secrets: []string{fc.ConsumerSecret}})
	require.NoError(t, err)
	endpoint := httptest.NewServer(h)
	t.Cleanup(endpoint.Close)
	hookURL := endpoint.URL + "/webhook"
	env := []string{"X_API_BASE=" + x.URL(), "WEBHOOK_URL=" + hookURL}
	for k, v := range xfakeFill(x) {
		env = append(env, k+"="+v)
	}
	o := runOpts{env: env}
	bot := fc.BotUserID
	nTypes := len(webhooks.DefaultActivityEventTypes)

	out := r.mustRun("register register", o)
	hooks := x.Webhooks()
	require.Len(t, hooks, 1, out)
	id := hooks[0].ID
	assert.Regexp(t, `(?m)^`+id+`\s+`+regexp.QuoteMeta(hookURL)+`\s+true\s+`+fmt.Sprint(nTypes)+`\s+false$`, out)
	require.Len(t, x.ActivitySubscriptions(), nTypes)

	out = r.mustRun("register list", o)
	assert.Regexp(t, `(?m)^`+id+`\s+`+regexp.QuoteMeta(hookURL)+`\s+true\s`, out)
	out = r.mustRun("register status", o)
	assert.Regexp(t, `(?m)^`+id+`\s+`+regexp.QuoteMeta(hookURL)+`\s+true\s+false\s*$`, out, "not AAA-subscribed")

	require.NoError(t, x.MarkInvalid(id))
	out = r.mustRun("register validate", o)
	assert.Regexp(t, `(?m)^`+id+`\s+ok$`, out)
	assert.True(t, x.Webhooks()[0].Valid, "validate ran X's CRC again")

	before := time.Now()
	out = r.mustRun("register replay -from 2h", o)
	assert.Regexp(t, `(?m)^`+id+`\s+[0-9]+\s`, out)
	x.WaitReplays()
	if rs := x.Replays(); assert.Len(t, rs, 1) {
		assert.Equal(t, id, rs[0].WebhookID)
		assert.WithinDuration(t, before.Add(-2*time.Hour), rs[0].From, 2*time.Minute, "replay -from 2h")
	}

	out = r.mustRun("register xaa list", o)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 1+nTypes, out)
	out = r.mustRun("register xaa ensure", o)
	assert.Equal(t, nTypes, strings.Count(out, " existing "), out)
	out = r.mustRun("register xaa ensure -stream", o)
	assert.Equal(t, nTypes, strings.Count(out, " created "), out)
	var streamSub string
	for _, s := range x.ActivitySubscriptions() {
		if s.WebhookID == "" && s.Filter.UserID == bot {
			streamSub = s.ID
		}
	}
	require.NotEmpty(t, streamSub, "xaa ensure -stream made subscriptions without a webhook")
	require.Len(t, x.ActivitySubscriptions(), 2*nTypes)

	out = r.mustRun("register xaa delete ID...", runOpts{env: env, fill: map[string][]string{"ID...": {streamSub}}})
	assert.Regexp(t, `(?m)^`+streamSub+`\s+deleted$`, out)
	assert.Len(t, x.ActivitySubscriptions(), 2*nTypes-1)
	out = r.mustRun("register xaa delete -all-moetron", o)
	assert.Equal(t, 2*nTypes-1, strings.Count(out, "deleted"), out)
	assert.Empty(t, x.ActivitySubscriptions())

	// A bot on the Account Activity API: subscribed to the webhook the
	// old way, no XAA subscriptions. The migration commands move it.
	wc, err := webhooks.New(webhooks.Config{BearerToken: fc.BearerToken, ConsumerKey: fc.ConsumerKey,
		ConsumerSecret: fc.ConsumerSecret, AccessToken: fc.AccessToken, AccessTokenSecret: fc.AccessTokenSecret, BaseURL: x.URL()})
	require.NoError(t, err)
	require.NoError(t, wc.EnsureSubscribed(ctxFor(t, 30*time.Second), id))
	require.Equal(t, []string{bot}, x.Webhooks()[0].Subscriptions)

	out = r.mustRun("go run ./examples/register migrate -dry-run", o)
	assert.Contains(t, out, "dry run: nothing written")
	assert.Contains(t, out, "bot AAA-subscribed: true")
	assert.Equal(t, nTypes, strings.Count(out, "would-create"), out)
	assert.Empty(t, x.ActivitySubscriptions(), "a dry run writes nothing")

	out = r.mustRun("register migrate", o)
	assert.Equal(t, nTypes, strings.Count(out, " created "), out)
	assert.Contains(t, out, "verified: X lists every XAA subscription")
	assert.Contains(t, out, "AAA subscription kept")
	assert.Len(t, x.ActivitySubscriptions(), nTypes)
	assert.Equal(t, []string{bot}, x.Webhooks()[0].Subscriptions)

	out = r.mustRun("register migrate -drop-aaa", o)
	assert.Contains(t, out, "AAA subscription removed")
	assert.Empty(t, x.Webhooks()[0].Subscriptions)
	assert.Len(t, x.ActivitySubscriptions(), nTypes)

	out = r.mustRun("register delete", o)
	assert.Regexp(t, `(?m)^`+id+`\s+ok$`, out)
	assert.Empty(t, x.Webhooks())
}

// TestREADMETools runs the README's tools block and the library fetch:
// moegen writes the bot's image for "moename sakura" (a 512x512 PNG, and
// the seed it prints is the one the command table gives), fakex serves
// the fake X on 127.0.0.1:8089 and its form on :8090 (a mention posted
// there shows on the fake's ledger), queuetool len counts the jobs of a
// queue file, and make ort and ortfetch print the cached library.
func TestREADMETools(t *testing.T) {
	r := newReadmeRun(t)

	t.Run("moegen", func(t *testing.T) {
		r := r.sub(t)
		needORT(t)
		dir := t.TempDir()
		_, info, err := r.run("go run ./examples/moegen -o sakura.png moename sakura", runOpts{dir: dir, env: []string{"ORT_LIB=" + os.Getenv("ORT_LIB")}})
		require.NoError(t, err, info)
		set, err := commands.Load("")
		require.NoError(t, err)
		req, _, err := moegen.Request(set, "moename sakura", "")
		require.NoError(t, err)
		assert.Contains(t, info, fmt.Sprintf("seed=%d ", req.Seed), "moegen prints the seed the bot uses for moename sakura")
		f, err := os.Open(filepath.Join(dir, "sakura.png"))
		require.NoError(t, err)
		defer f.Close()
		img, err := png.Decode(f)
		require.NoError(t, err)
		assert.Equal(t, 512, img.Bounds().Dx())
		assert.Equal(t, 512, img.Bounds().Dy())
	})

	t.Run("queuetool", func(t *testing.T) {
		r := r.sub(t)
		q := qconf{queueopen.Env{Backend: queueopen.BackendSQLite, Name: "moetron", Path: filepath.Join(t.TempDir(), "q.db")}}
		o := q.open(t)
		for i := range 3 {
			_, err := o.Queue.Enqueue(context.Background(), []byte(fmt.Sprintf(`{"job_id":"tweet:%d"}`, i)), nil)
			require.NoError(t, err)
		}
		out := r.mustRun("go run ./examples/queuetool len", runOpts{env: []string{"QUEUE_PATH=" + q.env.Path}})
		assert.Equal(t, "moetron\t3\nmoetron-poison\t0\n", out)
	})

	t.Run("fakex", func(t *testing.T) {
		r := r.sub(t)
		const text = "go run ./examples/fakex -addr 127.0.0.1:8089"
		for _, a := range []string{"127.0.0.1:8089", "127.0.0.1:8090"} {
			if !portFree(a) {
				r.skip(text, a+" is taken on this machine")
				t.Skipf("%s is taken on this machine", a)
			}
		}
		p := r.start("fakex", text, runOpts{})
		if !waitListening(t, p, "http://127.0.0.1:8090/") {
			r.skip(text, "its port was taken on this machine")
			t.Skip("fakex's port was taken on this machine")
		}
		resp, err := http.Get("http://127.0.0.1:8090/")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		assert.Contains(t, page, "<form")
		// The environment it prints works against the fake X on :8089.
		env := map[string]string{}
		for _, m := range regexp.MustCompile(`(?m)^export (\w+)=(\S+)$`).FindAllStringSubmatch(tail(p.log, 50), -1) {
			env[m[1]] = m[2]
		}
		require.Equal(t, "http://127.0.0.1:8089", env["X_API_BASE"], "fakex prints X_API_BASE")
		wc, err := webhooks.New(webhooks.Config{BearerToken: env["X_BEARER_TOKEN"], BaseURL: env["X_API_BASE"]})
		require.NoError(t, err)
		hooks, err := wc.List(ctxFor(t, 10*time.Second))
		require.NoError(t, err, "list webhooks on fakex with the bearer token it printed")
		assert.Empty(t, hooks)
		// With no webhook running, the form says so.
		resp, err = http.PostForm("http://127.0.0.1:8090/mention", url.Values{"text": {"@moetronbot moerand"}})
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "%s", b)
		assert.Contains(t, string(b), "is the webhook running")
		require.True(t, p.signal(syscall.SIGINT, 10*time.Second), "fakex did not stop on SIGINT")
		assert.NoError(t, p.lastErr, "fakex exits 0 on SIGINT")
	})

	t.Run("ort", func(t *testing.T) {
		r := r.sub(t)
		lib := imagegen.DefaultLibraryPath()
		if _, err := os.Stat(lib); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing under CI", lib)
			}
			r.skip("make ort", "no cached library (it would be downloaded)")
			r.skip("go run github.com/moetron/moetron/examples/ortfetch", "no cached library (it would be downloaded)")
			t.Skipf("%s is not cached; make ort would download it", lib)
		}
		for _, text := range []string{"make ort", "go run github.com/moetron/moetron/examples/ortfetch"} {
			out := strings.TrimSpace(r.mustRun(text, runOpts{}))
			assert.Equal(t, lib, out, "%s prints the library's path", text)
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(b, []byte("\x7fELF")), "%s is a shared library", out)
		}
	})
}

// TestREADMEMakeDemo runs `make demo` as written: in the repository root,
// it builds bin/demo and runs the whole bot against a fake X; the test
// checks its OK line and the images it says it saved in ./out/ (both
// ignored by git). -short skips it.
func TestREADMEMakeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: make demo builds and runs the whole bot")
	}
	r := newReadmeRun(t)
	needORT(t)
	out := r.mustRun("make demo", runOpts{timeout: 5 * time.Minute})
	if !regexp.MustCompile(`(?m)^demo: OK in \S+; images in out/$`).MatchString(out) {
		t.Fatalf("make demo did not print its OK line:\n%s", out)
	}
	pngs := regexp.MustCompile(`out/\S+\.png`).FindAllString(out, -1)
	require.NotEmpty(t, pngs, "make demo names its images")
	for _, p := range pngs {
		f, err := os.Open(filepath.Join(moduleRoot, p))
		if !assert.NoError(t, err) {
			continue
		}
		_, err = png.DecodeConfig(f)
		f.Close()
		assert.NoError(t, err, p)
	}
}

// TestREADMEMakeBench runs `make bench` with the smallest settings
// scripts/bench.sh takes from the environment (one round of each program,
// a handful of events, -benchtime 1x, bench/mention2reply on the binaries
// TestMain built), so that every stage of it runs and its report has every
// section. Even so it takes minutes (most of it building and linking the
// benchmark binaries of six package trees), so it runs under CI (CI set)
// or with MOETRON_README_BENCH=1, and skips otherwise.
func TestREADMEMakeBench(t *testing.T) {
	if os.Getenv("CI") == "" && os.Getenv("MOETRON_README_BENCH") == "" {
		t.Skip("make bench takes minutes: set MOETRON_README_BENCH=1 (CI runs it)")
	}
	r := newReadmeRun(t)
	needORT(t)
	small := []string{"BENCHTIME=1x", "INGEST_D=200ms", "INGEST_ROUNDS=1", "QUEUEBENCH_ARGS=-n 20 -rounds 1",
		"DELIVERY_ARGS=-n 50 -rounds 1", "PICKUP_ARGS=-n 2 -gap 10ms-20ms -idle 200ms",
		"M2R_ARGS=-n 2 -gap 10ms-20ms -webhook " + needBinary(t, "webhook") + " -worker " + needBinary(t, "worker"),
		"ORT_LIB=" + os.Getenv("ORT_LIB"), "MOETRON_AZURITE=" + os.Getenv("MOETRON_AZURITE"),
		// One package's Go benchmarks: linking every package's benchmark
		// binary is most of a full run's time, and go vet compiles them all.
		"BENCH_PKGS=./worker/ledgerfile/"}
	out := r.mustRun("make bench", runOpts{env: small, timeout: 9 * time.Minute})
	for _, section := range []string{"-- webhook ingest", "-- X Activity API delivery", "-- queue backends",
		"-- job pickup", "-- mention to reply", "-- Go benchmarks"} {
		assert.Contains(t, out, section)
	}
	for _, row := range []string{"moetron webhook, SQLite queue", "twitter-autohook", "stream (one connection, NDJSON)", "sqlite-nobatch",
		"inotify on the -wal", "delivery → reply at X", "ClaimDone"} {
		assert.Contains(t, out, row, "make bench's report has a %q row", row)
	}
}
