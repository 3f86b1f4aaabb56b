package opspage_test

import (
	"context"
	"image"
	"math"
	"testing"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/workerserver/opspage"
)

// benchImage is a 512×512 picture with smooth colour fields and fine
// detail, about what the bundled model draws (its size, too).
func benchImage() *image.RGBA {
	const side = 512
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			i := img.PixOffset(x, y)
			fx, fy := float64(x)/side, float64(y)/side
			img.Pix[i+0] = uint8(127 + 127*math.Sin(9*fx+4*fy))
			img.Pix[i+1] = uint8(127 + 127*math.Sin(7*fy*fx+3*fx))
			img.Pix[i+2] = uint8(127 + 127*math.Cos(11*fy-5*fx) + float64((x*7+y*13)%5))
			img.Pix[i+3] = 255
		}
	}
	return img
}

// BenchmarkRecorderJobDone is the cost the recorder adds to a job, next to
// the reference the worker already pays for every image: encoding the
// 512 px PNG (imagegen.PNGFast, the generator's default). "jobdone" is what
// the job's goroutine pays (JobDone); "thumbnail" is the work the
// recorder's own goroutine does per image (PNG decode, downscale to 96 px,
// JPEG encode). Compare each line with the reference:
//
//	go test -run '^$' -bench RecorderJobDone ./workerserver/opspage/
func BenchmarkRecorderJobDone(b *testing.B) {
	img := benchImage()
	data, err := imagegen.Encode(img, imagegen.FormatPNG, imagegen.PNGFast, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("reference=encode-png-512", func(b *testing.B) {
		for b.Loop() {
			if _, err := imagegen.Encode(img, imagegen.FormatPNG, imagegen.PNGFast, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("thumbnail", func(b *testing.B) {
		for b.Loop() {
			if _, err := opspage.Thumbnail(data, opspage.ThumbOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jobdone", func(b *testing.B) {
		rec := opspage.NewRecorder(nil)
		r := report(b, tweetJob("1001", "111", "alice", "rand", "moerand"), 7)
		r.Image = &imagegen.Image{Data: data, Format: imagegen.FormatPNG}
		for b.Loop() {
			rec.JobDone(context.Background(), r)
		}
		b.StopTimer()
		rec.Wait()
		if len(rec.Jobs()) == 0 {
			b.Fatal("nothing recorded")
		}
	})
}
