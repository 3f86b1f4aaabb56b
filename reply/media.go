package reply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"time"

	"github.com/moetron/moetron/internal/xapi"
)

// MaxImageBytes is X's limit for one image (5 MB, decimal: the safe
// reading of "5 MB"); larger images are
// refused with ErrImageTooLarge before anything is sent.
const MaxImageBytes = 5 * 1000 * 1000

// Media categories for UploadOptions.Category.
const (
	CategoryTweetImage = "tweet_image"
	CategoryDMImage    = "dm_image"
)

// maxStatusPolls bounds STATUS polls after a finalize.
const maxStatusPolls = 30

// UploadOptions are per-call upload options. A nil *UploadOptions means
// CategoryTweetImage and the size-based choice of one-shot or chunked.
type UploadOptions struct {
	// Category is CategoryTweetImage (empty means this) or CategoryDMImage;
	// a DM attachment must use CategoryDMImage.
	Category string
	// Chunked forces the initialize/append/finalize flow whatever the size.
	Chunked bool
}

// Media is an uploaded image.
type Media struct {
	ID        string // media id for media_ids / attachments
	Key       string // media_key, e.g. "3_1234"
	Size      int64
	Type      string // detected MIME type sent to X
	Category  string
	ExpiresAt time.Time // zero if X did not say; ids expire (24 h for images)
}

type processingInfo struct {
	State           string `json:"state"`
	CheckAfterSecs  int    `json:"check_after_secs"`
	ProgressPercent int    `json:"progress_percent"`
	Error           *struct {
		Code    int    `json:"code"`
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
}

type mediaData struct {
	ID               string          `json:"id"`
	MediaKey         string          `json:"media_key"`
	Size             int64           `json:"size"`
	ExpiresAfterSecs int64           `json:"expires_after_secs"`
	ProcessingInfo   *processingInfo `json:"processing_info"`
}

type mediaAnswer struct {
	Data mediaData `json:"data"`
}

// DetectImageType returns the MIME type of an image X accepts (image/png,
// image/jpeg, image/gif, image/webp) from its leading bytes, or an error
// wrapping ErrEmptyImage or ErrUnsupportedMedia.
func DetectImageType(img []byte) (string, error) {
	if len(img) == 0 {
		return "", ErrEmptyImage
	}
	switch t := http.DetectContentType(img); t {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return t, nil
	default:
		return "", fmt.Errorf("%w: detected %s (want PNG, JPEG, GIF or WebP)", ErrUnsupportedMedia, t)
	}
}

func checkImage(img []byte) (string, error) {
	if len(img) > MaxImageBytes {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrImageTooLarge, len(img), MaxImageBytes)
	}
	return DetectImageType(img)
}

// UploadImage uploads one image and returns its media id. Images up to
// Config.ChunkThreshold bytes go in one POST /2/media/upload (multipart:
// media, media_category); larger ones, or any with opts.Chunked, use
// initialize → append (segments of Config.ChunkSize) → finalize, then
// poll STATUS while processing is pending. Every step is safe to retry
// and is retried on transport errors, 5xx and 429 within the policy.
func (c *Client) UploadImage(ctx context.Context, img []byte, opts *UploadOptions) (*Media, error) {
	category := CategoryTweetImage
	chunked := false
	if opts != nil {
		if opts.Category != "" {
			category = opts.Category
		}
		chunked = opts.Chunked
	}
	if category != CategoryTweetImage && category != CategoryDMImage {
		return nil, fmt.Errorf("%w: media category %q is not %q or %q", ErrInvalidInput, category, CategoryTweetImage, CategoryDMImage)
	}
	mt, err := checkImage(img)
	if err != nil {
		return nil, err
	}
	o := c.newOp(ctx)
	if !chunked && (c.cfg.ChunkThreshold < 0 || len(img) <= c.cfg.ChunkThreshold) {
		return o.uploadOneShot(img, mt, category)
	}
	return o.uploadChunked(img, mt, category)
}

func (o *op) media(d mediaData, mt, category string, size int) (*Media, error) {
	if d.ID == "" {
		return nil, fmt.Errorf("%w: upload answer has no media id", ErrBadResponse)
	}
	m := &Media{ID: d.ID, Key: d.MediaKey, Size: d.Size, Type: mt, Category: category}
	if m.Size == 0 {
		m.Size = int64(size)
	}
	if d.ExpiresAfterSecs > 0 {
		m.ExpiresAt = o.c.cfg.Now().Add(time.Duration(d.ExpiresAfterSecs) * time.Second)
	}
	return m, nil
}

