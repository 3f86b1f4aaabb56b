package bundled_test

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/moetron/moetron/imagegen"
	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/imagegen/bundled/internal/sample"
)

const samplesDir = "../../docs/samples"

// TestSamples checks that the pictures in docs/samples are what the bundled
// models draw now (they are regenerated with the render command in doc.go).
// A channel may differ by a few levels, for another CPU's math library.
func TestSamples(t *testing.T) {
	render := func(t *testing.T, ref string, seed uint32, psi float32) *image.RGBA {
		model, err := bundled.Open(ref)
		require.NoError(t, err)
		img, err := sample.Run(sessionFor(t, model), imagegen.Latent(seed, bundled.ZDim), psi)
		require.NoError(t, err)
		return sample.Down(img, 2)
	}
	for _, s := range []struct {
		prefix, ref string
		psi         []string
	}{{"cppn", bundled.RefCPPN, []string{"0.55", "1"}}, {"portrait", bundled.RefPortrait, []string{"0.55"}}} {
		for _, seed := range []uint32{7, 42, 1234} {
			for _, psi := range s.psi {
				name := fmt.Sprintf("%s-seed%d-psi%s.png", s.prefix, seed, psi)
				t.Run(name, func(t *testing.T) {
					var p float32
					_, err := fmt.Sscan(psi, &p)
					require.NoError(t, err)
					compare(t, filepath.Join(samplesDir, name), render(t, s.ref, seed, p))
				})
			}
		}
	}
	t.Run("portraits.png", func(t *testing.T) {
		var imgs []*image.RGBA
		for seed := range uint32(8) {
			imgs = append(imgs, render(t, bundled.RefPortrait, seed+1, 0.55))
		}
		compare(t, filepath.Join(samplesDir, "portraits.png"), sample.Sheet(imgs, 4))
	})
}

func compare(t *testing.T, file string, want *image.RGBA) {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	got, err := png.Decode(f)
	require.NoError(t, err)
	require.Equal(t, want.Bounds(), got.Bounds(), file)
	worst := 0
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := got.At(x, y).RGBA()
			w := want.Pix[want.PixOffset(x, y):]
			for c, v := range []uint32{r >> 8, g >> 8, bl >> 8} {
				worst = max(worst, abs(int(v)-int(w[c])))
			}
		}
	}
	require.LessOrEqual(t, worst, 3, "%s differs from the model's picture by up to %d levels; regenerate it (see the bundled package doc)", file, worst)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
