package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// decodeReference is Decode as it was before the typed decoder: the body
// read into a map by encoding/json, each known value unmarshalled on its
// own, XAA envelopes found and read the same way. Decode differs from it
// by decision in two ways, so sameResult leaves out the bodies where they
// matter: it matches names case-sensitively, which encoding/json cannot
// be told to do, and it reads every copy of a repeated name, merging
// objects (encoding/json at the top level kept only the last copy, and
// replaced map entries). It is kept for the differential test and the
// comparison benchmark, and shares with Decode only the wire types and
// their conversions, read here through the encoding/json methods below.
func decodeReference(data []byte) (*Payload, error) {
	if err := checkShapeRef(data); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if b, ok := findXAARef(top); ok {
		return decodeXAABodyRef(&b)
	}
	p := &Payload{Source: SourceAAA}
	if err := decodeAAARef(p, top); err != nil {
		return nil, err
	}
	return p, nil
}

// checkShape rejects what is not one JSON object, and nesting deeper than
// MaxDepth, in one pass before any allocation. Syntax errors inside are
// left to encoding/json, which also rejects trailing data.
func checkShapeRef(data []byte) error {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return ErrNotObject
	}
	depth, inString, escaped := 0, false, false
	for ; i < len(data); i++ {
		c := data[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return ErrTooDeep
			}
		case '}', ']':
			depth--
			if depth == 0 {
				// The object ended: only white space may follow.
				for i++; i < len(data); i++ {
					if !isSpace(data[i]) {
						return fmt.Errorf("%w: data after the top-level object", ErrNotObject)
					}
				}
				return nil
			}
		}
	}
	return fmt.Errorf("%w: unexpected end of input", ErrMalformed)
}

func fieldRef(key string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, key, err)
	}
	return nil
}

