package events

import (
	stdjson "encoding/json"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// X Activity API event types that Decode maps onto typed fields. Other
// event types are kept raw in Payload.Unknown under their event type.
const (
	// Posts (payload: a v2 Post) become TweetCreateEvents, each carrying
	// its event type in Tweet.XAAEventType.
	XAAPostMentionCreate = "post.mention.create" // a post @mentions the filtered user
	XAAPostReplyCreate   = "post.reply.create"   // a direct reply to the filtered user's post
	XAAPostQuoteCreate   = "post.quote.create"   // a quote of the filtered user's post
	XAAPostRepostCreate  = "post.repost.create"  // a repost of the filtered user's post
	XAAPostCreate        = "post.create"         // the filtered user's own post
	// XAAPostDelete becomes a TweetDeleteEvent.
	XAAPostDelete = "post.delete"
	// Legacy DMs (payload: direct_message_events plus a users map)
	// become DirectMessageEvents.
	XAADMReceived = "dm.received"
	XAADMSent     = "dm.sent"
	// XChat events become ChatEvents (without their ciphertext).
	XAAChatReceived = "chat.received"
	XAAChatSent     = "chat.sent"
	// XAAOAuthRevoke becomes UserEvent.Revoke, as AAA's user_event did.
	XAAOAuthRevoke = "oauth.revoke"
)

type wireXAA struct {
	EventUUID flexString `json:"event_uuid"`
	Filter    struct {
		UserID    idString   `json:"user_id"`
		Direction flexString `json:"direction"`
	} `json:"filter"`
	EventType string `json:"event_type"`
	Tag       string `json:"tag"`
	// The payload's type depends on event_type, which may come after it;
	// includes matter only to posts. Both are read once the type is known.
	Payload  jsontext.Value `json:"payload"`
	Includes jsontext.Value `json:"includes"`
}

type wireMeta struct {
	Replay flexBool `json:"replay"`
}

type wireRef struct {
	Type string   `json:"type"` // replied_to, quoted, retweeted
	ID   idString `json:"id"`
}

// wirePost is a v2 Post object, the payload of post.* XAA events. X's
// samples name two fields referenced_tweets and edit_history_tweet_ids,
// its OpenAPI schema referenced_posts and edit_history_post_ids; both
// reference lists are read (edit history is not needed).
type wirePost struct {
	ID                idString      `json:"id"`
	Text              string        `json:"text"`
	AuthorID          idString      `json:"author_id"`
	CreatedAt         string        `json:"created_at"`
	InReplyToUserID   idString      `json:"in_reply_to_user_id"`
	InReplyToTweetID  idString      `json:"in_reply_to_tweet_id"`
	DisplayTextRange  []int         `json:"display_text_range"`
	Entities          *wireEntities `json:"entities"`
	Lang              string        `json:"lang"`
	PossiblySensitive flexBool      `json:"possibly_sensitive"`
	ReferencedTweets  []wireRef     `json:"referenced_tweets"`
	ReferencedPosts   []wireRef     `json:"referenced_posts"`
	NoteTweet         *struct {
		Text     string        `json:"text"`
		Entities *wireEntities `json:"entities"`
	} `json:"note_tweet"`
}

// wirePostPayload is the payload of a post event read as the v2 Post X
// documents, noting the members that mark the older shapes it may also
// have (see decodeXAAPost) without reading them.
type wirePostPayload struct {
	wirePost
	wirePostShape
}

// wirePostShape notes the members of a post payload that mark an older
// shape than the v2 Post.
type wirePostShape struct {
	IDStr       mark `json:"id_str"`
	User        mark `json:"user"`
	TweetCreate mark `json:"tweet_create_events"`
}

func (s *wirePostShape) legacy() bool { return bool(s.IDStr || s.User || s.TweetCreate) }

// mark records that a member was present, and skips its value.
type mark bool

func (m *mark) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*m = true
	return dec.SkipValue()
}

