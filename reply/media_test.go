package reply

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUploadOneShot(t *testing.T) {
	x := newMiniX(t)
	env := newEnv(t, x)
	img := pngBytes(t, 16)
	m, err := env.c.UploadImage(context.Background(), img, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"POST /2/media/upload"}, x.Paths())
	u := x.uploads[m.ID]
	require.NotNil(t, u)
	assert.Equal(t, CategoryTweetImage, u.Category)
	assert.Equal(t, "image/png", u.Type, "media part content type")
	assert.Equal(t, img, u.Data)
	assert.Equal(t, "3_"+m.ID, m.Key)
	assert.Equal(t, int64(len(img)), m.Size)
	assert.Equal(t, env.clock.Now().Add(24*time.Hour), m.ExpiresAt)

	m, err = env.c.UploadImage(context.Background(), img, &UploadOptions{Category: CategoryDMImage})
	require.NoError(t, err)
	assert.Equal(t, CategoryDMImage, x.uploads[m.ID].Category)
}

func TestUploadChunkedWithProcessing(t *testing.T) {
	x := newMiniX(t)
	x.statusOK = 3 // two in_progress polls, then succeeded
	env := newEnv(t, x, func(c *Config) { c.ChunkThreshold = 2048; c.ChunkSize = 1024 })
	img := pngBytes(t, 32) // ~4 KiB of noise
	require.Greater(t, len(img), 3*1024)
	m, err := env.c.UploadImage(context.Background(), img, nil)
	require.NoError(t, err)
	u := x.uploads[m.ID]
	require.NotNil(t, u)
	assert.True(t, u.Finalized)
	assert.Equal(t, img, u.Data, "segments reassemble to the image")
	assert.Equal(t, (len(img)+1023)/1024, len(u.Segments))
	assert.Equal(t, "image/png", u.Type)
	paths := x.Paths()
	assert.Equal(t, "POST /2/media/upload/initialize", paths[0])
	assert.Equal(t, "POST /2/media/upload/"+m.ID+"/append", paths[1])
	assert.Equal(t, "POST /2/media/upload/"+m.ID+"/finalize", paths[len(paths)-4])
	assert.Equal(t, []string{"GET /2/media/upload", "GET /2/media/upload", "GET /2/media/upload"}, paths[len(paths)-3:])
	// check_after_secs honoured: 3 s after finalize, then 2 s per poll.
	assert.Equal(t, []time.Duration{3 * time.Second, 2 * time.Second, 2 * time.Second}, env.clock.Waits())
}

func TestUploadForcedChunked(t *testing.T) {
	x := newMiniX(t)
	env := newEnv(t, x)
	img := pngBytes(t, 8)
	m, err := env.c.UploadImage(context.Background(), img, &UploadOptions{Chunked: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"POST /2/media/upload/initialize", "POST /2/media/upload/" + m.ID + "/append",
		"POST /2/media/upload/" + m.ID + "/finalize"}, x.Paths())
}

func TestUploadProcessingFailed(t *testing.T) {
	env := newEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/2/media/upload/initialize":
			writeJSON(w, 200, `{"data":{"id":"77"}}`)
		case "/2/media/upload/77/append":
			writeJSON(w, 200, `{}`)
		case "/2/media/upload/77/finalize":
			writeJSON(w, 200, `{"data":{"id":"77","processing_info":{"state":"failed","error":{"code":1,"name":"InvalidMedia","message":"Unsupported image"}}}}`)
		}
	}))
	_, err := env.c.UploadImage(context.Background(), pngBytes(t, 8), &UploadOptions{Chunked: true})
	require.ErrorIs(t, err, ErrMediaProcessing)
	assert.Contains(t, err.Error(), "Unsupported image")
}

