package events

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// referenceInputs are the fixtures plus bodies that probe the corners
// where Decode could drift from encoding/json: duplicate keys, escaped
// keys, case, null values, bad syntax in unknown values.
func referenceInputs(t testing.TB) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("eventstest", "testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var in [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, b)
	}
	deep := strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1)
	for _, s := range []string{
		``, ` `, `{}`, ` {} `, `{} x`, `{}{}`, `[]`, `null`, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,}`, `{,"a":1}`,
		`{"a" 1}`, `{"a":1 "b":2}`, `{1:2}`, `{"a":[1,,2]}`, `{"a":[}]`, `{]`, `{"a":1]`, `{"a":1}}`, `{"a":tru}`,
		`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}",
		"{\"a\":\"\xff\"}", "{\"\xff\":1}", `{"a":"x\"}`, `{"a":1e+5,"b":-0.5E-3,"c":[true,false,null]}`,
		`{"x":` + deep + `}`, `{"x":[` + deep + `]}`, `{"x":[` + deep + `] x`,
		`{"for_user_id":"1","for_user_id":2}`, `{"for_user_id":{}}`, `{"for_user_id":null}`, `{"for_user_id":"a\u00e9\/"}`,
		`{"user_has_blocked":"maybe","user_has_blocked":true}`, `{"user_has_blocked":true,"user_has_blocked":"maybe"}`,
		`{"user_has_blocked":"FaLsE"}`, `{"user_has_blocked":"falſe"}`, `{"user_has_blocked":"\u0074rue"}`,
		`{"user_event":null}`, `{"user_event":{"revoke":{"date_time":"x"}},"user_event":{}}`, `{"replay_job_status":null}`,
		`{"users":null,"apps":{}}`, `{"users":{"1":null,"2":{"data":{"id":"2"}}}}`, `{"apps":{"5":{"name":"n"}}}`,
		`{"tweet_create_events":null}`, `{"tweet_create_events":[null,{}]}`, `{"Tweet_Create_Events":[{}]}`,
		`{"tweet\u005fcreate_events":[{"id_str":"1"}]}`, `{"tweet_create_events":[{"ID_STR":"1","Text":"t"}]}`,
		`{"some":[1,2],"some":{"x":1}}`, `{"a":1,"b":[1,,]}`, `{"a":"x","tweet_create_events":"x","a":2}`,
		`{"tweet_create_events":"x","tweet_create_events":[]}`, `{"favorite_events":[{"id":"1","favorited_status":null}]}`,
		`{"follow_events":null,"block_events":[{"source":null}],"mute_events":[{"type":"mute"}]}`,
		`{"tweet_delete_events":[{"status":{"id":1,"user_id":"2"}}]}`, `{"direct_message_events":[{"message_create":null}]}`,
		`{"direct_message_indicate_typing_events":[{}],"direct_message_mark_read_events":[{"last_read_event_id":"9"}]}`,
		`{"data":1}`, `{"data":null}`, `{"data":{}}`, `{"data":{"event_type":""}}`, `{"data":{"event_type":5}}`,
		`{"data":{"event_type":"x"},"data":{"y":1}}`, `{"data":{"y":1},"data":{"event_type":"x"}}`,
		`{"data":{"event_type":"x"},"other":1}`, `{"dat\u0061":{"event_type":"x","payload":[1]}}`,
		`{"data":{"event_type":"post.create"}}`, `{"data":{"event_type":"post.create","payload":null}}`,
		`{"data":{"event_type":"post.create","payload":{"id":"1"},"includes":null}}`,
		`{"data":{"event_type":"post.create","payload":{"id_str":"1","id_str":2}}}`,
		`{"data":{"event_type":"post.create","payload":{"tweet_create_events":[{"id_str":"3"}],"for_user_id":"4"}}}`,
		`{"data":{"event_type":"post.create","payload":{"user":null,"text":"x"}}}`,
		`{"data":{"event_type":"dm.sent"}}`, `{"data":{"event_type":"dm.sent","payload":null}}`,
		`{"data":{"event_type":"dm.sent","payload":{"users":{"1":{}},"zzz":[]}}}`,
		`{"data":{"event_type":"dm.sent","payload":{"users":"x"}}}`, `{"data":{"EVENT_TYPE":"dm.sent","payload":{}}}`,
		`{"data":{"event_type":"profile.update","filter":{"user_id":7}}}`,
		`{"data":{"event_type":"profile.update","filter":{"user_id":true}}}`,
		`{"data":{"event_type":"x"},"meta":{"replay":true}}`, `{"meta":{"replay":true},"data":{"event_type":"x"}}`,
		`{"data":{"event_type":"x"},"meta":null}`, `{"data":{"event_type":"x"},"meta":1}`, `{"data":{"x":1},"meta":{}}`,
		`{"data":{"event_type":"x"},"meta":{"replay":true},"meta":{"replay":false}}`, `{"data":{"event_type":"x"},"m\u0065ta":{"replay":1}}`,
		`{"data":{"event_type":"x"},"meta":{},"z":[1],"z":2}`, `{"data":{"event_type":"x"},"apps":{}}`,
		`{"data":[]}`, `{"data":[null]}`, `{"data":[{"event_type":"x"},{}]}`, `{"data":[{"event_type":"x","payload":1},{"event_type":"x","payload":2}]}`,
		`{"data":[{"event_type":"dm.sent","payload":{"users":{"1":{}}}},{"event_type":"dm.sent","payload":{"users":{"2":{}},"for_user_id":"3"}}]}`,
		`{"data":[{"event_type":"post.create","filter":{"user_id":"1"},"payload":{"id":"5"}},{"event_type":"oauth.revoke","filter":{},"payload":{}}]}`,
		`{"data":[{"event_type":"post.create","filter":{"user_id":"1"},"payload":{"id":"5"}},{"event_type":"post.create","filter":{"user_id":"2"},"payload":{}}]}`,
		`{"data":{"event_type":"post.reply.create","payload":{"id":"1","in_reply_to_tweet_id":"2","referenced_posts":[{"type":"quoted","id":"3"}]},"includes":{"posts":[{"id":"3","author_id":"4"}],"users":[{"data":{"id":"4"}}]}}}`,
		`{"data":{"event_type":"post.delete","payload":{"id":"1","author_id":2}}}`, `{"data":{"event_type":"post.delete","payload":null}}`,
		`{"data":{"event_type":"chat.received","payload":{"id":"u","encoded_event":null}}}`, `{"data":{"event_type":"chat.sent","payload":"x"}}`,
		`{"data":{"event_type":"oauth.revoke","filter":{},"payload":{"date_time":5,"app_id":"1"}}}`,
		`{"data":{"event_type":"post.create","filter":{"direction":["x"]},"payload":{}}}`,
	} {
		in = append(in, []byte(s))
	}
	return in
}

