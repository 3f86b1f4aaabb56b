package reply

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// readBackSkew is subtracted from the first attempt's start when searching
// for a possibly created object, to absorb clock skew between this host
// and X.
const readBackSkew = 2 * time.Minute

// maxMediaIDs is the most media ids a post takes.
const maxMediaIDs = 4

// Tweet is a created (or recovered) reply post.
type Tweet struct {
	ID   string
	Text string
	// Recovered is true when the post was found by read-back after an
	// uncertain attempt rather than confirmed by the create answer.
	Recovered bool
}

// DM is a sent (or recovered) direct message.
type DM struct {
	ConversationID string // empty when Recovered
	EventID        string
	Recovered      bool
}

// Reply posts text as a reply to tweetID, with up to four media ids, via
// POST /2/tweets. The text is checked against MaxPostWeight first. On an
// uncertain outcome it reads back with FindReply (needs Config.BotUserID)
// instead of posting twice; see the package doc.
func (c *Client) Reply(ctx context.Context, tweetID, text string, mediaIDs ...string) (*Tweet, error) {
	if err := checkReply(tweetID, text, mediaIDs); err != nil {
		return nil, err
	}
	return c.reply(c.newOp(ctx), tweetID, text, mediaIDs)
}

func checkReply(tweetID, text string, mediaIDs []string) error {
	if !xapi.ValidID(tweetID) {
		return fmt.Errorf("%w: tweet id must be a decimal id", ErrInvalidInput)
	}
	if strings.TrimSpace(text) == "" && len(mediaIDs) == 0 {
		return fmt.Errorf("%w: a post needs text or media", ErrInvalidInput)
	}
	if len(mediaIDs) > maxMediaIDs {
		return fmt.Errorf("%w: %d media ids, at most %d", ErrInvalidInput, len(mediaIDs), maxMediaIDs)
	}
	for _, id := range mediaIDs {
		if !xapi.ValidID(id) {
			return fmt.Errorf("%w: media id must be a decimal id", ErrInvalidInput)
		}
	}
	return checkPostText(text)
}

type tweetBody struct {
	Text  string `json:"text,omitempty"`
	Reply struct {
		InReplyToTweetID string `json:"in_reply_to_tweet_id"`
	} `json:"reply"`
	Media *struct {
		MediaIDs []string `json:"media_ids"`
	} `json:"media,omitempty"`
}

func (c *Client) reply(o *op, tweetID, text string, mediaIDs []string) (*Tweet, error) {
	var body tweetBody
	body.Text = text
	body.Reply.InReplyToTweetID = tweetID
	if len(mediaIDs) > 0 {
		body.Media = &struct {
			MediaIDs []string `json:"media_ids"`
		}{mediaIDs}
	}
	since := c.cfg.Now().Add(-readBackSkew)
	var (
		ans struct {
			Data struct {
				ID   string `json:"id"`
				Text string `json:"text"`
			} `json:"data"`
		}
		recovered string
	)
	var readBack func() (bool, error)
	if c.cfg.BotUserID != "" {
		readBack = func() (bool, error) {
			id, found, err := c.findReply(o, c.cfg.BotUserID, tweetID, since)
			recovered = id
			return found, err
		}
	}
	err := o.create(&request{method: http.MethodPost, path: "/2/tweets", body: jsonBody(body)}, &ans,
		UncertainError{Op: "post", InReplyToTweetID: tweetID, Text: text, Since: since}, readBack)
	if err != nil {
		return nil, err
	}
	if recovered != "" {
		return &Tweet{ID: recovered, Text: text, Recovered: true}, nil
	}
	if ans.Data.ID == "" {
		// A 2xx without an id: the post exists but we cannot name it.
		return nil, &UncertainError{Op: "post", InReplyToTweetID: tweetID, Text: text, Since: since,
			Err: fmt.Errorf("%w: POST /2/tweets answer has no id", ErrBadResponse)}
	}
	return &Tweet{ID: ans.Data.ID, Text: ans.Data.Text}, nil
}

