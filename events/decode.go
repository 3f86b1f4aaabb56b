package events

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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

// decodeOptions are the rules of every unmarshal in this package, spelled
// out rather than left to the defaults:
//
//   - Of a repeated member name the last copy wins: each copy is read
//     into the same field (so each must have the right type), a JSON
//     object merging into what the earlier copy left and any other value
//     replacing it; a top-level kind is replaced whole. X never repeats a
//     name, and the signature check before Decode makes the bytes X's, so
//     no second reader of them can see other values; refusing repeats
//     would cost about a sixth of a tweet's decode.
//   - Names match field tags exactly, case included, as X writes them;
//     "ID_STR" is an unknown member, not id_str.
//   - Unknown members are skipped (kept in Payload.Unknown at the top
//     level), so a field X adds never breaks a bot.
//   - Invalid UTF-8 in a string is read as U+FFFD, as encoding/json does,
//     rather than failing the whole delivery.
var decodeOptions = json.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(false),
	jsontext.AllowInvalidUTF8(true),
)

// unmarshal reads raw into v with decodeOptions; key names the value in
// the error.
func unmarshal(key string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v, decodeOptions); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, key, err)
	}
	return nil
}

// Decode parses one webhook body, or one line of the X Activity API
// stream: an Account Activity object or an X Activity API envelope.
// Unknown top-level keys are kept in Payload.Unknown; unknown fields
// inside known events are skipped.
//
// The body is read in one typed unmarshal into wireBody; an XAA delivery
// then has its envelopes and their payloads read by type. Only the depth
// is checked before, and only when the body has enough brackets to be
// too deep.
func Decode(data []byte) (*Payload, error) {
	if err := preCheck(data); err != nil {
		return nil, err
	}
	var w wireBody
	if err := json.Unmarshal(data, &w, decodeOptions); err != nil {
		// Classify as checkShape does: not one object, too deep, else
		// malformed.
		if shapeErr := checkShape(data); shapeErr != nil {
			return nil, shapeErr
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if w.Data != nil && !w.hasAAAKey() {
		if envs, array, ok := parseEnvelopes(w.Data); ok {
			return decodeXAA(envs, array, w.Meta, w.Unknown)
		}
	}
	p := &Payload{Source: SourceAAA}
	w.fill(p)
	return p, nil
}

// preCheck rejects a body that does not start with '{' and, where the
// body has more than MaxDepth brackets in all (counted fast, strings
// included), one that nests deeper than MaxDepth. Fewer brackets than
// that cannot nest too deeply, so most bodies skip the scan.
func preCheck(data []byte) error {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return ErrNotObject
	}
	if bytes.Count(data, []byte{'{'})+bytes.Count(data, []byte{'['}) <= MaxDepth {
		return nil
	}
	return checkShape(data)
}

// checkShape classifies a body: not one JSON object, or nesting deeper
// than MaxDepth, found by a bracket count that skips strings; nil leaves
// the verdict (valid or malformed) to the decoder.
func checkShape(data []byte) error {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return ErrNotObject
	}
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			end, ok := stringEnd(data, i)
			if !ok {
				return fmt.Errorf("%w: unexpected end of input", ErrMalformed)
			}
			i = end
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

// stringEnd returns the index of the quote that closes the string opened
// at data[open]: the next quote not escaped by an odd run of backslashes.
func stringEnd(data []byte, open int) (int, bool) {
	for i := open + 1; ; i++ {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			return 0, false
		}
		i += j
		n := 0
		for k := i - 1; data[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return i, true
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// wireBody is a whole body: the members of an Account Activity object,
// and data and meta, which hold an X Activity API delivery when the body
// has no Account Activity key. The tags are the Kind constants.
type wireBody struct {
	ForUserID        seen[idString]             `json:"for_user_id"`
	UserHasBlocked   seen[flexBool]             `json:"user_has_blocked"`
	TweetCreate      seen[[]*wireTweet]         `json:"tweet_create_events"`
	Favorite         seen[[]wireFavorite]       `json:"favorite_events"`
	Follow           seen[[]wireRelationship]   `json:"follow_events"`
	Block            seen[[]wireRelationship]   `json:"block_events"`
	Mute             seen[[]wireRelationship]   `json:"mute_events"`
	TweetDelete      seen[[]wireTweetDelete]    `json:"tweet_delete_events"`
	UserEvent        seen[wireUserEvent]        `json:"user_event"`
	ReplayJobStatus  seen[wireReplayJobStatus]  `json:"replay_job_status"`
	DirectMessage    seen[[]wireDM]             `json:"direct_message_events"`
	DMIndicateTyping seen[[]wireDMState]        `json:"direct_message_indicate_typing_events"`
	DMMarkRead       seen[[]wireDMState]        `json:"direct_message_mark_read_events"`
	Users            seen[map[string]*wireUser] `json:"users"`
	Apps             seen[map[string]wireApp]   `json:"apps"`

	Data    jsontext.Value            `json:"data"`
	Meta    jsontext.Value            `json:"meta"`
	Unknown map[string]jsontext.Value `json:",embed"`
}

// hasAAAKey reports whether w had an Account Activity member, null or not.
func (w *wireBody) hasAAAKey() bool {
	return w.ForUserID.set || w.UserHasBlocked.set || w.TweetCreate.set || w.Favorite.set ||
		w.Follow.set || w.Block.set || w.Mute.set || w.TweetDelete.set || w.UserEvent.set ||
		w.ReplayJobStatus.set || w.DirectMessage.set || w.DMIndicateTyping.set ||
		w.DMMarkRead.set || w.Users.set || w.Apps.set
}

// fill sets the fields of p from w read as an Account Activity object:
// data and meta, outside an envelope, are unknown keys like any other.
func (w *wireBody) fill(p *Payload) {
	if w.ForUserID.set {
		p.ForUserID = string(w.ForUserID.v)
	}
	if w.UserHasBlocked.set {
		p.UserHasBlocked = bool(w.UserHasBlocked.v)
	}
	for _, t := range w.TweetCreate.v {
		if t != nil {
			p.TweetCreateEvents = append(p.TweetCreateEvents, *t.tweet())
		}
	}
	for _, f := range w.Favorite.v {
		p.FavoriteEvents = append(p.FavoriteEvents, FavoriteEvent{
			ID: string(f.ID), CreatedAt: f.CreatedAt, TimestampMs: int64(f.TimestampMs),
			FavoritedStatus: f.FavoritedStatus.tweet(), User: f.User.user(),
		})
	}
	if w.Follow.set {
		p.FollowEvents = relationships(w.Follow.v)
	}
	if w.Block.set {
		p.BlockEvents = relationships(w.Block.v)
	}
	if w.Mute.set {
		p.MuteEvents = relationships(w.Mute.v)
	}
	for _, d := range w.TweetDelete.v {
		e := TweetDeleteEvent{TweetID: d.Status.IDStr, UserID: d.Status.UserIDStr, TimestampMs: int64(d.TimestampMs)}
		if e.TweetID == "" {
			e.TweetID = string(d.Status.ID)
		}
		if e.UserID == "" {
			e.UserID = string(d.Status.UserID)
		}
		p.TweetDeleteEvents = append(p.TweetDeleteEvents, e)
	}
	if w.UserEvent.set {
		p.UserEvent = &UserEvent{}
		if r := w.UserEvent.v.Revoke; r != nil {
			p.UserEvent.Revoke = &Revoke{DateTime: r.DateTime, AppID: string(r.Target.AppID), UserID: string(r.Source.UserID)}
		}
	}
	if r := &w.ReplayJobStatus.v; w.ReplayJobStatus.set {
		p.ReplayJobStatus = &ReplayJobStatus{WebhookID: string(r.WebhookID), JobID: string(r.JobID),
			JobState: r.JobState, JobStateDescription: r.JobStateDescription}
	}
	for i := range w.DirectMessage.v {
		p.DirectMessageEvents = append(p.DirectMessageEvents, w.DirectMessage.v[i].dm())
	}
	if w.DMIndicateTyping.set {
		p.DirectMessageIndicateTypingEvents = dmStates(w.DMIndicateTyping.v)
	}
	if w.DMMarkRead.set {
		p.DirectMessageMarkReadEvents = dmStates(w.DMMarkRead.v)
	}
	if us := w.Users.v; len(us) > 0 {
		p.Users = make(map[string]User, len(us))
		for id, wu := range us {
			u := wu.user()
			if u.ID == "" {
				u.ID = id
			}
			p.Users[id] = u
		}
	}
	if as := w.Apps.v; len(as) > 0 {
		p.Apps = make(map[string]App, len(as))
		for id, wa := range as {
			a := App{ID: string(wa.ID), Name: wa.Name, URL: wa.URL}
			if a.ID == "" {
				a.ID = id
			}
			p.Apps[id] = a
		}
	}
	addUnknown(p, "data", w.Data)
	addUnknown(p, "meta", w.Meta)
	for k, v := range w.Unknown {
		addUnknown(p, k, v)
	}
}

// addUnknown keeps raw, if present, under key in p.Unknown.
func addUnknown(p *Payload, key string, raw jsontext.Value) {
	if raw == nil {
		return
	}
	if p.Unknown == nil {
		p.Unknown = make(map[string]stdjson.RawMessage)
	}
	p.Unknown[key] = stdjson.RawMessage(raw)
}

func relationships(ws []wireRelationship) []RelationshipEvent {
	out := make([]RelationshipEvent, 0, len(ws))
	for _, w := range ws {
		out = append(out, RelationshipEvent{Type: w.Type, CreatedTimestamp: string(w.CreatedTimestamp),
			Source: w.Source.user(), Target: w.Target.user()})
	}
	return out
}

func dmStates(ws []wireDMState) []DirectMessageState {
	out := make([]DirectMessageState, 0, len(ws))
	for _, w := range ws {
		out = append(out, DirectMessageState{CreatedTimestamp: string(w.CreatedTimestamp), SenderID: string(w.SenderID),
			RecipientID: string(w.Target.RecipientID), LastReadEventID: string(w.LastReadEventID)})
	}
	return out
}
