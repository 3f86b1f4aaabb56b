package events

import (
	"fmt"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// This file holds the wire-format types: what X sends, field for field,
// before conversion into the exported types. Decode reads a body into
// them with one typed unmarshal (see decodeOptions); a new field of X's is
// one more field with a json tag here, and for wireUser and wireTweet one
// more case in their UnmarshalJSONFrom (wiremembers.go). Numeric ids are
// never read.

// seen is a member whose presence counts even when its value is null: a
// top-level Account Activity key makes a body AAA, and a present kind
// yields an event (or an empty list) as it always has. A repeated member
// replaces the earlier one whole.
type seen[T any] struct {
	v   T
	set bool
}

func (s *seen[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var zero T
	s.v, s.set = zero, true
	return json.UnmarshalDecode(dec, &s.v)
}

// idString is an id field: a JSON string is kept, a JSON number or null is
// ignored (numeric ids may have been rounded above 2^53 on their way here).
type idString string

func (s *idString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*s = idString(tok.String())
		return nil
	case 'n', '0':
		return dec.SkipValue()
	}
	b, err := dec.ReadValue()
	if err != nil {
		return err
	}
	return fmt.Errorf("id must be a string, got %.20s", b)
}

// flexString accepts a JSON string, or a number kept as its literal text
// (for timestamps that X sends either way).
type flexString string

func (s *flexString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*s = flexString(tok.String())
		return nil
	case 'n':
		return dec.SkipValue()
	}
	b, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if !isJSONNumber(b) {
		return fmt.Errorf("want a string or a number, got %.20s", b)
	}
	*s = flexString(b)
	return nil
}

// flexBool accepts true, false, "true", "false" (any case, without
// escapes) and null.
type flexBool bool

func (f *flexBool) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	b, err := dec.ReadValue()
	if err != nil {
		return err
	}
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

