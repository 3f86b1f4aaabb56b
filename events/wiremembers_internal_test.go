package events

import (
	"reflect"
	"testing"

	"github.com/go-json-experiment/json"
)

// wireObjectInputs are user and tweet objects, and values that are not
// objects, that exercise the member loops of wireUser and wireTweet:
// escaped and case-changed names, repeats, nulls, wrong types, invalid
// UTF-8 and syntax errors.
var wireObjectInputs = []string{
	`{}`,
	`null`,
	`"x"`,
	`[1]`,
	`{"id":1234,"id_str":"1234","name":"A","screen_name":"a","protected":"TRUE","verified":false,` +
		`"profile_image_url_https":"https://x/p.jpg","followers_count":3,"entities":{"url":{"urls":[]}}}`,
	`{"id":"77","username":"v2","profile_image_url":"https://x/v2.jpg","description":"d"}`,
	`{"data":{"id":"5","username":"u"},"data":{"name":"N"},"data":null,"data":{"id":"6"}}`,
	`{"ID_STR":"1","Id_Str":"2","id\u005fstr":"3","\u0069d":"4","\u00e9":1,"name":"\ud83d\ude00"}`,
	"{\"name\":\"a\xffb\",\"na\xffme\":\"c\",\"text\":\"d\xff\"}",
	`{"id_str":"1","id_str":"2","name":null,"screen_name":"s","screen_name":null}`,
	`{"name":1}`,
	`{"id_str":true}`,
	`{"protected":"maybe"}`,
	`{"id":{"x":1}}`,
	`{"data":"x"}`,
	`{"name":"a",}`,
	`{"name" "a"}`,
	`{"name":"a"`,
	`{"a":[1,{"b":[null,true,{"c":"\u0000"}]}],"name":"z"}`,
	// Tweets.
	`{"created_at":"Thu","id":1,"id_str":"1","text":"hi","source":"<a>","truncated":false,` +
		`"in_reply_to_status_id":null,"in_reply_to_status_id_str":"2","in_reply_to_user_id_str":"3",` +
		`"in_reply_to_screen_name":"b","user":{"id_str":"9","screen_name":"c","followers_count":1},` +
		`"geo":null,"coordinates":null,"place":null,"contributors":null,"is_quote_status":true,` +
		`"quoted_status_id":4,"quoted_status_id_str":"4","quoted_status":{"id_str":"4","text":"q",` +
		`"user":{"id_str":"8"}},"quote_count":0,"reply_count":0,"retweet_count":0,"favorite_count":0,` +
		`"entities":{"hashtags":[{"text":"h","indices":[0,2]}],"urls":[],"user_mentions":[],"symbols":[]},` +
		`"favorited":false,"retweeted":false,"filter_level":"low","lang":"en","timestamp_ms":"1600000000000",` +
		`"display_text_range":[0,2],"possibly_sensitive":"false"}`,
	`{"full_text":"f","extended_tweet":{"full_text":"long","display_text_range":[0,4]},` +
		`"extended_entities":{"media":[{"id_str":"m","type":"photo"}]},"retweeted_status":{"id_str":"r"}}`,
	`{"user":{"name":"a"},"user":{"screen_name":"b"},"user":null,"user":{"id_str":"c"},` +
		`"text":"1","text":"2","display_text_range":[1],"display_text_range":[2,3]}`,
	`{"Text":"x","USER":{"id_str":"1"},"quoted\u005fstatus":{"id_str":"q"}}`,
	`{"timestamp_ms":1.5}`,
	`{"timestamp_ms":"abc"}`,
	`{"display_text_range":{}}`,
	`{"user":[]}`,
	`{"quoted_status":"x"}`,
	`{"is_quote_status":2}`,
	`{"entities":{"urls":[{"url":1}]}}`,
}

// wireUser and wireTweet read their objects as the library reads the
// same structs without their methods: the same fields, or an error from
// both.
func TestWireObjectsMatchLibrary(t *testing.T) {
	for _, in := range wireObjectInputs {
		sameWireObjects(t, []byte(in))
	}
}

func FuzzWireObjectsMatchLibrary(f *testing.F) {
	for _, in := range wireObjectInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameWireObjects(t, data)
	})
}

func sameWireObjects(t *testing.T, data []byte) {
	t.Helper()
	var u wireUser
	var uLib wireUserFields
	sameDecode(t, data, &u, &uLib)
	var tw wireTweet
	var twLib wireTweetFields
	sameDecode(t, data, &tw, &twLib)
}

// sameDecode unmarshals data into v and into lib, a pointer to the same
// struct type without v's method, and compares the results.
func sameDecode(t *testing.T, data []byte, v, lib any) {
	t.Helper()
	err := json.Unmarshal(data, v, decodeOptions)
	errLib := json.Unmarshal(data, lib, decodeOptions)
	if (err == nil) != (errLib == nil) {
		t.Fatalf("%q into %T: error %v, library %v", data, v, err, errLib)
	}
	if err != nil {
		return
	}
	got := reflect.ValueOf(v).Elem()
	want := reflect.ValueOf(lib).Elem().Convert(got.Type())
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		t.Fatalf("%q into %T:\n%#v\nlibrary\n%#v", data, v, got.Interface(), want.Interface())
	}
}

// Every tagged field of wireUser and wireTweet is read by its method: a
// field added to the struct but not to the method's switch fails here.
func TestWireObjectsReadEveryField(t *testing.T) {
	values := []string{`"s"`, `"true"`, `true`, `1`, `[1,2]`, `{"id_str":"z","full_text":"f","urls":[{"url":"u"}]}`}
	for typ, libTyp := range map[reflect.Type]reflect.Type{
		reflect.TypeFor[wireUser]():  reflect.TypeFor[wireUserFields](),
		reflect.TypeFor[wireTweet](): reflect.TypeFor[wireTweetFields](),
	} {
		for f := range typ.Fields() {
			name := f.Tag.Get("json")
			read := false
			for _, v := range values {
				data := []byte(`{"` + name + `":` + v + `}`)
				lib := reflect.New(libTyp)
				if json.Unmarshal(data, lib.Interface(), decodeOptions) != nil || lib.Elem().IsZero() {
					continue
				}
				read = true
				sameDecode(t, data, reflect.New(typ).Interface(), lib.Interface())
			}
			if !read {
				t.Errorf("%s.%s: no test value reads into it", typ.Name(), f.Name)
			}
		}
	}
}
