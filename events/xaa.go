package events

import (
	"encoding/json"
	"fmt"
	"time"
)

// XAA event types that Decode maps onto the AAA types. Other event types
// are kept raw in Payload.Unknown under their event type.
const (
	XAAPostMentionCreate = "post.mention.create"
	XAAPostCreate        = "post.create"
	XAADMReceived        = "dm.received"
	XAADMSent            = "dm.sent"
)

type wireXAA struct {
	EventUUID flexString `json:"event_uuid"`
	Filter    struct {
		UserID idString `json:"user_id"`
	} `json:"filter"`
	EventType string          `json:"event_type"`
	Tag       string          `json:"tag"`
	Payload   json.RawMessage `json:"payload"`
	Includes  json.RawMessage `json:"includes"`
}

// wirePost is a v2 Post object, the payload of post.* XAA events.
type wirePost struct {
	ID                idString      `json:"id"`
	Text              string        `json:"text"`
	AuthorID          idString      `json:"author_id"`
	CreatedAt         string        `json:"created_at"`
	InReplyToUserID   idString      `json:"in_reply_to_user_id"`
	DisplayTextRange  []int         `json:"display_text_range"`
	Entities          *wireEntities `json:"entities"`
	Lang              string        `json:"lang"`
	PossiblySensitive flexBool      `json:"possibly_sensitive"`
	ReferencedTweets  []struct {
		Type string   `json:"type"` // replied_to, quoted, retweeted
		ID   idString `json:"id"`
	} `json:"referenced_tweets"`
	NoteTweet *struct {
		Text     string        `json:"text"`
		Entities *wireEntities `json:"entities"`
	} `json:"note_tweet"`
}

type wireIncludes struct {
	Users  []*wireUser `json:"users"`
	Tweets []*wirePost `json:"tweets"`
}

func decodeXAA(env *wireXAA) (*Payload, error) {
	p := &Payload{Source: SourceXAA, XAA: &XAAEnvelope{
		EventUUID: string(env.EventUUID), EventType: env.EventType,
		FilterUserID: string(env.Filter.UserID), Tag: env.Tag,
	}}
	switch env.EventType {
	case XAAPostMentionCreate, XAAPostCreate:
		if err := decodeXAAPost(p, env); err != nil {
			return nil, err
		}
	case XAADMReceived, XAADMSent:
		inner, err := objectMembers(env.Payload)
		if err != nil {
			return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
		}
		if err := decodeAAA(p, inner); err != nil {
			return nil, err
		}
	default:
		p.Unknown = map[string]json.RawMessage{env.EventType: env.Payload}
	}
	if p.XAA.FilterUserID != "" {
		p.ForUserID = p.XAA.FilterUserID
	}
	return p, nil
}

// decodeXAAPost accepts a v2 Post payload (what X documents), a v1.1 Tweet
// payload, or an AAA-style {"tweet_create_events":[...]} payload.
func decodeXAAPost(p *Payload, env *wireXAA) error {
	keys, err := objectMembers(env.Payload)
	if err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	var hasTweets, hasIDStr, hasUser bool
	for i := range keys {
		k := &keys[i]
		hasTweets = hasTweets || k.kind == keyTweetCreate
		hasIDStr = hasIDStr || k.keyIs("id_str")
		hasUser = hasUser || k.keyIs("user")
	}
	if hasTweets {
		return decodeAAA(p, keys)
	}
	if hasIDStr || hasUser {
		var w wireTweet
		if err := field("payload", env.Payload, &w); err != nil {
			return err
		}
		p.TweetCreateEvents = []Tweet{*w.tweet()}
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
	p.TweetCreateEvents = []Tweet{*post.tweet(&inc, true)}
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
	for _, ref := range w.ReferencedTweets {
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
	return t
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
	for _, w := range inc.Tweets {
		if w != nil && string(w.ID) == id {
			return w
		}
	}
	return nil
}