// wireIncludes are the expansions of a post event: users flat or wrapped
// in {"data":…}, posts under "tweets" (samples) or "posts" (OpenAPI).
type wireIncludes struct {
	Users  []*wireUser `json:"users"`
	Tweets []*wirePost `json:"tweets"`
	Posts  []*wirePost `json:"posts"`
}

// wirePostDelete is the payload of post.delete.
type wirePostDelete struct {
	ID       idString `json:"id"`
	AuthorID idString `json:"author_id"`
}

// wireRevoke is the payload of oauth.revoke.
type wireRevoke struct {
	DateTime flexString `json:"date_time"`
	UserID   idString   `json:"user_id"`
	AppID    flexString `json:"app_id"`
}

// wireChat is the payload of chat.received and chat.sent. The encrypted
// members are only checked for presence: the ciphertext is never copied.
type wireChat struct {
	ID             flexString `json:"id"`
	ConversationID flexString `json:"conversation_id"`
	SenderID       idString   `json:"sender_id"`
	CreatedAtMsec  flexString `json:"created_at_msec"`
	EncodedEvent   presence   `json:"encoded_event"`
}

// presence records whether a member holds something other than null or
// "", without keeping the value.
type presence bool

func (p *presence) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	b, err := dec.ReadValue()
	*p = presence(string(b) != "null" && string(b) != `""`)
	return err
}

