package xfake

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sender names the author of a seeded event in payloads.
type Sender struct {
	UserID     string
	ScreenName string
}

// MentionPayload builds the Account Activity (v1.1-shaped) delivery X would
// send the bot for post p by author: tweet_create_events with one v1.1
// Tweet, user_mentions for every "@<bot screen name>" in the text, and the
// reply fields when p replies to the bot's post. Pass it to Deliver.
func (s *Server) MentionPayload(p Post, author Sender) ([]byte, error) {
	bot := s.Bot()
	mentions := []map[string]any{}
	lower := strings.ToLower(p.Text)
	handle := "@" + strings.ToLower(bot.ScreenName)
	for off := 0; ; {
		i := strings.Index(lower[off:], handle)
		if i < 0 {
			break
		}
		start := utf8.RuneCountInString(p.Text[:off+i])
		mentions = append(mentions, map[string]any{
			"screen_name": bot.ScreenName, "name": bot.ScreenName, "id_str": bot.UserID,
			"indices": []int{start, start + utf8.RuneCountInString(handle)},
		})
		off += i + len(handle)
	}
	tweet := map[string]any{
		"created_at":                p.CreatedAt.UTC().Format("Mon Jan 02 15:04:05 -0700 2006"),
		"id_str":                    p.ID,
		"text":                      p.Text,
		"truncated":                 false,
		"display_text_range":        []int{0, utf8.RuneCountInString(p.Text)},
		"in_reply_to_status_id_str": nullable(p.InReplyToTweetID),
		"in_reply_to_user_id_str":   nil,
		"user":                      map[string]any{"id_str": author.UserID, "screen_name": author.ScreenName, "name": author.ScreenName},
		"entities":                  map[string]any{"hashtags": []any{}, "urls": []any{}, "user_mentions": mentions},
		"timestamp_ms":              strconv.FormatInt(p.CreatedAt.UnixMilli(), 10),
	}
	if p.InReplyToTweetID != "" {
		for _, q := range s.Posts() {
			if q.ID == p.InReplyToTweetID {
				tweet["in_reply_to_user_id_str"] = q.AuthorID
			}
		}
	}
	return json.Marshal(map[string]any{
		"for_user_id":         bot.UserID,
		"user_has_blocked":    false,
		"tweet_create_events": []any{tweet},
	})
}

// DMPayload builds the Account Activity delivery X would send the bot for
// direct message d from sender: direct_message_events with one
// message_create event and the users map.
func (s *Server) DMPayload(d DM, sender Sender) ([]byte, error) {
	bot := s.Bot()
	users := map[string]any{
		sender.UserID: map[string]any{"id": sender.UserID, "screen_name": sender.ScreenName, "name": sender.ScreenName},
	}
	if d.RecipientID == bot.UserID {
		users[bot.UserID] = map[string]any{"id": bot.UserID, "screen_name": bot.ScreenName, "name": bot.ScreenName}
	}
	return json.Marshal(map[string]any{
		"for_user_id": bot.UserID,
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
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
