package events

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// This file decodes tweet_create_events into wire types by hand, the hot
// path of the webhook: encoding/json spent most of Decode's time on
// reflection over the tweet's many fields. The hand decoder reads only
// bodies that scanObject has already validated, and takes only the plain
// case, where encoding/json's answer is obvious: keys without escapes,
// matched exactly, each at most once per object, and values of the
// field's type. Anything else (a repeated key, which encoding/json merges
// into the earlier value; a key in another case; a value of the wrong
// type, an error) makes it give up, and the caller decodes the value with
// encoding/json as before. TestDecodeMatchesReference and its fuzz target
// hold the two to the same results.

// wireDec reads one JSON value that is known to be valid.
type wireDec struct{ scanner }

// fastTweets decodes raw, the value of tweet_create_events, as
// json.Unmarshal into a []*wireTweet would; ok is false where the caller
// must use json.Unmarshal instead.
func fastTweets(raw []byte) (ws []*wireTweet, ok bool) {
	d := wireDec{scanner{data: raw}}
	if d.peek() != '[' {
		return nil, false
	}
	d.i++
	ws = []*wireTweet{}
	for first := true; d.moreIn(']', &first); {
		if d.null() {
			ws = append(ws, nil)
			continue
		}
		w := new(wireTweet)
		if !d.tweet(w) {
			return nil, false
		}
		ws = append(ws, w)
	}
	return ws, true
}

func (d *wireDec) peek() byte {
	d.space()
	return d.data[d.i] // valid JSON: a value follows
}

// null consumes a null and reports whether there was one.
func (d *wireDec) null() bool {
	if d.peek() == 'n' {
		d.i += len("null")
		return true
	}
	return false
}

// raw returns the next value as written.
func (d *wireDec) raw() []byte {
	d.space()
	start := d.i
	d.value()
	return d.data[start:d.i]
}

func (d *wireDec) skip() {
	d.space()
	d.value()
}

// open consumes c ('{' or '[') and reports whether it was there.
func (d *wireDec) open(c byte) bool {
	if d.peek() != c {
		return false
	}
	d.i++
	return true
}

// moreIn reports whether another member or element follows in the object
// or array whose opening bracket was consumed, consuming the comma, or
// the closing bracket at the end.
func (d *wireDec) moreIn(end byte, first *bool) bool {
	if *first {
		*first = false
		return !d.next(end)
	}
	if d.next(',') {
		return true
	}
	d.next(end)
	return false
}

// field reads a member's key and colon and returns the number of the
// field of o that it names, -1 for a key the struct does not have. ok is false
// where encoding/json might read the key as a field that lookup does not
// match exactly: a key with escapes or non-ASCII bytes (which may fold to
// a field's name), or a field's name in other case.
func (d *wireDec) field(o wireObject) (f int, ok bool) {
	d.space()
	start := d.i
	d.str()
	key, plain := plainString(d.data[start:d.i])
	d.next(':')
	if !plain {
		return 0, false
	}
	if f := o.field(key); f >= 0 {
		return f, true
	}
	var buf [32]byte
	if len(key) > len(buf) {
		return -1, true // longer than any field's name
	}
	upper := false
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
			upper = true
		}
		buf[i] = c
	}
	if upper && o.field(buf[:len(key)]) >= 0 {
		return 0, false
	}
	return -1, true
}

// wireObject is a wire type that wireDec reads.
type wireObject uint8

const (
	objTweet wireObject = iota
	objExtendedTweet
	objUser
	objEntities
	objMention
	objHashtag
	objURL
	objMedia
)

// field returns the number of the field of o that key names, or -1. The
// calls are direct so that key does not escape.
func (o wireObject) field(key []byte) int {
	switch o {
	case objTweet:
		return tweetField(key)
	case objExtendedTweet:
		return extendedTweetField(key)
	case objUser:
		return userField(key)
	case objEntities:
		return entitiesField(key)
	case objMention:
		return mentionField(key)
	case objHashtag:
		return hashtagField(key)
	case objURL:
		return urlField(key)
	case objMedia:
		return mediaField(key)
	}
	return -1
}

