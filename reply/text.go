package reply

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"text/template"
)

// DefaultTemplate is the reply text used when Config.Template is empty. It
// keeps the original bot's sentence and adds the seed and a short request
// id, so two replies never share a text (X refuses duplicate content), and
// on a post it starts with the requester's @handle when known (v2 does not
// add it; the handle makes the reply notify them visibly in the thread).
const DefaultTemplate = `{{if and .ScreenName (eq .MsgType "tweet")}}@{{.ScreenName}} {{end}}Here's your generated image! (seed {{.Seed}}, #{{.RequestID}})`

// Values of Fields.MsgType.
const (
	MsgTweet = "tweet"
	MsgDM    = "dm"
)

// Fields are what a reply template can use.
type Fields struct {
	MsgType    string // MsgTweet or MsgDM (the queue message's msg_type)
	Seed       uint64 // the generation seed
	Command    string // e.g. "rand", "name"
	Args       string // user-supplied text after the keyword; untrusted
	ScreenName string // requester's handle without "@", if known
	JobID      string // the job's idempotency key, e.g. "tweet:123"
	// RequestID is a short id derived from JobID (see RequestID); filled
	// by Client.Text when empty.
	RequestID string
}

// RequestID derives a short, stable id from a job id: the first 6 hex
// digits of its SHA-256. It is not secret and not unique across all time,
// only enough to tell one request's reply from another's.
func RequestID(jobID string) string {
	sum := sha256.Sum256([]byte(jobID))
	return hex.EncodeToString(sum[:3])
}

func parseTemplate(src string) (*template.Template, error) {
	t, err := template.New("reply").Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	// Execute once on sample fields so a reference to an unknown field
	// fails in New, not on the first job.
	var b strings.Builder
	if err := t.Execute(&b, Fields{MsgType: MsgTweet, Seed: 1, ScreenName: "x", JobID: "tweet:1", RequestID: "000000"}); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return t, nil
}

// Text renders the configured template for f and checks the result's
// length (WeightedLength for a tweet, MaxDMChars for a DM). A screen name
// that is not an X handle (1–15 of A-Z a-z 0-9 _) is refused with
// ErrInvalidInput rather than pasted into the text.
func (c *Client) Text(f Fields) (string, error) {
	f.ScreenName = strings.TrimPrefix(f.ScreenName, "@")
	if f.ScreenName != "" && !isHandle(f.ScreenName) {
		return "", fmt.Errorf("%w: screen name is not an X handle", ErrInvalidInput)
	}
	switch f.MsgType {
	case "":
		f.MsgType = MsgTweet
	case MsgTweet, MsgDM:
	default:
		return "", fmt.Errorf("%w: msg type %q is not %q or %q", ErrInvalidInput, f.MsgType, MsgTweet, MsgDM)
	}
	if f.RequestID == "" && f.JobID != "" {
		f.RequestID = RequestID(f.JobID)
	}
	var b strings.Builder
	if err := c.tmpl.Execute(&b, f); err != nil {
		return "", fmt.Errorf("reply: render template: %w", err)
	}
	s := strings.TrimSpace(b.String())
	if s == "" {
		return "", fmt.Errorf("%w: template rendered an empty text", ErrInvalidInput)
	}
	if f.MsgType == MsgDM {
		return s, checkDMText(s)
	}
	return s, checkPostText(s)
}

func isHandle(s string) bool {
	if len(s) == 0 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
