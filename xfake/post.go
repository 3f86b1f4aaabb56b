package xfake

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moetron/moetron/internal/xapi"
	"github.com/moetron/moetron/reply"
)

// MaxPostWeight is the limit on a post's weighted length.
const MaxPostWeight = 280

// WeightedLength is X's weighted character count of a post's text, the
// rule of twitter-text's parseTweet: reply.WeightedLength, so that the fake
// and the client never disagree (both are tested against twitter-text's
// own answers in reply/testdata).
func WeightedLength(text string) int { return reply.WeightedLength(text) }

func (s *Server) createPost(c *call) {
	var req struct {
		Text  *string `json:"text"`
		Reply *struct {
			InReplyToTweetID string `json:"in_reply_to_tweet_id"`
		} `json:"reply"`
		Media *struct {
			MediaIDs []string `json:"media_ids"`
		} `json:"media"`
		QuoteTweetID string `json:"quote_tweet_id"`
	}
	if !decodeJSON(c, &req, false) {
		return
	}
	var text string
	if req.Text != nil {
		text = *req.Text
	}
	var mediaIDs []string
	if req.Media != nil {
		mediaIDs = req.Media.MediaIDs
	}
	p := Post{Text: text, AuthorID: c.user.UserID, MediaIDs: slices.Clone(mediaIDs), QuoteTweetID: req.QuoteTweetID}
	if req.Reply != nil {
		p.InReplyToTweetID = req.Reply.InReplyToTweetID
		if !xapi.ValidID(p.InReplyToTweetID) {
			writeInvalid(c.w, "reply.in_reply_to_tweet_id must be a decimal id.")
			return
		}
	}
	switch {
	case text == "" && len(mediaIDs) == 0:
		writeInvalid(c.w, "One of text or media is required.")
		return
	case WeightedLength(text) > MaxPostWeight:
		writeInvalid(c.w, "Text is "+strconv.Itoa(WeightedLength(text))+" weighted characters; the limit is 280.")
		return
	case len(mediaIDs) > 4:
		writeInvalid(c.w, "A post takes at most 4 media ids.")
		return
	case p.QuoteTweetID != "" && !xapi.ValidID(p.QuoteTweetID):
		writeInvalid(c.w, "quote_tweet_id must be a decimal id.")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range mediaIDs {
		if err := s.usableMediaLocked(id, c.user.UserID, "tweet_"); err != nil {
			writeInvalid(c.w, "Your media IDs are invalid: "+err.Error()+".")
			return
		}
	}
	now := s.now()
	if text != "" && s.cfg.DuplicateWindow > 0 {
		key := c.user.UserID + "\x00" + text
		if at, seen := s.dupes[key]; seen && now.Sub(at) < s.cfg.DuplicateWindow {
			writeDuplicate(c.w)
			return
		}
		s.dupes[key] = now
	}
	p.ID = s.newID()
	p.CreatedAt = now.UTC()
	s.posts = append(s.posts, p)
	writeJSON(c.w, http.StatusCreated, map[string]any{"data": map[string]any{
		"id": p.ID, "text": p.Text, "edit_history_tweet_ids": []string{p.ID},
	}})
}

func (s *Server) sendDM(c *call) {
	to := c.r.PathValue("id")
	if !xapi.ValidID(to) {
		writeInvalid(c.w, "participant_id must be a decimal id.")
		return
	}
	var req struct {
		Text        string `json:"text"`
		Attachments []struct {
			MediaID string `json:"media_id"`
		} `json:"attachments"`
	}
	if !decodeJSON(c, &req, false) {
		return
	}
	switch {
	case req.Text == "" && len(req.Attachments) == 0:
		writeInvalid(c.w, "One of text or attachments is required.")
		return
	case len(req.Attachments) > 1:
		writeInvalid(c.w, "A direct message takes at most 1 attachment.")
		return
	case to == c.user.UserID:
		writeProblem(c.w, http.StatusForbidden, "Forbidden", "You cannot send a direct message to yourself.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var media []string
	for _, a := range req.Attachments {
		if err := s.usableMediaLocked(a.MediaID, c.user.UserID, "dm_"); err != nil {
			s.log.Debug("xfake: DM media refused", "reason", err.Error())
			writeProblem(c.w, http.StatusForbidden, "Forbidden", DMMediaDetail)
			return
		}
		media = append(media, a.MediaID)
	}
	d := DM{EventID: s.newID(), ConversationID: conversationID(c.user.UserID, to), SenderID: c.user.UserID,
		RecipientID: to, Text: req.Text, MediaIDs: media, CreatedAt: s.now().UTC()}
	s.dms = append(s.dms, d)
	writeJSON(c.w, http.StatusCreated, map[string]any{"data": map[string]any{
		"dm_conversation_id": d.ConversationID, "dm_event_id": d.EventID,
	}})
}

// pageParams reads max_results (between lo and hi, default def) and
// pagination_token. It writes the error itself.
func pageParams(c *call, lo, hi, def int) (limit int, token string, ok bool) {
	q := c.r.URL.Query()
	limit = def
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			writeInvalid(c.w, "max_results must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi)+".")
			return 0, "", false
		}
		limit = n
	}
	return limit, q.Get("pagination_token"), true
}

// timeParam parses an RFC 3339 query parameter; zero if absent.
func timeParam(c *call, name string) (time.Time, bool) {
	v := c.r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		writeInvalid(c.w, name+" must be an RFC 3339 timestamp.")
		return time.Time{}, false
	}
	return t, true
}

// page cuts a newest-first list of ids at the pagination token (the id the
// page starts at) and returns the page and the next token.
func page(ids []string, token string, limit int) (start, end int, next string, ok bool) {
	if token != "" {
		start = slices.Index(ids, token)
		if start < 0 {
			return 0, 0, "", false
		}
	}
	end = min(start+limit, len(ids))
	if end < len(ids) {
		next = ids[end]
	}
	return start, end, next, true
}

func fieldSet(c *call, param string) map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.Split(c.r.URL.Query().Get(param), ",") {
		out[strings.TrimSpace(f)] = true
	}
	return out
}

