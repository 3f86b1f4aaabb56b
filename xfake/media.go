package xfake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // register decoders for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// mediaLifetime is X's expires_after_secs for images.
const mediaLifetime = 86400 * time.Second

var mediaCategories = map[string]bool{"tweet_image": true, "dm_image": true}

// sniffImage returns the MIME type and size of an image X accepts (PNG,
// JPEG, GIF, WEBP), or an error when data is not one.
func sniffImage(data []byte) (mediaType string, w, h int, err error) {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		mediaType = "image/png"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		mediaType = "image/jpeg"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		mediaType = "image/gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		w, h, err = webpSize(data)
		return "image/webp", w, h, err
	default:
		return "", 0, 0, errors.New("not a PNG, JPEG, GIF or WEBP image")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", 0, 0, fmt.Errorf("corrupt %s: %w", mediaType, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", 0, 0, fmt.Errorf("%s has no pixels", mediaType)
	}
	return mediaType, cfg.Width, cfg.Height, nil
}

// webpSize reads the canvas size from the first chunk of a WEBP file.
func webpSize(d []byte) (int, int, error) {
	bad := errors.New("corrupt image/webp")
	if len(d) < 30 {
		return 0, 0, bad
	}
	switch string(d[12:16]) {
	case "VP8X":
		w := int(d[24]) | int(d[25])<<8 | int(d[26])<<16
		h := int(d[27]) | int(d[28])<<8 | int(d[29])<<16
		return w + 1, h + 1, nil
	case "VP8 ":
		if d[23] != 0x9d || d[24] != 0x01 || d[25] != 0x2a {
			return 0, 0, bad
		}
		return int(binary.LittleEndian.Uint16(d[26:]) & 0x3fff), int(binary.LittleEndian.Uint16(d[28:]) & 0x3fff), nil
	case "VP8L":
		if d[20] != 0x2f {
			return 0, 0, bad
		}
		bits := binary.LittleEndian.Uint32(d[21:])
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
	}
	return 0, 0, bad
}

// parseMultipart reads the fields of a multipart/form-data body: file and
// value parts alike, by name.
func parseMultipart(c *call) (map[string][]byte, bool) {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		writeInvalid(c.w, "Requests must be multipart/form-data with a media part.")
		return nil, false
	}
	mr := multipart.NewReader(bytes.NewReader(c.body), params["boundary"])
	out := map[string][]byte{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			writeInvalid(c.w, "Malformed multipart body.")
			return nil, false
		}
		b, err := io.ReadAll(p)
		if err != nil {
			writeInvalid(c.w, "Malformed multipart body.")
			return nil, false
		}
		out[p.FormName()] = b
	}
}

func (s *Server) mediaJSON(u *Upload, withImage, withProcessing bool) map[string]any {
	d := map[string]any{
		"id":                 u.ID,
		"media_key":          u.MediaKey,
		"expires_after_secs": max(0, int(u.ExpiresAt.Sub(s.now())/time.Second)),
	}
	if u.Finalized {
		d["size"] = len(u.Data)
	}
	if withImage {
		d["image"] = map[string]any{"image_type": u.MediaType, "w": u.Width, "h": u.Height}
	}
	if withProcessing {
		d["processing_info"] = map[string]any{"state": "succeeded", "progress_percent": 100}
	}
	return map[string]any{"data": d}
}

// newUpload stores an upload for c's user. Callers hold s.mu.
func (s *Server) newUploadLocked(c *call, category string) *Upload {
	id := s.newID()
	now := s.now()
	u := &Upload{ID: id, MediaKey: "3_" + id, Category: category, OwnerID: c.user.UserID,
		CreatedAt: now.UTC(), ExpiresAt: now.Add(mediaLifetime).UTC()}
	s.uploads = append(s.uploads, u)
	return u
}

func (s *Server) uploadLocked(id string) *Upload {
	for _, u := range s.uploads {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (s *Server) mediaUpload(c *call) {
	f, ok := parseMultipart(c)
	if !ok {
		return
	}
	data, hasMedia := f["media"]
	cat := string(f["media_category"])
	switch {
	case !hasMedia || len(data) == 0:
		writeInvalid(c.w, "The media field is required.")
		return
	case cat == "":
		writeInvalid(c.w, "The media_category field is required.")
		return
	case !mediaCategories[cat]:
		writeInvalid(c.w, fmt.Sprintf("media_category %q is not one of tweet_image, dm_image.", cat))
		return
	case len(data) > MaxImageBytes:
		writeInvalid(c.w, fmt.Sprintf("Image is %d bytes; the limit is %d.", len(data), MaxImageBytes))
		return
	}
	mt, w, h, err := sniffImage(data)
	if err != nil {
		writeInvalid(c.w, "Unsupported or corrupt media: "+err.Error()+".")
		return
	}
	if want := string(f["media_type"]); want != "" && want != mt {
		writeInvalid(c.w, fmt.Sprintf("media_type %q does not match the uploaded %s.", want, mt))
		return
	}
	s.mu.Lock()
	u := s.newUploadLocked(c, cat)
	u.MediaType, u.Data, u.Width, u.Height, u.Finalized = mt, data, w, h, true
	resp := s.mediaJSON(u, true, false)
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, resp)
}

func (s *Server) mediaInitialize(c *call) {
	var req struct {
		MediaType     string `json:"media_type"`
		TotalBytes    int    `json:"total_bytes"`
		MediaCategory string `json:"media_category"`
	}
	if !decodeJSON(c, &req, false) {
		return
	}
	switch {
	case !mediaCategories[req.MediaCategory]:
		writeInvalid(c.w, fmt.Sprintf("media_category %q is not one of tweet_image, dm_image.", req.MediaCategory))
		return
	case !strings.HasPrefix(req.MediaType, "image/"):
		writeInvalid(c.w, fmt.Sprintf("media_type %q is not an image type.", req.MediaType))
		return
	case req.TotalBytes <= 0 || req.TotalBytes > MaxImageBytes:
		writeInvalid(c.w, fmt.Sprintf("total_bytes must be between 1 and %d.", MaxImageBytes))
		return
	}
	s.mu.Lock()
	u := s.newUploadLocked(c, req.MediaCategory)
	u.Chunked, u.MediaType, u.totalBytes, u.segments = true, req.MediaType, req.TotalBytes, map[int][]byte{}
	resp := s.mediaJSON(u, false, false)
	s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, resp)
}

