package opspage

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // the generator's default format
)

// Thumbnail defaults.
const (
	// DefaultThumbSide is the longest side of a thumbnail in pixels.
	DefaultThumbSide = 96
	// DefaultMaxThumbBytes is the most bytes one thumbnail may take; a
	// larger one is dropped (the job is still listed).
	DefaultMaxThumbBytes = 16 << 10
	// maxSourcePixels bounds the image Thumbnail decodes.
	maxSourcePixels = 4096 * 4096
	thumbQuality    = 80
)

// ErrThumbnail is wrapped by Thumbnail's errors.
var ErrThumbnail = errors.New("opspage: no thumbnail")

// ThumbOptions size the thumbnails; zero fields mean the defaults.
type ThumbOptions struct {
	// Side is the longest side in pixels; 0 means DefaultThumbSide.
	Side int
	// MaxBytes is the largest thumbnail kept; 0 means DefaultMaxThumbBytes.
	MaxBytes int
}

func (o ThumbOptions) withDefaults() ThumbOptions {
	if o.Side <= 0 {
		o.Side = DefaultThumbSide
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxThumbBytes
	}
	return o
}

// Thumbnail decodes an encoded PNG or JPEG image and returns a JPEG whose
// longest side is at most o.Side pixels (an image already that small keeps
// its size), each pixel the average of the source pixels it covers.
func Thumbnail(data []byte, o ThumbOptions) ([]byte, error) {
	o = o.withDefaults()
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrThumbnail, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxSourcePixels {
		return nil, fmt.Errorf("%w: image of %dx%d", ErrThumbnail, cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrThumbnail, err)
	}
	dst := downscale(src, o.Side)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: thumbQuality}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrThumbnail, err)
	}
	if buf.Len() > o.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrThumbnail, buf.Len(), o.MaxBytes)
	}
	return buf.Bytes(), nil
}

// downscale box-filters src so that its longest side is at most side.
func downscale(src image.Image, side int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dw, dh := sw, sh
	if sw > side || sh > side {
		if sw >= sh {
			dw, dh = side, max(1, sh*side/sw)
		} else {
			dw, dh = max(1, sw*side/sh), side
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	// The generator's PNGs decode to *image.RGBA (opaque): read the pixels
	// directly rather than through At, which costs a call per pixel.
	var pix []uint8
	stride := 0
	switch im := src.(type) {
	case *image.RGBA:
		pix, stride = im.Pix[im.PixOffset(b.Min.X, b.Min.Y):], im.Stride
	case *image.NRGBA:
		if im.Opaque() {
			pix, stride = im.Pix[im.PixOffset(b.Min.X, b.Min.Y):], im.Stride
		}
	}
	for y := 0; y < dh; y++ {
		y0, y1 := b.Min.Y+y*sh/dh, b.Min.Y+(y+1)*sh/dh
		for x := 0; x < dw; x++ {
			x0, x1 := b.Min.X+x*sw/dw, b.Min.X+(x+1)*sw/dw
			var r, g, bl, a, n uint64
			if pix != nil {
				for sy := y0 - b.Min.Y; sy < y1-b.Min.Y; sy++ {
					row := pix[sy*stride:]
					for sx := x0 - b.Min.X; sx < x1-b.Min.X; sx++ {
						px := row[sx*4 : sx*4+4]
						r, g, bl, a, n = r+uint64(px[0]), g+uint64(px[1]), bl+uint64(px[2]), a+uint64(px[3]), n+1
					}
				}
				i := dst.PixOffset(x, y)
				dst.Pix[i+0], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = uint8(r/n), uint8(g/n), uint8(bl/n), uint8(a/n)
				continue
			}
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					cr, cg, cb, ca := src.At(sx, sy).RGBA()
					r, g, bl, a, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca), n+1
				}
			}
			i := dst.PixOffset(x, y)
			dst.Pix[i+0] = uint8(r / n >> 8)
			dst.Pix[i+1] = uint8(g / n >> 8)
			dst.Pix[i+2] = uint8(bl / n >> 8)
			dst.Pix[i+3] = uint8(a / n >> 8)
		}
	}
	return dst
}