// parseEnvelopes reads the value of "data": one envelope, or an array of
// them (array true). ok is false when it is neither, or when an envelope
// lacks an event_type, so that the body is read as AAA (keeping "data" as
// an unknown key) rather than half as XAA.
func parseEnvelopes(data []byte) (envs []wireXAA, array, ok bool) {
	switch data[0] { // a value as the decoder returned it: no leading space
	case '{':
		envs = make([]wireXAA, 1)
		if json.Unmarshal(data, &envs[0], decodeOptions) != nil || envs[0].EventType == "" {
			return nil, false, false
		}
		return envs, false, true
	case '[':
		if json.Unmarshal(data, &envs, decodeOptions) != nil || len(envs) == 0 {
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

// decodeXAA decodes each envelope and merges them into one Payload.
// ForUserID is the filter's user id; an array whose envelopes name
// different filter users is ErrMalformed, as one Payload cannot say whom
// each event is for. meta gives Replay; extra (the other top-level
// members) goes to Payload.Unknown.
func decodeXAA(envs []wireXAA, array bool, metaRaw jsontext.Value, extra map[string]jsontext.Value) (*Payload, error) {
	var meta wireMeta
	if metaRaw != nil {
		if err := unmarshal("meta", metaRaw, &meta); err != nil {
			return nil, err
		}
	}
	p := &Payload{Source: SourceXAA}
	for i := range envs {
		env := &envs[i]
		x := XAAEnvelope{
			EventUUID: string(env.EventUUID), EventType: env.EventType,
			FilterUserID: string(env.Filter.UserID), FilterDirection: string(env.Filter.Direction),
			Tag: env.Tag, Replay: bool(meta.Replay),
		}
		q := p
		if i > 0 {
			q = &Payload{}
		}
		if err := decodeXAAEvent(q, env); err != nil {
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
		if array {
			p.XAAEvents = append(p.XAAEvents, x)
		}
	}
	for k, v := range extra {
		addUnknown(p, k, v)
	}
	return p, nil
}

// decodeXAAEvent decodes the payload of one envelope into p.
func decodeXAAEvent(p *Payload, env *wireXAA) error {
	switch env.EventType {
	case XAAPostMentionCreate, XAAPostReplyCreate, XAAPostQuoteCreate, XAAPostRepostCreate, XAAPostCreate:
		n := len(p.TweetCreateEvents)
		if err := decodeXAAPost(p, env); err != nil {
			return err
		}
		for i := n; i < len(p.TweetCreateEvents); i++ {
			p.TweetCreateEvents[i].XAAEventType = env.EventType
		}
	case XAADMReceived, XAADMSent:
		return decodeAAAPayload(p, env.Payload)
	case XAAPostDelete:
		var w wirePostDelete
		if err := unmarshal("payload", env.Payload, &w); err != nil {
			return err
		}
		p.TweetDeleteEvents = append(p.TweetDeleteEvents, TweetDeleteEvent{TweetID: string(w.ID), UserID: string(w.AuthorID)})
	case XAAOAuthRevoke:
		var w wireRevoke
		if err := unmarshal("payload", env.Payload, &w); err != nil {
			return err
		}
		p.UserEvent = &UserEvent{Revoke: &Revoke{DateTime: string(w.DateTime), AppID: string(w.AppID), UserID: string(w.UserID)}}
	case XAAChatReceived, XAAChatSent:
		var w wireChat
		if err := unmarshal("payload", env.Payload, &w); err != nil {
			return err
		}
		p.ChatEvents = append(p.ChatEvents, ChatEvent{EventType: env.EventType, ID: string(w.ID),
			ConversationID: string(w.ConversationID), SenderID: string(w.SenderID),
			CreatedAtMsec: string(w.CreatedAtMsec), Encrypted: bool(w.EncodedEvent)})
	default:
		if p.Unknown == nil {
			p.Unknown = make(map[string]stdjson.RawMessage, 1)
		}
		p.Unknown[env.EventType] = stdjson.RawMessage(env.Payload)
	}
	return nil
}

// decodeAAAPayload reads raw, an envelope's payload, as an Account
// Activity object into p. The payload must be an object (or null).
func decodeAAAPayload(p *Payload, raw jsontext.Value) error {
	if err := isObject(raw); err != nil {
		return err
	}
	var w wireBody
	if err := unmarshal("payload", raw, &w); err != nil {
		return err
	}
	w.fill(p)
	return nil
}

// isObject checks that raw, a payload, is an object or null.
func isObject(raw jsontext.Value) error {
	if k := raw.Kind(); k != '{' && k != 'n' {
		return fmt.Errorf("%w: payload: not an object", ErrMalformed)
	}
	return nil
}

// merge appends the events of q to p (the later envelopes of an array).
func merge(p, q *Payload) error {
	if q.ForUserID != "" {
		if p.ForUserID != "" && p.ForUserID != q.ForUserID {
			return fmt.Errorf("%w: data: envelopes for different filter users", ErrMalformed)
		}
		p.ForUserID = q.ForUserID
	}
	p.UserHasBlocked = p.UserHasBlocked || q.UserHasBlocked
	p.TweetCreateEvents = append(p.TweetCreateEvents, q.TweetCreateEvents...)
	p.FavoriteEvents = append(p.FavoriteEvents, q.FavoriteEvents...)
	p.FollowEvents = append(p.FollowEvents, q.FollowEvents...)
	p.BlockEvents = append(p.BlockEvents, q.BlockEvents...)
	p.MuteEvents = append(p.MuteEvents, q.MuteEvents...)
	p.TweetDeleteEvents = append(p.TweetDeleteEvents, q.TweetDeleteEvents...)
	if q.UserEvent != nil {
		p.UserEvent = q.UserEvent
	}
	if q.ReplayJobStatus != nil {
		p.ReplayJobStatus = q.ReplayJobStatus
	}
	p.DirectMessageEvents = append(p.DirectMessageEvents, q.DirectMessageEvents...)
	p.DirectMessageIndicateTypingEvents = append(p.DirectMessageIndicateTypingEvents, q.DirectMessageIndicateTypingEvents...)
	p.DirectMessageMarkReadEvents = append(p.DirectMessageMarkReadEvents, q.DirectMessageMarkReadEvents...)
	p.ChatEvents = append(p.ChatEvents, q.ChatEvents...)
	p.Users = mergeMap(p.Users, q.Users)
	p.Apps = mergeMap(p.Apps, q.Apps)
	p.Unknown = mergeMap(p.Unknown, q.Unknown)
	return nil
}

func mergeMap[V any](dst, src map[string]V) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]V, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// decodeXAAPost accepts a v2 Post payload (what X documents), a v1.1 Tweet
// payload (one with id_str or user), or an AAA-style
// {"tweet_create_events":[...]} payload. The first is read in one pass;
// a marker of another shape sends the payload to its own reader.
func decodeXAAPost(p *Payload, env *wireXAA) error {
	if err := isObject(env.Payload); err != nil {
		return err
	}
	var post wirePostPayload
	err := unmarshal("payload", env.Payload, &post)
	if err != nil || post.legacy() {
		// A v2 read that failed may be an older shape that reads well.
		var shape wirePostShape
		if unmarshal("payload", env.Payload, &shape) == nil {
			switch {
			case bool(shape.TweetCreate):
				return decodeAAAPayload(p, env.Payload)
			case shape.legacy():
				var w wireTweet
				if err := unmarshal("payload", env.Payload, &w); err != nil {
					return err
				}
				p.TweetCreateEvents = append(p.TweetCreateEvents, *w.tweet())
				return nil
			}
		}
		if err != nil {
			return err
		}
	}
	var inc wireIncludes
	if env.Includes != nil {
		if err := unmarshal("includes", env.Includes, &inc); err != nil {
			return err
		}
	}
	p.TweetCreateEvents = append(p.TweetCreateEvents, *post.tweet(&inc, true))
	return nil
}

// tweet converts a v2 post; users and referenced posts are looked up in
// inc. Referenced posts are expanded one level only.
func (w *wirePost) tweet(inc *wireIncludes, expand bool) *Tweet {
	t := &Tweet{
		ID:                string(w.ID),
		Text:              w.Text,
		DisplayTextRange:  w.DisplayTextRange,
		InReplyToUserID:   string(w.InReplyToUserID),
		Entities:          w.Entities.entities(),
		Lang:              w.Lang,
		PossiblySensitive: bool(w.PossiblySensitive),
		User:              User{ID: string(w.AuthorID)},
		CreatedAt:         w.CreatedAt,
	}
	if ts, err := time.Parse(time.RFC3339, w.CreatedAt); err == nil {
		t.CreatedAt = ts.UTC().Format(time.RubyDate)
		t.TimestampMs = ts.UnixMilli()
	}
	if u := inc.user(t.User.ID); u != nil {
		t.User = *u
	}
	if u := inc.user(t.InReplyToUserID); u != nil {
		t.InReplyToScreenName = u.ScreenName
	}
	if n := w.NoteTweet; n != nil && n.Text != "" {
		t.Truncated = true
		t.ExtendedTweet = &ExtendedTweet{FullText: n.Text, Entities: n.Entities.entities()}
		if len(t.ExtendedTweet.Entities.UserMentions) == 0 {
			t.ExtendedTweet.Entities = t.Entities
		}
	}
	for _, refs := range [2][]wireRef{w.ReferencedTweets, w.ReferencedPosts} {
		for _, ref := range refs {
			reference(t, ref, inc, expand)
		}
	}
	if t.InReplyToStatusID == "" {
		t.InReplyToStatusID = string(w.InReplyToTweetID)
	}
	return t
}

func reference(t *Tweet, ref wireRef, inc *wireIncludes, expand bool) {
	id := string(ref.ID)
	var refTweet *Tweet
	if expand {
		if rp := inc.post(id); rp != nil {
			refTweet = rp.tweet(inc, false)
		}
	}
	if refTweet == nil {
		refTweet = &Tweet{ID: id}
	}
	switch ref.Type {
	case "replied_to":
		t.InReplyToStatusID = id
	case "quoted":
		t.IsQuoteStatus = true
		t.QuotedStatusID = id
		t.QuotedStatus = refTweet
	case "retweeted":
		t.RetweetedStatus = refTweet
	}
}

func (inc *wireIncludes) user(id string) *User {
	if inc == nil || id == "" {
		return nil
	}
	for _, w := range inc.Users {
		if u := w.user(); u.ID == id {
			return &u
		}
	}
	return nil
}

func (inc *wireIncludes) post(id string) *wirePost {
	if inc == nil || id == "" {
		return nil
	}
	for _, list := range [2][]*wirePost{inc.Tweets, inc.Posts} {
		for _, w := range list {
			if w != nil && string(w.ID) == id {
				return w
			}
		}
	}
	return nil
}
