package commands

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"text/template"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/reply"
)

// EnvFile is the environment variable naming the commands file, read by the
// webhook and the worker.
const EnvFile = "COMMANDS_FILE"

// ErrInvalid is wrapped by every error about a commands file or a Command.
var ErrInvalid = errors.New("commands: invalid command table")

// SeedRule says how a command picks its seed.
type SeedRule struct {
	// Kind is SeedRandom, SeedArgs or SeedFixed.
	Kind SeedKind
	// Fixed is the seed of a SeedFixed rule.
	Fixed uint32
}

// SeedKind is the kind of a SeedRule.
type SeedKind string

// Seed kinds. The zero SeedKind is SeedRandom.
const (
	// SeedRandom: a 32-bit seed derived from the job id (imagegen.RandomSeed),
	// so a redelivered job draws the same image. File value "random".
	SeedRandom SeedKind = "random"
	// SeedArgs: the moename rule on the text after the keyword
	// (imagegen.NameSeed). File value "args".
	SeedArgs SeedKind = "args"
	// SeedFixed: always SeedRule.Fixed. File value: the number.
	SeedFixed SeedKind = "fixed"
)

// Func returns the imagegen seed function of r.
func (r SeedRule) Func() imagegen.SeedFunc {
	switch r.Kind {
	case SeedArgs:
		return imagegen.NameSeed
	case SeedFixed:
		n := r.Fixed
		return func(string, string) uint32 { return n }
	}
	return imagegen.RandomSeed
}

// String is the rule as a file writes it: random, args or the number.
func (r SeedRule) String() string {
	if r.Kind == SeedFixed {
		return fmt.Sprint(r.Fixed)
	}
	if r.Kind == "" {
		return string(SeedRandom)
	}
	return string(r.Kind)
}

// Command is one command: what the webhook matches (Name, Keywords, Only)
// and what the worker does with it (Seed, Psi, Model, Reply).
type Command struct {
	// Name is the job's command field: 1-32 of a-z, 0-9, '_' and '-'.
	Name string
	// Keywords trigger the command (the first is its main keyword, the
	// rest aliases), matched as whole words, ignoring case.
	Keywords []string
	// Only is "" (posts and DMs), filter.KindTweet or filter.KindDM.
	Only filter.Kind
	// Seed is the seed rule; the zero value is SeedRandom.
	Seed SeedRule
	// Psi is the truncation psi, in (0, 2].
	Psi float32
	// Model is the ONNX model of this command: a file, or a bundled
	// model (bundled.RefPortrait, bundled.RefCPPN), which the worker's
	// MODEL_PATH replaces when set; "" means the worker's model
	// (MODEL_PATH, else DefaultModel). See ModelFor. A file's relative
	// path is resolved against the commands file's directory.
	Model string
	// Reply is the reply text, a text/template over reply.Fields
	// ({{.ScreenName}}, {{.Seed}}, {{.Command}}, {{.RequestID}},
	// {{.MsgType}}); "" means the worker's template (reply.DefaultTemplate).
	Reply string
}

// Set is a validated command table for both halves of the bot. It is
// immutable and safe for concurrent use.
type Set struct {
	cmds   []Command
	byName map[string]int
	table  *filter.Table
	source string
}

// sample fields a reply template is tried with: the longest handle, the
// largest seed, and a DM (whose limit is larger, so the post is the check).
var samples = []reply.Fields{
	{MsgType: reply.MsgTweet, Seed: math.MaxUint32, Command: "x", ScreenName: "abcdefghijklmno", JobID: "tweet:1", RequestID: "aaaaaa"},
	{MsgType: reply.MsgTweet, Seed: 12345, Command: "x", ScreenName: "bob", JobID: "tweet:2", RequestID: "bbbbbb"},
	{MsgType: reply.MsgDM, Seed: 7, Command: "x", JobID: "dm:3", RequestID: "cccccc"},
}

// argsMarker stands for the user's text in the template check.
const argsMarker = "\x00args\x00"

