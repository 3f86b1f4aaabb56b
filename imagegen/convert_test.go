package imagegen

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestToRGBANCHW(t *testing.T) {
	nan := float32(math.NaN())
	// 1x2 image, planes R, G, B.
	data := []float32{
		-1, 1, // R
		0, nan, // G
		2, -3, // B (clamped)
	}
	img, nans := toRGBA(data, 1, 2, LayoutNCHW, RangeSigned)
	assert.Equal(t, 1, nans)
	assert.Equal(t, image.Rect(0, 0, 2, 1), img.Bounds())
	assert.Equal(t, []uint8{0, 128, 255, 255, 255, 0, 0, 255}, img.Pix)
}

func TestToRGBANHWCAndRanges(t *testing.T) {
	data := []float32{0, 0.5, 1, 0.25, 1.5, -0.1} // 1x2 pixels, RGB interleaved
	img, nans := toRGBA(data, 1, 2, LayoutNHWC, RangeUnit)
	assert.Zero(t, nans)
	assert.Equal(t, []uint8{0, 128, 255, 255, 64, 255, 0, 255}, img.Pix)

	img, _ = toRGBA([]float32{0, 127.4, 254.6, 300, -1, 12}, 1, 2, LayoutNHWC, RangeByte)
	assert.Equal(t, []uint8{0, 127, 255, 255, 255, 0, 12, 255}, img.Pix)

	img, nans = toRGBA([]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}, 1, 1, LayoutNCHW, RangeSigned)
	assert.Equal(t, 1, nans)
	assert.Equal(t, []uint8{0, 255, 0, 255}, img.Pix)
}

func TestApplyPsi(t *testing.T) {
	z := []float32{1, -2, 4}
	applyPsi(z, 0.5)
	assert.Equal(t, []float32{0.5, -1, 2}, z)
	applyPsi(z, 1)
	assert.Equal(t, []float32{0.5, -1, 2}, z)
}

func testImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(i), uint8(i/3), uint8(255-i%256), 255
	}
	return img
}

func TestEncodePNGRoundTrip(t *testing.T) {
	src := testImage()
	for _, lv := range []PNGLevel{PNGFast, PNGDefault, PNGBest, PNGNone} {
		b, err := Encode(src, FormatPNG, lv, 0)
		require.NoError(t, err)
		got, err := png.Decode(bytes.NewReader(b))
		require.NoError(t, err)
		assert.Equal(t, src.Bounds(), got.Bounds())
		for y := 0; y < 8; y++ {
			for x := 0; x < 16; x++ {
				r1, g1, b1, _ := src.At(x, y).RGBA()
				r2, g2, b2, a2 := got.At(x, y).RGBA()
				require.Equal(t, [4]uint32{r1, g1, b1, 0xffff}, [4]uint32{r2, g2, b2, a2}, "level %d (%d,%d)", lv, x, y)
			}
		}
	}
	// Empty format is PNG.
	b, err := Encode(src, "", PNGFast, 0)
	require.NoError(t, err)
	assert.Equal(t, []byte("\x89PNG"), b[:4])
}

func TestEncodeJPEG(t *testing.T) {
	b, err := Encode(testImage(), FormatJPEG, PNGFast, 80)
	require.NoError(t, err)
	got, err := jpeg.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 16, 8), got.Bounds())
	small, err := Encode(testImage(), FormatJPEG, PNGFast, 5)
	require.NoError(t, err)
	assert.Less(t, len(small), len(b), "lower quality gives fewer bytes")
	assert.Equal(t, "image/jpeg", FormatJPEG.ContentType())
	assert.Equal(t, "image/png", FormatPNG.ContentType())
}

func TestEncodeBadInput(t *testing.T) {
	_, err := Encode(testImage(), "gif", PNGFast, 90)
	assert.ErrorIs(t, err, ErrBadRequest)
	assert.ErrorContains(t, err, `"gif"`)
	for _, q := range []int{0, -1, 101} {
		_, err = Encode(testImage(), FormatJPEG, PNGFast, q)
		assert.ErrorIs(t, err, ErrBadRequest, "quality %d", q)
	}
	_, err = Encode(testImage(), FormatPNG, PNGLevel(42), 0)
	assert.ErrorIs(t, err, ErrBadRequest)
}
