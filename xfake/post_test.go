package xfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMediaUploadOneShot(t *testing.T) {
	f := start(t, Config{})
	img := pngBytes(t, 7, 5)
	body, ct := multipartBody(t, map[string][]byte{"media": img, "media_category": []byte("tweet_image")})
	r := f.do(f.bot, http.MethodPost, "/2/media/upload", ct, body)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	data := r.Body["data"].(map[string]any)
	id := data["id"].(string)
	assert.Equal(t, "3_"+id, data["media_key"])
	assert.Equal(t, float64(len(img)), data["size"])
	assert.Equal(t, float64(86400), data["expires_after_secs"])
	assert.Equal(t, map[string]any{"image_type": "image/png", "w": float64(7), "h": float64(5)}, data["image"])
	for _, h := range []string{"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} {
		assert.NotEmpty(t, r.Header.Get(h), h)
	}
	assert.Equal(t, "500", r.Header.Get("x-rate-limit-limit"))
	assert.Equal(t, "499", r.Header.Get("x-rate-limit-remaining"))

	ups := f.srv.Uploads()
	require.Len(t, ups, 1)
	assert.Equal(t, img, ups[0].Data)
	assert.Equal(t, "tweet_image", ups[0].Category)
	assert.Equal(t, f.srv.Bot().UserID, ups[0].OwnerID)

	r = f.do(f.bot, http.MethodGet, "/2/media/upload?command=STATUS&media_id="+id, "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, "succeeded", r.Body["data"].(map[string]any)["processing_info"].(map[string]any)["state"])
}

func TestMediaUploadFormats(t *testing.T) {
	f := start(t, Config{})
	im := image.NewPaletted(image.Rect(0, 0, 3, 2), []color.Color{color.Black, color.White})
	var g, j bytes.Buffer
	require.NoError(t, gif.Encode(&g, im, nil))
	require.NoError(t, jpeg.Encode(&j, im, nil))
	// A minimal lossless WEBP header: 4×3 canvas.
	webp := []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f")
	bits := uint32(4-1) | uint32(3-1)<<14
	webp = append(webp, byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24), 0, 0, 0, 0, 0, 0, 0, 0)
	for name, tc := range map[string]struct {
		data []byte
		typ  string
		w, h int
	}{
		"gif": {g.Bytes(), "image/gif", 3, 2}, "jpeg": {j.Bytes(), "image/jpeg", 3, 2}, "webp": {webp, "image/webp", 4, 3},
	} {
		t.Run(name, func(t *testing.T) {
			id := f.upload(f.bot, tc.data, "dm_image")
			u, ok := f.srv.Upload(id)
			require.True(t, ok)
			assert.Equal(t, tc.typ, u.MediaType)
			assert.Equal(t, [2]int{tc.w, tc.h}, [2]int{u.Width, u.Height})
		})
	}
}

func TestMediaUploadRejects(t *testing.T) {
	f := start(t, Config{})
	img := pngBytes(t, 2, 2)
	huge := append(append([]byte{}, img...), make([]byte, MaxImageBytes)...)
	cases := map[string]struct {
		fields map[string][]byte
		ct     string
		want   string
	}{
		"no media":         {map[string][]byte{"media_category": []byte("tweet_image")}, "", "media field is required"},
		"no category":      {map[string][]byte{"media": img}, "", "media_category field is required"},
		"bad category":     {map[string][]byte{"media": img, "media_category": []byte("tweet_video")}, "", "not one of"},
		"not an image":     {map[string][]byte{"media": []byte("hello, world"), "media_category": []byte("tweet_image")}, "", "not a PNG"},
		"corrupt png":      {map[string][]byte{"media": img[:20], "media_category": []byte("tweet_image")}, "", "corrupt image/png"},
		"over 5 MB":        {map[string][]byte{"media": huge, "media_category": []byte("tweet_image")}, "", "limit is 5000000"},
		"wrong media_type": {map[string][]byte{"media": img, "media_category": []byte("tweet_image"), "media_type": []byte("image/jpeg")}, "", "does not match"},
		"json body":        {nil, "application/json", "multipart/form-data"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var body []byte
			ct := tc.ct
			if tc.fields != nil {
				body, ct = multipartBody(t, tc.fields)
			} else {
				body = []byte(`{"media":"aGk="}`)
			}
			r := f.do(f.bot, http.MethodPost, "/2/media/upload", ct, body)
			assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			assert.Contains(t, detail(r), tc.want)
			assert.Equal(t, "Invalid Request", r.Body["title"])
		})
	}
	assert.Empty(t, f.srv.Uploads())
}

