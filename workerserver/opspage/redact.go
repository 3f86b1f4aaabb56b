package opspage

import (
	"strconv"
	"strings"
)

// Redacted replaces each quoted string Redact removes.
const Redacted = `"…"`

// Redact removes from an error text what may be a user's words: every Go
// quoted string in it ("..." as %q writes it: the parser quotes the text
// of a message it cannot read, the reply client quotes X's detail). What
// is left says which check failed; the full text is in the worker's log
// and, for poisoned jobs, in queuetool's poison list, for an operator with
// a shell on the machine.
func Redact(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		q, err := strconv.QuotedPrefix(s[i:])
		if err != nil {
			// An unmatched quote: drop the rest, it may be a cut quotation.
			b.WriteString(Redacted)
			return b.String()
		}
		b.WriteString(Redacted)
		s = s[i+len(q):]
	}
}
