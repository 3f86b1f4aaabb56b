// Package cppn builds the bundled default model: a compositional pattern
// producing network (a coordinate MLP conditioned on a latent) written as an
// ONNX graph with onnxbuild. Its weights come from a fixed seed, so Build
// returns the same bytes every time and on every platform.
package cppn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/moetron/moetron/imagegen/internal/onnxbuild"
)

// Config fixes the architecture and the weights.
type Config struct {
	ZDim   int    // latent size
	Size   int    // output height and width in pixels
	Hidden int    // hidden units per pixel
	Layers int    // hidden layers after the coordinate layer
	Seed   uint64 // weight seed
}

// Default is the configuration of the committed model.
var Default = Config{ZDim: 128, Size: 512, Hidden: 24, Layers: 3, Seed: 20201126}

// gauss draws approximately standard normal numbers with only integer and
// float arithmetic (the sum of twelve uniforms less six), so the weights do
// not depend on a platform's math library.
type gauss struct{ r *rand.PCG }

func (g gauss) next() float64 {
	s := 0.0
	for range 12 {
		s += float64(g.r.Uint64()>>11) / (1 << 53)
	}
	return s - 6
}

func (g gauss) fill(n int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(g.next() * scale)
	}
	return out
}

// Build returns the serialized ONNX model for c.
func Build(c Config) ([]byte, error) {
	if c.ZDim <= 0 || c.Size <= 0 || c.Hidden <= 0 || c.Layers < 1 {
		return nil, fmt.Errorf("cppn: invalid config %+v", c)
	}
	rng := gauss{rand.NewPCG(c.Seed, 0x6d6f6574726f6e)}
	H, Z, S := int64(c.Hidden), int64(c.ZDim), int64(c.Size)
	g := onnxbuild.NewGraph("moetron-cppn")
	g.Input("z", onnxbuild.Float, "N", c.ZDim)
	g.Input("psi", onnxbuild.Float, "N")
	g.Output("image", onnxbuild.Float, "N", 3, c.Size, c.Size)

	// Pixel-centre coordinates in [-1, 1].
	coord := make([]float32, c.Size)
	for i := range coord {
		coord[i] = float32(2*float64(i)+1)/float32(c.Size) - 1
	}
	g.FloatInit("xs", []int64{1, 1, S, 1}, coord)
	g.FloatInit("ys", []int64{1, S, 1, 1}, coord)
	g.Int64Init("shape_n1", []int64{2}, []int64{-1, 1})
	g.Int64Init("shape_n111", []int64{4}, []int64{-1, 1, 1, 1})
	g.Int64Init("shape_n11h", []int64{4}, []int64{-1, 1, 1, H})
	g.Scalar("one", 1)

	// The latent, scaled by psi: at psi 0 every seed has the same shapes
	// (only the palette, which reads the unscaled latent, still differs).
	psi1 := g.Op("Reshape", "psi", "shape_n1")
	psi4 := g.Op("Reshape", "psi", "shape_n111")
	zs := g.Op("Mul", "z", psi1)

	// style returns per-sample [N,1,1,H] vectors from the latent:
	// a gain 1 + tanh(z A) in (0, 2) and a bias b + z B.
	layer := 0
	style := func(gainScale, biasScale, fixedBias float64) (string, string) {
		l := strconv.Itoa(layer)
		a := g.FloatInit("A"+l, []int64{Z, H}, rng.fill(c.ZDim*c.Hidden, gainScale))
		b := g.FloatInit("B"+l, []int64{Z, H}, rng.fill(c.ZDim*c.Hidden, biasScale))
		gain := g.Op("Add", "one", g.Op("Tanh", g.Op("MatMul", zs, a)))
		b0 := g.FloatInit("b"+l, []int64{H}, rng.fill(c.Hidden, fixedBias))
		bias := g.Op("Add", g.Op("MatMul", zs, b), b0)
		return g.Op("Reshape", gain, "shape_n11h"), g.Op("Reshape", bias, "shape_n11h")
	}

	// Coordinate layer: x, y and r = sqrt(x²+y²), each times a weight
	// vector, with a latent gain and bias, and a frequency that grows
	// with psi (calm at 0.55, busy at 1). Each coordinate's weights are a fixed vector plus a projection of
	// the latent, so every seed gets its own orientations and scales.
	coordW := func(name string, base, fromZ float64) string {
		w := g.FloatInit("w"+name, []int64{H}, rng.fill(c.Hidden, base))
		cz := g.FloatInit("C"+name, []int64{Z, H}, rng.fill(c.ZDim*c.Hidden, fromZ/math.Sqrt(float64(c.ZDim))))
		return g.Op("Add", w, g.Op("Reshape", g.Op("MatMul", zs, cz), "shape_n11h")) // [N,1,1,H]
	}
	wx := coordW("x", 1.2, 2.0)
	wy := coordW("y", 1.2, 2.0)
	wr := coordW("r", 0.6, 1.2)
	r := g.Op("Sqrt", g.Op("Add", g.Op("Mul", "xs", "xs"), g.Op("Mul", "ys", "ys")))
	xy := g.Op("Add", g.Op("Mul", "xs", wx), g.Op("Mul", "ys", wy)) // [N,S,S,H]
	pre := g.Op("Add", xy, g.Op("Mul", r, wr))
	g.Scalar("freq_a", 0.2)
	g.Scalar("freq_b", 1.3)
	freq := g.Op("Add", "freq_a", g.Op("Mul", "freq_b", psi4)) // [N,1,1,1]
	gain, bias := style(0.25, 0.2, 1.0)
	layer++
	h := g.Op("Tanh", g.Op("Add", g.Op("Mul", pre, g.Op("Mul", gain, freq)), bias))

	// Hidden layers alternate sin and tanh.
	for i := range c.Layers {
		l := strconv.Itoa(layer)
		w := g.FloatInit("W"+l, []int64{H, H}, rng.fill(c.Hidden*c.Hidden, 2.2/math.Sqrt(float64(c.Hidden))))
		gain, bias := style(0.2, 0.15, 0.5)
		layer++
		pre := g.Op("Add", g.Op("Mul", g.Op("MatMul", h, w), gain), bias)
		if i%2 == 0 {
			h = g.Op("Sin", pre)
		} else {
			h = g.Op("Tanh", pre)
		}
	}

	// Colour: three tanh channels read as luma and two chroma values,
	// turned into RGB by a fixed matrix (chroma scaled down so that hues
	// stay varied rather than saturating), clipped to [-1, 1], then
	// NHWC -> NCHW.
	wo := g.FloatInit("Wout", []int64{H, 3}, rng.fill(c.Hidden*3, 1.3/math.Sqrt(float64(c.Hidden))))
	bo := g.FloatInit("Bout", []int64{Z, 3}, rng.fill(c.ZDim*3, 0.04))
	g.Int64Init("shape_n113", []int64{4}, []int64{-1, 1, 1, 3})
	cb := g.Op("Reshape", g.Op("MatMul", "z", bo), "shape_n113") // palette: unscaled z
	yuv := g.Op("Tanh", g.Op("Add", g.Op("MatMul", h, wo), cb))
	const y, k = 0.6, 0.9
	g.FloatInit("yuv2rgb", []int64{3, 3}, []float32{
		y, y, y,
		0, -0.395 * k, 2.032 * k,
		1.140 * k, -0.581 * k, 0,
	})
	g.Scalar("lo", -1)
	rgb := g.Op("Clip", g.Op("MatMul", yuv, "yuv2rgb"), "lo", "one")
	g.Node("Transpose", []string{rgb}, []string{"image"}, onnxbuild.IntsAttr("perm", 0, 3, 1, 2))

	m := &onnxbuild.Model{
		ProducerName:    "moetron-cppn",
		ProducerVersion: "1",
		Doc:             "moetron bundled CPPN: z [N,zdim], psi [N] -> image [N,3,H,W] in [-1,1]",
		Metadata:        onnxbuild.GeneratorMetadata(c.ZDim, 8),
		Graph:           g,
	}
	return m.Marshal()
}
