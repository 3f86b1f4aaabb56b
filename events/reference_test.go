package events

import (
	"encoding/json"
	"fmt"
)

// decodeReference is Decode as it was before the single-pass top level
// (commit 0143a78), kept for the differential test and the comparison
// benchmark. It shares the wire types (wire.go) with Decode, so the
// benchmark against it understates the gain by the fast paths there. It
// parses one webhook body: an Account Activity object or an X
// Activity API envelope. Unknown top-level keys are kept in
// Payload.Unknown; unknown fields inside known events are skipped.
func decodeReference(data []byte) (*Payload, error) {
	if err := checkShapeRef(data); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if b, ok := findXAARef(top); ok {
		return decodeXAABody(&b, readMap)
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

// findXAARef is findXAA over a map. The XAA event decoding itself is
// shared with Decode: what differs is how objects are read.
func findXAARef(top map[string]json.RawMessage) (xaaBody, bool) {
	data, ok := top["data"]
	if !ok {
		return xaaBody{}, false
	}
	for key := range top {
		if k := lookupKey([]byte(key)); k != keyUnknown && k != keyData {
			return xaaBody{}, false
		}
	}
	envs, array, ok := parseEnvelopes(data)
	if !ok {
		return xaaBody{}, false
	}
	b := xaaBody{envs: envs, array: array, meta: top["meta"]}
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

type rawObject map[string]json.RawMessage

func (o rawObject) has(key string) bool        { _, ok := o[key]; return ok }
func (o rawObject) decodeAAA(p *Payload) error { return decodeAAARef(p, o) }

func readMap(raw json.RawMessage) (object, error) {
	var m map[string]json.RawMessage
	if err := fieldRef("payload", raw, &m); err != nil {
		return nil, err
	}
	return rawObject(m), nil
}