// chunkedUpload finds the unfinalized chunked upload {id} owned by c's
// user; callers hold s.mu. It writes the error itself.
func (s *Server) chunkedUploadLocked(c *call) *Upload {
	u := s.uploadLocked(c.r.PathValue("id"))
	switch {
	case u == nil || u.OwnerID != c.user.UserID || !u.Chunked:
		writeInvalid(c.w, "media id "+strconv.Quote(c.r.PathValue("id"))+" is not an upload in progress.")
		return nil
	case u.Finalized:
		writeInvalid(c.w, "media id "+strconv.Quote(u.ID)+" is already finalized.")
		return nil
	case !s.now().Before(u.ExpiresAt):
		writeInvalid(c.w, "media id "+strconv.Quote(u.ID)+" has expired.")
		return nil
	}
	return u
}

func (s *Server) mediaAppend(c *call) {
	f, ok := parseMultipart(c)
	if !ok {
		return
	}
	seg, err := strconv.Atoi(string(f["segment_index"]))
	if err != nil || seg < 0 || seg > 999 {
		writeInvalid(c.w, "segment_index must be an integer from 0 to 999.")
		return
	}
	chunk, hasMedia := f["media"]
	if !hasMedia || len(chunk) == 0 {
		writeInvalid(c.w, "The media field is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.chunkedUploadLocked(c)
	if u == nil {
		return
	}
	total := len(chunk)
	for i, b := range u.segments {
		if i != seg {
			total += len(b)
		}
	}
	if total > u.totalBytes {
		writeInvalid(c.w, fmt.Sprintf("Appended %d bytes; total_bytes was %d.", total, u.totalBytes))
		return
	}
	u.segments[seg] = chunk
	writeJSON(c.w, http.StatusOK, map[string]any{"data": map[string]any{"expires_at": u.ExpiresAt.Unix()}})
}

func (s *Server) mediaFinalize(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.chunkedUploadLocked(c)
	if u == nil {
		return
	}
	var data []byte
	for i := 0; i < len(u.segments); i++ {
		b, ok := u.segments[i]
		if !ok {
			writeInvalid(c.w, fmt.Sprintf("Segment %d is missing.", i))
			return
		}
		data = append(data, b...)
	}
	if len(data) != u.totalBytes {
		writeInvalid(c.w, fmt.Sprintf("Received %d bytes; total_bytes was %d.", len(data), u.totalBytes))
		return
	}
	mt, w, h, err := sniffImage(data)
	if err != nil {
		writeInvalid(c.w, "Unsupported or corrupt media: "+err.Error()+".")
		return
	}
	if mt != u.MediaType {
		writeInvalid(c.w, fmt.Sprintf("media_type %q does not match the uploaded %s.", u.MediaType, mt))
		return
	}
	u.Data, u.Width, u.Height, u.Finalized, u.segments = data, w, h, true, nil
	writeJSON(c.w, http.StatusOK, s.mediaJSON(u, true, false))
}

func (s *Server) mediaStatus(c *call) {
	q := c.r.URL.Query()
	if q.Get("command") != "STATUS" {
		writeInvalid(c.w, "command must be STATUS.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uploadLocked(q.Get("media_id"))
	if u == nil || u.OwnerID != c.user.UserID {
		writeInvalid(c.w, "media_id "+strconv.Quote(q.Get("media_id"))+" is not a known upload.")
		return
	}
	if !u.Finalized {
		writeInvalid(c.w, "media_id "+strconv.Quote(u.ID)+" is not finalized.")
		return
	}
	writeJSON(c.w, http.StatusOK, s.mediaJSON(u, false, true))
}

// usableMediaLocked checks that id names a finalized, unexpired upload of
// owner in one of the categories with the given prefix ("tweet_" or
// "dm_"). Callers hold s.mu.
func (s *Server) usableMediaLocked(id, owner, prefix string) error {
	u := s.uploadLocked(id)
	switch {
	case u == nil || u.OwnerID != owner:
		return fmt.Errorf("media id %q does not exist for this user", id)
	case !u.Finalized:
		return fmt.Errorf("media id %q is not finalized", id)
	case !s.now().Before(u.ExpiresAt):
		return fmt.Errorf("media id %q has expired", id)
	case !strings.HasPrefix(u.Category, prefix):
		return fmt.Errorf("media id %q has category %s", id, u.Category)
	}
	return nil
}
