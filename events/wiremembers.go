package events

import (
	"bytes"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// wireUserFields is wireUser without its method: the struct as the
// library decodes it by default.
type wireUserFields wireUser

// UnmarshalJSONFrom reads a user object member by member. A v1.1 user
// has about 40 members and wireUser reads 10 of them; the library looks
// each unknown name up twice, exactly and then case-folded, which made a
// tweet's user a fifth of its decode. Here a name is matched by a switch
// and an unknown one skipped at once; each known member's value is still
// decoded by the library (or by its field type's own method), so every
// other rule is the library's: names match exactly after unescaping, a
// repeated member is read again into the same field (an object merging),
// and a value that is not an object (null included) is decoded by the
// library as the struct without this method.
func (u *wireUser) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return readMembers(dec, (*wireUserFields)(u), func(name []byte) (bool, error) {
		switch string(name) {
		case "id":
			return true, u.ID.UnmarshalJSONFrom(dec)
		case "id_str":
			return true, json.UnmarshalDecode(dec, &u.IDStr)
		case "screen_name":
			return true, json.UnmarshalDecode(dec, &u.ScreenName)
		case "username":
			return true, json.UnmarshalDecode(dec, &u.Username)
		case "name":
			return true, json.UnmarshalDecode(dec, &u.Name)
		case "protected":
			return true, u.Protected.UnmarshalJSONFrom(dec)
		case "verified":
			return true, u.Verified.UnmarshalJSONFrom(dec)
		case "profile_image_url_https":
			return true, json.UnmarshalDecode(dec, &u.ProfileImageURLHTTPS)
		case "profile_image_url":
			return true, json.UnmarshalDecode(dec, &u.ProfileImageURL)
		case "data":
			return true, json.UnmarshalDecode(dec, &u.Data)
		default:
			return false, nil
		}
	})
}

// readMembers is the member loop of wireUser's and wireTweet's
// UnmarshalJSONFrom: an object is read member by member, member decoding
// the value of a name it knows (and reporting true) and every other value
// skipped; anything else (null included) is decoded by the library into
// fields, the struct without the method.
func readMembers(dec *jsontext.Decoder, fields any, member func(name []byte) (bool, error)) error {
	if dec.PeekKind() != '{' {
		return json.UnmarshalDecode(dec, fields)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		known, err := member(memberName(raw))
		if err == nil && !known {
			err = dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// memberName returns the name an object member's raw, quoted name token
// spells: its bytes between the quotes, or unescaped where it has an
// escape. A name that does not unescape (invalid UTF-8) matches nothing.
func memberName(raw []byte) []byte {
	if len(raw) < 2 {
		return nil
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	name, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return nil
	}
	return name
}

// readObject reads a member whose value is a pointer to a type with its
// own member loop: an object is read into the value *p points to (new if
// nil), as the library's pointer decoding does; anything else is decoded
// by the library.
func readObject[T any, P interface {
	*T
	json.UnmarshalerFrom
}](dec *jsontext.Decoder, p **T) error {
	if dec.PeekKind() != '{' {
		return json.UnmarshalDecode(dec, p)
	}
	if *p == nil {
		*p = new(T)
	}
	return P(*p).UnmarshalJSONFrom(dec)
}

// wireTweetFields is wireTweet without its method.
type wireTweetFields wireTweet

// UnmarshalJSONFrom reads a tweet object member by member, for the same
// reason and by the same rules as wireUser's: a v1.1 tweet has about 15
// members that wireTweet does not read.
func (w *wireTweet) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return readMembers(dec, (*wireTweetFields)(w), func(name []byte) (bool, error) {
		switch string(name) {
		case "id_str":
			return true, json.UnmarshalDecode(dec, &w.IDStr)
		case "created_at":
			return true, json.UnmarshalDecode(dec, &w.CreatedAt)
		case "timestamp_ms":
			return true, w.TimestampMs.UnmarshalJSONFrom(dec)
		case "text":
			return true, json.UnmarshalDecode(dec, &w.Text)
		case "full_text":
			return true, json.UnmarshalDecode(dec, &w.FullText)
		case "truncated":
			return true, w.Truncated.UnmarshalJSONFrom(dec)
		case "display_text_range":
			return true, json.UnmarshalDecode(dec, &w.DisplayTextRange)
		case "extended_tweet":
			return true, json.UnmarshalDecode(dec, &w.ExtendedTweet)
		case "user":
			return true, readObject(dec, &w.User)
		case "in_reply_to_status_id_str":
			return true, json.UnmarshalDecode(dec, &w.InReplyToStatusIDStr)
		case "in_reply_to_user_id_str":
			return true, json.UnmarshalDecode(dec, &w.InReplyToUserIDStr)
		case "in_reply_to_screen_name":
			return true, json.UnmarshalDecode(dec, &w.InReplyToScreenName)
		case "entities":
			return true, json.UnmarshalDecode(dec, &w.Entities)
		case "extended_entities":
			return true, json.UnmarshalDecode(dec, &w.ExtendedEntities)
		case "is_quote_status":
			return true, w.IsQuoteStatus.UnmarshalJSONFrom(dec)
		case "quoted_status_id_str":
			return true, json.UnmarshalDecode(dec, &w.QuotedStatusIDStr)
		case "quoted_status":
			return true, readObject(dec, &w.QuotedStatus)
		case "retweeted_status":
			return true, readObject(dec, &w.RetweetedStatus)
		case "lang":
			return true, json.UnmarshalDecode(dec, &w.Lang)
		case "source":
			return true, json.UnmarshalDecode(dec, &w.Source)
		case "possibly_sensitive":
			return true, w.PossiblySensitive.UnmarshalJSONFrom(dec)
		default:
			return false, nil
		}
	})
}
