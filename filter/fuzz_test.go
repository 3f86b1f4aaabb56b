package filter

import (
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// referenceMatch is a slow, obviously correct Match: try every rune start
// in order, every keyword there, and check the boundaries on both sides.
func referenceMatch(t *Table, text string) (Match, bool) {
	prevWord := false
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !prevWord {
			for _, k := range t.keywords {
				end, n := i, 0
				for end < len(text) && n < k.runes {
					_, s := utf8.DecodeRuneInString(text[end:])
					end += s
					n++
				}
				if n != k.runes || !strings.EqualFold(text[i:end], k.word) {
					continue
				}
				if end < len(text) {
					nr, ns := utf8.DecodeRuneInString(text[end:])
					if isWordRune(nr, ns) {
						continue
					}
				}
				if !allWordRunes(text[i:end]) {
					continue
				}
				return Match{Command: k.command, Keyword: text[i:end], Offset: i, Args: strings.TrimSpace(text[end:])}, true
			}
		}
		prevWord = isWordRune(r, size)
		i += size
	}
	return Match{}, false
}

func allWordRunes(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r, size) {
			return false
		}
		i += size
	}
	return true
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"@bot moerand!", "moerandom moename x", "画像 moerand", "MOE\u212Aawaii kawaii",
		"moerand\u0301", "\xffmoerand", "(moemess)", "", "Straße STRASSE"} {
		f.Add(s)
	}
	tab := MustTable(
		Command{Name: "rand", Keywords: []string{"moerand", "萌え"}},
		Command{Name: "mess", Keywords: []string{"moemess"}},
		Command{Name: "name", Keywords: []string{"moename", "kawaii", "Straße"}},
	)
	f.Fuzz(func(t *testing.T, text string) {
		got, ok := tab.Match(text)
		want, wantOK := referenceMatch(tab, text)
		if ok != wantOK || got != want {
			t.Fatalf("Match(%q) = %+v, %v; reference %+v, %v", text, got, ok, want, wantOK)
		}
	})
}

func FuzzParseJob(f *testing.F) {
	for _, name := range []string{"testdata/job_tweet.json", "testdata/job_dm.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add([]byte(base64.StdEncoding.EncodeToString(b)))
	}
	f.Add([]byte(`{"msg_type":"dm","respond_id":"1","text":"moename x","user_id":"2"}`))
	f.Add([]byte(`{"msg_type":"tweet","respond_id":1}`))
	f.Add([]byte(`eyJtc2dfdHlwZSI6InR3ZWV0In0=`))
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := ParseJob(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidJob) {
				t.Fatalf("error does not wrap ErrInvalidJob: %v", err)
			}
			if len(err.Error()) > 600 {
				t.Fatalf("error text of %d bytes", len(err.Error()))
			}
			return
		}
		body, err := j.Body()
		if errors.Is(err, ErrTooLarge) {
			return // re-escaping can grow a message that was just under the limit
		}
		if err != nil {
			t.Fatalf("ParseJob accepted a job that Body rejects: %v (%+v)", err, j)
		}
		back, err := ParseJob(body)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", body, err)
		}
		j.ReceivedAt = j.ReceivedAt.Truncate(time.Second)
		if !back.ReceivedAt.Equal(j.ReceivedAt) {
			t.Fatalf("received_at %v became %v", j.ReceivedAt, back.ReceivedAt)
		}
		back.ReceivedAt, j.ReceivedAt = time.Time{}, time.Time{}
		if back != j {
			t.Fatalf("round trip changed the job:\n%+v\n%+v", j, back)
		}
	})
}
