package reply

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// miniX is a small in-test stand-in for X's write endpoints. It stores
// uploads, posts and DMs, and checks content types and required fields.
// fault, if set, runs first and may answer instead (return true).
type miniX struct {
	t     *testing.T
	clock *fakeClock
	mu    sync.Mutex
	next  int
	// uploads by media id: category, type, bytes (chunked: appended)
	uploads  map[string]*upload
	posts    []post
	dms      []dm
	paths    []string
	fault    func(w http.ResponseWriter, r *http.Request, n int) bool
	statusOK int // STATUS polls answering in_progress before succeeded
	polls    int
}

type upload struct {
	Category, Type string
	Total          int
	Data           []byte
	Segments       []int
	Finalized      bool
}

type post struct {
	ID, Text, InReplyTo string
	MediaIDs            []string
	CreatedAt           time.Time
}

type dm struct {
	ID, To, Text, MediaID string
	CreatedAt             time.Time
}

func newMiniX(t *testing.T) *miniX {
	return &miniX{t: t, next: 1000, uploads: map[string]*upload{}}
}

func (x *miniX) id() string {
	x.next++
	return strconv.Itoa(x.next)
}

func (x *miniX) Paths() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.paths...)
}

func (x *miniX) Posts() []post {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]post(nil), x.posts...)
}

func (x *miniX) DMs() []dm {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]dm(nil), x.dms...)
}

func (x *miniX) now() time.Time {
	if x.clock != nil {
		return x.clock.Now()
	}
	return time.Now()
}

func (x *miniX) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x.mu.Lock()
	x.paths = append(x.paths, r.Method+" "+r.URL.Path)
	n := len(x.paths)
	fault := x.fault
	x.mu.Unlock()
	if fault != nil && fault(w, r, n) {
		return
	}
	x.serve(w, r)
}

