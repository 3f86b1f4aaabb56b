package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/moetron/moetron/filter"
	"github.com/moetron/moetron/imagegen/bundled"
)

// MaxFileSize bounds a commands file.
const MaxFileSize = 1 << 20

// FileError is a problem in a commands file, at a line and a field.
type FileError struct {
	File  string // the file's path
	Line  int    // 1-based; 0 when unknown
	Field string // e.g. "commands[1].psi"
	Err   error
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString("commands file ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns ErrInvalid and the cause.
func (e *FileError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// positions are the lines of one command's fields.
type positions struct {
	item   int            // the list item's line
	fields map[string]int // field → line of its value
}

func (p positions) line(field string) int {
	if l, ok := p.fields[field]; ok {
		return l
	}
	if field == "keywords" {
		if l, ok := p.fields["aliases"]; ok {
			return l
		}
	}
	return p.item
}

// Load reads a commands file (see the package documentation for the
// format). An empty path means Default(). Errors name the file, the line
// and the field, and wrap ErrInvalid (or the os error when the file
// cannot be read).
func Load(path string) (*Set, error) {
	if path == "" {
		return Default(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("commands file (%s): %w", EnvFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("commands file %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &FileError{File: path, Err: fmt.Errorf("larger than %d bytes", MaxFileSize)}
	}
	return Parse(path, data)
}

// Known fields of a command, in the order the documentation gives them.
var commandFields = []string{"name", "keywords", "aliases", "seed", "psi", "in", "model", "reply"}

// Parse reads a commands file's contents; name is its path, used in errors
// and to resolve relative model paths.
func Parse(name string, data []byte) (*Set, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErr(err)
		return nil, &FileError{File: name, Line: line, Err: errors.New(msg)}
	}
	bad := func(n *yaml.Node, field, format string, args ...any) error {
		return &FileError{File: name, Line: n.Line, Field: field, Err: fmt.Errorf(format, args...)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &FileError{File: name, Line: 1, Err: errors.New("empty file; it needs a commands: list")}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, bad(root, "", "the file must be a mapping with a commands: list")
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "commands" {
			return nil, bad(k, k.Value, "unknown field (the file has one field, commands)")
		}
		list = v
	}
	if list == nil {
		return nil, bad(root, "commands", "missing")
	}
	if list.Kind != yaml.SequenceNode {
		return nil, bad(list, "commands", "must be a list of commands")
	}
	dir := filepath.Dir(name)
	cmds := make([]Command, 0, len(list.Content))
	pos := make([]positions, 0, len(list.Content))
	for i, item := range list.Content {
		prefix := fmt.Sprintf("commands[%d]", i)
		if item.Kind != yaml.MappingNode {
			return nil, bad(item, prefix, "must be a mapping (name:, keywords:, ...)")
		}
		c := Command{Psi: 0.55}
		p := positions{item: item.Line, fields: map[string]int{}}
		var psiSet bool
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			field := prefix + "." + k.Value
			if _, dup := p.fields[k.Value]; dup {
				return nil, bad(k, field, "given twice")
			}
			p.fields[k.Value] = v.Line
			var err error
			switch k.Value {
			case "name":
				c.Name, err = scalar(v)
			case "keywords", "aliases":
				var ws []string
				ws, err = words(v)
				c.Keywords = append(c.Keywords, ws...)
			case "seed":
				c.Seed, err = seedRule(v)
			case "psi":
				var f float64
				if f, err = number(v); err == nil {
					c.Psi, psiSet = float32(f), true
				}
			case "in":
				c.Only, err = where(v)
			case "model":
				if c.Model, err = scalar(v); err == nil && c.Model != "" && !filepath.IsAbs(c.Model) && !bundled.IsRef(c.Model) {
					c.Model = filepath.Join(dir, c.Model)
				}
			case "reply":
				c.Reply, err = scalar(v)
			default:
				return nil, bad(k, field, "unknown field (known: %s)", strings.Join(commandFields, ", "))
			}
			if err != nil {
				return nil, bad(v, field, "%v", err)
			}
		}
		if !psiSet {
			c.Psi = 0.55
		}
		cmds = append(cmds, c)
		pos = append(pos, p)
	}
	return newSet(name, cmds, pos)
}

func scalar(v *yaml.Node) (string, error) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return "", errors.New("must be a string")
	}
	return v.Value, nil
}

func number(v *yaml.Node) (float64, error) {
	if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!float") {
		return 0, fmt.Errorf("%q is not a number", v.Value)
	}
	return strconv.ParseFloat(v.Value, 64)
}

// words reads a keyword or a list of them.
func words(v *yaml.Node) ([]string, error) {
	if v.Kind == yaml.ScalarNode {
		s, err := scalar(v)
		return []string{s}, err
	}
	if v.Kind != yaml.SequenceNode {
		return nil, errors.New("must be a word or a list of words")
	}
	out := make([]string, 0, len(v.Content))
	for _, w := range v.Content {
		s, err := scalar(w)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func seedRule(v *yaml.Node) (SeedRule, error) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
		n, err := strconv.ParseUint(v.Value, 10, 32)
		if err != nil {
			return SeedRule{}, fmt.Errorf("%s is not a seed from 0 to 4294967295", v.Value)
		}
		return SeedRule{Kind: SeedFixed, Fixed: uint32(n)}, nil
	}
	switch v.Value {
	case string(SeedRandom):
		return SeedRule{Kind: SeedRandom}, nil
	case string(SeedArgs):
		return SeedRule{Kind: SeedArgs}, nil
	}
	return SeedRule{}, fmt.Errorf("%q is not random, args or a number from 0 to 4294967295", v.Value)
}

// where reads in: posts, dms or a list of them.
func where(v *yaml.Node) (filter.Kind, error) {
	ws, err := words(v)
	if err != nil {
		return "", err
	}
	var posts, dms bool
	for _, w := range ws {
		switch strings.ToLower(w) {
		case "posts", "post", "tweets", "tweet":
			posts = true
		case "dms", "dm":
			dms = true
		default:
			return "", fmt.Errorf("%q is not posts or dms", w)
		}
	}
	switch {
	case posts && dms:
		return "", nil
	case posts:
		return filter.KindTweet, nil
	case dms:
		return filter.KindDM, nil
	}
	return "", errors.New("empty: give posts, dms or both")
}

// yamlErr splits a yaml error into its line and the rest of its text.
func yamlErr(err error) (int, string) {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(s, "line ")
	if !ok {
		return 0, s
	}
	num, msg, ok := strings.Cut(rest, ": ")
	n, nerr := strconv.Atoi(num)
	if !ok || nerr != nil {
		return 0, s
	}
	return n, msg
}
