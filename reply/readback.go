package reply

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/moetron/moetron/internal/xapi"
)

// Read-back bounds: pages of at most readPageSize items, at most
// maxReadPages pages per search.
const (
	readPageSize = 100
	maxReadPages = 3
)

// FindReply looks for a post by botUserID replying to inReplyToTweetID
// created at or after since, via GET /2/users/:id/tweets (newest first,
// up to three pages of 100). It answers "did the bot already reply to
// this tweet?" — what a worker asks before replying to a redelivered job,
// and what Reply asks itself after an uncertain attempt. since may be zero
// (no lower bound). An empty botUserID means Config.BotUserID.
func (c *Client) FindReply(ctx context.Context, botUserID, inReplyToTweetID string, since time.Time) (tweetID string, found bool, err error) {
	if botUserID == "" {
		botUserID = c.cfg.BotUserID
	}
	if !xapi.ValidID(botUserID) || !xapi.ValidID(inReplyToTweetID) {
		return "", false, fmt.Errorf("%w: FindReply needs decimal bot user and tweet ids", ErrInvalidInput)
	}
	return c.findReply(c.newOp(ctx), botUserID, inReplyToTweetID, since)
}

type timelinePage struct {
	Data []struct {
		ID              string `json:"id"`
		CreatedAt       string `json:"created_at"`
		ReferencedTweet []struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		} `json:"referenced_tweets"`
	} `json:"data"`
	Meta struct {
		NextToken string `json:"next_token"`
	} `json:"meta"`
}

func (c *Client) findReply(o *op, botUserID, inReplyTo string, since time.Time) (string, bool, error) {
	q := url.Values{
		"tweet.fields": {"referenced_tweets,created_at"},
		"max_results":  {fmt.Sprint(readPageSize)},
		"exclude":      {"retweets"},
	}
	if !since.IsZero() {
		q.Set("start_time", since.UTC().Format(time.RFC3339))
	}
	path := "/2/users/" + url.PathEscape(botUserID) + "/tweets"
	for page := 0; page < maxReadPages; page++ {
		var p timelinePage
		if err := o.do(&request{method: http.MethodGet, path: path, query: q, read: true}, &p); err != nil {
			return "", false, err
		}
		for _, t := range p.Data {
			for _, r := range t.ReferencedTweet {
				if r.Type == "replied_to" && r.ID == inReplyTo {
					return t.ID, true, nil
				}
			}
		}
		if p.Meta.NextToken == "" {
			break
		}
		q.Set("pagination_token", p.Meta.NextToken)
	}
	return "", false, nil
}

// FindDM looks for a DM the bot (Config.BotUserID, required) sent to
// participantID at or after since whose text satisfies match, via GET
// /2/dm_conversations/with/:participant_id/dm_events (newest first, up to
// three pages of 100). It returns the DM event id. since may be zero.
// SameText(text) is the usual match.
func (c *Client) FindDM(ctx context.Context, participantID string, since time.Time, match func(text string) bool) (eventID string, found bool, err error) {
	if c.cfg.BotUserID == "" {
		return "", false, fmt.Errorf("%w: FindDM needs Config.BotUserID", ErrInvalidConfig)
	}
	if !xapi.ValidID(participantID) || match == nil {
		return "", false, fmt.Errorf("%w: FindDM needs a decimal participant id and a match func", ErrInvalidInput)
	}
	return c.findDM(c.newOp(ctx), participantID, since, match)
}

type dmPage struct {
	Data []struct {
		ID        string `json:"id"`
		EventType string `json:"event_type"`
		Text      string `json:"text"`
		SenderID  string `json:"sender_id"`
		CreatedAt string `json:"created_at"`
	} `json:"data"`
	Meta struct {
		NextToken string `json:"next_token"`
	} `json:"meta"`
}

func (c *Client) findDM(o *op, participantID string, since time.Time, match func(string) bool) (string, bool, error) {
	q := url.Values{
		"dm_event.fields": {"created_at,sender_id,text,attachments"},
		"event_types":     {"MessageCreate"},
		"max_results":     {fmt.Sprint(readPageSize)},
	}
	path := "/2/dm_conversations/with/" + url.PathEscape(participantID) + "/dm_events"
	for page := 0; page < maxReadPages; page++ {
		var p dmPage
		if err := o.do(&request{method: http.MethodGet, path: path, query: q, read: true}, &p); err != nil {
			return "", false, err
		}
		older := false
		for _, e := range p.Data {
			if !since.IsZero() && e.CreatedAt != "" {
				if t, err := time.Parse(time.RFC3339, e.CreatedAt); err == nil && t.Before(since) {
					older = true
					continue
				}
			}
			if e.SenderID == c.cfg.BotUserID && (e.EventType == "" || e.EventType == "MessageCreate") && match(e.Text) {
				return e.ID, true, nil
			}
		}
		if older || p.Meta.NextToken == "" {
			break
		}
		q.Set("pagination_token", p.Meta.NextToken)
	}
	return "", false, nil
}

// SameText returns a match for FindDM that accepts the text sent, compared
// after NFC normalisation and trimming, also when X appended the
// attachment's t.co link to it.
func SameText(sent string) func(string) bool {
	want := strings.TrimSpace(norm.NFC.String(sent))
	return func(got string) bool {
		got = strings.TrimSpace(norm.NFC.String(got))
		if got == want {
			return true
		}
		rest, ok := strings.CutPrefix(got, want)
		if !ok {
			return false
		}
		rest = strings.TrimSpace(rest)
		return strings.HasPrefix(rest, "https://t.co/") && !strings.ContainsAny(rest, " \n\t")
	}
}
