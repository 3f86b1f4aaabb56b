package xfake

import (
	"net/url"
	"slices"
	"time"
)

// Post is a stored post: one created through POST /2/tweets, or one seeded
// with SeedPost / SeedMention.
type Post struct {
	ID               string
	Text             string
	AuthorID         string
	InReplyToTweetID string // "" unless a reply
	QuoteTweetID     string
	MediaIDs         []string
	CreatedAt        time.Time
}

// DM is a stored direct message event.
type DM struct {
	EventID        string
	ConversationID string // "<lower id>-<higher id>", as X names one-to-one conversations
	SenderID       string
	RecipientID    string
	Text           string
	MediaIDs       []string
	CreatedAt      time.Time
}

// Upload is an uploaded media item. Data holds the image bytes (for a
// chunked upload, once finalized).
type Upload struct {
	ID        string
	MediaKey  string
	Category  string // tweet_image, dm_image, ...
	MediaType string // sniffed: image/png, image/jpeg, image/gif, image/webp
	Data      []byte
	Width     int
	Height    int
	OwnerID   string
	Chunked   bool
	Finalized bool
	CreatedAt time.Time
	ExpiresAt time.Time

	totalBytes int
	segments   map[int][]byte
}

// Request is one request the fake answered. Authorization headers are not
// kept; Auth says which kind succeeded ("oauth1", "bearer" or "").
type Request struct {
	Method      string
	Path        string
	Query       url.Values
	Endpoint    string // the route pattern, e.g. EndpointTweets
	ContentType string
	Body        []byte // nil for bodies over 64 KiB
	Auth        string
	UserID      string // the signing user for OAuth 1.0a requests
	AuthError   string // why authentication failed, if it did
	Status      int
	At          time.Time
}

// Posts returns every stored post, oldest first.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Post, len(s.posts))
	for i, p := range s.posts {
		out[i] = p.clone()
	}
	return out
}

// RepliesTo returns the posts that reply to tweetID, oldest first. A bot
// that answered every job exactly once leaves exactly one per job.
func (s *Server) RepliesTo(tweetID string) []Post {
	var out []Post
	for _, p := range s.Posts() {
		if p.InReplyToTweetID == tweetID {
			out = append(out, p)
		}
	}
	return out
}

// DMs returns every stored direct message, oldest first.
func (s *Server) DMs() []DM {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DM, len(s.dms))
	for i, d := range s.dms {
		d.MediaIDs = slices.Clone(d.MediaIDs)
		out[i] = d
	}
	return out
}

// DMsTo returns the direct messages sent to userID, oldest first.
func (s *Server) DMsTo(userID string) []DM {
	var out []DM
	for _, d := range s.DMs() {
		if d.RecipientID == userID {
			out = append(out, d)
		}
	}
	return out
}

// Uploads returns every media upload, oldest first, with its bytes.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, len(s.uploads))
	for i, u := range s.uploads {
		out[i] = u.clone()
	}
	return out
}

// Upload returns the upload with the given media id.
func (s *Server) Upload(mediaID string) (Upload, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.uploadLocked(mediaID); u != nil {
		return u.clone(), true
	}
	return Upload{}, false
}

// Requests returns every request answered, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// SeedPost stores p as if its author had posted it (for example a mention
// of the bot that a test then delivers to the webhook). An empty ID is
// assigned, a zero CreatedAt is now. It returns the stored post.
func (s *Server) SeedPost(p Post) Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.newID()
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now().UTC()
	}
	p.MediaIDs = slices.Clone(p.MediaIDs)
	s.posts = append(s.posts, p)
	return p.clone()
}

// SeedDM stores a direct message as if SenderID had sent it. An empty
// EventID or ConversationID is filled in. It returns the stored message.
func (s *Server) SeedDM(d DM) DM {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.EventID == "" {
		d.EventID = s.newID()
	}
	if d.ConversationID == "" {
		d.ConversationID = conversationID(d.SenderID, d.RecipientID)
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now().UTC()
	}
	d.MediaIDs = slices.Clone(d.MediaIDs)
	s.dms = append(s.dms, d)
	return d
}

func (p Post) clone() Post {
	p.MediaIDs = slices.Clone(p.MediaIDs)
	return p
}

func (u *Upload) clone() Upload {
	c := *u
	c.Data = slices.Clone(u.Data)
	c.segments = nil
	return c
}

// conversationID names a one-to-one conversation as X does: the two user
// ids, numerically smaller first, joined by "-".
func conversationID(a, b string) string {
	if len(a) > len(b) || (len(a) == len(b) && a > b) {
		a, b = b, a
	}
	return a + "-" + b
}