// CheckReply reports why src cannot be a reply template: it does not parse,
// uses an unknown field, renders empty, renders longer than a post may be
// (280 weighted characters), includes the user's text (.Args: the bot would
// post whatever anyone wrote to it), or renders the same text for two jobs
// (X refuses duplicate content; use {{.RequestID}} or {{.Seed}}).
func CheckReply(src string) error {
	t, err := template.New("reply").Option("missingkey=error").Parse(src)
	if err != nil {
		return fmt.Errorf("does not parse: %w", err)
	}
	seen := map[string]bool{}
	for _, f := range samples {
		f.Args = argsMarker
		var b strings.Builder
		if err := t.Execute(&b, f); err != nil {
			return fmt.Errorf("does not render: %w", err)
		}
		s := strings.TrimSpace(b.String())
		switch {
		case s == "":
			return errors.New("renders an empty text")
		case strings.Contains(s, argsMarker):
			return errors.New("includes {{.Args}}, the user's own text; the bot would post whatever anyone wrote")
		case f.MsgType == reply.MsgTweet && reply.WeightedLength(s) > 280:
			return fmt.Errorf("renders %d weighted characters with a 15-character handle; a post allows 280", reply.WeightedLength(s))
		}
		if f.MsgType == reply.MsgTweet {
			if seen[s] {
				return errors.New("renders the same text for two jobs, which X refuses as duplicate content; include {{.RequestID}} or {{.Seed}}")
			}
			seen[s] = true
		}
	}
	return nil
}

// checkCommand validates c except the keywords' uniqueness across commands.
// field names the part at fault.
func checkCommand(c Command) (field string, err error) {
	if err := filter.CheckCommandName(c.Name); err != nil {
		return "name", err
	}
	if len(c.Keywords) == 0 {
		return "keywords", errors.New("no keywords (give keywords or aliases)")
	}
	for _, k := range c.Keywords {
		if err := filter.CheckKeyword(k); err != nil {
			return "keywords", err
		}
	}
	switch c.Only {
	case "", filter.KindTweet, filter.KindDM:
	default:
		return "in", fmt.Errorf("%q is not %q or %q", c.Only, filter.KindTweet, filter.KindDM)
	}
	switch c.Seed.Kind {
	case "", SeedRandom, SeedArgs, SeedFixed:
	default:
		return "seed", fmt.Errorf("%q is not random, args or a number", c.Seed.Kind)
	}
	if math.IsNaN(float64(c.Psi)) || c.Psi <= 0 || c.Psi > 2 {
		return "psi", fmt.Errorf("%v is not in (0, 2]", c.Psi)
	}
	if bundled.IsRef(c.Model) {
		if _, err := bundled.Open(c.Model); err != nil {
			return "model", err
		}
	}
	if c.Reply != "" {
		if err := CheckReply(c.Reply); err != nil {
			return "reply", err
		}
	}
	return "", nil
}

// New validates cmds and returns a Set. Errors wrap ErrInvalid.
func New(cmds ...Command) (*Set, error) {
	return newSet("", cmds, nil)
}

// newSet builds a Set; lines, when not nil, gives each command's fields'
// lines for error messages.
func newSet(source string, cmds []Command, pos []positions) (*Set, error) {
	fail := func(i int, field string, err error) error {
		where := fmt.Sprintf("command %d", i+1)
		if cmds[i].Name != "" {
			where = fmt.Sprintf("command %q", cmds[i].Name)
		}
		if pos != nil {
			return &FileError{File: source, Line: pos[i].line(field), Field: fmt.Sprintf("commands[%d].%s", i, field), Err: err}
		}
		return fmt.Errorf("%w: %s: %s: %v", ErrInvalid, where, field, err)
	}
	if len(cmds) == 0 {
		if source != "" {
			return nil, &FileError{File: source, Line: 1, Field: "commands", Err: errors.New("no commands")}
		}
		return nil, fmt.Errorf("%w: no commands", ErrInvalid)
	}
	s := &Set{byName: map[string]int{}, source: source}
	keywords := map[string]string{} // lower-case keyword → command
	fcmds := make([]filter.Command, 0, len(cmds))
	for i, c := range cmds {
		if field, err := checkCommand(c); err != nil {
			return nil, fail(i, field, err)
		}
		if _, dup := s.byName[c.Name]; dup {
			return nil, fail(i, "name", fmt.Errorf("%q is the name of an earlier command", c.Name))
		}
		s.byName[c.Name] = i
		for _, k := range c.Keywords {
			low := strings.ToLower(k)
			if other, dup := keywords[low]; dup {
				return nil, fail(i, "keywords", fmt.Errorf("%q is already a keyword of %q", k, other))
			}
			keywords[low] = c.Name
		}
		c.Keywords = append([]string(nil), c.Keywords...)
		if c.Seed.Kind == "" {
			c.Seed.Kind = SeedRandom
		}
		s.cmds = append(s.cmds, c)
		fcmds = append(fcmds, filter.Command{Name: c.Name, Keywords: c.Keywords, Only: c.Only})
	}
	t, err := filter.NewTable(fcmds...) // agrees with the checks above; kept as the last word
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s.table = t
	return s, nil
}

