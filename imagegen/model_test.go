package imagegen

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ort "github.com/yalue/onnxruntime_go"
)

func tensorInfo(name string, dims ...int64) ort.InputOutputInfo {
	return ort.InputOutputInfo{Name: name, OrtValueType: ort.ONNXTypeTensor, DataType: ort.TensorElementDataTypeFloat, Dimensions: dims}
}

func TestResolveModelDefaults(t *testing.T) {
	mi, err := resolveModel(map[string]string{},
		[]ort.InputOutputInfo{tensorInfo("z", -1, 512), tensorInfo("psi", -1)},
		[]ort.InputOutputInfo{tensorInfo("image", -1, 3, 512, 512)})
	require.NoError(t, err)
	assert.Equal(t, "z", mi.ZName)
	assert.Equal(t, "psi", mi.PsiName)
	assert.Equal(t, "image", mi.ImageName)
	assert.Equal(t, 512, mi.ZDim)
	assert.Equal(t, LayoutNCHW, mi.Layout)
	assert.Equal(t, RangeSigned, mi.Range)
	assert.Equal(t, 512, mi.Height)
	assert.Equal(t, 512, mi.Width)
	assert.False(t, mi.FixedBatch)
	// 128 channels x 512 x 512 x 64 is exactly 2^31: one less.
	assert.Equal(t, 63, mi.SizeMaxBatch)
	assert.Equal(t, DefaultMaxBatch, effectiveBatch(0, mi))
	assert.Equal(t, 63, effectiveBatch(100, mi))
	assert.Equal(t, 8, effectiveBatch(8, mi))
}

func TestResolveModelMetadata(t *testing.T) {
	meta := map[string]string{MetaZ: "latent", MetaImage: "rgb", MetaZDim: "16", MetaLayout: "nhwc",
		MetaRange: "0, 1", MetaMaxBatch: "4", MetaPsi: "trunc"}
	mi, err := resolveModel(meta,
		[]ort.InputOutputInfo{tensorInfo("latent", -1, -1), tensorInfo("trunc", -1)},
		[]ort.InputOutputInfo{tensorInfo("rgb", -1, 64, 32, 3)})
	require.NoError(t, err)
	assert.Equal(t, "latent", mi.ZName)
	assert.Equal(t, "trunc", mi.PsiName)
	assert.Equal(t, 16, mi.ZDim)
	assert.Equal(t, LayoutNHWC, mi.Layout)
	assert.Equal(t, RangeUnit, mi.Range)
	assert.Equal(t, 64, mi.Height)
	assert.Equal(t, 32, mi.Width)
	assert.Equal(t, 4, mi.MetaMaxBatch)
	assert.Equal(t, 4, effectiveBatch(0, mi))

	// Without a psi input and no metadata naming one, psi is applied to z.
	mi, err = resolveModel(map[string]string{},
		[]ort.InputOutputInfo{tensorInfo("z", 1, 8)},
		[]ort.InputOutputInfo{tensorInfo("image", 1, 3, -1, -1)})
	require.NoError(t, err)
	assert.Empty(t, mi.PsiName)
	assert.True(t, mi.FixedBatch)
	assert.Zero(t, mi.Height)
	assert.Zero(t, mi.SizeMaxBatch)
	assert.Equal(t, 1, effectiveBatch(32, mi))
}

