package imagegen

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"sync"
)

// Format is an output image format.
type Format string

// Supported formats. The empty Format means FormatPNG.
const (
	FormatPNG  Format = "png"
	FormatJPEG Format = "jpeg"
)

// ContentType returns the MIME type of f.
func (f Format) ContentType() string {
	if f == FormatJPEG {
		return "image/jpeg"
	}
	return "image/png"
}

// PNGLevel is the PNG compression level. The zero value is PNGFast (Go's
// png.BestSpeed): at GPU speed Go's default level costs about six times as
// much CPU per image as BestSpeed and becomes the bottleneck.
type PNGLevel int

// PNG levels.
const (
	PNGFast    PNGLevel = iota // png.BestSpeed (default)
	PNGDefault                 // png.DefaultCompression
	PNGBest                    // png.BestCompression
	PNGNone                    // png.NoCompression
)

func (l PNGLevel) level() (png.CompressionLevel, error) {
	switch l {
	case PNGFast:
		return png.BestSpeed, nil
	case PNGDefault:
		return png.DefaultCompression, nil
	case PNGBest:
		return png.BestCompression, nil
	case PNGNone:
		return png.NoCompression, nil
	}
	return 0, fmt.Errorf("%w: unknown PNG level %d", ErrBadRequest, int(l))
}

// DefaultJPEGQuality is used when neither the request nor the Config sets
// a JPEG quality.
const DefaultJPEGQuality = 90

// pngBuffers pools the PNG encoders' scratch buffers.
type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	v, _ := b.p.Get().(*png.EncoderBuffer)
	return v
}
func (b *pngBuffers) Put(e *png.EncoderBuffer) { b.p.Put(e) }

// Encode writes img as f. level applies to PNG, quality (1..100) to JPEG.
func Encode(img image.Image, f Format, level PNGLevel, quality int) ([]byte, error) {
	return encodeWith(nil, img, f, level, quality)
}

func encodeWith(pool png.EncoderBufferPool, img image.Image, f Format, level PNGLevel, quality int) ([]byte, error) {
	var buf bytes.Buffer
	switch f {
	case FormatPNG, "":
		lv, err := level.level()
		if err != nil {
			return nil, err
		}
		enc := png.Encoder{CompressionLevel: lv, BufferPool: pool}
		if err := enc.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("imagegen: png: %w", err)
		}
	case FormatJPEG:
		if quality < 1 || quality > 100 {
			return nil, fmt.Errorf("%w: JPEG quality %d, want 1..100", ErrBadRequest, quality)
		}
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
			return nil, fmt.Errorf("imagegen: jpeg: %w", err)
		}
	default:
		return nil, fmt.Errorf("%w: unknown format %q (want png or jpeg)", ErrBadRequest, f)
	}
	return buf.Bytes(), nil
}