func TestUploadRefusesBadImagesBeforeSending(t *testing.T) {
	x := newMiniX(t)
	env := newEnv(t, x)
	big := append(pngBytes(t, 8), make([]byte, MaxImageBytes)...)
	cases := []struct {
		name string
		img  []byte
		opts *UploadOptions
		want error
	}{
		{"too large", big, nil, ErrImageTooLarge},
		{"empty", nil, nil, ErrEmptyImage},
		{"text", []byte("hello, not an image"), nil, ErrUnsupportedMedia},
		{"pdf", []byte("%PDF-1.4\n"), nil, ErrUnsupportedMedia},
		{"bad category", pngBytes(t, 8), &UploadOptions{Category: "tweet_video"}, ErrInvalidInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.c.UploadImage(context.Background(), tc.img, tc.opts)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err := env.c.ReplyWithImage(context.Background(), "5", "hi", big)
	require.ErrorIs(t, err, ErrImageTooLarge)
	assert.Contains(t, err.Error(), "5000000")
	assert.Empty(t, x.Paths(), "nothing reached X")
}

func TestDetectImageType(t *testing.T) {
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}
	gif := []byte("GIF89a\x01\x00\x01\x00")
	webp := []byte("RIFF\x24\x00\x00\x00WEBPVP8 ")
	for want, b := range map[string][]byte{"image/png": pngBytes(t, 2), "image/jpeg": jpeg, "image/gif": gif, "image/webp": webp} {
		got, err := DetectImageType(b)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestUploadRetries503ThenSucceeds(t *testing.T) {
	x := newMiniX(t)
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n <= 2 {
			writeJSON(w, 503, `{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}`)
			return true
		}
		return false
	}
	env := newEnv(t, x, func(c *Config) { c.Retry.BaseBackoff = time.Second; c.Retry.MaxBackoff = 10 * time.Second })
	m, err := env.c.UploadImage(context.Background(), pngBytes(t, 8), nil)
	require.NoError(t, err)
	assert.NotEmpty(t, m.ID)
	assert.Len(t, x.Paths(), 3)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, env.clock.Waits(), "exponential backoff")
}

func TestUploadGivesUpAfterMaxAttempts(t *testing.T) {
	x := newMiniX(t)
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		writeJSON(w, 500, `{"errors":[{"message":"Internal error"}]}`)
		return true
	}
	env := newEnv(t, x, func(c *Config) { c.Retry.MaxAttempts = 3 })
	_, err := env.c.UploadImage(context.Background(), pngBytes(t, 8), nil)
	require.ErrorIs(t, err, ErrServer)
	assert.True(t, IsRetryable(err))
	assert.Len(t, x.Paths(), 3)
}

func TestUploadBadRequestNotRetried(t *testing.T) {
	x := newMiniX(t)
	x.fault = func(w http.ResponseWriter, r *http.Request, n int) bool {
		writeJSON(w, 400, `{"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.x.com/2/problems/invalid-request"}`)
		return true
	}
	env := newEnv(t, x)
	_, err := env.c.UploadImage(context.Background(), pngBytes(t, 8), nil)
	require.ErrorIs(t, err, ErrBadRequest)
	assert.Len(t, x.Paths(), 1)
}

func TestUploadAnswerWithoutID(t *testing.T) {
	env := newEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":{}}`)
	}))
	_, err := env.c.UploadImage(context.Background(), pngBytes(t, 8), nil)
	require.ErrorIs(t, err, ErrBadResponse)
	env2 := newEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `not json`)
	}))
	_, err = env2.c.UploadImage(context.Background(), pngBytes(t, 8), nil)
	require.ErrorIs(t, err, ErrBadResponse)
	assert.False(t, strings.Contains(err.Error(), testConsumerSecret))
}

func TestMultipartBodyFreshPerAttempt(t *testing.T) {
	f := multipartBody([][2]string{{"media_category", "tweet_image"}}, []byte("abc"), "image/png")
	r1, ct1, err := f()
	require.NoError(t, err)
	r2, _, err := f()
	require.NoError(t, err)
	var b1, b2 bytes.Buffer
	b1.ReadFrom(r1)
	b2.ReadFrom(r2)
	assert.Contains(t, ct1, "multipart/form-data; boundary=")
	assert.Contains(t, b1.String(), `name="media_category"`)
	assert.Contains(t, b1.String(), "Content-Type: image/png")
	assert.NotZero(t, b2.Len())
}