// object reads a JSON object of type o, calling member for each field of
// o it meets (member reports whether the value decoded). Unknown keys are
// skipped. It returns false, so that the caller falls back to
// encoding/json, on a malformed object, a key that lookup cannot match
// exactly, a repeated field or a value of the wrong type.
func (d *wireDec) object(o wireObject, member func(f int) bool) bool {
	if !d.open('{') {
		return false
	}
	var seen uint32
	for first := true; d.moreIn('}', &first); {
		f, ok := d.field(o)
		if !ok {
			return false
		}
		if f < 0 {
			d.skip()
			continue
		}
		if !fresh(&seen, f) || !member(f) {
			return false
		}
	}
	return true
}

// fresh marks field f seen in *seen, and reports false if it was already.
func fresh(seen *uint32, f int) bool {
	if *seen&(1<<f) != 0 {
		return false
	}
	*seen |= 1 << f
	return true
}

// str reads a string or null into dst (null leaves dst as it is).
func (d *wireDec) string(dst *string) bool {
	raw := d.raw()
	switch raw[0] {
	case 'n':
		return true
	case '"':
		*dst = unquote(raw)
		return true
	}
	return false
}

// unquote returns the contents of q, a valid JSON string, as
// encoding/json does.
func unquote(q []byte) string {
	inner := q[1 : len(q)-1]
	plain, escapes := true, false
	for _, c := range inner {
		if c >= 0x80 {
			plain = false
		} else if c == '\\' {
			escapes = true
		}
	}
	if !plain && !utf8.Valid(inner) {
		// encoding/json replaces invalid bytes by U+FFFD.
		var s string
		json.Unmarshal(q, &s)
		return s
	}
	if !escapes {
		return string(inner)
	}
	out := make([]byte, 0, len(inner))
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch inner[i] {
		case '"', '\\', '/':
			out = append(out, inner[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default: // \u, with its surrogate rules: leave to encoding/json
			var s string
			json.Unmarshal(q, &s)
			return s
		}
	}
	return string(out)
}

// unmarshal hands the next value to u, as encoding/json does for a field
// whose type has an UnmarshalJSON method (null included).
func (d *wireDec) unmarshal(u json.Unmarshaler) bool {
	return u.UnmarshalJSON(d.raw()) == nil
}

func (d *wireDec) int(dst *int) bool {
	raw := d.raw()
	if raw[0] == 'n' {
		return true
	}
	if !isJSONNumber(raw) {
		return false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || int64(int(n)) != n {
		return false
	}
	*dst = int(n)
	return true
}

func (d *wireDec) intPtr(dst **int) bool {
	if d.null() {
		return true
	}
	*dst = new(int)
	return d.int(*dst)
}

func (d *wireDec) ints(dst *[]int) bool {
	if d.null() {
		return true
	}
	if !d.open('[') {
		return false
	}
	out := []int{}
	for first := true; d.moreIn(']', &first); {
		var n int
		if !d.int(&n) {
			return false
		}
		out = append(out, n)
	}
	*dst = out
	return true
}

// list reads an array of T, or null, into dst, each element by elem.
func list[T any](d *wireDec, dst *[]T, elem func(*wireDec, *T) bool) bool {
	if d.null() {
		return true
	}
	if !d.open('[') {
		return false
	}
	out := []T{}
	for first := true; d.moreIn(']', &first); {
		out = append(out, *new(T))
		if d.null() { // null into a struct changes nothing
			continue
		}
		if !elem(d, &out[len(out)-1]) {
			return false
		}
	}
	*dst = out
	return true
}

// ptr reads an object, or null, into a new T at *dst.
func ptr[T any](d *wireDec, dst **T, elem func(*wireDec, *T) bool) bool {
	if d.null() {
		return true
	}
	*dst = new(T)
	return elem(d, *dst)
}

func (d *wireDec) tweet(w *wireTweet) bool {
	return d.object(objTweet, func(f int) (ok bool) {
		switch f {
		case 0:
			ok = d.string(&w.IDStr)
		case 1:
			ok = d.string(&w.CreatedAt)
		case 2:
			ok = d.unmarshal(&w.TimestampMs)
		case 3:
			ok = d.string(&w.Text)
		case 4:
			ok = d.string(&w.FullText)
		case 5:
			ok = d.unmarshal(&w.Truncated)
		case 6:
			ok = d.ints(&w.DisplayTextRange)
		case 7:
			ok = ptr(d, &w.ExtendedTweet, (*wireDec).extendedTweet)
		case 8:
			ok = ptr(d, &w.User, (*wireDec).user)
		case 9:
			ok = d.string(&w.InReplyToStatusIDStr)
		case 10:
			ok = d.string(&w.InReplyToUserIDStr)
		case 11:
			ok = d.string(&w.InReplyToScreenName)
		case 12:
			ok = ptr(d, &w.Entities, (*wireDec).entities)
		case 13:
			ok = ptr(d, &w.ExtendedEntities, (*wireDec).entities)
		case 14:
			ok = d.unmarshal(&w.IsQuoteStatus)
		case 15:
			ok = d.string(&w.QuotedStatusIDStr)
		case 16:
			ok = ptr(d, &w.QuotedStatus, (*wireDec).tweet)
		case 17:
			ok = ptr(d, &w.RetweetedStatus, (*wireDec).tweet)
		case 18:
			ok = d.string(&w.Lang)
		case 19:
			ok = d.string(&w.Source)
		case 20:
			ok = d.unmarshal(&w.PossiblySensitive)
		}
		return ok
	})
}

func tweetField(key []byte) int {
	switch string(key) {
	case "id_str":
		return 0
	case "created_at":
		return 1
	case "timestamp_ms":
		return 2
	case "text":
		return 3
	case "full_text":
		return 4
	case "truncated":
		return 5
	case "display_text_range":
		return 6
	case "extended_tweet":
		return 7
	case "user":
		return 8
	case "in_reply_to_status_id_str":
		return 9
	case "in_reply_to_user_id_str":
		return 10
	case "in_reply_to_screen_name":
		return 11
	case "entities":
		return 12
	case "extended_entities":
		return 13
	case "is_quote_status":
		return 14
	case "quoted_status_id_str":
		return 15
	case "quoted_status":
		return 16
	case "retweeted_status":
		return 17
	case "lang":
		return 18
	case "source":
		return 19
	case "possibly_sensitive":
		return 20
	}
	return -1
}

func (d *wireDec) extendedTweet(w *wireExtendedTweet) bool {
	return d.object(objExtendedTweet, func(f int) (ok bool) {
		switch f {
		case 0:
			ok = d.string(&w.FullText)
		case 1:
			ok = d.ints(&w.DisplayTextRange)
		case 2:
			ok = ptr(d, &w.Entities, (*wireDec).entities)
		case 3:
			ok = ptr(d, &w.ExtendedEntities, (*wireDec).entities)
		}
		return ok
	})
}

func extendedTweetField(key []byte) int {
	switch string(key) {
	case "full_text":
		return 0
	case "display_text_range":
		return 1
	case "entities":
		return 2
	case "extended_entities":
		return 3
	}
	return -1
}

func (d *wireDec) user(w *wireUser) bool {
	return d.object(objUser, func(f int) (ok bool) {
		switch f {
		case 0:
			ok = d.unmarshal(&w.ID)
		case 1:
			ok = d.string(&w.IDStr)
		case 2:
			ok = d.string(&w.ScreenName)
		case 3:
			ok = d.string(&w.Username)
		case 4:
			ok = d.string(&w.Name)
		case 5:
			ok = d.unmarshal(&w.Protected)
		case 6:
			ok = d.unmarshal(&w.Verified)
		case 7:
			ok = d.string(&w.ProfileImageURLHTTPS)
		case 8:
			ok = d.string(&w.ProfileImageURL)
		case 9:
			ok = ptr(d, &w.Data, (*wireDec).user)
		}
		return ok
	})
}

func userField(key []byte) int {
	switch string(key) {
	case "id":
		return 0
	case "id_str":
		return 1
	case "screen_name":
		return 2
	case "username":
		return 3
	case "name":
		return 4
	case "protected":
		return 5
	case "verified":
		return 6
	case "profile_image_url_https":
		return 7
	case "profile_image_url":
		return 8
	case "data":
		return 9
	}
	return -1
}

func (d *wireDec) entities(w *wireEntities) bool {
	return d.object(objEntities, func(f int) (ok bool) {
		switch f {
		case 0:
			ok = list(d, &w.Hashtags, (*wireDec).hashtag)
		case 1:
			ok = list(d, &w.UserMentions, (*wireDec).mention)
		case 2:
			ok = list(d, &w.Mentions, (*wireDec).mention)
		case 3:
			ok = list(d, &w.URLs, (*wireDec).url)
		case 4:
			ok = list(d, &w.Media, (*wireDec).media)
		}
		return ok
	})
}

func entitiesField(key []byte) int {
	switch string(key) {
	case "hashtags":
		return 0
	case "user_mentions":
		return 1
	case "mentions":
		return 2
	case "urls":
		return 3
	case "media":
		return 4
	}
	return -1
}

func (d *wireDec) mention(w *wireMention) bool {
	return d.object(objMention, func(f int) (ok bool) {
		switch f {
		case 0:
			ok = d.string(&w.IDStr)
		case 1:
			ok = d.unmarshal(&w.ID)
		case 2:
			ok = d.string(&w.ScreenName)
		case 3:
			ok = d.string(&w.Username)
		case 4:
			ok = d.string(&w.Name)
		case 5:
			ok = d.ints(&w.Indices)
		case 6:
			ok = d.intPtr(&w.Start)
		case 7:
			ok = d.intPtr(&w.End)
		}
		return ok
	})
}

func mentionField(key []byte) int {
	switch string(key) {
	case "id_str":
		return 0
	case "id":
		return 1
	case "screen_name":
		return 2
	case "username":
		return 3
	case "name":
		return 4
	case "indices":
		return 5
	case "start":
		return 6
	case "end":
		return 7
	}
	return -1
}

func (d *wireDec) hashtag(w *wireHashtag) bool {
	return d.object(objHashtag, func(f int) (ok bool) {
		switch f {
		case 0:
			ok = d.string(&w.Text)
		case 1:
			ok = d.string(&w.Tag)
		case 2:
			ok = d.ints(&w.Indices)
		case 3:
			ok = d.intPtr(&w.Start)
		case 4:
			ok = d.intPtr(&w.End)
		}
		return ok
	})
}

func hashtagField(key []byte) int {
	switch string(key) {
	case "text":
		return 0
	case "tag":
		return 1
	case "indices":
		return 2
	case "start":
		return 3
	case "end":
		return 4
	}
	return -1
}

func (d *wireDec) url(w *wireURL) bool {
	return d.object(objURL, func(f int) (ok bool) {
		switch f {
		case 0:
			ok = d.string(&w.URL)
		case 1:
			ok = d.string(&w.ExpandedURL)
		case 2:
			ok = d.string(&w.DisplayURL)
		case 3:
			ok = d.ints(&w.Indices)
		case 4:
			ok = d.intPtr(&w.Start)
		case 5:
			ok = d.intPtr(&w.End)
		}
		return ok
	})
}

func urlField(key []byte) int {
	switch string(key) {
	case "url":
		return 0
	case "expanded_url":
		return 1
	case "display_url":
		return 2
	case "indices":
		return 3
	case "start":
		return 4
	case "end":
		return 5
	}
	return -1
}

func (d *wireDec) media(w *wireMedia) bool {
	return d.object(objMedia, func(f int) (ok bool) {
		switch f {
		case 0:
			ok = d.string(&w.IDStr)
		case 1:
			ok = d.unmarshal(&w.ID)
		case 2:
			ok = d.string(&w.Type)
		case 3:
			ok = d.string(&w.MediaURLHTTPS)
		case 4:
			ok = d.string(&w.URL)
		case 5:
			ok = d.string(&w.DisplayURL)
		case 6:
			ok = d.string(&w.ExpandedURL)
		case 7:
			ok = d.ints(&w.Indices)
		}
		return ok
	})
}

func mediaField(key []byte) int {
	switch string(key) {
	case "id_str":
		return 0
	case "id":
		return 1
	case "type":
		return 2
	case "media_url_https":
		return 3
	case "url":
		return 4
	case "display_url":
		return 5
	case "expanded_url":
		return 6
	case "indices":
		return 7
	}
	return -1
}