// sameResult fails t when Decode and decodeReference disagree on data:
// the payload (reflect.DeepEqual, so nil and empty differ) or the class
// of the error.
// Bodies where encoding/json's case-insensitive names could matter, and
// bodies that repeat a name, are left out.
func sameResult(t *testing.T, data []byte) {
	t.Helper()
	// The bracket count that classifies a rejected body, on every body.
	shape, shapeRef := checkShape(data), checkShapeRef(data)
	for _, sentinel := range []error{ErrNotObject, ErrMalformed, ErrTooDeep} {
		if errors.Is(shape, sentinel) != errors.Is(shapeRef, sentinel) {
			t.Fatalf("%q: checkShape %v, reference %v", data, shape, shapeRef)
		}
	}
	if caseMatters(data) || repeatsName(data) {
		// Decided otherwise: TestDecodeNamesMatchExactly and
		// TestDecodeRepeatedNames. Decode must still not panic.
		_, _ = Decode(data)
		return
	}
	got, gotErr := Decode(data)
	want, wantErr := decodeReference(data)
	for _, sentinel := range []error{ErrNotObject, ErrMalformed, ErrTooDeep} {
		if errors.Is(gotErr, sentinel) != errors.Is(wantErr, sentinel) {
			t.Fatalf("%q: error %v, reference %v", data, gotErr, wantErr)
		}
	}
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, reference %v", data, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: payload\n%#v\nreference\n%#v", data, got, want)
	}
}