// isLower reports whether bytes.ToLower(b) is word, which is ASCII
// without capitals, without allocating. Only ASCII letters lower to the
// letters of such a word (the two runes that lower to ASCII lower to
// 'i' and 'k'), so the words used here need no Unicode tables.
func isLower(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

// flexInt64 accepts an integer as a JSON number or a decimal string
// (without escapes); null and "" leave it zero.
type flexInt64 int64

func (n *flexInt64) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	b, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if string(b) == "null" || string(b) == `""` {
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

func isJSONNumber(b []byte) bool {
	return len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9'))
}

type wireUser struct {
	ID                   idString  `json:"id"`
	IDStr                string    `json:"id_str"`
	ScreenName           string    `json:"screen_name"`
	Username             string    `json:"username"` // v2 / XAA
	Name                 string    `json:"name"`
	Protected            flexBool  `json:"protected"`
	Verified             flexBool  `json:"verified"`
	ProfileImageURLHTTPS string    `json:"profile_image_url_https"`
	ProfileImageURL      string    `json:"profile_image_url"` // v2 / XAA
	Data                 *wireUser `json:"data"`              // XAA wraps users in {"data":{...}}
}

func (w *wireUser) user() User {
	if w == nil {
		return User{}
	}
	if w.Data != nil && w.Data.Data == nil {
		return w.Data.user()
	}
	u := User{
		ID:                   w.IDStr,
		ScreenName:           w.ScreenName,
		Name:                 w.Name,
		Protected:            bool(w.Protected),
		Verified:             bool(w.Verified),
		ProfileImageURLHTTPS: w.ProfileImageURLHTTPS,
	}
	if u.ID == "" {
		u.ID = string(w.ID)
	}
	if u.ScreenName == "" {
		u.ScreenName = w.Username
	}
	if u.ProfileImageURLHTTPS == "" {
		u.ProfileImageURLHTTPS = w.ProfileImageURL
	}
	return u
}

type wireMention struct {
	IDStr      string   `json:"id_str"`
	ID         idString `json:"id"` // XAA v2 mentions carry a string id
	ScreenName string   `json:"screen_name"`
	Username   string   `json:"username"`
	Name       string   `json:"name"`
	Indices    []int    `json:"indices"`
	Start      *int     `json:"start"`
	End        *int     `json:"end"`
}

type wireHashtag struct {
	Text    string `json:"text"`
	Tag     string `json:"tag"` // v2
	Indices []int  `json:"indices"`
	Start   *int   `json:"start"`
	End     *int   `json:"end"`
}

type wireURL struct {
	URL         string `json:"url"`
	ExpandedURL string `json:"expanded_url"`
	DisplayURL  string `json:"display_url"`
	Indices     []int  `json:"indices"`
	Start       *int   `json:"start"`
	End         *int   `json:"end"`
}

type wireMedia struct {
	IDStr         string   `json:"id_str"`
	ID            idString `json:"id"`
	Type          string   `json:"type"`
	MediaURLHTTPS string   `json:"media_url_https"`
	URL           string   `json:"url"`
	DisplayURL    string   `json:"display_url"`
	ExpandedURL   string   `json:"expanded_url"`
	Indices       []int    `json:"indices"`
}

func (w *wireMedia) media() Media {
	m := Media{ID: w.IDStr, Type: w.Type, MediaURLHTTPS: w.MediaURLHTTPS, URL: w.URL,
		DisplayURL: w.DisplayURL, ExpandedURL: w.ExpandedURL, Indices: w.Indices}
	if m.ID == "" {
		m.ID = string(w.ID)
	}
	return m
}

type wireEntities struct {
	Hashtags     []wireHashtag `json:"hashtags"`
	UserMentions []wireMention `json:"user_mentions"`
	Mentions     []wireMention `json:"mentions"` // v2
	URLs         []wireURL     `json:"urls"`
	Media        []wireMedia   `json:"media"`
}

func indices(idx []int, start, end *int) []int {
	if idx != nil {
		return idx
	}
	if start != nil && end != nil {
		return []int{*start, *end}
	}
	return nil
}

func (w *wireEntities) entities() Entities {
	var e Entities
	if w == nil {
		return e
	}
	for _, h := range w.Hashtags {
		text := h.Text
		if text == "" {
			text = h.Tag
		}
		e.Hashtags = append(e.Hashtags, Hashtag{Text: text, Indices: indices(h.Indices, h.Start, h.End)})
	}
	for _, list := range [][]wireMention{w.UserMentions, w.Mentions} {
		for _, m := range list {
			id := m.IDStr
			if id == "" {
				id = string(m.ID)
			}
			name := m.ScreenName
			if name == "" {
				name = m.Username
			}
			e.UserMentions = append(e.UserMentions, Mention{ID: id, ScreenName: name, Name: m.Name,
				Indices: indices(m.Indices, m.Start, m.End)})
		}
	}
	for _, u := range w.URLs {
		e.URLs = append(e.URLs, URL{URL: u.URL, ExpandedURL: u.ExpandedURL, DisplayURL: u.DisplayURL,
			Indices: indices(u.Indices, u.Start, u.End)})
	}
	for i := range w.Media {
		e.Media = append(e.Media, w.Media[i].media())
	}
	return e
}

func (w *wireEntities) entitiesPtr() *Entities {
	if w == nil {
		return nil
	}
	e := w.entities()
	return &e
}

type wireExtendedTweet struct {
	FullText         string        `json:"full_text"`
	DisplayTextRange []int         `json:"display_text_range"`
	Entities         *wireEntities `json:"entities"`
	ExtendedEntities *wireEntities `json:"extended_entities"`
}

type wireTweet struct {
	IDStr                string             `json:"id_str"`
	CreatedAt            string             `json:"created_at"`
	TimestampMs          flexInt64          `json:"timestamp_ms"`
	Text                 string             `json:"text"`
	FullText             string             `json:"full_text"` // tweet_mode=extended REST shape
	Truncated            flexBool           `json:"truncated"`
	DisplayTextRange     []int              `json:"display_text_range"`
	ExtendedTweet        *wireExtendedTweet `json:"extended_tweet"`
	User                 *wireUser          `json:"user"`
	InReplyToStatusIDStr string             `json:"in_reply_to_status_id_str"`
	InReplyToUserIDStr   string             `json:"in_reply_to_user_id_str"`
	InReplyToScreenName  string             `json:"in_reply_to_screen_name"`
	Entities             *wireEntities      `json:"entities"`
	ExtendedEntities     *wireEntities      `json:"extended_entities"`
	IsQuoteStatus        flexBool           `json:"is_quote_status"`
	QuotedStatusIDStr    string             `json:"quoted_status_id_str"`
	QuotedStatus         *wireTweet         `json:"quoted_status"`
	RetweetedStatus      *wireTweet         `json:"retweeted_status"`
	Lang                 string             `json:"lang"`
	Source               string             `json:"source"`
	PossiblySensitive    flexBool           `json:"possibly_sensitive"`
}

func (w *wireTweet) tweet() *Tweet {
	if w == nil {
		return nil
	}
	t := &Tweet{
		ID:                  w.IDStr,
		CreatedAt:           w.CreatedAt,
		TimestampMs:         int64(w.TimestampMs),
		Text:                w.Text,
		Truncated:           bool(w.Truncated),
		DisplayTextRange:    w.DisplayTextRange,
		User:                w.User.user(),
		InReplyToStatusID:   w.InReplyToStatusIDStr,
		InReplyToUserID:     w.InReplyToUserIDStr,
		InReplyToScreenName: w.InReplyToScreenName,
		Entities:            w.Entities.entities(),
		ExtendedEntities:    w.ExtendedEntities.entitiesPtr(),
		IsQuoteStatus:       bool(w.IsQuoteStatus),
		QuotedStatusID:      w.QuotedStatusIDStr,
		QuotedStatus:        w.QuotedStatus.tweet(),
		RetweetedStatus:     w.RetweetedStatus.tweet(),
		Lang:                w.Lang,
		Source:              w.Source,
		PossiblySensitive:   bool(w.PossiblySensitive),
	}
	if t.Text == "" && w.FullText != "" {
		t.Text = w.FullText
	}
	if x := w.ExtendedTweet; x != nil {
		t.ExtendedTweet = &ExtendedTweet{
			FullText:         x.FullText,
			DisplayTextRange: x.DisplayTextRange,
			Entities:         x.Entities.entities(),
			ExtendedEntities: x.ExtendedEntities.entitiesPtr(),
		}
	}
	if t.QuotedStatusID == "" && t.QuotedStatus != nil {
		t.QuotedStatusID = t.QuotedStatus.ID
	}
	return t
}

type wireFavorite struct {
	ID              idString   `json:"id"`
	CreatedAt       string     `json:"created_at"`
	TimestampMs     flexInt64  `json:"timestamp_ms"`
	FavoritedStatus *wireTweet `json:"favorited_status"`
	User            *wireUser  `json:"user"`
}

type wireRelationship struct {
	Type             string     `json:"type"`
	CreatedTimestamp flexString `json:"created_timestamp"`
	Source           *wireUser  `json:"source"`
	Target           *wireUser  `json:"target"`
}

type wireTweetDelete struct {
	Status struct {
		ID        idString `json:"id"`
		IDStr     string   `json:"id_str"`
		UserID    idString `json:"user_id"`
		UserIDStr string   `json:"user_id_str"`
	} `json:"status"`
	TimestampMs flexInt64 `json:"timestamp_ms"`
}

type wireUserEvent struct {
	Revoke *struct {
		DateTime string `json:"date_time"`
		Target   struct {
			AppID flexString `json:"app_id"`
		} `json:"target"`
		Source struct {
			UserID flexString `json:"user_id"`
		} `json:"source"`
	} `json:"revoke"`
}

type wireReplayJobStatus struct {
	WebhookID           flexString `json:"webhook_id"`
	JobID               flexString `json:"job_id"`
	JobState            string     `json:"job_state"`
	JobStateDescription string     `json:"job_state_description"`
}

type wireTarget struct {
	RecipientID idString `json:"recipient_id"`
}

type wireDM struct {
	Type             string     `json:"type"`
	ID               idString   `json:"id"`
	CreatedTimestamp flexString `json:"created_timestamp"`
	MessageCreate    *struct {
		Target      wireTarget `json:"target"`
		SenderID    idString   `json:"sender_id"`
		SourceAppID idString   `json:"source_app_id"`
		MessageData struct {
			Text       string        `json:"text"`
			Entities   *wireEntities `json:"entities"`
			Attachment *struct {
				Type  string     `json:"type"`
				Media *wireMedia `json:"media"`
			} `json:"attachment"`
		} `json:"message_data"`
	} `json:"message_create"`
}

func (w *wireDM) dm() DirectMessage {
	d := DirectMessage{ID: string(w.ID), Type: w.Type, CreatedTimestamp: string(w.CreatedTimestamp)}
	if mc := w.MessageCreate; mc != nil {
		d.SenderID = string(mc.SenderID)
		d.RecipientID = string(mc.Target.RecipientID)
		d.SourceAppID = string(mc.SourceAppID)
		d.Text = mc.MessageData.Text
		d.Entities = mc.MessageData.Entities.entities()
		if a := mc.MessageData.Attachment; a != nil && a.Media != nil {
			m := a.Media.media()
			d.Attachment = &m
		}
	}
	return d
}

type wireDMState struct {
	CreatedTimestamp flexString `json:"created_timestamp"`
	SenderID         idString   `json:"sender_id"`
	Target           wireTarget `json:"target"`
	LastReadEventID  idString   `json:"last_read_event_id"`
}

type wireApp struct {
	ID   idString `json:"id"`
	Name string   `json:"name"`
	URL  string   `json:"url"`
}
