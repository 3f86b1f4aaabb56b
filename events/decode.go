package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// MaxDepth is the deepest nesting of objects and arrays Decode accepts.
// Real payloads (a retweet of a quote with media) stay under 20.
const MaxDepth = 64

// Errors returned by Decode; the handler answers 400 for each of them.
var (
	// ErrNotObject: the body is not a single JSON object.
	ErrNotObject = errors.New("events: payload is not a JSON object")
	// ErrMalformed: the body is not valid JSON, has trailing data, or a
	// known field has the wrong type.
	ErrMalformed = errors.New("events: malformed payload")
	// ErrTooDeep: objects and arrays nest deeper than MaxDepth.
	ErrTooDeep = errors.New("events: payload nested too deeply")
)

// Decode parses one webhook body, or one line of the X Activity API
// stream: an Account Activity object or an X Activity API envelope. Unknown top-level keys are kept in
// Payload.Unknown; unknown fields inside known events are skipped.
//
// The top level is read by hand in one pass (see scanObject) that also
// validates the whole body and its depth; only the values of known kinds
// go through encoding/json, each once, into wire types.
func Decode(data []byte) (*Payload, error) {
	var buf [8]member
	top, err := scanObject(data, buf[:0])
	if err != nil {
		// Classify as before: checkShape's verdict first, else malformed.
		if shapeErr := checkShape(data); shapeErr != nil {
			return nil, shapeErr
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := nameMembers(top); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if b, ok := findXAA(top); ok {
		return decodeXAABody(&b, readMembers)
	}
	p := &Payload{Source: SourceAAA}
	if err := decodeAAA(p, top); err != nil {
		return nil, err
	}
	return p, nil
}

// checkShape classifies a body that scanObject rejected, as Decode did
// before it had scanObject: not one JSON object, or nesting deeper than
// MaxDepth, found by a naive bracket count; nil leaves the verdict
// (malformed) to the caller.
func checkShape(data []byte) error {
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

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func field(key string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, key, err)
	}
	return nil
}

// decodeAAA fills p from the members of an Account Activity object,
// named by nameMembers. A repeated key counts once, with its last value,
// as it would in a map.
func decodeAAA(p *Payload, top []member) error {
	var last [numKeys]int // index+1 of the last member of each kind
	for i := range top {
		last[top[i].kind] = i + 1
	}
	for i := range top {
		m := &top[i]
		if m.kind != keyUnknown && last[m.kind] != i+1 {
			continue
		}
		key, raw := m.kind.String(), m.value // key is for error texts
		var err error
		switch m.kind {
		case keyForUserID:
			// raw is valid JSON (scanObject), so the method alone does
			// what json.Unmarshal would.
			var id idString
			if err = id.UnmarshalJSON(raw); err != nil {
				err = fmt.Errorf("%w: %s: %v", ErrMalformed, key, err)
			}
			p.ForUserID = string(id)
		case keyUserHasBlocked:
			var b flexBool
			if err = b.UnmarshalJSON(raw); err != nil {
				err = fmt.Errorf("%w: %s: %v", ErrMalformed, key, err)
			}
			p.UserHasBlocked = bool(b)
		case keyTweetCreate:
			ws, ok := fastTweets(raw)
			if !ok {
				ws = nil
				err = field(key, raw, &ws)
			}
			if err == nil {
				for _, w := range ws {
					if w != nil {
						p.TweetCreateEvents = append(p.TweetCreateEvents, *w.tweet())
					}
				}
			}
		case keyFavorite:
			var ws []wireFavorite
			if err = field(key, raw, &ws); err == nil {
				for _, w := range ws {
					p.FavoriteEvents = append(p.FavoriteEvents, FavoriteEvent{
						ID: string(w.ID), CreatedAt: w.CreatedAt, TimestampMs: int64(w.TimestampMs),
						FavoritedStatus: w.FavoritedStatus.tweet(), User: w.User.user(),
					})
				}
			}
		case keyFollow:
			p.FollowEvents, err = relationships(key, raw)
		case keyBlock:
			p.BlockEvents, err = relationships(key, raw)
		case keyMute:
			p.MuteEvents, err = relationships(key, raw)
		case keyTweetDelete:
			var ws []wireTweetDelete
			if err = field(key, raw, &ws); err == nil {
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
		case keyUserEvent:
			var w wireUserEvent
			if err = field(key, raw, &w); err == nil {
				p.UserEvent = &UserEvent{}
				if r := w.Revoke; r != nil {
					p.UserEvent.Revoke = &Revoke{DateTime: r.DateTime, AppID: string(r.Target.AppID), UserID: string(r.Source.UserID)}
				}
			}
		case keyReplayJobStatus:
			var w wireReplayJobStatus
			if err = field(key, raw, &w); err == nil {
				p.ReplayJobStatus = &ReplayJobStatus{WebhookID: string(w.WebhookID), JobID: string(w.JobID),
					JobState: w.JobState, JobStateDescription: w.JobStateDescription}
			}
		case keyDirectMessage:
			var ws []wireDM
			if err = field(key, raw, &ws); err == nil {
				for i := range ws {
					p.DirectMessageEvents = append(p.DirectMessageEvents, ws[i].dm())
				}
			}
		case keyDMIndicateTyping:
			p.DirectMessageIndicateTypingEvents, err = dmStates(key, raw)
		case keyDMMarkRead:
			p.DirectMessageMarkReadEvents, err = dmStates(key, raw)
		case keyUsers:
			var ws map[string]*wireUser
			if err = field(key, raw, &ws); err == nil && len(ws) > 0 {
				p.Users = make(map[string]User, len(ws))
				for id, w := range ws {
					u := w.user()
					if u.ID == "" {
						u.ID = id
					}
					p.Users[id] = u
				}
			}
		case keyApps:
			var ws map[string]wireApp
			if err = field(key, raw, &ws); err == nil && len(ws) > 0 {
				p.Apps = make(map[string]App, len(ws))
				for id, w := range ws {
					a := App{ID: string(w.ID), Name: w.Name, URL: w.URL}
					if a.ID == "" {
						a.ID = id
					}
					p.Apps[id] = a
				}
			}
		default: // keyUnknown, and keyData outside an envelope
			if p.Unknown == nil {
				p.Unknown = make(map[string]json.RawMessage)
			}
			p.Unknown[m.keyString()] = append(json.RawMessage(nil), raw...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func relationships(key string, raw json.RawMessage) ([]RelationshipEvent, error) {
	var ws []wireRelationship
	if err := field(key, raw, &ws); err != nil {
		return nil, err
	}
	out := make([]RelationshipEvent, 0, len(ws))
	for _, w := range ws {
		out = append(out, RelationshipEvent{Type: w.Type, CreatedTimestamp: string(w.CreatedTimestamp),
			Source: w.Source.user(), Target: w.Target.user()})
	}
	return out, nil
}

func dmStates(key string, raw json.RawMessage) ([]DirectMessageState, error) {
	var ws []wireDMState
	if err := field(key, raw, &ws); err != nil {
		return nil, err
	}
	out := make([]DirectMessageState, 0, len(ws))
	for _, w := range ws {
		out = append(out, DirectMessageState{CreatedTimestamp: string(w.CreatedTimestamp), SenderID: string(w.SenderID),
			RecipientID: string(w.Target.RecipientID), LastReadEventID: string(w.LastReadEventID)})
	}
	return out, nil
}