// ReplyWithImage uploads img as a tweet_image and posts text as a reply to
// tweetID with it attached. Text and image are checked before anything is
// sent; a small image takes exactly two requests.
func (c *Client) ReplyWithImage(ctx context.Context, tweetID, text string, img []byte) (*Tweet, error) {
	if err := checkReply(tweetID, text, []string{"1"}); err != nil {
		return nil, err
	}
	m, err := c.UploadImage(ctx, img, &UploadOptions{Category: CategoryTweetImage})
	if err != nil {
		return nil, err
	}
	return c.reply(c.newOp(ctx), tweetID, text, []string{m.ID})
}

// SendDM sends text (and mediaID, if not empty: an upload of category
// dm_image) to participantID via POST
// /2/dm_conversations/with/:participant_id/messages. On an uncertain
// outcome it reads back with FindDM (needs Config.BotUserID).
func (c *Client) SendDM(ctx context.Context, participantID, text, mediaID string) (*DM, error) {
	if err := checkDM(participantID, text, mediaID != ""); err != nil {
		return nil, err
	}
	if mediaID != "" && !xapi.ValidID(mediaID) {
		return nil, fmt.Errorf("%w: media id must be a decimal id", ErrInvalidInput)
	}
	return c.sendDM(c.newOp(ctx), participantID, text, mediaID)
}

func checkDM(participantID, text string, hasMedia bool) error {
	if !xapi.ValidID(participantID) {
		return fmt.Errorf("%w: participant id must be a decimal id", ErrInvalidInput)
	}
	if strings.TrimSpace(text) == "" && !hasMedia {
		return fmt.Errorf("%w: a DM needs text or media", ErrInvalidInput)
	}
	return checkDMText(text)
}

type dmBody struct {
	Text        string         `json:"text,omitempty"`
	Attachments []dmAttachment `json:"attachments,omitempty"`
}

type dmAttachment struct {
	MediaID string `json:"media_id"`
}

func (c *Client) sendDM(o *op, participantID, text, mediaID string) (*DM, error) {
	body := dmBody{Text: text}
	if mediaID != "" {
		body.Attachments = []dmAttachment{{MediaID: mediaID}}
	}
	since := c.cfg.Now().Add(-readBackSkew)
	var (
		ans struct {
			Data struct {
				ConversationID string `json:"dm_conversation_id"`
				EventID        string `json:"dm_event_id"`
			} `json:"data"`
		}
		recovered string
	)
	var readBack func() (bool, error)
	if c.cfg.BotUserID != "" {
		readBack = func() (bool, error) {
			id, found, err := c.findDM(o, participantID, since, SameText(text))
			recovered = id
			return found, err
		}
	}
	path := "/2/dm_conversations/with/" + url.PathEscape(participantID) + "/messages"
	err := o.create(&request{method: http.MethodPost, path: path, body: jsonBody(body)}, &ans,
		UncertainError{Op: "dm", ParticipantID: participantID, Text: text, Since: since}, readBack)
	if err != nil {
		return nil, err
	}
	if recovered != "" {
		return &DM{EventID: recovered, Recovered: true}, nil
	}
	if ans.Data.EventID == "" {
		return nil, &UncertainError{Op: "dm", ParticipantID: participantID, Text: text, Since: since,
			Err: fmt.Errorf("%w: DM answer has no dm_event_id", ErrBadResponse)}
	}
	return &DM{ConversationID: ans.Data.ConversationID, EventID: ans.Data.EventID}, nil
}

// DMWithImage uploads img as a dm_image and sends it with text to userID.
// Text and image are checked before anything is sent.
func (c *Client) DMWithImage(ctx context.Context, userID, text string, img []byte) (*DM, error) {
	if err := checkDM(userID, text, true); err != nil {
		return nil, err
	}
	m, err := c.UploadImage(ctx, img, &UploadOptions{Category: CategoryDMImage})
	if err != nil {
		return nil, err
	}
	return c.sendDM(c.newOp(ctx), userID, text, m.ID)
}
