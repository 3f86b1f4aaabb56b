package xfake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file builds X Activity API (XAA) deliveries, the successor of the
// Account Activity payloads of payload.go. Every body is one envelope
//
//	{"data":{"event_uuid","filter":{"user_id":<bot>},"event_type","tag","payload","includes"}}
//
// as X documents it: post events carry a v2 Post (string ids, ISO 8601
// created_at, entities.mentions with start/end in code points), DM events
// the legacy direct_message_events with a users map whose entries are
// wrapped in "data". The filter user is the bot of the server's Config.
// Pass a body to Deliver, as with MentionPayload.

// XAA subscription tags the builders put in "tag".
const (
	TagMentions    = "mentions"
	TagReplies     = "replies"
	TagQuotes      = "quotes"
	TagDMInbound   = "dm-inbound"
	TagChatInbound = "chat-inbound"
)

// MentionEvent builds the post.mention.create delivery for post p by
// author: a v2 Post whose entities.mentions hold every "@<bot screen
// name>" of the text, with the author and the bot in includes.users. When
// p replies to a stored post, in_reply_to_user_id, in_reply_to_tweet_id
// and a replied_to reference are set as X sets them.
func (s *Server) MentionEvent(p Post, author Sender) ([]byte, error) {
	bot := s.Bot()
	post := s.v2Post(p, false)
	includes := map[string]any{"users": []any{
		v2User(author.UserID, author.ScreenName),
		v2User(bot.UserID, bot.ScreenName),
	}}
	return s.envelope("post.mention.create", TagMentions, post, includes)
}

// ReplyEvent builds the post.reply.create delivery X sends the bot when
// author replies directly to one of its posts (p.InReplyToTweetID, which
// must be set). As in X's sample, display_text_range starts after the
// leading @mentions and includes is empty.
func (s *Server) ReplyEvent(p Post, author Sender) ([]byte, error) {
	if p.InReplyToTweetID == "" {
		return nil, errors.New("xfake: ReplyEvent needs Post.InReplyToTweetID")
	}
	if p.AuthorID == "" {
		p.AuthorID = author.UserID
	}
	return s.envelope("post.reply.create", TagReplies, s.v2Post(p, true), map[string]any{})
}

// QuoteEvent builds the post.quote.create delivery X sends the bot when
// author quotes one of its posts (p.QuoteTweetID, which must be set): a
// v2 Post with a quoted reference and, as in X's sample, empty includes.
func (s *Server) QuoteEvent(p Post, author Sender) ([]byte, error) {
	if p.QuoteTweetID == "" {
		return nil, errors.New("xfake: QuoteEvent needs Post.QuoteTweetID")
	}
	if p.AuthorID == "" {
		p.AuthorID = author.UserID
	}
	return s.envelope("post.quote.create", TagQuotes, s.v2Post(p, false), map[string]any{})
}

// DMReceivedEvent builds the dm.received delivery for direct message d
// from sender: one message_create event and the users map, each user
// wrapped in {"data":…}, and no includes.
func (s *Server) DMReceivedEvent(d DM, sender Sender) ([]byte, error) {
	bot := s.Bot()
	users := map[string]any{sender.UserID: map[string]any{"data": v2User(sender.UserID, sender.ScreenName)}}
	if d.RecipientID == bot.UserID {
		users[bot.UserID] = map[string]any{"data": v2User(bot.UserID, bot.ScreenName)}
	}
	payload := map[string]any{
		"direct_message_events": []any{map[string]any{
			"type": "message_create", "id": d.EventID,
			"created_timestamp": strconv.FormatInt(d.CreatedAt.UnixMilli(), 10),
			"message_create": map[string]any{
				"target":    map[string]any{"recipient_id": d.RecipientID},
				"sender_id": d.SenderID,
				"message_data": map[string]any{"text": d.Text,
					"entities": map[string]any{"hashtags": []any{}, "symbols": []any{}, "user_mentions": []any{}, "urls": []any{}}},
			},
		}},
		"users": users,
	}
	return s.envelope("dm.received", TagDMInbound, payload, nil)
}