// DefaultModel is the model of a command without one when the worker has
// no MODEL_PATH: the bundled portrait.
const DefaultModel = bundled.RefPortrait

// ModelFor returns the model reference the worker loads for c when its own
// model setting (MODEL_PATH) is workerModel:
//
//   - a command's model file is always used;
//   - a command's bundled model (bundled:portrait, bundled:cppn) is a
//     stand-in: it is used when workerModel is empty, and workerModel
//     replaces it otherwise, so that MODEL_PATH moves every command of
//     the default table onto the user's model, as it did before there
//     were two bundled models;
//   - a command without a model uses workerModel, else DefaultModel.
//
// The result is a file path or a bundled reference, which
// imagegen.Config.ModelPath accepts either way.
func (c Command) ModelFor(workerModel string) string {
	switch {
	case c.Model != "" && !bundled.IsRef(c.Model):
		return c.Model
	case workerModel != "":
		return workerModel
	case c.Model != "":
		return c.Model
	}
	return DefaultModel
}

var defaultSet = func() *Set {
	s, err := New(
		Command{Name: filter.CommandRand, Keywords: []string{"moerand"}, Seed: SeedRule{Kind: SeedRandom}, Psi: imagegen.PsiTruncated, Model: bundled.RefPortrait},
		Command{Name: filter.CommandMess, Keywords: []string{"moemess"}, Seed: SeedRule{Kind: SeedRandom}, Psi: imagegen.PsiNone, Model: bundled.RefCPPN},
		Command{Name: filter.CommandName, Keywords: []string{"moename"}, Seed: SeedRule{Kind: SeedArgs}, Psi: imagegen.PsiTruncated, Model: bundled.RefPortrait},
	)
	if err != nil {
		panic(err)
	}
	s.table = filter.DefaultTable()
	return s
}()

// Default returns the built-in table: rand (moerand, random seed, psi
// 0.55), mess (moemess, random, 1.0) and name (moename, seed from the
// text, 0.55), in posts and DMs, with the worker's reply text. Its models
// are the bundled ones, bundled:portrait for rand and name and
// bundled:cppn for mess, until MODEL_PATH replaces them (ModelFor).
// It needs no file.
func Default() *Set { return defaultSet }

// Source is the file the set was loaded from, "" for Default or New.
func (s *Set) Source() string { return s.source }

// Commands returns a copy of the commands, in file order.
func (s *Set) Commands() []Command {
	out := make([]Command, len(s.cmds))
	for i, c := range s.cmds {
		c.Keywords = append([]string(nil), c.Keywords...)
		out[i] = c
	}
	return out
}

// Lookup returns the command called name.
func (s *Set) Lookup(name string) (Command, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Command{}, false
	}
	c := s.cmds[i]
	c.Keywords = append([]string(nil), c.Keywords...)
	return c, true
}

// Names returns the command names in file order.
func (s *Set) Names() []string {
	out := make([]string, len(s.cmds))
	for i, c := range s.cmds {
		out[i] = c.Name
	}
	return out
}

// Table is the webhook's matching table (filter.Config.Table,
// worker.Config.Table).
func (s *Set) Table() *filter.Table { return s.table }

// Generation returns a new imagegen command table of the set's seed rules
// and psi values (worker.Config.Commands).
func (s *Set) Generation() *imagegen.Commands {
	if s == defaultSet {
		return imagegen.DefaultCommands()
	}
	g := &imagegen.Commands{}
	for _, c := range s.cmds {
		if err := g.Register(imagegen.Command{Name: c.Name, Psi: c.Psi, Seed: c.Seed.Func()}); err != nil {
			panic(err) // checkCommand validated name and psi
		}
	}
	return g
}

// Request is the generation request for a job: the command's seed from
// args and the job id (the seed key), and its psi.
func (s *Set) Request(name, args, jobID string) (imagegen.Request, error) {
	c, ok := s.Lookup(name)
	if !ok {
		return imagegen.Request{}, fmt.Errorf("%w: %q (known: %s)", imagegen.ErrUnknownCommand, name, strings.Join(s.Names(), ", "))
	}
	return imagegen.Request{Seed: c.Seed.Func()(args, jobID), Psi: c.Psi}, nil
}