func TestMediaUploadChunked(t *testing.T) {
	f := start(t, Config{})
	img := pngBytes(t, 40, 30)
	r := f.postJSON(f.bot, "/2/media/upload/initialize", map[string]any{"media_type": "image/png", "total_bytes": len(img), "media_category": "dm_image"})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	id := r.Body["data"].(map[string]any)["id"].(string)

	// Finalizing early fails: no bytes yet.
	r = f.do(f.bot, http.MethodPost, "/2/media/upload/"+id+"/finalize", "", nil)
	assert.Equal(t, http.StatusBadRequest, r.Status)

	half := len(img) / 2
	for i, chunk := range [][]byte{img[:half], img[half:]} {
		body, ct := multipartBody(t, map[string][]byte{"media": chunk, "segment_index": []byte(strconv.Itoa(i))})
		r = f.do(f.bot, http.MethodPost, "/2/media/upload/"+id+"/append", ct, body)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
	}
	// One byte too many.
	body, ct := multipartBody(t, map[string][]byte{"media": []byte{0}, "segment_index": []byte("2")})
	r = f.do(f.bot, http.MethodPost, "/2/media/upload/"+id+"/append", ct, body)
	assert.Equal(t, http.StatusBadRequest, r.Status)

	r = f.do(f.bot, http.MethodPost, "/2/media/upload/"+id+"/finalize", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, float64(len(img)), r.Body["data"].(map[string]any)["size"])
	u, ok := f.srv.Upload(id)
	require.True(t, ok)
	assert.Equal(t, img, u.Data)
	assert.True(t, u.Chunked)

	r = f.do(f.bot, http.MethodPost, "/2/media/upload/"+id+"/finalize", "", nil)
	assert.Equal(t, http.StatusBadRequest, r.Status, "finalize twice")

	// The media can go in a DM.
	r = f.postJSON(f.bot, "/2/dm_conversations/with/42/messages", map[string]any{"attachments": []map[string]string{{"media_id": id}}})
	assert.Equal(t, http.StatusCreated, r.Status, r.Raw)

	// Initialize checks its input.
	r = f.postJSON(f.bot, "/2/media/upload/initialize", map[string]any{"media_type": "image/png", "total_bytes": MaxImageBytes + 1, "media_category": "tweet_image"})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	r = f.do(f.bot, http.MethodPost, "/2/media/upload/initialize", "text/plain", []byte(`{"media_type":"image/png"}`))
	assert.Equal(t, JSONContentTypeMessage, detail(r))
}

func TestPostReplyWithMedia(t *testing.T) {
	f := start(t, Config{})
	mention := f.srv.SeedPost(Post{AuthorID: "1247048165561270272", Text: "@moetronbot moerand"})
	media := f.upload(f.bot, pngBytes(t, 4, 4), "tweet_image")

	r := f.postJSON(f.bot, "/2/tweets", map[string]any{
		"text": "@alice here you go", "reply": map[string]any{"in_reply_to_tweet_id": mention.ID},
		"media": map[string]any{"media_ids": []string{media}},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	data := r.Body["data"].(map[string]any)
	id := data["id"].(string)
	assert.Equal(t, "@alice here you go", data["text"])
	assert.Equal(t, []any{id}, data["edit_history_tweet_ids"])
	assert.Equal(t, "10000", r.Header.Get("x-app-limit-24hour-limit"))

	replies := f.srv.RepliesTo(mention.ID)
	require.Len(t, replies, 1)
	assert.Equal(t, Post{ID: id, Text: "@alice here you go", AuthorID: f.srv.Bot().UserID, InReplyToTweetID: mention.ID,
		MediaIDs: []string{media}, CreatedAt: f.clock.Now().UTC()}, replies[0])
	assert.Empty(t, f.srv.RepliesTo("1"))
	assert.Greater(t, id, mention.ID, "ids grow with time")
}

func TestPostRejects(t *testing.T) {
	// The clock jumps a day below; widen the OAuth window to match.
	f := start(t, Config{TimestampWindow: 48 * time.Hour})
	dmMedia := f.upload(f.bot, pngBytes(t, 2, 2), "dm_image")
	tweetMedia := f.upload(f.bot, pngBytes(t, 2, 2), "tweet_image")
	cases := map[string]struct {
		body any
		ct   string
		want string
	}{
		"wrong content type": {`{"text":"hi"}`, "text/plain", JSONContentTypeMessage},
		"form content type":  {`{"text":"hi"}`, "application/x-www-form-urlencoded", JSONContentTypeMessage},
		"empty":              {map[string]any{}, "", "text or media"},
		"too long":           {map[string]any{"text": strings.Repeat("a", 281)}, "", "281 weighted"},
		"too long CJK":       {map[string]any{"text": strings.Repeat("字", 141)}, "", "282 weighted"},
		"unknown media":      {map[string]any{"text": "x", "media": map[string]any{"media_ids": []string{"123"}}}, "", "does not exist"},
		"dm media":           {map[string]any{"text": "x", "media": map[string]any{"media_ids": []string{dmMedia}}}, "", "category dm_image"},
		"five media":         {map[string]any{"text": "x", "media": map[string]any{"media_ids": []string{tweetMedia, tweetMedia, tweetMedia, tweetMedia, tweetMedia}}}, "", "at most 4"},
		"bad reply id":       {map[string]any{"text": "x", "reply": map[string]any{"in_reply_to_tweet_id": "abc"}}, "", "decimal id"},
		"not json":           {`{"text":`, "application/json", "not valid JSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var r response
			if s, ok := tc.body.(string); ok {
				r = f.do(f.bot, http.MethodPost, "/2/tweets", tc.ct, []byte(s))
			} else {
				r = f.postJSON(f.bot, "/2/tweets", tc.body)
			}
			assert.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			assert.Contains(t, detail(r), tc.want)
		})
	}
	assert.Empty(t, f.srv.Posts())

	// Another user's media may not be used.
	alice := Account{UserID: "1247048165561270272", ScreenName: "alice", AccessToken: "alice-token", AccessTokenSecret: "alice-secret"}
	require.NoError(t, f.srv.AddAccount(alice))
	r := f.postJSON(userClient(f.srv, alice), "/2/tweets", map[string]any{"text": "x", "media": map[string]any{"media_ids": []string{tweetMedia}}})
	assert.Equal(t, http.StatusBadRequest, r.Status)

	// Media expire after 86400 s.
	f.clock.Advance(24 * time.Hour)
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "late", "media": map[string]any{"media_ids": []string{tweetMedia}}})
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, detail(r), "expired")
}

