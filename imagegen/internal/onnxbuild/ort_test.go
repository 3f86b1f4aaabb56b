package onnxbuild

import (
	"math"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ort "github.com/yalue/onnxruntime_go"
)

var (
	ortOnce sync.Once
	ortErr  error
)

// needORT initializes ONNX Runtime from ORT_LIB or skips the test.
func needORT(t *testing.T) {
	t.Helper()
	lib := os.Getenv("ORT_LIB")
	if lib == "" {
		t.Skip("ORT_LIB is not set; skipping the ONNX Runtime check")
	}
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(lib)
		ortErr = ort.InitializeEnvironment()
	})
	require.NoError(t, ortErr, "initializing ONNX Runtime from %s", lib)
}

// mlpModel builds a model that exercises most operators the CPPN and the
// imagegen tests use: from x [N,3], h = tanh(x W + b) [N,4];
// c = clip(concat(sigmoid(sin(2h)), relu(cos(h)-0.5)), -0.8, 0.8) [N,8];
// y = unsqueeze(transpose(reshape(c, [0,2,4]), [0,2,1]), 1) / 2 [N,1,4,2];
// e = x * expand(k, shape(x)) [N,3].
func mlpModel(t *testing.T) ([]byte, []float32, []float32) {
	w := []float32{0.5, -1, 0.25, 2, 1.5, 0.3, -0.7, -0.2, -1.1, 0.8, 0.6, 0.1}
	b := []float32{0.1, -0.2, 0.3, 0}
	g := NewGraph("mlp")
	g.Input("x", Float, "N", 3)
	g.Output("y", Float, "N", 1, 4, 2)
	g.Output("e", Float, "N", 3)
	g.FloatInit("W", []int64{3, 4}, w)
	g.FloatInit("b", []int64{4}, b)
	g.Scalar("two", 2)
	g.Scalar("half", 0.5)
	g.Scalar("lo", -0.8)
	g.Scalar("hi", 0.8)
	g.FloatInit("k", []int64{1}, []float32{3})
	g.Int64Init("shape", []int64{3}, []int64{0, 2, 4})
	g.Int64Init("axes", []int64{1}, []int64{1})

	h := g.Op("Tanh", g.Op("Add", g.Op("MatMul", "x", "W"), "b"))
	s := g.Op("Sigmoid", g.Op("Sin", g.Op("Mul", h, "two")))
	r := g.Op("Relu", g.Op("Sub", g.Op("Cos", h), "half"))
	c := g.OpAttrs("Concat", []string{s, r}, []Attr{IntAttr("axis", 1)})
	c = g.Op("Clip", c, "lo", "hi")
	tr := g.OpAttrs("Transpose", []string{g.Op("Reshape", c, "shape")}, []Attr{IntsAttr("perm", 0, 2, 1)})
	u := g.Op("Unsqueeze", tr, "axes")
	g.Node("Div", []string{g.Op("Identity", u), "two"}, []string{"y"})
	g.Node("Mul", []string{"x", g.Op("Expand", "k", g.Op("Shape", "x"))}, []string{"e"})

	data, err := (&Model{ProducerName: "test", Metadata: map[string]string{"moetron.zdim": "3"}, Graph: g}).Marshal()
	require.NoError(t, err)
	return data, w, b
}

func TestRunsInONNXRuntime(t *testing.T) {
	needORT(t)
	data, w, b := mlpModel(t)

	meta, err := ort.GetModelMetadataWithONNXData(data)
	require.NoError(t, err)
	defer meta.Destroy()
	v, ok, err := meta.LookupCustomMetadataMap("moetron.zdim")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "3", v)
	prod, err := meta.GetProducerName()
	require.NoError(t, err)
	assert.Equal(t, "test", prod)

	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"x"}, []string{"y", "e"}, nil)
	require.NoError(t, err)
	defer sess.Destroy()

	const n = 3
	x := []float32{0.1, 0.2, 0.3, -1, 0.5, 2, 0, 0, -0.4}
	in, err := ort.NewTensor(ort.NewShape(n, 3), x)
	require.NoError(t, err)
	defer in.Destroy()
	y, err := ort.NewEmptyTensor[float32](ort.NewShape(n, 1, 4, 2))
	require.NoError(t, err)
	defer y.Destroy()
	e, err := ort.NewEmptyTensor[float32](ort.NewShape(n, 3))
	require.NoError(t, err)
	defer e.Destroy()
	require.NoError(t, sess.Run([]ort.Value{in}, []ort.Value{y, e}))

	// Go reference.
	clip := func(v float64) float64 { return math.Max(-0.8, math.Min(0.8, v)) }
	got := y.GetData()
	for i := range n {
		var cat [8]float64
		for j := range 4 {
			acc := float64(b[j])
			for k := range 3 {
				acc += float64(x[3*i+k]) * float64(w[4*k+j])
			}
			h := math.Tanh(acc)
			cat[j] = clip(1 / (1 + math.Exp(-math.Sin(2*h))))
			cat[4+j] = clip(math.Max(0, math.Cos(h)-0.5))
		}
		// Reshape [8] -> [2,4], transpose -> [4,2]: out[a][c] = cat[c*4+a].
		for a := range 4 {
			for c := range 2 {
				assert.InDelta(t, cat[c*4+a]/2, got[i*8+a*2+c], 1e-5, "y[%d,0,%d,%d]", i, a, c)
			}
		}
	}
	for i, v := range e.GetData() {
		assert.InDelta(t, 3*x[i], v, 1e-6)
	}
}
