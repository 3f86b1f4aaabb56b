package events

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Source values for Payload.Source.
const (
	SourceAAA = "aaa" // Account Activity API (v1.1 or v2), the v1.1 JSON shape
	SourceXAA = "xaa" // X Activity API envelope {"data":{"event_type",...}}
)

// Kind names, as they appear as top-level keys of an Account Activity
// payload (KindChat and KindOther excepted). Kinds reports these for
// metrics, and nothing else: the set is fixed, so a metric labelled by
// kind has a bounded number of series whatever a body holds.
const (
	KindTweetCreate      = "tweet_create_events"
	KindFavorite         = "favorite_events"
	KindFollow           = "follow_events"
	KindBlock            = "block_events"
	KindMute             = "mute_events"
	KindTweetDelete      = "tweet_delete_events"
	KindUserEvent        = "user_event"
	KindReplayJobStatus  = "replay_job_status"
	KindDirectMessage    = "direct_message_events"
	KindDMIndicateTyping = "direct_message_indicate_typing_events"
	KindDMMarkRead       = "direct_message_mark_read_events"
	// KindChat counts XChat (chat.received, chat.sent) events.
	KindChat = "chat_events"
	// KindOther stands for every key or event type this package does
	// not model (Payload.Unknown), however many there are.
	KindOther = "other"
	// KindUnknownPrefix was the prefix of "unknown:<key>" kinds.
	//
	// Deprecated: Kinds reports KindOther instead, since a label per
	// unknown key let a body create any number of metric series.
	KindUnknownPrefix  = "unknown:"
	kindForUserID      = "for_user_id"
	kindUserHasBlocked = "user_has_blocked"
	kindUsers          = "users"
	kindApps           = "apps"
)

// Payload is one decoded webhook delivery. The JSON tags describe this
// package's normalized form (used by the golden files and handy for logs),
// not X's wire format: decode wire bytes with Decode.
type Payload struct {
	// Source is SourceAAA or SourceXAA.
	Source string `json:"source"`
	// ForUserID is the subscribed user the delivery is for: "for_user_id"
	// of an AAA payload, or the filter user id of an XAA envelope. Empty
	// on user_event and replay_job_status deliveries.
	ForUserID string `json:"for_user_id,omitempty"`
	// UserHasBlocked is "user_has_blocked" (X sends a bool or a string).
	UserHasBlocked bool `json:"user_has_blocked,omitempty"`
	// XAA holds the envelope fields of an X Activity API delivery (the
	// first envelope when "data" was an array); nil for AAA.
	XAA *XAAEnvelope `json:"xaa,omitempty"`
	// XAAEvents lists every envelope when "data" was an array (which X
	// does not document; Decode accepts it defensively); else nil.
	XAAEvents []XAAEnvelope `json:"xaa_events,omitempty"`

	TweetCreateEvents                 []Tweet              `json:"tweet_create_events,omitempty"`
	FavoriteEvents                    []FavoriteEvent      `json:"favorite_events,omitempty"`
	FollowEvents                      []RelationshipEvent  `json:"follow_events,omitempty"`
	BlockEvents                       []RelationshipEvent  `json:"block_events,omitempty"`
	MuteEvents                        []RelationshipEvent  `json:"mute_events,omitempty"`
	TweetDeleteEvents                 []TweetDeleteEvent   `json:"tweet_delete_events,omitempty"`
	UserEvent                         *UserEvent           `json:"user_event,omitempty"`
	ReplayJobStatus                   *ReplayJobStatus     `json:"replay_job_status,omitempty"`
	DirectMessageEvents               []DirectMessage      `json:"direct_message_events,omitempty"`
	DirectMessageIndicateTypingEvents []DirectMessageState `json:"direct_message_indicate_typing_events,omitempty"`
	DirectMessageMarkReadEvents       []DirectMessageState `json:"direct_message_mark_read_events,omitempty"`
	// ChatEvents are XChat (encrypted DM) events, without their ciphertext.
	ChatEvents []ChatEvent `json:"chat_events,omitempty"`

	// Users is the "users" map of DM deliveries, keyed by user id.
	Users map[string]User `json:"users,omitempty"`
	// Apps is the "apps" map of DM deliveries, keyed by app id.
	Apps map[string]App `json:"apps,omitempty"`

	// Unknown keeps top-level keys this package does not model, raw.
	Unknown map[string]json.RawMessage `json:"unknown,omitempty"`
}

