package bundled_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/moetron/moetron/imagegen/bundled"
	"github.com/moetron/moetron/imagegen/bundled/internal/cppn"
)

func TestModelMatchesGenerator(t *testing.T) {
	want, err := cppn.Build(cppn.Default)
	require.NoError(t, err)
	checkGenerated(t, bundled.FileName, want, bundled.Model(), 2<<20)
}

// checkGenerated fails unless the embedded model got and the committed file
// name hold the generator's bytes want, within limit bytes.
func checkGenerated(t *testing.T, name string, want, got []byte, limit int) {
	t.Helper()
	if !bytes.Equal(want, got) {
		t.Fatalf("%s (%d bytes) differs from the generator's output (%d bytes); run: go generate ./imagegen/bundled",
			name, len(got), len(want))
	}
	onDisk, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, want, onDisk)
	assert.Less(t, len(got), limit, "%s must stay under %d bytes", name, limit)
}

func TestConstantsMatchConfig(t *testing.T) {
	assert.Equal(t, cppn.Default.ZDim, bundled.ZDim)
	assert.Equal(t, cppn.Default.Size, bundled.Size)
}

func TestModelReturnsCopy(t *testing.T) {
	a := bundled.Model()
	a[0] ^= 0xff
	assert.NotEqual(t, a[0], bundled.Model()[0])
}

var (
	ortOnce sync.Once
	ortErr  error
)

func needORT(tb testing.TB) {
	tb.Helper()
	lib := os.Getenv("ORT_LIB")
	if lib == "" {
		tb.Skip("ORT_LIB is not set; skipping the ONNX Runtime check")
	}
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(lib)
		ortErr = ort.InitializeEnvironment()
	})
	require.NoError(tb, ortErr)
}

func gaussian(seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	z := make([]float32, bundled.ZDim)
	for i := range z {
		z[i] = float32(r.NormFloat64())
	}
	return z
}

// generate runs the model on a batch and returns its [N,3,Size,Size] output.
func generate(tb testing.TB, sess *ort.DynamicAdvancedSession, zs [][]float32, psi []float32) []float32 {
	tb.Helper()
	n := int64(len(zs))
	var flat []float32
	for _, z := range zs {
		flat = append(flat, z...)
	}
	zt, err := ort.NewTensor(ort.NewShape(n, bundled.ZDim), flat)
	require.NoError(tb, err)
	defer zt.Destroy()
	pt, err := ort.NewTensor(ort.NewShape(n), psi)
	require.NoError(tb, err)
	defer pt.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(n, 3, bundled.Size, bundled.Size))
	require.NoError(tb, err)
	defer out.Destroy()
	require.NoError(tb, sess.Run([]ort.Value{zt, pt}, []ort.Value{out}))
	return append([]float32(nil), out.GetData()...)
}

func session(tb testing.TB) *ort.DynamicAdvancedSession {
	tb.Helper()
	return sessionFor(tb, bundled.Model())
}

// sessionFor opens model on ONNX Runtime's CPU provider with its default
// thread pool.
func sessionFor(tb testing.TB, model []byte) *ort.DynamicAdvancedSession {
	tb.Helper()
	needORT(tb)
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"z", "psi"}, []string{"image"}, nil)
	require.NoError(tb, err)
	tb.Cleanup(func() { sess.Destroy() })
	return sess
}

func meanAbsDiff(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += math.Abs(float64(a[i] - b[i]))
	}
	return s / float64(len(a))
}

func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

func stddev(a []float32) float64 {
	var s, s2 float64
	for _, v := range a {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	m := s / float64(len(a))
	return math.Sqrt(s2/float64(len(a)) - m*m)
}

func TestMetadata(t *testing.T) {
	for _, ref := range bundled.Refs() {
		t.Run(ref, func(t *testing.T) {
			model, err := bundled.Open(ref)
			require.NoError(t, err)
			checkMetadata(t, model)
		})
	}
}

// checkMetadata checks the imagegen model contract of a bundled model: its
// metadata_props, inputs and outputs.
func checkMetadata(t *testing.T, model []byte) {
	needORT(t)
	md, err := ort.GetModelMetadataWithONNXData(model)
	require.NoError(t, err)
	defer md.Destroy()
	want := map[string]string{
		"moetron.z": "z", "moetron.psi": "psi", "moetron.image": "image",
		"moetron.zdim": strconv.Itoa(bundled.ZDim), "moetron.layout": "NCHW", "moetron.range": "-1,1",
		"moetron.max_batch": "8",
	}
	for k, v := range want {
		got, ok, err := md.LookupCustomMetadataMap(k)
		require.NoError(t, err)
		assert.True(t, ok, k)
		assert.Equal(t, v, got, k)
	}
	in, out, err := ort.GetInputOutputInfoWithONNXData(model)
	require.NoError(t, err)
	require.Len(t, in, 2)
	require.Len(t, out, 1)
	assert.Equal(t, ort.NewShape(-1, bundled.ZDim), in[0].Dimensions)
	assert.Equal(t, ort.NewShape(-1), in[1].Dimensions)
	assert.Equal(t, ort.NewShape(-1, 3, bundled.Size, bundled.Size), out[0].Dimensions)
}

func TestImages(t *testing.T) {
	sess := session(t)
	z1, z2 := gaussian(1), gaussian(2)
	img := generate(t, sess, [][]float32{z1, z2, z1}, []float32{0.55, 0.55, 1})
	const n = 3 * bundled.Size * bundled.Size
	require.Len(t, img, 3*n)
	a, b, c := img[:n], img[n:2*n], img[2*n:]

	for i, v := range img {
		if !(v >= -1 && v <= 1) {
			t.Fatalf("value %d is %v, outside [-1, 1]", i, v)
		}
	}
	for i, im := range [][]float32{a, b, c} {
		assert.Greater(t, stddev(im), 0.15, "image %d is nearly flat", i)
		// Each channel varies on its own: the image is not grey.
		for ch := range 3 {
			plane := im[ch*bundled.Size*bundled.Size : (ch+1)*bundled.Size*bundled.Size]
			assert.Greater(t, stddev(plane), 0.05, "image %d channel %d", i, ch)
		}
	}
	assert.Greater(t, meanAbsDiff(a, b), 0.1, "different latents must give clearly different images")
	assert.Greater(t, meanAbsDiff(a, c), 0.05, "psi must change the image")

	// Batching does not change a sample's result.
	single := generate(t, sess, [][]float32{z2}, []float32{0.55})
	assert.Less(t, maxAbsDiff(b, single), 1e-4)

	// psi 0 removes the latent's influence on the shape.
	p0 := generate(t, sess, [][]float32{z1, z2}, []float32{0, 0})
	assert.Less(t, meanAbsDiff(p0[:n], p0[n:]), meanAbsDiff(a, b)/2)
}

// BenchmarkGenerate512 times one 512x512 image on ONNX Runtime's CPU provider
// with its default thread pool:
//
//	ORT_LIB=/path/to/libonnxruntime.so go test -run '^$' -bench Generate ./imagegen/bundled
func BenchmarkGenerate512(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run("batch="+strconv.Itoa(n), func(b *testing.B) {
			sess := session(b)
			zs := make([][]float32, n)
			psi := make([]float32, n)
			for i := range zs {
				zs[i], psi[i] = gaussian(uint64(i)), 0.55
			}
			generate(b, sess, zs, psi) // warm up
			b.ResetTimer()
			for b.Loop() {
				generate(b, sess, zs, psi)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*n), "ms/image")
		})
	}
}
