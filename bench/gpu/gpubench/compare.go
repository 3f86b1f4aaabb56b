package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Diff summarises how far an image batch b is from a reference a. Both
// hold values in the model's [-1,1] range.
type Diff struct {
	N       int     // values compared
	MaxAbs  float64 // largest |a-b|
	MeanAbs float64 // mean |a-b|
	PSNR    float64 // dB, peak-to-peak 2 (the [-1,1] range); +Inf when equal
	NaNs    int     // positions where either side is NaN (counted as failures)
}

// Compare returns the difference of b from a. It is an error for the
// slices to differ in length or be empty.
func Compare(a, b []float32) (Diff, error) {
	if len(a) != len(b) || len(a) == 0 {
		return Diff{}, fmt.Errorf("compare: lengths %d and %d", len(a), len(b))
	}
	d := Diff{N: len(a)}
	var sum, sq float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		if math.IsNaN(x) || math.IsNaN(y) {
			d.NaNs++
			continue
		}
		e := math.Abs(x - y)
		sum += e
		sq += e * e
		d.MaxAbs = max(d.MaxAbs, e)
	}
	n := float64(len(a) - d.NaNs)
	if n > 0 {
		d.MeanAbs = sum / n
	}
	d.PSNR = psnr(sq, n, 2)
	return d, nil
}

// psnr is 10 log10(peak² / MSE) for a squared-error sum sq over n values.
func psnr(sq, n, peak float64) float64 {
	if n == 0 {
		return math.NaN()
	}
	if sq == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(peak*peak/(sq/n))
}

// Within reports whether d passes a maximum absolute difference.
func (d Diff) Within(maxAbs float64) bool { return d.NaNs == 0 && d.MaxAbs <= maxAbs }

// AtLeast reports whether d passes a minimum PSNR.
func (d Diff) AtLeast(dB float64) bool { return d.NaNs == 0 && d.PSNR >= dB }

func (d Diff) String() string {
	return fmt.Sprintf("max|d| %.3g  mean|d| %.3g  PSNR %.1f dB  NaN %d  (%d values)", d.MaxAbs, d.MeanAbs, d.PSNR, d.NaNs, d.N)
}

// LevelDiff compares two 8-bit images (RGBA bytes, alpha ignored) and
// returns the largest difference in grey levels per colour channel.
func LevelDiff(a, b []uint8) (int, error) {
	if len(a) != len(b) || len(a)%4 != 0 || len(a) == 0 {
		return 0, fmt.Errorf("level diff: lengths %d and %d", len(a), len(b))
	}
	m := 0
	for i := range a {
		if i%4 == 3 {
			continue
		}
		m = max(m, absInt(int(a[i])-int(b[i])))
	}
	return m, nil
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ToRGBA maps one NCHW [-1,1] float image of size h×w (3 planes) to RGBA
// bytes the way the model contract defines: (x+1)/2·255, clamped, rounded.
func ToRGBA(chw []float32, h, w int) []uint8 {
	out := make([]uint8, 4*h*w)
	plane := h * w
	for p := range plane {
		for c := range 3 {
			v := (float64(chw[c*plane+p]) + 1) / 2 * 255
			if math.IsNaN(v) {
				v = 0
			}
			out[4*p+c] = uint8(math.Round(min(255, max(0, v))))
		}
		out[4*p+3] = 255
	}
	return out
}

// Percentile returns the q-quantile (0..1) of ds by the nearest-rank rule.
func Percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