// XAAEnvelope is what an X Activity API delivery says about itself.
type XAAEnvelope struct {
	// EventUUID is "event_uuid", an opaque string: X's samples have
	// decimal, negative decimal and UUID values.
	EventUUID string `json:"event_uuid,omitempty"`
	// EventType is "event_type", e.g. post.mention.create.
	EventType string `json:"event_type"`
	// FilterUserID and FilterDirection are the matched filter's
	// "user_id" and "direction" (empty when not set, as for oauth.revoke).
	FilterUserID    string `json:"filter_user_id,omitempty"`
	FilterDirection string `json:"filter_direction,omitempty"`
	// Tag is the subscription's tag, empty when it has none.
	Tag string `json:"tag,omitempty"`
	// Replay is the top-level "meta":{"replay":true} of a replayed
	// webhook delivery.
	Replay bool `json:"replay,omitempty"`
}

// ChatEvent is an XChat message event (chat.received or chat.sent). Its
// text is end-to-end encrypted; Decode keeps only the clear envelope and
// whether ciphertext was present, never the ciphertext, the conversation
// token or the signatures, so a ChatEvent is safe to log.
type ChatEvent struct {
	// EventType is chat.received or chat.sent.
	EventType string `json:"event_type"`
	// ID is the payload "id" (a UUID in X's samples).
	ID string `json:"id"`
	// ConversationID is as sent: "<a>:<b>" or "<a>-<b>" for one-to-one
	// chats (X documents both separators), "g…" for groups.
	ConversationID string `json:"conversation_id,omitempty"`
	SenderID       string `json:"sender_id"`
	// CreatedAtMsec is "created_at_msec", epoch milliseconds as sent.
	CreatedAtMsec string `json:"created_at_msec,omitempty"`
	// Encrypted reports that the payload carried an encoded_event, the
	// ciphertext that only the bot's XChat keys can open.
	Encrypted bool `json:"encrypted"`
}

// Kinds returns the kinds of event present in p, in a fixed order, for
// metrics: the Kind constants, then KindOther once if p has any unknown
// key or XAA event type. An XAA delivery reports the kinds it was mapped
// to. The result is drawn from a fixed set of 14 names.
func (p *Payload) Kinds() []string {
	if p == nil {
		return nil
	}
	var k []string
	add := func(present bool, name string) {
		if present {
			k = append(k, name)
		}
	}
	add(len(p.TweetCreateEvents) > 0, KindTweetCreate)
	add(len(p.FavoriteEvents) > 0, KindFavorite)
	add(len(p.FollowEvents) > 0, KindFollow)
	add(len(p.BlockEvents) > 0, KindBlock)
	add(len(p.MuteEvents) > 0, KindMute)
	add(len(p.TweetDeleteEvents) > 0, KindTweetDelete)
	add(p.UserEvent != nil, KindUserEvent)
	add(p.ReplayJobStatus != nil, KindReplayJobStatus)
	add(len(p.DirectMessageEvents) > 0, KindDirectMessage)
	add(len(p.DirectMessageIndicateTypingEvents) > 0, KindDMIndicateTyping)
	add(len(p.DirectMessageMarkReadEvents) > 0, KindDMMarkRead)
	add(len(p.ChatEvents) > 0, KindChat)
	add(len(p.Unknown) > 0, KindOther)
	return k
}

// User is an X user as it appears in tweets, events and the DM users map.
type User struct {
	ID                   string `json:"id"` // from id_str (or a string "id"), never a JSON number
	ScreenName           string `json:"screen_name,omitempty"`
	Name                 string `json:"name,omitempty"`
	Protected            bool   `json:"protected,omitempty"`
	Verified             bool   `json:"verified,omitempty"`
	ProfileImageURLHTTPS string `json:"profile_image_url_https,omitempty"`
}

// App is an entry of the DM "apps" map.
type App struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Tweet is a v1.1 Tweet object, reduced to what a bot needs. All ids are
// decimal strings taken from the *_str fields.
type Tweet struct {
	ID                  string         `json:"id"`
	CreatedAt           string         `json:"created_at,omitempty"` // time.RubyDate layout
	TimestampMs         int64          `json:"timestamp_ms,omitempty"`
	Text                string         `json:"text"`
	Truncated           bool           `json:"truncated,omitempty"`
	DisplayTextRange    []int          `json:"display_text_range,omitempty"`
	ExtendedTweet       *ExtendedTweet `json:"extended_tweet,omitempty"`
	User                User           `json:"user"`
	InReplyToStatusID   string         `json:"in_reply_to_status_id,omitempty"`
	InReplyToUserID     string         `json:"in_reply_to_user_id,omitempty"`
	InReplyToScreenName string         `json:"in_reply_to_screen_name,omitempty"`
	Entities            Entities       `json:"entities"`
	ExtendedEntities    *Entities      `json:"extended_entities,omitempty"`
	IsQuoteStatus       bool           `json:"is_quote_status,omitempty"`
	QuotedStatusID      string         `json:"quoted_status_id,omitempty"`
	QuotedStatus        *Tweet         `json:"quoted_status,omitempty"`
	RetweetedStatus     *Tweet         `json:"retweeted_status,omitempty"`
	Lang                string         `json:"lang,omitempty"`
	Source              string         `json:"source,omitempty"`
	PossiblySensitive   bool           `json:"possibly_sensitive,omitempty"`
	// XAAEventType is the X Activity API event type that delivered the
	// post (post.mention.create, post.reply.create, post.quote.create,
	// ...), empty for AAA. The filter counts a post.quote.create as
	// addressed to the bot: X delivers it for quotes of the bot's posts.
	XAAEventType string `json:"xaa_event_type,omitempty"`
}