func TestWeightedLength(t *testing.T) {
	assert.Equal(t, 5, WeightedLength("hello"))
	assert.Equal(t, 4, WeightedLength("日本"))
	assert.Equal(t, 2, WeightedLength("😀"))
	assert.Equal(t, 23+4, WeightedLength("see https://example.com/a/very/long/path/indeed"))
	assert.Equal(t, 1, WeightedLength("\u2010")) // in the 8208-8223 range
	ok := strings.Repeat("字", 140)
	assert.Equal(t, 280, WeightedLength(ok))
}

func TestDuplicateContent(t *testing.T) {
	f := start(t, Config{DuplicateWindow: time.Hour, TimestampWindow: 2 * time.Hour})
	r := f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "same"})
	require.Equal(t, http.StatusCreated, r.Status)
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "same"})
	assert.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, map[string]any{"detail": DuplicateContentDetail, "type": "about:blank", "title": "Forbidden", "status": float64(403)}, r.Body)

	// Another user may post the same text.
	alice := Account{UserID: "77", AccessToken: "a-token", AccessTokenSecret: "a-secret"}
	require.NoError(t, f.srv.AddAccount(alice))
	r = f.postJSON(userClient(f.srv, alice), "/2/tweets", map[string]any{"text": "same"})
	assert.Equal(t, http.StatusCreated, r.Status)

	// After the window the bot may too.
	f.clock.Advance(time.Hour)
	r = f.postJSON(f.bot, "/2/tweets", map[string]any{"text": "same"})
	assert.Equal(t, http.StatusCreated, r.Status)
	assert.Len(t, f.srv.Posts(), 3)
}

func TestSendDM(t *testing.T) {
	f := start(t, Config{})
	media := f.upload(f.bot, pngBytes(t, 3, 3), "dm_image")
	r := f.postJSON(f.bot, "/2/dm_conversations/with/1247048165561270272/messages", map[string]any{
		"text": "your image", "attachments": []map[string]string{{"media_id": media}},
	})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	data := r.Body["data"].(map[string]any)
	bot := f.srv.Bot().UserID
	assert.Equal(t, bot+"-1247048165561270272", data["dm_conversation_id"])
	dms := f.srv.DMsTo("1247048165561270272")
	require.Len(t, dms, 1)
	assert.Equal(t, DM{EventID: data["dm_event_id"].(string), ConversationID: bot + "-1247048165561270272", SenderID: bot,
		RecipientID: "1247048165561270272", Text: "your image", MediaIDs: []string{media}, CreatedAt: f.clock.Now().UTC()}, dms[0])
	assert.Equal(t, "1440", r.Header.Get("x-app-limit-24hour-limit"))

	// tweet_image media may not go in a DM.
	tweetMedia := f.upload(f.bot, pngBytes(t, 3, 3), "tweet_image")
	r = f.postJSON(f.bot, "/2/dm_conversations/with/1247048165561270272/messages", map[string]any{
		"text": "x", "attachments": []map[string]string{{"media_id": tweetMedia}},
	})
	assert.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, DMMediaDetail, detail(r))
	for name, body := range map[string]any{
		"empty":     map[string]any{},
		"two media": map[string]any{"attachments": []map[string]string{{"media_id": media}, {"media_id": media}}},
	} {
		r = f.postJSON(f.bot, "/2/dm_conversations/with/5/messages", body)
		assert.Equal(t, http.StatusBadRequest, r.Status, name)
	}
	r = f.do(f.bot, http.MethodPost, "/2/dm_conversations/with/5/messages", "", []byte(`{"text":"x"}`))
	assert.Equal(t, JSONContentTypeMessage, detail(r))
	assert.Len(t, f.srv.DMs(), 1)
}

