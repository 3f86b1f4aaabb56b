package imagegen

import (
	"image"
	"math"
)

// toRGBA converts one image of the model's output (CHW or HWC float32) into
// an opaque *image.RGBA. Values are mapped from the model's range to 0..255,
// clamped and rounded; NaNs become 0 and are counted in the result.
func toRGBA(data []float32, h, w int, layout, rng string) (*image.RGBA, int) {
	var scale, offset float32
	switch rng {
	case RangeUnit:
		scale, offset = 255, 0
	case RangeByte:
		scale, offset = 1, 0
	default: // RangeSigned
		scale, offset = 127.5, 127.5
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	pix := img.Pix
	nans := 0
	conv := func(v float32) uint8 {
		x := v*scale + offset
		switch {
		case x != x: // NaN
			nans++
			return 0
		case x <= 0:
			return 0
		case x >= 255:
			return 255
		}
		return uint8(x + 0.5)
	}
	n := h * w
	if layout == LayoutNHWC {
		for i := 0; i < n; i++ {
			p := pix[4*i : 4*i+4 : 4*i+4]
			s := data[3*i : 3*i+3 : 3*i+3]
			p[0], p[1], p[2], p[3] = conv(s[0]), conv(s[1]), conv(s[2]), 255
		}
		return img, nans
	}
	r, g, b := data[:n:n], data[n:2*n:2*n], data[2*n:3*n:3*n]
	for i := 0; i < n; i++ {
		p := pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = conv(r[i]), conv(g[i]), conv(b[i]), 255
	}
	return img, nans
}

// applyPsi scales z by psi (truncation toward the mean latent, zero, for
// models without a psi input).
func applyPsi(z []float32, psi float32) {
	if psi == 1 {
		return
	}
	for i := range z {
		z[i] *= psi
	}
}

func checkPsi(psi float32) error {
	if math.IsNaN(float64(psi)) || psi <= 0 || psi > 2 {
		return errBadPsi(psi)
	}
	return nil
}