// ExtendedTweet carries the full text and entities of a truncated tweet.
type ExtendedTweet struct {
	FullText         string    `json:"full_text"`
	DisplayTextRange []int     `json:"display_text_range,omitempty"`
	Entities         Entities  `json:"entities"`
	ExtendedEntities *Entities `json:"extended_entities,omitempty"`
}

// Entities are the parsed parts of a tweet or DM text.
type Entities struct {
	Hashtags     []Hashtag `json:"hashtags,omitempty"`
	UserMentions []Mention `json:"user_mentions,omitempty"`
	URLs         []URL     `json:"urls,omitempty"`
	Media        []Media   `json:"media,omitempty"`
}

// Hashtag is a "#tag" entity.
type Hashtag struct {
	Text    string `json:"text"`
	Indices []int  `json:"indices,omitempty"`
}

// Mention is a user_mentions entity.
type Mention struct {
	ID         string `json:"id"` // from id_str
	ScreenName string `json:"screen_name,omitempty"`
	Name       string `json:"name,omitempty"`
	Indices    []int  `json:"indices,omitempty"`
}

// URL is a urls entity; URL is the t.co link in the text.
type URL struct {
	URL         string `json:"url"`
	ExpandedURL string `json:"expanded_url,omitempty"`
	DisplayURL  string `json:"display_url,omitempty"`
	Indices     []int  `json:"indices,omitempty"`
}

// Media is a media entity of a tweet, or a DM attachment. URL is the t.co
// link that stands for the media in the text.
type Media struct {
	ID            string `json:"id"`             // from id_str
	Type          string `json:"type,omitempty"` // photo, video, animated_gif
	MediaURLHTTPS string `json:"media_url_https,omitempty"`
	URL           string `json:"url,omitempty"`
	DisplayURL    string `json:"display_url,omitempty"`
	ExpandedURL   string `json:"expanded_url,omitempty"`
	Indices       []int  `json:"indices,omitempty"`
}

// VisibleText is the text a reader sees: extended_tweet.full_text for a
// truncated tweet (else text), HTML entities &amp; &lt; &gt; decoded, then
// cut to the display_text_range that belongs to that text, counted in code
// points. Entities are decoded before cutting because X computes ranges and
// indices on the unescaped text. An out-of-range or inverted range is
// clamped or ignored rather than trusted.
func (t *Tweet) VisibleText() string {
	if t == nil {
		return ""
	}
	text, rng := t.Text, t.DisplayTextRange
	if t.ExtendedTweet != nil && (t.Truncated || t.ExtendedTweet.FullText != "") {
		text, rng = t.ExtendedTweet.FullText, t.ExtendedTweet.DisplayTextRange
	}
	return cutCodePoints(unescapeHTML(text), rng)
}