func TestDecodeMatchesReference(t *testing.T) {
	for _, data := range referenceInputs(t) {
		sameResult(t, data)
	}
}

// FuzzDecodeMatchesReference checks that Decode and decodeReference agree
// on any body: run it with -fuzz while changing the decoder.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, data := range referenceInputs(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameResult(t, data)
	})
}

// BenchmarkDecodeVsReference measures Decode against decodeReference in
// the same run; compare the ns/op of each pair, not absolute numbers.
func BenchmarkDecodeVsReference(b *testing.B) {
	for _, name := range []string{"truncated_extended_mention", "quote_with_command", "xaa_post_mention_create", "dm_image"} {
		raw, err := os.ReadFile(filepath.Join("eventstest", "testdata", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		for _, impl := range []struct {
			name   string
			decode func([]byte) (*Payload, error)
		}{{"reference", decodeReference}, {"decode", Decode}} {
			b.Run(name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := impl.decode(raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// repeatsName reports whether data, valid JSON, repeats a member name
// within an object.
func repeatsName(data []byte) bool {
	opt := jsontext.AllowInvalidUTF8(true)
	return !jsontext.Value(data).IsValid(opt) && jsontext.Value(data).IsValid(opt, jsontext.AllowDuplicateNames(true))
}

// caseMatters reports whether data has a member name, below the top
// level, with an upper-case ASCII letter or a byte outside ASCII (after
// unescaping): a name that encoding/json may fold onto a field's name
// where Decode, matching exactly, does not. Names are read up to the
// first syntax error.
func caseMatters(data []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return false
		}
		if tok.Kind() != '"' || dec.StackDepth() < 2 {
			continue
		}
		if kind, length := dec.StackIndex(dec.StackDepth()); kind != '{' || length%2 == 0 {
			continue // a value, not a name
		}
		for _, c := range []byte(tok.String()) {
			if c >= 'A' && c <= 'Z' || c >= 0x80 {
				return true
			}
		}
	}
}

func TestCaseMattersAndRepeatsName(t *testing.T) {
	for _, s := range []string{`{"a":1,"a":1}`, `{"a":[{"b":1,"c":{},"b":2}]}`, `{"a":1,"\u0061":1}`} {
		if !repeatsName([]byte(s)) {
			t.Errorf("%s: repeats a name", s)
		}
	}
	for _, s := range []string{`{"a":1,"b":{"a":1}}`, `{"a":[{"a":1},{"a":1}]}`, `{"a":1,"a":1`, `{"a":1,"A":1}`} {
		if repeatsName([]byte(s)) {
			t.Errorf("%s: repeats no name", s)
		}
	}
	for _, s := range []string{`{"a":{"B":1}}`, `{"a":[{"x":{"\u0049d":1}}]}`, "{\"a\":{\"\u017f\":1}}", `{"a":{"b":1},"c":[{"K":1}]}`} {
		if !caseMatters([]byte(s)) {
			t.Errorf("%s: case should matter", s)
		}
	}
	for _, s := range []string{`{}`, `{"A":{"b":"C"}}`, `{"a":["B",{"c":"D"}]}`, `{"a":{"b":1}`} {
		if caseMatters([]byte(s)) {
			t.Errorf("%s: case should not matter", s)
		}
	}
	// Most of the inputs are compared.
	skipped, inputs := 0, referenceInputs(t)
	for _, data := range inputs {
		if caseMatters(data) || repeatsName(data) {
			skipped++
		}
	}
	if skipped > len(inputs)/8 {
		t.Errorf("%d of %d reference inputs skipped", skipped, len(inputs))
	}
}