func TestUserTweetsReadBack(t *testing.T) {
	f := start(t, Config{})
	bot := f.srv.Bot().UserID
	var ids []string
	for i := range 7 {
		body := map[string]any{"text": fmt.Sprintf("reply %d", i), "reply": map[string]any{"in_reply_to_tweet_id": strconv.Itoa(1000 + i)}}
		r := f.postJSON(f.bot, "/2/tweets", body)
		require.Equal(t, http.StatusCreated, r.Status)
		ids = append(ids, r.Body["data"].(map[string]any)["id"].(string))
		f.clock.Advance(time.Second)
	}
	f.srv.SeedPost(Post{AuthorID: "99", Text: "someone else"})

	type page struct {
		Data []struct {
			ID               string `json:"id"`
			Text             string `json:"text"`
			CreatedAt        string `json:"created_at"`
			ReferencedTweets []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"referenced_tweets"`
		} `json:"data"`
		Meta struct {
			ResultCount int    `json:"result_count"`
			NextToken   string `json:"next_token"`
			NewestID    string `json:"newest_id"`
		} `json:"meta"`
	}
	get := func(q string) page {
		r := f.do(f.bot, http.MethodGet, "/2/users/"+bot+"/tweets?"+q, "", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		var p page
		require.NoError(t, json.Unmarshal([]byte(r.Raw), &p))
		return p
	}
	p := get("max_results=5&tweet.fields=referenced_tweets,created_at")
	require.Len(t, p.Data, 5)
	assert.Equal(t, 5, p.Meta.ResultCount)
	assert.Equal(t, ids[6], p.Data[0].ID, "newest first")
	assert.Equal(t, ids[6], p.Meta.NewestID)
	require.Len(t, p.Data[0].ReferencedTweets, 1)
	assert.Equal(t, "replied_to", p.Data[0].ReferencedTweets[0].Type)
	assert.Equal(t, "1006", p.Data[0].ReferencedTweets[0].ID)
	assert.NotEmpty(t, p.Data[0].CreatedAt)
	require.NotEmpty(t, p.Meta.NextToken)

	p2 := get("max_results=5&pagination_token=" + p.Meta.NextToken)
	require.Len(t, p2.Data, 2)
	assert.Equal(t, ids[1], p2.Data[0].ID)
	assert.Empty(t, p2.Meta.NextToken)
	assert.Empty(t, p2.Data[0].CreatedAt, "created_at only when asked for")

	start := f.clock.Now().Add(-3 * time.Second).UTC().Format(time.RFC3339Nano) // posts 4, 5 and 6
	p3 := get("max_results=10&start_time=" + start)
	assert.Len(t, p3.Data, 3)

	r := f.do(f.bot, http.MethodGet, "/2/users/"+bot+"/tweets?max_results=500", "", nil)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	r = f.do(f.bearer(), http.MethodGet, "/2/users/42/tweets", "", nil)
	assert.Equal(t, http.StatusOK, r.Status, "app-only read works")
	assert.Equal(t, map[string]any{"result_count": float64(0)}, r.Body["meta"])
}

func TestDMEventsReadBack(t *testing.T) {
	f := start(t, Config{})
	f.srv.SeedDM(DM{SenderID: "55", RecipientID: f.srv.Bot().UserID, Text: "moemess"})
	r := f.postJSON(f.bot, "/2/dm_conversations/with/55/messages", map[string]any{"text": "here"})
	require.Equal(t, http.StatusCreated, r.Status)
	f.srv.SeedDM(DM{SenderID: "66", RecipientID: f.srv.Bot().UserID, Text: "other conversation"})

	r = f.do(f.bot, http.MethodGet, "/2/dm_conversations/with/55/dm_events?dm_event.fields=sender_id,created_at", "", nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	data := r.Body["data"].([]any)
	require.Len(t, data, 2)
	first := data[0].(map[string]any)
	assert.Equal(t, "here", first["text"])
	assert.Equal(t, f.srv.Bot().UserID, first["sender_id"])
	assert.Equal(t, "MessageCreate", first["event_type"])
	assert.Equal(t, "moemess", data[1].(map[string]any)["text"])
}
