package imagegen

import (
	"math"
	"os"
	"testing"

	"github.com/moetron/moetron/imagegen/internal/onnxbuild"
	"github.com/stretchr/testify/require"
)

// needRuntime skips the test when no ONNX Runtime library is available,
// except in CI (CI set), where a missing library fails: make test always
// provides one through scripts/ort-lib.sh.
func needRuntime(t testing.TB) string {
	t.Helper()
	lib := LibraryPath()
	if _, err := os.Stat(lib); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the ONNX Runtime library is missing at %s (ORT_LIB=%q): run scripts/ort-lib.sh", lib, os.Getenv("ORT_LIB"))
		}
		t.Skipf("ONNX Runtime library not found at %s; run `make ort` or set ORT_LIB (skipping outside CI)", lib)
	}
	return lib
}

// testModel describes a tiny generator: image = reshape(tanh((z*psi) W) * scale + bias)
// where W is a fixed pseudo-random [zdim, 3*H*W] matrix.
type testModel struct {
	zName, psiName, imageName string // "" for psi means no psi input
	zdim                      int    // model's z width; <0 makes it dynamic ("Z")
	h, w                      int
	nhwc                      bool
	batch                     any // "N" (default) or a fixed int
	scale, bias               float32
	nanEvery                  int // when > 0, every nanEvery-th output value is NaN
	extraInput                string
	meta                      map[string]string
}

func (m testModel) defaults() testModel {
	if m.zName == "" {
		m.zName = "z"
	}
	if m.imageName == "" {
		m.imageName = "image"
	}
	if m.zdim == 0 {
		m.zdim = 4
	}
	if m.h == 0 {
		m.h, m.w = 3, 2
	}
	if m.batch == nil {
		m.batch = "N"
	}
	if m.scale == 0 {
		m.scale = 1
	}
	return m
}

// weights returns the model's W, deterministic.
func (m testModel) weights() []float32 {
	zd := m.zdim
	if zd < 0 {
		zd = -zd
	}
	n := zd * 3 * m.h * m.w
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(math.Sin(float64(i)*1.7+0.3)) * 0.8
	}
	return w
}

// reference computes the model's output for one latent (already scaled by
// psi) in Go, as float64, in the model's layout.
func (m testModel) reference(z []float32) []float64 {
	m = m.defaults()
	w := m.weights()
	k := 3 * m.h * m.w
	out := make([]float64, k)
	for j := 0; j < k; j++ {
		var acc float64
		for i := range z {
			acc += float64(z[i]) * float64(w[i*k+j])
		}
		out[j] = math.Tanh(acc)*float64(m.scale) + float64(m.bias)
		if m.nanEvery > 0 && j%m.nanEvery == 0 {
			out[j] = math.NaN()
		}
	}
	return out
}

func (m testModel) build(t testing.TB) []byte {
	t.Helper()
	m = m.defaults()
	zd := m.zdim
	var zdimDim any = zd
	if zd < 0 {
		zd = -zd
		zdimDim = "Z"
	}
	k := 3 * m.h * m.w
	g := onnxbuild.NewGraph("test")
	g.Input(m.zName, onnxbuild.Float, m.batch, zdimDim)
	if m.psiName != "" {
		g.Input(m.psiName, onnxbuild.Float, m.batch)
	}
	if m.extraInput != "" {
		g.Input(m.extraInput, onnxbuild.Float, m.batch, 1)
	}
	if m.nhwc {
		g.Output(m.imageName, onnxbuild.Float, m.batch, m.h, m.w, 3)
	} else {
		g.Output(m.imageName, onnxbuild.Float, m.batch, 3, m.h, m.w)
	}
	g.FloatInit("W", []int64{int64(zd), int64(k)}, m.weights())
	mask := make([]float32, k)
	for j := range mask {
		mask[j] = 1
		if m.nanEvery > 0 && j%m.nanEvery == 0 {
			mask[j] = float32(math.NaN())
		}
	}
	g.FloatInit("mask", []int64{int64(k)}, mask)
	g.Scalar("scale", m.scale)
	g.Scalar("bias", m.bias)
	z := m.zName
	if m.psiName != "" {
		g.Int64Init("axes", []int64{1}, []int64{1})
		z = g.Op("Mul", z, g.Op("Unsqueeze", m.psiName, "axes"))
	}
	y := g.Op("Add", g.Op("Mul", g.Op("Mul", g.Op("Tanh", g.Op("MatMul", z, "W")), "scale"), "mask"), "bias")
	if m.extraInput != "" {
		y = g.Op("Add", y, g.Op("ReduceSum", m.extraInput))
	}
	shape := []int64{-1, 3, int64(m.h), int64(m.w)}
	if m.nhwc {
		shape = []int64{-1, int64(m.h), int64(m.w), 3}
	}
	g.Int64Init("shape", []int64{4}, shape)
	g.Node("Reshape", []string{y, "shape"}, []string{m.imageName})
	b, err := (&onnxbuild.Model{Graph: g, Metadata: m.meta}).Marshal()
	require.NoError(t, err)
	return b
}