// ChatReceivedEvent builds the chat.received delivery of an XChat
// message d from sender. The fake has no XChat keys: encoded_event and
// the other encrypted members are random-looking base64 derived from d,
// not decryptable, and d.Text does not appear in the body. The payload id
// is d.EventID; conversation_id is "<sender>:<recipient>" as on X's
// payload page.
func (s *Server) ChatReceivedEvent(d DM, sender Sender) ([]byte, error) {
	fake := func(label string) string {
		sum := sha256.Sum256([]byte(label + "\x00" + d.EventID + "\x00" + d.Text))
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	msec := strconv.FormatInt(d.CreatedAt.UnixMilli(), 10)
	payload := map[string]any{
		"id":                            d.EventID,
		"conversation_id":               sender.UserID + ":" + d.RecipientID,
		"sender_id":                     sender.UserID,
		"created_at_msec":               msec,
		"conversation_token":            fake("token"),
		"conversation_key_version":      msec,
		"encoded_event":                 fake("event"),
		"conversation_key_change_event": fake("key"),
		"message_event_signature": map[string]any{"public_key_version": msec, "signature": fake("sig"),
			"signature_version": "7", "signing_public_key": fake("pub")},
	}
	return s.envelope("chat.received", TagChatInbound, payload, nil)
}

// ReplayEvent returns body, an XAA envelope, as a replayed webhook
// delivery: the same envelope with "meta":{"replay":true} beside "data".
func ReplayEvent(body []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	data, ok := top["data"]
	if !ok {
		return nil, errors.New("xfake: ReplayEvent needs an XAA envelope {\"data\":…}")
	}
	return json.Marshal(map[string]json.RawMessage{"data": data, "meta": json.RawMessage(`{"replay":true}`)})
}

// envelope wraps payload in the XAA envelope for the bot; includes is
// left out when nil.
func (s *Server) envelope(eventType, tag string, payload, includes any) ([]byte, error) {
	s.mu.Lock()
	uuid := s.newID()
	s.mu.Unlock()
	data := map[string]any{
		"event_uuid": uuid,
		"filter":     map[string]any{"user_id": s.Bot().UserID},
		"event_type": eventType,
		"tag":        tag,
		"payload":    payload,
	}
	if includes != nil {
		data["includes"] = includes
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"data": data}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// v2Post is p as an XAA post payload. replyRange starts
// display_text_range after the leading @mentions, as X does for
// post.reply.create.
func (s *Server) v2Post(p Post, replyRange bool) map[string]any {
	bot := s.Bot()
	n := utf8.RuneCountInString(p.Text)
	start := 0
	if replyRange {
		start = leadingMentions(p.Text)
	}
	post := map[string]any{
		"id":                     p.ID,
		"text":                   xmlEscape(p.Text),
		"author_id":              p.AuthorID,
		"created_at":             p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"conversation_id":        p.ID,
		"display_text_range":     []int{start, n},
		"edit_history_tweet_ids": []string{p.ID},
		"lang":                   "en",
		"possibly_sensitive":     false,
		"reply_settings":         "everyone",
	}
	if m := botMentions(p.Text, bot.ScreenName, bot.UserID); len(m) > 0 {
		post["entities"] = map[string]any{"mentions": m}
	}
	var refs []any
	if p.InReplyToTweetID != "" {
		post["in_reply_to_tweet_id"] = p.InReplyToTweetID
		refs = append(refs, map[string]any{"type": "replied_to", "id": p.InReplyToTweetID})
		for _, q := range s.Posts() {
			if q.ID == p.InReplyToTweetID {
				post["in_reply_to_user_id"] = q.AuthorID
			}
		}
	}
	if p.QuoteTweetID != "" {
		refs = append(refs, map[string]any{"type": "quoted", "id": p.QuoteTweetID})
	}
	if refs != nil {
		post["referenced_tweets"] = refs
	}
	return post
}

// botMentions returns a v2 mention entity for every "@<screenName>" in
// text (case-insensitive), with start and end in code points.
func botMentions(text, screenName, userID string) []any {
	out := []any{}
	lower := strings.ToLower(text)
	handle := "@" + strings.ToLower(screenName)
	for off := 0; ; {
		i := strings.Index(lower[off:], handle)
		if i < 0 {
			return out
		}
		start := utf8.RuneCountInString(text[:off+i])
		end := start + utf8.RuneCountInString(handle)
		out = append(out, map[string]any{"start": start, "end": end, "username": screenName, "id": userID})
		off += i + len(handle)
	}
}

// leadingMentions counts the code points of the "@name " prefix of a
// reply, which X keeps out of display_text_range.
func leadingMentions(text string) int {
	n, rest := 0, text
	for strings.HasPrefix(rest, "@") {
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			break
		}
		n += utf8.RuneCountInString(rest[:end+1])
		rest = rest[end+1:]
	}
	return n
}

// xmlEscape escapes what X escapes in post text: & < >.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// v2User is a flat v2 user object.
func v2User(id, screenName string) map[string]any {
	return map[string]any{"id": id, "username": screenName, "name": screenName}
}
