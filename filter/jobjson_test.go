package filter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// jsonStrings covers every escape of encoding/json's string encoder.
var jsonStrings = []string{
	"", "plain", "@bot moename hello", `quote " and \ backslash`, "tab\tnl\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "<script>&amp;</script>", "line\u2028para\u2029end", "\u2027\u202a",
	"invalid \xff\xfe utf8", "cut \xe2\x80", "\xed\xa0\x80 surrogate half", "アリス 🌸 ñ",
	"\U0010ffff", "\xf4\x90\x80\x80", "a/b", "\u00e9\u0301",
}

// readBack is what a reader of the queue message gets for s: s itself,
// with each byte of invalid UTF-8 read as U+FFFD.
func readBack(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte
		i += size
	}
	return b.String()
}

// checkJobJSON fails t unless j's queue message is one line of JSON that
// reads back as j (strings as readBack gives them), with HTML characters
// escaped, and json.Marshal(j) gives the same bytes.
func checkJobJSON(t *testing.T, j Job) {
	t.Helper()
	b, err := j.MarshalJSON()
	require.NoError(t, err)
	require.NotContains(t, string(b), "\n")
	require.NotContains(t, string(b), "<")
	var w jobWire
	require.NoError(t, json.Unmarshal(b, &w), string(b))
	require.Equal(t, jobWire{
		MsgType: Kind(readBack(string(j.MsgType))), RespondID: readBack(j.RespondID), Text: readBack(j.Text),
		UserID: readBack(j.UserID), ID: readBack(j.ID), Command: readBack(j.Command), Args: readBack(j.Args),
		ForUserID: readBack(j.ForUserID), ScreenName: readBack(j.ScreenName),
		ReceivedAt: receivedAt(j),
	}, w)
	viaMarshal, err := json.Marshal(j)
	require.NoError(t, err)
	require.Equal(t, string(b), string(viaMarshal))
}

func receivedAt(j Job) string {
	if j.ReceivedAt.IsZero() {
		return ""
	}
	return j.ReceivedAt.UTC().Format(time.RFC3339)
}

func TestJobJSONRoundTrip(t *testing.T) {
	base := designJob()
	checkJobJSON(t, base)
	checkJobJSON(t, Job{})
	for _, s := range jsonStrings {
		for f := range 9 {
			j := base
			*[]*string{(*string)(&j.MsgType), &j.RespondID, &j.Text, &j.UserID, &j.ID,
				&j.Command, &j.Args, &j.ForUserID, &j.ScreenName}[f] = s
			checkJobJSON(t, j)
		}
	}
	for _, at := range []time.Time{
		{}, time.Unix(0, 0), time.Date(2026, 11, 26, 17, 0, 0, 999999999, time.FixedZone("x", -7*3600)),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		j := base
		j.ReceivedAt = at
		checkJobJSON(t, j)
	}
}

func FuzzJobJSON(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s, s, int64(0))
	}
	f.Add("@bot moename <b>", "alice&bob", int64(1795712400123456789))
	f.Fuzz(func(t *testing.T, text, name string, at int64) {
		j := designJob()
		j.Text, j.Args, j.ScreenName, j.Command = text, text, name, name
		j.ReceivedAt = time.Time{}
		if at != 0 {
			j.ReceivedAt = time.Unix(0, at)
		}
		checkJobJSON(t, j)
	})
}
