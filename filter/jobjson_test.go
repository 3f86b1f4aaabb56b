package filter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// referenceJSON is what Job.MarshalJSON wrote before it was hand-written:
// json.Marshal of the wire struct.
func referenceJSON(t testing.TB, j Job) []byte {
	w := jobWire{
		MsgType: j.MsgType, RespondID: j.RespondID, Text: j.Text, UserID: j.UserID,
		ID: j.ID, Command: j.Command, Args: j.Args, ForUserID: j.ForUserID,
		ScreenName: j.ScreenName,
	}
	if !j.ReceivedAt.IsZero() {
		w.ReceivedAt = j.ReceivedAt.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(w)
	require.NoError(t, err)
	return b
}

// jsonStrings covers every escape of encoding/json's string encoder.
var jsonStrings = []string{
	"", "plain", "@bot moename hello", `quote " and \ backslash`, "tab\tnl\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "<script>&amp;</script>", "line\u2028para\u2029end", "\u2027\u202a",
	"invalid \xff\xfe utf8", "cut \xe2\x80", "\xed\xa0\x80 surrogate half", "アリス 🌸 ñ",
	"\U0010ffff", "\xf4\x90\x80\x80", "a/b", "\u00e9\u0301",
}

func TestJobJSONMatchesMarshal(t *testing.T) {
	base := designJob()
	check := func(j Job) {
		t.Helper()
		want := referenceJSON(t, j)
		got, err := j.MarshalJSON()
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
		viaMarshal, err := json.Marshal(j)
		require.NoError(t, err)
		require.Equal(t, string(want), string(viaMarshal))
	}
	check(base)
	check(Job{})
	for _, s := range jsonStrings {
		for f := range 9 {
			j := base
			*[]*string{(*string)(&j.MsgType), &j.RespondID, &j.Text, &j.UserID, &j.ID,
				&j.Command, &j.Args, &j.ForUserID, &j.ScreenName}[f] = s
			check(j)
		}
	}
	for _, at := range []time.Time{
		{}, time.Unix(0, 0), time.Date(2026, 11, 26, 17, 0, 0, 999999999, time.FixedZone("x", -7*3600)),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		j := base
		j.ReceivedAt = at
		check(j)
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
		got, err := j.MarshalJSON()
		require.NoError(t, err)
		require.Equal(t, string(referenceJSON(t, j)), string(got))
	})
}