// multipartBody builds a multipart/form-data body from fields, then the
// bytes as a file part named "media" with its real content type.
func multipartBody(fields [][2]string, data []byte, mt string) func() (io.Reader, string, error) {
	return func() (io.Reader, string, error) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, f := range fields {
			if err := w.WriteField(f[0], f[1]); err != nil {
				return nil, "", err
			}
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="media"; filename="media"`)
		h.Set("Content-Type", mt)
		p, err := w.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		if _, err := p.Write(data); err != nil {
			return nil, "", err
		}
		if err := w.Close(); err != nil {
			return nil, "", err
		}
		return &buf, w.FormDataContentType(), nil
	}
}

func jsonBody(v any) func() (io.Reader, string, error) {
	return func() (io.Reader, string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, "", err
		}
		return bytes.NewReader(b), "application/json", nil
	}
}

func (o *op) uploadOneShot(img []byte, mt, category string) (*Media, error) {
	var a mediaAnswer
	err := o.do(&request{
		method: http.MethodPost, path: "/2/media/upload",
		body: multipartBody([][2]string{{"media_category", category}}, img, mt),
	}, &a)
	if err != nil {
		return nil, err
	}
	if err := o.awaitProcessing(a.Data.ID, a.Data.ProcessingInfo); err != nil {
		return nil, err
	}
	return o.media(a.Data, mt, category, len(img))
}

func (o *op) uploadChunked(img []byte, mt, category string) (*Media, error) {
	var init mediaAnswer
	err := o.do(&request{
		method: http.MethodPost, path: "/2/media/upload/initialize",
		body: jsonBody(map[string]any{"total_bytes": len(img), "media_type": mt, "media_category": category}),
	}, &init)
	if err != nil {
		return nil, err
	}
	id := init.Data.ID
	if id == "" || !xapi.ValidID(id) {
		return nil, fmt.Errorf("%w: initialize answer has no usable media id", ErrBadResponse)
	}
	esc := url.PathEscape(id)
	size := o.c.cfg.ChunkSize
	for seg, off := 0, 0; off < len(img); seg, off = seg+1, off+size {
		chunk := img[off:min(off+size, len(img))]
		err := o.do(&request{
			method: http.MethodPost, path: "/2/media/upload/" + esc + "/append",
			body: multipartBody([][2]string{{"segment_index", strconv.Itoa(seg)}}, chunk, "application/octet-stream"),
		}, nil)
		if err != nil {
			return nil, err
		}
	}
	var fin mediaAnswer
	err = o.do(&request{method: http.MethodPost, path: "/2/media/upload/" + esc + "/finalize"}, &fin)
	if err != nil {
		return nil, err
	}
	if fin.Data.ID == "" {
		fin.Data.ID = id
	}
	if err := o.awaitProcessing(id, fin.Data.ProcessingInfo); err != nil {
		return nil, err
	}
	return o.media(fin.Data, mt, category, len(img))
}

// awaitProcessing polls GET /2/media/upload?command=STATUS while the
// state is pending or in_progress, waiting check_after_secs between
// polls (at least one second, at most Retry.MaxBackoff).
func (o *op) awaitProcessing(id string, pi *processingInfo) error {
	for polls := 0; pi != nil; polls++ {
		switch pi.State {
		case "", "succeeded":
			return nil
		case "failed":
			msg := "no reason given"
			if pi.Error != nil && pi.Error.Message != "" {
				msg = pi.Error.Message
			}
			return fmt.Errorf("%w: media %s: %s", ErrMediaProcessing, id, msg)
		case "pending", "in_progress":
		default:
			return fmt.Errorf("%w: media %s: unknown state %q", ErrMediaProcessing, id, pi.State)
		}
		if polls >= maxStatusPolls {
			return fmt.Errorf("%w: media %s still %s after %d polls", ErrMediaProcessing, id, pi.State, polls)
		}
		wait := min(max(time.Duration(pi.CheckAfterSecs)*time.Second, time.Second), o.c.cfg.Retry.MaxBackoff)
		if !o.fits(wait) {
			return fmt.Errorf("%w: media %s still %s at the deadline", ErrMediaProcessing, id, pi.State)
		}
		if err := o.sleep(wait); err != nil {
			return err
		}
		var st mediaAnswer
		err := o.do(&request{
			method: http.MethodGet, path: "/2/media/upload", read: true,
			query: url.Values{"command": {"STATUS"}, "media_id": {id}},
		}, &st)
		if err != nil {
			return err
		}
		pi = st.Data.ProcessingInfo
	}
	return nil
}