func TestResolveModelErrors(t *testing.T) {
	z := tensorInfo("z", -1, 8)
	img := tensorInfo("image", -1, 3, 4, 4)
	in := []ort.InputOutputInfo{z}
	out := []ort.InputOutputInfo{img}
	intInput := tensorInfo("z", -1, 8)
	intInput.DataType = ort.TensorElementDataTypeInt64

	cases := []struct {
		name    string
		meta    map[string]string
		in, out []ort.InputOutputInfo
		want    string
	}{
		{"wrong input name", map[string]string{MetaZ: "latent"}, in, out, `no latent input "latent"; the model's inputs are: z`},
		{"default name missing", nil, []ort.InputOutputInfo{tensorInfo("noise", -1, 8)}, out, `no latent input "z"`},
		{"wrong output name", nil, in, []ort.InputOutputInfo{tensorInfo("out", -1, 3, 4, 4)}, `no image output "image"; the model's outputs are: out`},
		{"zdim mismatch", map[string]string{MetaZDim: "16"}, in, out, "zdim mismatch: moetron.zdim says 16, latent input \"z\" has 8"},
		{"zdim unknown", nil, []ort.InputOutputInfo{tensorInfo("z", -1, -1)}, out, "dynamic second dimension and moetron.zdim is not set"},
		{"zdim not a number", map[string]string{MetaZDim: "lots"}, in, out, `moetron.zdim = "lots": want a positive integer`},
		{"max_batch zero", map[string]string{MetaMaxBatch: "0"}, in, out, "moetron.max_batch"},
		{"z rank", nil, []ort.InputOutputInfo{tensorInfo("z", -1, 8, 1)}, out, "want float32 [N, zdim]"},
		{"z type", nil, []ort.InputOutputInfo{intInput}, out, "want float32 [N, zdim]"},
		{"batch fixed at 4", nil, []ort.InputOutputInfo{tensorInfo("z", 4, 8)}, out, "batch fixed at 4"},
		{"psi named but missing", map[string]string{MetaPsi: "trunc"}, in, out, `moetron.psi names input "trunc"`},
		{"psi rank", nil, []ort.InputOutputInfo{z, tensorInfo("psi", -1, 1)}, out, "want float32 [N]"},
		{"extra input", nil, []ort.InputOutputInfo{z, tensorInfo("labels", -1, 10)}, out, `input "labels" that imagegen cannot feed`},
		{"four channels", nil, in, []ort.InputOutputInfo{tensorInfo("image", -1, 4, 4, 4)}, "want 3 channels in layout NCHW"},
		{"nhwc channels", map[string]string{MetaLayout: "NHWC"}, in, out, "want 3 channels in layout NHWC"},
		{"output rank", nil, in, []ort.InputOutputInfo{tensorInfo("image", -1, 48)}, "want float32 [N,3,H,W]"},
		{"bad layout", map[string]string{MetaLayout: "CHW"}, in, out, `moetron.layout = "CHW"`},
		{"bad range", map[string]string{MetaRange: "0,2"}, in, out, `moetron.range = "0,2"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			meta := c.meta
			if meta == nil {
				meta = map[string]string{}
			}
			_, err := resolveModel(meta, c.in, c.out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestParseSidecar(t *testing.T) {
	m, err := parseSidecar([]byte(`{"z":"latent","zdim":512,"layout":"NHWC","max_batch":"8","range":"0,255"}`))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{MetaZ: "latent", MetaZDim: "512", MetaLayout: "NHWC", MetaMaxBatch: "8", MetaRange: "0,255"}, m)

	for _, bad := range []struct{ in, want string }{
		{`[1,2]`, "not a JSON object"},
		{`{"zdim":`, "not a JSON object"},
		{`{"zdims":512}`, `unknown key "zdims"`},
		{`{"moetron.zdim":512}`, `unknown key "moetron.zdim"`},
		{`{"z":["a"]}`, `key "z": want a string or a number`},
		{`{"z":true}`, `key "z": want a string or a number`},
	} {
		_, err := parseSidecar([]byte(bad.in))
		require.Error(t, err, bad.in)
		assert.Contains(t, err.Error(), bad.want, bad.in)
	}
}

func TestSizeBatchCap(t *testing.T) {
	assert.Equal(t, 63, sizeBatchCap(512, 512))
	assert.Equal(t, 255, sizeBatchCap(256, 256))
	assert.Equal(t, 1, sizeBatchCap(8192, 8192))
	assert.Equal(t, 0, sizeBatchCap(0, 512))
}

func TestOnnxMetadataProps(t *testing.T) {
	b := testModel{meta: map[string]string{MetaZDim: "4", "other": "x", MetaRange: "0,1"}}.build(t)
	m, err := onnxMetadataProps(b)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{MetaZDim: "4", "other": "x", MetaRange: "0,1"}, m)

	m, err = onnxMetadataProps(testModel{}.build(t))
	require.NoError(t, err)
	assert.Empty(t, m)

	for _, bad := range [][]byte{{0xff, 0xff, 0xff}, b[:len(b)/2], []byte("this is not a model at all")} {
		_, err := onnxMetadataProps(bad)
		assert.ErrorContains(t, err, "not an ONNX model")
	}
}