// MentionIDs returns the user ids mentioned in t, from entities and
// extended_tweet.entities, without duplicates, in order of appearance.
func (t *Tweet) MentionIDs() []string {
	if t == nil {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	add := func(ms []Mention) {
		for _, m := range ms {
			if m.ID != "" && !seen[m.ID] {
				seen[m.ID] = true
				ids = append(ids, m.ID)
			}
		}
	}
	add(t.Entities.UserMentions)
	if t.ExtendedTweet != nil {
		add(t.ExtendedTweet.Entities.UserMentions)
	}
	return ids
}

// Mentions reports whether t mentions userID (see MentionIDs).
func (t *Tweet) Mentions(userID string) bool {
	if userID == "" {
		return false
	}
	for _, id := range t.MentionIDs() {
		if id == userID {
			return true
		}
	}
	return false
}

// IsRetweet reports whether t is a retweet: it carries retweeted_status,
// or X delivered it as a post.repost.create event.
func (t *Tweet) IsRetweet() bool {
	return t != nil && (t.RetweetedStatus != nil || t.XAAEventType == XAAPostRepostCreate)
}

// AllMedia returns the media of t: extended_tweet's extended entities for
// a truncated tweet, else extended_entities, else entities.media.
func (t *Tweet) AllMedia() []Media {
	if t == nil {
		return nil
	}
	if t.ExtendedTweet != nil {
		if t.ExtendedTweet.ExtendedEntities != nil && len(t.ExtendedTweet.ExtendedEntities.Media) > 0 {
			return t.ExtendedTweet.ExtendedEntities.Media
		}
		if len(t.ExtendedTweet.Entities.Media) > 0 {
			return t.ExtendedTweet.Entities.Media
		}
	}
	if t.ExtendedEntities != nil && len(t.ExtendedEntities.Media) > 0 {
		return t.ExtendedEntities.Media
	}
	return t.Entities.Media
}

// DirectMessage is a message_create DM event, flattened.
type DirectMessage struct {
	ID               string   `json:"id"`
	Type             string   `json:"type"`                        // "message_create"
	CreatedTimestamp string   `json:"created_timestamp,omitempty"` // epoch milliseconds, as sent
	SenderID         string   `json:"sender_id"`
	RecipientID      string   `json:"recipient_id"`
	SourceAppID      string   `json:"source_app_id,omitempty"`
	Text             string   `json:"text"`
	Entities         Entities `json:"entities"`
	Attachment       *Media   `json:"attachment,omitempty"`
}

// VisibleText is the DM text with the t.co link of an attached media
// removed, HTML entities decoded and surrounding space trimmed.
func (d *DirectMessage) VisibleText() string {
	if d == nil {
		return ""
	}
	text := d.Text
	if d.Attachment != nil && d.Attachment.URL != "" {
		if i := strings.LastIndex(text, d.Attachment.URL); i >= 0 {
			text = text[:i] + text[i+len(d.Attachment.URL):]
		}
	}
	return strings.TrimSpace(unescapeHTML(text))
}

// FavoriteEvent is a like of a tweet.
type FavoriteEvent struct {
	ID              string `json:"id"`
	CreatedAt       string `json:"created_at,omitempty"`
	TimestampMs     int64  `json:"timestamp_ms,omitempty"`
	FavoritedStatus *Tweet `json:"favorited_status,omitempty"`
	User            User   `json:"user"`
}

// RelationshipEvent is a follow, block or mute event (and its undoing:
// Type is follow/unfollow, block/unblock, mute/unmute).
type RelationshipEvent struct {
	Type             string `json:"type"`
	CreatedTimestamp string `json:"created_timestamp,omitempty"`
	Source           User   `json:"source"`
	Target           User   `json:"target"`
}

// TweetDeleteEvent is a compliance notice that a tweet was deleted.
type TweetDeleteEvent struct {
	TweetID     string `json:"tweet_id"`
	UserID      string `json:"user_id"`
	TimestampMs int64  `json:"timestamp_ms,omitempty"`
}

// UserEvent is the "user_event" object; only revoke is documented.
type UserEvent struct {
	Revoke *Revoke `json:"revoke,omitempty"`
}

// Revoke says a user revoked the app; X deletes the subscription.
type Revoke struct {
	DateTime string `json:"date_time,omitempty"`
	AppID    string `json:"app_id,omitempty"`
	UserID   string `json:"user_id,omitempty"`
}

// ReplayJobStatus reports the end of a replay job.
type ReplayJobStatus struct {
	WebhookID           string `json:"webhook_id,omitempty"`
	JobID               string `json:"job_id,omitempty"`
	JobState            string `json:"job_state,omitempty"` // Complete, Incomplete
	JobStateDescription string `json:"job_state_description,omitempty"`
}

// DirectMessageState is a typing indicator or a read receipt.
type DirectMessageState struct {
	CreatedTimestamp string `json:"created_timestamp,omitempty"`
	SenderID         string `json:"sender_id"`
	RecipientID      string `json:"recipient_id"`
	LastReadEventID  string `json:"last_read_event_id,omitempty"` // read receipts only
}

var htmlUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// unescapeHTML decodes the three entities X escapes in tweet text. A single
// pass, so "&amp;lt;" becomes "&lt;".
func unescapeHTML(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	return htmlUnescaper.Replace(s)
}

// cutCodePoints returns s[rng[0]:rng[1]] counted in code points. A range
// that is not two non-negative ascending numbers is ignored; an end past
// the text is clamped.
func cutCodePoints(s string, rng []int) string {
	if len(rng) != 2 || rng[0] < 0 || rng[1] < rng[0] {
		return s
	}
	start, end := -1, len(s)
	n := 0
	for i := range s {
		if n == rng[0] {
			start = i
		}
		if n == rng[1] {
			end = i
			break
		}
		n++
	}
	if start < 0 {
		if rng[0] >= utf8.RuneCountInString(s) {
			return ""
		}
		return s
	}
	return s[start:end]
}
