package opspage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/worker"
	"github.com/moetron/moetron/workerserver/opspage"
)

func TestRecorderRingBounds(t *testing.T) {
	rec := opspage.NewRecorder(&opspage.RecorderOptions{Jobs: 3, Errors: 2})
	ctx := context.Background()
	for i := 1; i <= 7; i++ {
		j := tweetJob(fmt.Sprint(1000+i), "111", "alice", "rand", "moerand")
		if i%2 == 0 {
			rec.JobDone(ctx, failed(j, fmt.Errorf("failure %d", i)))
		} else {
			rec.JobDone(ctx, report(t, j, uint32(i)))
		}
	}
	rec.Wait()
	jobs := rec.Jobs()
	require.Len(t, jobs, 3)
	for k, want := range []uint64{7, 6, 5} {
		assert.Equal(t, want, jobs[k].Seq, "newest first")
	}
	assert.Equal(t, "tweet:1007", jobs[0].JobID)
	errs := rec.Errors()
	require.Len(t, errs, 2, "the error ring has its own bound")
	assert.Equal(t, "failure 6", errs[0].Err)
	assert.Equal(t, "failure 4", errs[1].Err)
	assert.Nil(t, errs[0].Thumb)

	_, ok := rec.Thumb(1)
	assert.False(t, ok, "a thumbnail leaves with its job")
	th, ok := rec.Thumb(7)
	require.True(t, ok)
	assert.Equal(t, jobs[0].Thumb, th)
	assert.LessOrEqual(t, rec.ThumbBytes(), 3*opspage.DefaultMaxThumbBytes)
	assert.Positive(t, rec.ThumbBytes())

	// Fewer than the bound: all of them, newest first.
	small := opspage.NewRecorder(nil)
	small.JobDone(ctx, report(t, tweetJob("1", "1", "a", "rand", ""), 1))
	small.JobDone(ctx, report(t, tweetJob("2", "1", "a", "rand", ""), 2))
	got := small.Jobs()
	require.Len(t, got, 2)
	assert.Equal(t, "tweet:2", got[0].JobID)
}

func TestRecorderKeepsNoText(t *testing.T) {
	rec := opspage.NewRecorder(nil)
	j := tweetJob("1001", "111", "alice", "name", "@bot moename my secret name")
	j.Args = "my secret name"
	rec.JobDone(context.Background(), failed(j, errors.New(`filter: no command in text "my secret name"`)))
	e := rec.Jobs()[0]
	assert.NotContains(t, fmt.Sprintf("%+v", e), "secret")
	assert.Equal(t, `filter: no command in text "…"`, e.Err)
	assert.Equal(t, "name", e.Command)
	assert.Equal(t, "alice", e.ScreenName)

	long := errors.New(string(bytes.Repeat([]byte("é"), 2*opspage.MaxErrorLen)))
	rec.JobDone(context.Background(), failed(j, long))
	assert.Equal(t, opspage.MaxErrorLen+1, len([]rune(rec.Jobs()[0].Err)), "cut, with a mark")
}

func TestRecorderAsObserverOfAWorkerReport(t *testing.T) {
	// A report of a message that is not a job: listed with its message id.
	rec := opspage.NewRecorder(nil)
	var obs worker.Observer = rec
	obs.JobDone(context.Background(), worker.JobReport{MsgID: "m9", Outcome: worker.OutcomeInvalid, Err: errors.New("not json")})
	e := rec.Jobs()[0]
	assert.Equal(t, "m9", e.MsgID)
	assert.Empty(t, e.JobID)
	assert.Equal(t, worker.OutcomeInvalid, e.Outcome)
	assert.False(t, e.Time.IsZero())
	// An image that does not decode: the job is kept, without thumbnail.
	r := report(t, tweetJob("1", "1", "a", "rand", ""), 1)
	r.Image = &imagegen.Image{Data: []byte("not an image")}
	obs.JobDone(context.Background(), r)
	rec.Wait()
	assert.Nil(t, rec.Jobs()[0].Thumb)
	assert.Len(t, rec.Jobs(), 2)
}

func TestThumbnail(t *testing.T) {
	src := pngOf(t, 512, color.RGBA{10, 200, 30, 255})
	th, err := opspage.Thumbnail(src, opspage.ThumbOptions{})
	require.NoError(t, err)
	img, err := jpeg.Decode(bytes.NewReader(th))
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, opspage.DefaultThumbSide, opspage.DefaultThumbSide), img.Bounds())
	r, g, b, _ := img.At(48, 48).RGBA()
	assert.InDelta(t, 10, r>>8, 8)
	assert.InDelta(t, 200, g>>8, 8)
	assert.InDelta(t, 30, b>>8, 8)
	assert.LessOrEqual(t, len(th), opspage.DefaultMaxThumbBytes)

	// Wide images keep their aspect; small ones their size.
	wide := image.NewNRGBA(image.Rect(0, 0, 300, 100))
	for i := range wide.Pix {
		wide.Pix[i] = 255
	}
	th, err = opspage.Thumbnail(encodePNG(t, wide), opspage.ThumbOptions{Side: 60})
	require.NoError(t, err)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(th))
	require.NoError(t, err)
	assert.Equal(t, [2]int{60, 20}, [2]int{cfg.Width, cfg.Height})
	th, err = opspage.Thumbnail(pngOf(t, 32, color.RGBA{1, 2, 3, 255}), opspage.ThumbOptions{})
	require.NoError(t, err)
	cfg, err = jpeg.DecodeConfig(bytes.NewReader(th))
	require.NoError(t, err)
	assert.Equal(t, 32, cfg.Width)

	// A paletted image goes through the general path.
	pal := image.NewPaletted(image.Rect(0, 0, 200, 200), color.Palette{color.Black, color.RGBA{255, 0, 0, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = 1
	}
	th, err = opspage.Thumbnail(encodePNG(t, pal), opspage.ThumbOptions{})
	require.NoError(t, err)
	img, err = jpeg.Decode(bytes.NewReader(th))
	require.NoError(t, err)
	r, _, _, _ = img.At(10, 10).RGBA()
	assert.InDelta(t, 255, r>>8, 8)

	_, err = opspage.Thumbnail([]byte("garbage"), opspage.ThumbOptions{})
	assert.ErrorIs(t, err, opspage.ErrThumbnail)
	_, err = opspage.Thumbnail(src, opspage.ThumbOptions{MaxBytes: 10})
	assert.ErrorIs(t, err, opspage.ErrThumbnail)
	assert.Contains(t, err.Error(), "limit 10")
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		`plain error`:                          `plain error`,
		`text "hello world" is bad`:            `text "…" is bad`,
		`a "one" and "two \"quoted\"" end`:     `a "…" and "…" end`,
		`cut at 1 KiB: text "never closed…`:    `cut at 1 KiB: text "…"`,
		`unicode "日本語のDM" ok`:                  `unicode "…" ok`,
		`no quotes: tweet:1332557345071644672`: `no quotes: tweet:1332557345071644672`,
	} {
		assert.Equal(t, want, opspage.Redact(in), in)
	}
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	data, err := imagegen.Encode(img, imagegen.FormatPNG, imagegen.PNGFast, 0)
	require.NoError(t, err)
	return data
}