// serve answers like X would, without faults or recording the path.
func (x *miniX) serve(w http.ResponseWriter, r *http.Request) {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := r.URL.Path
	switch {
	case r.Method == "POST" && p == "/2/media/upload":
		x.oneShot(w, r)
	case r.Method == "POST" && p == "/2/media/upload/initialize":
		var body struct {
			TotalBytes    int    `json:"total_bytes"`
			MediaType     string `json:"media_type"`
			MediaCategory string `json:"media_category"`
		}
		if !x.jsonBody(w, r, &body) {
			return
		}
		if body.TotalBytes <= 0 || body.MediaType == "" || body.MediaCategory == "" {
			writeJSON(w, 400, `{"title":"Invalid Request","detail":"missing field","type":"https://api.x.com/2/problems/invalid-request"}`)
			return
		}
		id := x.id()
		x.uploads[id] = &upload{Category: body.MediaCategory, Type: body.MediaType, Total: body.TotalBytes}
		writeJSON(w, 200, fmt.Sprintf(`{"data":{"id":%q,"media_key":"3_%s","expires_after_secs":86400}}`, id, id))
	case r.Method == "POST" && strings.HasSuffix(p, "/append"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/2/media/upload/"), "/append")
		u := x.uploads[id]
		if u == nil {
			writeJSON(w, 400, `{"errors":[{"message":"media id not found"}],"title":"Invalid Request","detail":"bad media id"}`)
			return
		}
		fields, data, ok := x.multipart(w, r)
		if !ok {
			return
		}
		seg, err := strconv.Atoi(fields["segment_index"])
		if err != nil || seg != len(u.Segments) {
			x.t.Errorf("append: segment_index %q, want %d", fields["segment_index"], len(u.Segments))
		}
		u.Segments = append(u.Segments, seg)
		u.Data = append(u.Data, data...)
		writeJSON(w, 200, `{"data":{"expires_at":1234}}`)
	case r.Method == "POST" && strings.HasSuffix(p, "/finalize"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/2/media/upload/"), "/finalize")
		u := x.uploads[id]
		if u == nil || len(u.Data) != u.Total {
			writeJSON(w, 400, `{"title":"Invalid Request","detail":"size mismatch","type":"https://api.x.com/2/problems/invalid-request"}`)
			return
		}
		u.Finalized = true
		pi := ""
		if x.statusOK > 0 {
			pi = `,"processing_info":{"state":"pending","check_after_secs":3}`
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":{"id":%q,"media_key":"3_%s","size":%d,"expires_after_secs":86400%s}}`, id, id, u.Total, pi))
	case r.Method == "GET" && p == "/2/media/upload":
		q := r.URL.Query()
		if q.Get("command") != "STATUS" || x.uploads[q.Get("media_id")] == nil {
			writeJSON(w, 400, `{"title":"Invalid Request","detail":"bad status query"}`)
			return
		}
		x.polls++
		state := "succeeded"
		if x.polls < x.statusOK {
			state = "in_progress"
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":{"id":%q,"processing_info":{"state":%q,"check_after_secs":2}}}`, q.Get("media_id"), state))
	case r.Method == "POST" && p == "/2/tweets":
		var body struct {
			Text  string `json:"text"`
			Reply struct {
				InReplyToTweetID string `json:"in_reply_to_tweet_id"`
			} `json:"reply"`
			Media struct {
				MediaIDs []string `json:"media_ids"`
			} `json:"media"`
		}
		if !x.jsonBody(w, r, &body) {
			return
		}
		for _, q := range x.posts {
			if q.Text == body.Text {
				writeJSON(w, 403, `{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}`)
				return
			}
		}
		for _, m := range body.Media.MediaIDs {
			if u := x.uploads[m]; u == nil || u.Category != CategoryTweetImage {
				writeJSON(w, 400, `{"errors":[{"parameters":{"media.media_ids":["`+m+`"]},"message":"Your media IDs are invalid."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`)
				return
			}
		}
		id := x.id()
		x.posts = append(x.posts, post{ID: id, Text: body.Text, InReplyTo: body.Reply.InReplyToTweetID, MediaIDs: body.Media.MediaIDs, CreatedAt: x.now()})
		writeJSON(w, 201, fmt.Sprintf(`{"data":{"id":%q,"text":%q,"edit_history_tweet_ids":[%q]}}`, id, body.Text, id))
	case r.Method == "POST" && strings.HasPrefix(p, "/2/dm_conversations/with/") && strings.HasSuffix(p, "/messages"):
		to := strings.TrimSuffix(strings.TrimPrefix(p, "/2/dm_conversations/with/"), "/messages")
		var body struct {
			Text        string `json:"text"`
			Attachments []struct {
				MediaID string `json:"media_id"`
			} `json:"attachments"`
		}
		if !x.jsonBody(w, r, &body) {
			return
		}
		var mid string
		if len(body.Attachments) > 0 {
			mid = body.Attachments[0].MediaID
			if u := x.uploads[mid]; u == nil || u.Category != CategoryDMImage {
				writeJSON(w, 403, `{"detail":"You are not permitted to attach this media to a DM event.","title":"Forbidden","status":403,"type":"about:blank"}`)
				return
			}
		}
		id := x.id()
		x.dms = append(x.dms, dm{ID: id, To: to, Text: body.Text, MediaID: mid, CreatedAt: x.now()})
		writeJSON(w, 201, fmt.Sprintf(`{"data":{"dm_conversation_id":"%s-%s","dm_event_id":%q}}`, testBotID, to, id))
	case r.Method == "GET" && p == "/2/users/"+testBotID+"/tweets":
		var data []string
		for i := len(x.posts) - 1; i >= 0; i-- {
			q := x.posts[i]
			data = append(data, fmt.Sprintf(`{"id":%q,"text":%q,"created_at":%q,"referenced_tweets":[{"type":"replied_to","id":%q}]}`,
				q.ID, q.Text, q.CreatedAt.Format(time.RFC3339), q.InReplyTo))
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":[%s],"meta":{"result_count":%d}}`, strings.Join(data, ","), len(data)))
	case r.Method == "GET" && strings.HasPrefix(p, "/2/dm_conversations/with/") && strings.HasSuffix(p, "/dm_events"):
		to := strings.TrimSuffix(strings.TrimPrefix(p, "/2/dm_conversations/with/"), "/dm_events")
		var data []string
		for i := len(x.dms) - 1; i >= 0; i-- {
			d := x.dms[i]
			if d.To != to {
				continue
			}
			text := d.Text
			if d.MediaID != "" {
				text += " https://t.co/abc123"
			}
			data = append(data, fmt.Sprintf(`{"id":%q,"event_type":"MessageCreate","text":%q,"sender_id":%q,"created_at":%q}`,
				d.ID, text, testBotID, d.CreatedAt.Format(time.RFC3339)))
		}
		writeJSON(w, 200, fmt.Sprintf(`{"data":[%s],"meta":{"result_count":%d}}`, strings.Join(data, ","), len(data)))
	default:
		writeJSON(w, 404, `{"title":"Not Found Error","detail":"no route","type":"https://api.x.com/2/problems/resource-not-found","status":404}`)
	}
}

func (x *miniX) jsonBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		writeJSON(w, 400, `{"title":"Invalid Request","detail":"Requests with bodies must have content-type of application/json."}`)
		x.t.Errorf("%s: content type %q", r.URL.Path, ct)
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, 400, `{"title":"Invalid Request","detail":"bad json"}`)
		x.t.Errorf("%s: %v", r.URL.Path, err)
		return false
	}
	return true
}

// multipart parses a multipart/form-data body: text fields and the bytes
// of the part named "media".
func (x *miniX) multipart(w http.ResponseWriter, r *http.Request) (map[string]string, []byte, bool) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		x.t.Errorf("%s: content type %q, want multipart/form-data", r.URL.Path, r.Header.Get("Content-Type"))
		writeJSON(w, 400, `{"title":"Invalid Request","detail":"want multipart"}`)
		return nil, nil, false
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	fields := map[string]string{}
	var data []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			x.t.Errorf("%s: %v", r.URL.Path, err)
			return nil, nil, false
		}
		b, _ := io.ReadAll(part)
		if part.FormName() == "media" {
			data = b
			fields["media.content_type"] = part.Header.Get("Content-Type")
		} else {
			fields[part.FormName()] = string(b)
		}
	}
	if data == nil {
		writeJSON(w, 400, `{"title":"Invalid Request","detail":"media missing"}`)
		return nil, nil, false
	}
	return fields, data, true
}

func (x *miniX) oneShot(w http.ResponseWriter, r *http.Request) {
	fields, data, ok := x.multipart(w, r)
	if !ok {
		return
	}
	cat := fields["media_category"]
	if cat != CategoryTweetImage && cat != CategoryDMImage {
		writeJSON(w, 400, `{"title":"Invalid Request","detail":"media_category"}`)
		return
	}
	id := x.id()
	x.uploads[id] = &upload{Category: cat, Type: fields["media.content_type"], Total: len(data), Data: data, Finalized: true}
	writeJSON(w, 200, fmt.Sprintf(`{"data":{"id":%q,"media_key":"3_%s","size":%d,"expires_after_secs":86400,"image":{"image_type":"image/png","w":8,"h":8}}}`, id, id, len(data)))
}