func (s *Server) userPosts(c *call) {
	uid := c.r.PathValue("id")
	if !xapi.ValidID(uid) {
		writeInvalid(c.w, "id must be a decimal user id.")
		return
	}
	limit, token, ok := pageParams(c, 5, 100, 10)
	if !ok {
		return
	}
	from, ok1 := timeParam(c, "start_time")
	to, ok2 := timeParam(c, "end_time")
	if !ok1 || !ok2 {
		return
	}
	fields := fieldSet(c, "tweet.fields")
	var list []Post
	for _, p := range slices.Backward(s.Posts()) {
		if p.AuthorID == uid && (from.IsZero() || !p.CreatedAt.Before(from)) && (to.IsZero() || p.CreatedAt.Before(to)) {
			list = append(list, p)
		}
	}
	ids := make([]string, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	start, end, next, ok := page(ids, token, limit)
	if !ok {
		writeInvalid(c.w, "pagination_token is not valid.")
		return
	}
	data := []map[string]any{}
	for _, p := range list[start:end] {
		d := map[string]any{"id": p.ID, "text": p.Text, "edit_history_tweet_ids": []string{p.ID}}
		if fields["created_at"] {
			d["created_at"] = p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if fields["author_id"] {
			d["author_id"] = p.AuthorID
		}
		if fields["referenced_tweets"] {
			var refs []map[string]string
			if p.InReplyToTweetID != "" {
				refs = append(refs, map[string]string{"type": "replied_to", "id": p.InReplyToTweetID})
			}
			if p.QuoteTweetID != "" {
				refs = append(refs, map[string]string{"type": "quoted", "id": p.QuoteTweetID})
			}
			if refs != nil {
				d["referenced_tweets"] = refs
			}
		}
		if fields["attachments"] && len(p.MediaIDs) > 0 {
			keys := make([]string, len(p.MediaIDs))
			for i, m := range p.MediaIDs {
				keys[i] = "3_" + m
			}
			d["attachments"] = map[string]any{"media_keys": keys}
		}
		data = append(data, d)
	}
	writeList(c, data, ids[start:end], next)
}

// writeList writes a v2 list body; X leaves out "data" when it is empty.
func writeList(c *call, data []map[string]any, ids []string, next string) {
	meta := map[string]any{"result_count": len(data)}
	if len(ids) > 0 {
		meta["newest_id"], meta["oldest_id"] = ids[0], ids[len(ids)-1]
	}
	if next != "" {
		meta["next_token"] = next
	}
	body := map[string]any{"meta": meta}
	if len(data) > 0 {
		body["data"] = data
	}
	writeJSON(c.w, http.StatusOK, body)
}

func (s *Server) dmEvents(c *call) {
	other := c.r.PathValue("id")
	if !xapi.ValidID(other) {
		writeInvalid(c.w, "participant_id must be a decimal id.")
		return
	}
	limit, token, ok := pageParams(c, 1, 100, 100)
	if !ok {
		return
	}
	fields := fieldSet(c, "dm_event.fields")
	conv := conversationID(c.user.UserID, other)
	var list []DM
	for _, d := range slices.Backward(s.DMs()) {
		if d.ConversationID == conv {
			list = append(list, d)
		}
	}
	ids := make([]string, len(list))
	for i, d := range list {
		ids[i] = d.EventID
	}
	start, end, next, ok := page(ids, token, limit)
	if !ok {
		writeInvalid(c.w, "pagination_token is not valid.")
		return
	}
	data := []map[string]any{}
	for _, d := range list[start:end] {
		e := map[string]any{"id": d.EventID, "event_type": "MessageCreate", "text": d.Text}
		if fields["created_at"] {
			e["created_at"] = d.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		if fields["sender_id"] {
			e["sender_id"] = d.SenderID
		}
		if fields["dm_conversation_id"] {
			e["dm_conversation_id"] = d.ConversationID
		}
		if fields["attachments"] && len(d.MediaIDs) > 0 {
			keys := make([]string, len(d.MediaIDs))
			for i, m := range d.MediaIDs {
				keys[i] = "3_" + m
			}
			e["attachments"] = map[string]any{"media_keys": keys}
		}
		data = append(data, e)
	}
	writeList(c, data, nil, next)
}
