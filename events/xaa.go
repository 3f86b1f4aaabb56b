package events

import (
	"encoding/json"
	"fmt"
	"time"
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
	EventType string          `json:"event_type"`
	Tag       string          `json:"tag"`
	Payload   json.RawMessage `json:"payload"`
	Includes  json.RawMessage `json:"includes"`
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

func (p *presence) UnmarshalJSON(b []byte) error {
	*p = presence(string(b) != "null" && string(b) != `""`)
	return nil
}

// object is a JSON object read far enough to ask which keys it has and
// to decode it as an Account Activity object: the hand-scanned members in
// Decode, a map in the reference decoder of the tests.
type object interface {
	has(key string) bool
	decodeAAA(p *Payload) error
}

// readObject reads the payload of an envelope as an object.
type readObject func(raw json.RawMessage) (object, error)

type members []member

func (ms members) has(key string) bool {
	for i := range ms {
		if ms[i].keyIs(key) {
			return true
		}
	}
	return false
}

func (ms members) decodeAAA(p *Payload) error { return decodeAAA(p, ms) }

func readMembers(raw json.RawMessage) (object, error) {
	ms, err := objectMembers(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return members(ms), nil
}

// xaaBody is an X Activity API delivery found at the top level of a body.
type xaaBody struct {
	envs  []wireXAA
	array bool                       // "data" was an array
	meta  json.RawMessage            // the "meta" value, nil if none
	extra map[string]json.RawMessage // other top-level keys
}

// findXAA returns the XAA delivery in top, or false when top is not one:
// it has no "data" holding an envelope (an object with an event_type, or
// a non-empty array of them), or it has an Account Activity key. "meta"
// is read for replay; other keys are kept in Payload.Unknown.
func findXAA(top []member) (xaaBody, bool) {
	var data, meta []byte
	extras := 0
	for i := range top {
		m := &top[i]
		switch {
		case m.kind == keyData:
			data = m.value
		case m.kind != keyUnknown:
			return xaaBody{}, false
		case m.keyIs("meta"):
			meta = m.value
		default:
			extras++
		}
	}
	if data == nil {
		return xaaBody{}, false
	}
	envs, array, ok := parseEnvelopes(data)
	if !ok {
		return xaaBody{}, false
	}
	b := xaaBody{envs: envs, array: array, meta: meta}
	if extras > 0 {
		b.extra = make(map[string]json.RawMessage, extras)
		for i := range top {
			m := &top[i]
			if m.kind == keyUnknown && !m.keyIs("meta") {
				b.extra[m.keyString()] = append(json.RawMessage(nil), m.value...)
			}
		}
	}
	return b, true
}

// parseEnvelopes reads the value of "data": one envelope, or an array of
// them (array true). ok is false when it is neither, or when an envelope
// lacks an event_type, so that the body is read as AAA (keeping "data" as
// an unknown key) rather than half as XAA.
func parseEnvelopes(data []byte) (envs []wireXAA, array, ok bool) {
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) {
		return nil, false, false
	}
	switch data[i] {
	case '{':
		envs = make([]wireXAA, 1)
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

// decodeXAABody decodes each envelope of b, reading payloads with read,
// and merges them into one Payload. ForUserID is the filter's user id;
// an array whose envelopes name different filter users is ErrMalformed,
// as one Payload cannot say whom each event is for.
func decodeXAABody(b *xaaBody, read readObject) (*Payload, error) {
	var meta wireMeta
	if b.meta != nil {
		if err := field("meta", b.meta, &meta); err != nil {
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
		if err := decodeXAAEvent(q, env, read); err != nil {
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

// decodeXAAEvent decodes the payload of one envelope into p.
func decodeXAAEvent(p *Payload, env *wireXAA, read readObject) error {
	switch env.EventType {
	case XAAPostMentionCreate, XAAPostReplyCreate, XAAPostQuoteCreate, XAAPostRepostCreate, XAAPostCreate:
		n := len(p.TweetCreateEvents)
		if err := decodeXAAPost(p, env, read); err != nil {
			return err
		}
		for i := n; i < len(p.TweetCreateEvents); i++ {
			p.TweetCreateEvents[i].XAAEventType = env.EventType
		}
	case XAADMReceived, XAADMSent:
		obj, err := read(env.Payload)
		if err != nil {
			return err
		}
		return obj.decodeAAA(p)
	case XAAPostDelete:
		var w wirePostDelete
		if err := field("payload", env.Payload, &w); err != nil {
			return err
		}
		p.TweetDeleteEvents = append(p.TweetDeleteEvents, TweetDeleteEvent{TweetID: string(w.ID), UserID: string(w.AuthorID)})
	case XAAOAuthRevoke:
		var w wireRevoke
		if err := field("payload", env.Payload, &w); err != nil {
			return err
		}
		p.UserEvent = &UserEvent{Revoke: &Revoke{DateTime: string(w.DateTime), AppID: string(w.AppID), UserID: string(w.UserID)}}
	case XAAChatReceived, XAAChatSent:
		var w wireChat
		if err := field("payload", env.Payload, &w); err != nil {
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
// payload, or an AAA-style {"tweet_create_events":[...]} payload.
func decodeXAAPost(p *Payload, env *wireXAA, read readObject) error {
	obj, err := read(env.Payload)
	if err != nil {
		return err
	}
	if obj.has(KindTweetCreate) {
		return obj.decodeAAA(p)
	}
	if obj.has("id_str") || obj.has("user") {
		var w wireTweet
		if err := field("payload", env.Payload, &w); err != nil {
			return err
		}
		p.TweetCreateEvents = append(p.TweetCreateEvents, *w.tweet())
		return nil
	}
	var post wirePost
	if err := field("payload", env.Payload, &post); err != nil {
		return err
	}
	var inc wireIncludes
	if len(env.Includes) > 0 {
		if err := field("includes", env.Includes, &inc); err != nil {
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
