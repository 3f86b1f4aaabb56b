package export

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ort "github.com/yalue/onnxruntime_go"
)

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Zero(t, len(b)%4, "%s: not float32 data", path)
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// TestExportMatchesPyTorch runs a model written by
//
//	stylegan2_onnx.py --random --resolution 64 -o $STYLEGAN2_ONNX --check-dir $STYLEGAN2_CHECK
//
// in ONNX Runtime (ORT_LIB) and compares it with PyTorch's image for the same
// z and psi. It is skipped unless the three variables are set. check.sh runs
// it against the exporter's own PyTorch image and against an independent
// reference (testdata/ada_reference.py).
//
// STYLEGAN2_WRONG, a comma-separated list of directories laid out like
// STYLEGAN2_CHECK whose images were computed with a deliberate mistake
// (ada_reference.py --break), makes the test also require that each of them
// differs from the model by more than the tolerance: the comparison can fail.
func TestExportMatchesPyTorch(t *testing.T) {
	model, dir, lib := os.Getenv("STYLEGAN2_ONNX"), os.Getenv("STYLEGAN2_CHECK"), os.Getenv("ORT_LIB")
	if model == "" || dir == "" || lib == "" {
		t.Skip("set STYLEGAN2_ONNX, STYLEGAN2_CHECK and ORT_LIB to check an exported model (see README.md)")
	}
	ort.SetSharedLibraryPath(lib)
	require.NoError(t, ort.InitializeEnvironment())
	defer ort.DestroyEnvironment()

	z := readF32(t, filepath.Join(dir, "z.bin"))
	psi := readF32(t, filepath.Join(dir, "psi.bin"))
	want := readF32(t, filepath.Join(dir, "image.bin"))
	n := len(psi)
	require.Equal(t, n*512, len(z))
	res := int(math.Round(math.Sqrt(float64(len(want) / (3 * n)))))
	require.Equal(t, n*3*res*res, len(want))

	md, err := ort.GetModelMetadata(model)
	require.NoError(t, err)
	for k, v := range map[string]string{"moetron.z": "z", "moetron.psi": "psi", "moetron.image": "image",
		"moetron.zdim": "512", "moetron.layout": "NCHW", "moetron.range": "-1,1"} {
		got, ok, err := md.LookupCustomMetadataMap(k)
		require.NoError(t, err)
		assert.True(t, ok, k)
		assert.Equal(t, v, got, k)
	}
	md.Destroy()

	sess, err := ort.NewDynamicAdvancedSession(model, []string{"z", "psi"}, []string{"image"}, nil)
	require.NoError(t, err)
	defer sess.Destroy()

	run := func(z, psi []float32) []float32 {
		n := int64(len(psi))
		zt, err := ort.NewTensor(ort.NewShape(n, 512), z)
		require.NoError(t, err)
		defer zt.Destroy()
		pt, err := ort.NewTensor(ort.NewShape(n), psi)
		require.NoError(t, err)
		defer pt.Destroy()
		out, err := ort.NewEmptyTensor[float32](ort.NewShape(n, 3, int64(res), int64(res)))
		require.NoError(t, err)
		defer out.Destroy()
		require.NoError(t, sess.Run([]ort.Value{zt, pt}, []ort.Value{out}))
		return append([]float32(nil), out.GetData()...)
	}

	tol := 2e-3
	if os.Getenv("STYLEGAN2_FP16") != "" {
		tol = 5e-2
	}
	diff := func(name string, got, want []float32) float64 {
		worst, std := 0.0, 0.0
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
			std += float64(want[i]) * float64(want[i])
		}
		t.Logf("%s: max |ORT - PyTorch| = %.2g (rms %.3f)", name, worst, math.Sqrt(std/float64(len(want))))
		return worst
	}
	batch := run(z, psi)
	assert.LessOrEqual(t, diff("batch", batch, want), tol, "batch")
	// Dynamic batch: the second sample alone gives the same image.
	per := 3 * res * res
	assert.LessOrEqual(t, diff("single", run(z[512:], psi[1:]), want[per:]), tol, "single")

	for _, wrong := range strings.Split(os.Getenv("STYLEGAN2_WRONG"), ",") {
		if wrong == "" {
			continue
		}
		require.Equal(t, z, readF32(t, filepath.Join(wrong, "z.bin")), "%s: other z", wrong)
		require.Equal(t, psi, readF32(t, filepath.Join(wrong, "psi.bin")), "%s: other psi", wrong)
		bad := readF32(t, filepath.Join(wrong, "image.bin"))
		require.Len(t, bad, len(want), wrong)
		assert.Greater(t, diff("wrong "+filepath.Base(wrong), batch, bad), tol,
			"%s: an image computed with a deliberate mistake matches the model", wrong)
	}
}