// decodeAAA fills p from the top-level keys of an Account Activity object.
func decodeAAARef(p *Payload, top map[string]json.RawMessage) error {
	for key, raw := range top {
		var err error
		switch key {
		case kindForUserID:
			var id idString
			err = fieldRef(key, raw, &id)
			p.ForUserID = string(id)
		case kindUserHasBlocked:
			var b flexBool
			err = fieldRef(key, raw, &b)
			p.UserHasBlocked = bool(b)
		case KindTweetCreate:
			var ws []*wireTweet
			if err = fieldRef(key, raw, &ws); err == nil {
				for _, w := range ws {
					if w != nil {
						p.TweetCreateEvents = append(p.TweetCreateEvents, *w.tweet())
					}
				}
			}
		case KindFavorite:
			var ws []wireFavorite
			if err = fieldRef(key, raw, &ws); err == nil {
				for _, w := range ws {
					p.FavoriteEvents = append(p.FavoriteEvents, FavoriteEvent{
						ID: string(w.ID), CreatedAt: w.CreatedAt, TimestampMs: int64(w.TimestampMs),
						FavoritedStatus: w.FavoritedStatus.tweet(), User: w.User.user(),
					})
				}
			}
		case KindFollow:
			p.FollowEvents, err = relationshipsRef(key, raw)
		case KindBlock:
			p.BlockEvents, err = relationshipsRef(key, raw)
		case KindMute:
			p.MuteEvents, err = relationshipsRef(key, raw)
		case KindTweetDelete:
			var ws []wireTweetDelete
			if err = fieldRef(key, raw, &ws); err == nil {
				for _, w := range ws {
					d := TweetDeleteEvent{TweetID: w.Status.IDStr, UserID: w.Status.UserIDStr, TimestampMs: int64(w.TimestampMs)}
					if d.TweetID == "" {
						d.TweetID = string(w.Status.ID)
					}
					if d.UserID == "" {
						d.UserID = string(w.Status.UserID)
					}
					p.TweetDeleteEvents = append(p.TweetDeleteEvents, d)
				}
			}
		case KindUserEvent:
			var w wireUserEvent
			if err = fieldRef(key, raw, &w); err == nil {
				p.UserEvent = &UserEvent{}
				if r := w.Revoke; r != nil {
					p.UserEvent.Revoke = &Revoke{DateTime: r.DateTime, AppID: string(r.Target.AppID), UserID: string(r.Source.UserID)}
				}
			}
		case KindReplayJobStatus:
			var w wireReplayJobStatus
			if err = fieldRef(key, raw, &w); err == nil {
				p.ReplayJobStatus = &ReplayJobStatus{WebhookID: string(w.WebhookID), JobID: string(w.JobID),
					JobState: w.JobState, JobStateDescription: w.JobStateDescription}
			}
		case KindDirectMessage:
			var ws []wireDM
			if err = fieldRef(key, raw, &ws); err == nil {
				for i := range ws {
					p.DirectMessageEvents = append(p.DirectMessageEvents, ws[i].dm())
				}
			}
		case KindDMIndicateTyping:
			p.DirectMessageIndicateTypingEvents, err = dmStatesRef(key, raw)
		case KindDMMarkRead:
			p.DirectMessageMarkReadEvents, err = dmStatesRef(key, raw)
		case kindUsers:
			var ws map[string]*wireUser
			if err = fieldRef(key, raw, &ws); err == nil && len(ws) > 0 {
				p.Users = make(map[string]User, len(ws))
				for id, w := range ws {
					u := w.user()
					if u.ID == "" {
						u.ID = id
					}
					p.Users[id] = u
				}
			}
		case kindApps:
			var ws map[string]wireApp
			if err = fieldRef(key, raw, &ws); err == nil && len(ws) > 0 {
				p.Apps = make(map[string]App, len(ws))
				for id, w := range ws {
					a := App{ID: string(w.ID), Name: w.Name, URL: w.URL}
					if a.ID == "" {
						a.ID = id
					}
					p.Apps[id] = a
				}
			}
		default:
			if p.Unknown == nil {
				p.Unknown = make(map[string]json.RawMessage)
			}
			p.Unknown[key] = raw
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func relationshipsRef(key string, raw json.RawMessage) ([]RelationshipEvent, error) {
	var ws []wireRelationship
	if err := fieldRef(key, raw, &ws); err != nil {
		return nil, err
	}
	out := make([]RelationshipEvent, 0, len(ws))
	for _, w := range ws {
		out = append(out, RelationshipEvent{Type: w.Type, CreatedTimestamp: string(w.CreatedTimestamp),
			Source: w.Source.user(), Target: w.Target.user()})
	}
	return out, nil
}

func dmStatesRef(key string, raw json.RawMessage) ([]DirectMessageState, error) {
	var ws []wireDMState
	if err := fieldRef(key, raw, &ws); err != nil {
		return nil, err
	}
	out := make([]DirectMessageState, 0, len(ws))
	for _, w := range ws {
		out = append(out, DirectMessageState{CreatedTimestamp: string(w.CreatedTimestamp), SenderID: string(w.SenderID),
			RecipientID: string(w.Target.RecipientID), LastReadEventID: string(w.LastReadEventID)})
	}
	return out, nil
}

// xaaBodyRef is an X Activity API delivery found at the top level.
type xaaBodyRef struct {
	envs  []wireXAARef
	array bool                       // "data" was an array
	meta  json.RawMessage            // the "meta" value, nil if none
	extra map[string]json.RawMessage // other top-level keys
}

type wireXAARef struct {
	EventUUID flexString `json:"event_uuid"`
	Filter    struct {
		UserID    idString   `json:"user_id"`
		Direction flexString `json:"direction"`
	} `json:"filter"`
	EventType string          `json:"event_type"`
	Tag       string          `json:"tag"`
	Payload   json.RawMessage `json:"payload"`
	Includes  json.RawMessage `json:"includes"`
}

// aaaKeys are the top-level keys of an Account Activity object.
var aaaKeys = map[string]bool{kindForUserID: true, kindUserHasBlocked: true, KindTweetCreate: true,
	KindFavorite: true, KindFollow: true, KindBlock: true, KindMute: true, KindTweetDelete: true,
	KindUserEvent: true, KindReplayJobStatus: true, KindDirectMessage: true, KindDMIndicateTyping: true,
	KindDMMarkRead: true, kindUsers: true, kindApps: true}

// findXAARef returns the XAA delivery in top, or false when top is not
// one: it has no "data" holding an envelope, or it has an AAA key.
func findXAARef(top map[string]json.RawMessage) (xaaBodyRef, bool) {
	data, ok := top["data"]
	if !ok {
		return xaaBodyRef{}, false
	}
	for key := range top {
		if aaaKeys[key] {
			return xaaBodyRef{}, false
		}
	}
	envs, array, ok := parseEnvelopesRef(data)
	if !ok {
		return xaaBodyRef{}, false
	}
	b := xaaBodyRef{envs: envs, array: array, meta: top["meta"]}
	for key, raw := range top {
		if key != "data" && key != "meta" {
			if b.extra == nil {
				b.extra = map[string]json.RawMessage{}
			}
			b.extra[key] = raw
		}
	}
	return b, true
}

func parseEnvelopesRef(data []byte) (envs []wireXAARef, array, ok bool) {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return nil, false, false
	}
	switch data[0] {
	case '{':
		envs = make([]wireXAARef, 1)
		if json.Unmarshal(data, &envs[0]) != nil || envs[0].EventType == "" {
			return nil, false, false
		}
		return envs, false, true
	case '[':
		if json.Unmarshal(data, &envs) != nil || len(envs) == 0 {
			return nil, false, false
		}
		for i := range envs {
			if envs[i].EventType == "" {
				return nil, false, false
			}
		}
		return envs, true, true
	}
	return nil, false, false
}

func decodeXAABodyRef(b *xaaBodyRef) (*Payload, error) {
	var meta wireMeta
	if b.meta != nil {
		if err := fieldRef("meta", b.meta, &meta); err != nil {
			return nil, err
		}
	}
	p := &Payload{Source: SourceXAA}
	for i := range b.envs {
		env := &b.envs[i]
		x := XAAEnvelope{
			EventUUID: string(env.EventUUID), EventType: env.EventType,
			FilterUserID: string(env.Filter.UserID), FilterDirection: string(env.Filter.Direction),
			Tag: env.Tag, Replay: bool(meta.Replay),
		}
		q := p
		if i > 0 {
			q = &Payload{}
		}
		if err := decodeXAAEventRef(q, env); err != nil {
			return nil, err
		}
		if x.FilterUserID != "" {
			q.ForUserID = x.FilterUserID
		}
		if i == 0 {
			p.XAA = &x
		} else if err := merge(p, q); err != nil {
			return nil, err
		}
		if b.array {
			p.XAAEvents = append(p.XAAEvents, x)
		}
	}
	for k, v := range b.extra {
		if p.Unknown == nil {
			p.Unknown = make(map[string]json.RawMessage, len(b.extra))
		}
		p.Unknown[k] = v
	}
	return p, nil
}

func decodeXAAEventRef(p *Payload, env *wireXAARef) error {
	switch env.EventType {
	case XAAPostMentionCreate, XAAPostReplyCreate, XAAPostQuoteCreate, XAAPostRepostCreate, XAAPostCreate:
		n := len(p.TweetCreateEvents)
		if err := decodeXAAPostRef(p, env); err != nil {
			return err
		}
		for i := n; i < len(p.TweetCreateEvents); i++ {
			p.TweetCreateEvents[i].XAAEventType = env.EventType
		}
	case XAADMReceived, XAADMSent:
		obj, err := readMap(env.Payload)
		if err != nil {
			return err
		}
		return decodeAAARef(p, obj)
	case XAAPostDelete:
		var w wirePostDelete
		if err := fieldRef("payload", env.Payload, &w); err != nil {
			return err
		}
		p.TweetDeleteEvents = append(p.TweetDeleteEvents, TweetDeleteEvent{TweetID: string(w.ID), UserID: string(w.AuthorID)})
	case XAAOAuthRevoke:
		var w wireRevoke
		if err := fieldRef("payload", env.Payload, &w); err != nil {
			return err
		}
		p.UserEvent = &UserEvent{Revoke: &Revoke{DateTime: string(w.DateTime), AppID: string(w.AppID), UserID: string(w.UserID)}}
	case XAAChatReceived, XAAChatSent:
		var w wireChat
		if err := fieldRef("payload", env.Payload, &w); err != nil {
			return err
		}
		p.ChatEvents = append(p.ChatEvents, ChatEvent{EventType: env.EventType, ID: string(w.ID),
			ConversationID: string(w.ConversationID), SenderID: string(w.SenderID),
			CreatedAtMsec: string(w.CreatedAtMsec), Encrypted: bool(w.EncodedEvent)})
	default:
		if p.Unknown == nil {
			p.Unknown = make(map[string]json.RawMessage, 1)
		}
		p.Unknown[env.EventType] = env.Payload
	}
	return nil
}

func decodeXAAPostRef(p *Payload, env *wireXAARef) error {
	obj, err := readMap(env.Payload)
	if err != nil {
		return err
	}
	if _, ok := obj[KindTweetCreate]; ok {
		return decodeAAARef(p, obj)
	}
	_, idStr := obj["id_str"]
	_, user := obj["user"]
	if idStr || user {
		var w wireTweet
		if err := fieldRef("payload", env.Payload, &w); err != nil {
			return err
		}
		p.TweetCreateEvents = append(p.TweetCreateEvents, *w.tweet())
		return nil
	}
	var post wirePost
	if err := fieldRef("payload", env.Payload, &post); err != nil {
		return err
	}
	var inc wireIncludes
	if len(env.Includes) > 0 {
		if err := fieldRef("includes", env.Includes, &inc); err != nil {
			return err
		}
	}
	p.TweetCreateEvents = append(p.TweetCreateEvents, *post.tweet(&inc, true))
	return nil
}

// readMap reads a payload as an object: null has no members; anything
// else that is not an object is an error.
func readMap(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return m, nil
}

// The encoding/json methods of the flexible wire types, as Decode had
// them; Decode itself uses the UnmarshalJSONFrom methods in wire.go.

func (s *idString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = idString(v)
		return nil
	}
	if bytes.Equal(b, []byte("null")) || isJSONNumber(b) {
		return nil
	}
	return fmt.Errorf("id must be a string, got %.20s", b)
}

func (s *flexString) UnmarshalJSON(b []byte) error {
	if isJSONNumber(b) {
		*s = flexString(b)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("want a string or a number: %w", err)
	}
	*s = flexString(v)
	return nil
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch {
	case isLower(b, "true"), isLower(b, `"true"`):
		*f = true
	case isLower(b, "false"), isLower(b, `"false"`), isLower(b, "null"), isLower(b, `""`):
		*f = false
	default:
		return fmt.Errorf("want a boolean, got %.20s", b)
	}
	return nil
}

func (n *flexInt64) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) || bytes.Equal(b, []byte(`""`)) {
		return nil
	}
	s := b
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		s = b[1 : len(b)-1]
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer, got %.24s", b)
	}
	*n = flexInt64(v)
	return nil
}

func (p *presence) UnmarshalJSON(b []byte) error {
	*p = presence(string(b) != "null" && string(b) != `""`)
	return nil
}
