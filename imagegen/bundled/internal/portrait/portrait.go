// Package portrait builds the bundled portrait model: an ONNX graph that
// draws a stylised anime character portrait from a latent, with no weights
// learnt from data. The latent is projected onto a few dozen style
// parameters (face shape, eyes, hair, clothes, background) and the picture
// is drawn with elementwise operators over the pixel grid: signed distances
// of ellipses and curves, turned into anti-aliased coverages and painted
// back to front. Build returns the same bytes every time and on every
// platform.
package portrait

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/moetron/moetron/imagegen/internal/onnxbuild"
)

// Config fixes the model.
type Config struct {
	ZDim int     // latent size
	Size int     // output height and width in pixels
	Gain float64 // latent gain before the style parameters' soft limit
	Seed uint64  // seed of the projection from latent to style parameters
}

// Default is the configuration of the committed model.
var Default = Config{ZDim: 128, Size: 512, Gain: 1.8, Seed: 20201126}

// The style parameters, each a projection of the latent onto its own
// direction. The order fixes which direction drives which feature.
const (
	pFaceX = iota
	pFaceY
	pFaceW
	pFaceH
	pChin
	pSkin
	pEyeSep
	pEyeY
	pEyeW
	pEyeH
	pEyeTilt
	pIris
	pEyeHue
	pEyeVal
	pBrow
	pBrowBend
	pMouthY
	pMouthW
	pSmile
	pMouthOpen
	pBlush
	pHairHue
	pHairSat
	pHairVal
	pHairLen
	pHairVol
	pFlare
	pTips
	pBangsLen
	pBangsFreq
	pBangsPhase
	pBangsSweep
	pBangsSpike
	pLocks
	pTails
	pAhoge
	pShine
	pBgHue
	pBgShift
	pBgStripes
	pBgDots
	pBgFreq
	pBgAngle
	pClothHue
	pClothVal
	pCollar
	pShoulder
	nParams
)

// gauss draws approximately standard normal numbers with only integer and
// float arithmetic (the sum of twelve uniforms less six), so the projection
// does not depend on a platform's math library.
type gauss struct{ r *rand.PCG }

func (g gauss) next() float64 {
	s := 0.0
	for range 12 {
		s += float64(g.r.Uint64()>>11) / (1 << 53)
	}
	return s - 6
}

// projection returns a [zdim, n] matrix with orthonormal columns (Gram-
// Schmidt in float64, which uses only arithmetic and the correctly rounded
// square root): for a standard normal latent, every column gives an
// independent standard normal parameter.
func projection(c Config, n int) []float32 {
	g := gauss{rand.NewPCG(c.Seed, 0x706f727472616974)}
	cols := make([][]float64, n)
	for j := range cols {
		v := make([]float64, c.ZDim)
		for i := range v {
			v[i] = g.next()
		}
		for _, u := range cols[:j] {
			d := 0.0
			for i := range v {
				d += v[i] * u[i]
			}
			for i := range v {
				v[i] -= d * u[i]
			}
		}
		norm := 0.0
		for _, x := range v {
			norm += x * x
		}
		norm = math.Sqrt(norm)
		for i := range v {
			v[i] /= norm
		}
		cols[j] = v
	}
	out := make([]float32, c.ZDim*n)
	for i := range c.ZDim {
		for j := range n {
			out[i*n+j] = float32(cols[j][i])
		}
	}
	return out
}

// Build returns the serialized ONNX model for c.
func Build(c Config) ([]byte, error) {
	if c.ZDim < nParams || c.Size < 16 || c.Gain <= 0 {
		return nil, fmt.Errorf("portrait: invalid config %+v (zdim must be at least %d)", c, nParams)
	}
	S := int64(c.Size)
	g := onnxbuild.NewGraph("moetron-portrait")
	g.Input("z", onnxbuild.Float, "N", c.ZDim)
	g.Input("psi", onnxbuild.Float, "N")
	g.Output("image", onnxbuild.Float, "N", 3, c.Size, c.Size)
	e := newExpr(g, c.Size)

	// Pixel-centre coordinates in [-1, 1]; y grows downwards.
	coord := make([]float32, c.Size)
	for i := range coord {
		coord[i] = float32(2*float64(i)+1)/float32(c.Size) - 1
	}
	xs := g.FloatInit("xs", []int64{1, 1, 1, S}, coord)
	ys := g.FloatInit("ys", []int64{1, 1, S, 1}, coord)

	// Style parameters: p = 2 tanh(gain * psi * z.w / 2), one [N,1,1,1]
	// value per direction w. psi pulls every parameter towards 0, the
	// mean look (at psi 0 all latents give the same picture); the soft
	// limit keeps psi 1 and above inside the drawable range.
	g.FloatInit("W", []int64{int64(c.ZDim), nParams}, projection(c, nParams))
	g.Int64Init("shape_n1", []int64{2}, []int64{-1, 1})
	g.Int64Init("shape_np11", []int64{4}, []int64{-1, nParams, 1, 1})
	psi := g.Op("Reshape", "psi", "shape_n1")
	raw := e.mul(g.Op("MatMul", "z", "W"), e.mulc(psi, c.Gain/2))
	soft := e.mulc(g.Op("Tanh", raw), 2)
	p := make([]string, nParams)
	for i := range p {
		p[i] = "p" + strconv.Itoa(i)
	}
	g.Node("Split", []string{g.Op("Reshape", soft, "shape_np11")}, p, onnxbuild.IntAttr("axis", 1))

	s := &scene{expr: e, p: p, xs: xs, ys: ys}
	img := s.draw()
	g.Node("Clip", []string{img, e.c(-1), e.c(1)}, []string{"image"})

	m := &onnxbuild.Model{
		ProducerName:    "moetron-portrait",
		ProducerVersion: "1",
		Doc:             "moetron bundled portrait: z [N,zdim], psi [N] -> image [N,3,H,W] in [-1,1]",
		Metadata:        onnxbuild.GeneratorMetadata(c.ZDim, 8),
		Graph:           g,
	}
	return m.Marshal()
}
