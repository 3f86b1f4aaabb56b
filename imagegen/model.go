package imagegen

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// Metadata keys read from the model's ONNX metadata_props. A sidecar JSON
// uses the same keys without the "moetron." prefix and overrides them.
const (
	MetaZ        = "moetron.z"         // latent input name; default "z"
	MetaPsi      = "moetron.psi"       // truncation input name; default "psi" when the model has it
	MetaImage    = "moetron.image"     // image output name; default "image"
	MetaZDim     = "moetron.zdim"      // latent size; default: the z input's fixed second dimension
	MetaLayout   = "moetron.layout"    // "NCHW" (default) or "NHWC"
	MetaRange    = "moetron.range"     // "-1,1" (default), "0,1" or "0,255"
	MetaMaxBatch = "moetron.max_batch" // optional cap on the batch size
)

const metaPrefix = "moetron."

// Layouts and ranges of the image output.
const (
	LayoutNCHW = "NCHW"
	LayoutNHWC = "NHWC"

	RangeSigned = "-1,1"
	RangeUnit   = "0,1"
	RangeByte   = "0,255"
)

// intermediateChannels is the per-pixel channel count assumed for the
// largest intermediate tensor of an image generator when deriving a safe
// batch cap: 128 channels at full output resolution. A StyleGAN2 512x512
// generator at batch 64 reaches 64*128*512*512 = 2^31 elements, where ONNX
// Runtime's CUDA Resize fails; the derived cap for that size is 63.
const intermediateChannels = 128

// maxTensorElements is the largest element count an intermediate tensor may
// have (int32 indexing in some CUDA kernels).
const maxTensorElements = math.MaxInt32

// ModelInfo describes a loaded model, after metadata, sidecar and the
// model's real inputs and outputs were reconciled.
type ModelInfo struct {
	ZName     string // latent input
	PsiName   string // truncation input; "" when the model has none (psi is applied to z)
	ImageName string // image output
	ZDim      int
	Layout    string // LayoutNCHW or LayoutNHWC
	Range     string // RangeSigned, RangeUnit or RangeByte
	Height    int    // output height; 0 when the model leaves it dynamic
	Width     int    // output width; 0 when dynamic

	// FixedBatch is true when the model's batch dimension is fixed at 1:
	// calls are then run one at a time.
	FixedBatch bool
	// MetaMaxBatch is moetron.max_batch (0 when absent); SizeMaxBatch is the
	// cap derived from the output size (0 when the size is dynamic).
	MetaMaxBatch int
	SizeMaxBatch int

	// Metadata holds every moetron.* key as read (after the sidecar).
	Metadata map[string]string
}

// sizeBatchCap derives the batch cap that keeps a tensor of
// intermediateChannels x H x W per image under maxTensorElements.
func sizeBatchCap(h, w int) int {
	if h <= 0 || w <= 0 {
		return 0
	}
	n := maxTensorElements / (intermediateChannels * h * w)
	return max(n, 1)
}

// parseSidecar reads a sidecar JSON object. Values are strings or numbers;
// keys are the metadata keys without the "moetron." prefix. Unknown keys are
// an error, so a typo does not pass silently.
func parseSidecar(b []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("sidecar is not a JSON object: %v", err)
	}
	known := map[string]bool{}
	for _, k := range []string{MetaZ, MetaPsi, MetaImage, MetaZDim, MetaLayout, MetaRange, MetaMaxBatch} {
		known[strings.TrimPrefix(k, metaPrefix)] = true
	}
	out := map[string]string{}
	for k, v := range raw {
		if !known[k] {
			return nil, fmt.Errorf("sidecar has unknown key %q", k)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			var n json.Number
			dec := json.NewDecoder(strings.NewReader(string(v)))
			dec.UseNumber()
			if err := dec.Decode(&n); err != nil {
				return nil, fmt.Errorf("sidecar key %q: want a string or a number, got %s", k, v)
			}
			s = n.String()
		}
		out[metaPrefix+k] = s
	}
	return out, nil
}

func positiveInt(meta map[string]string, key string) (int, error) {
	s, ok := meta[key]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s = %q: want a positive integer", key, s)
	}
	return n, nil
}

func findInfo(infos []ort.InputOutputInfo, name string) (ort.InputOutputInfo, bool) {
	for _, i := range infos {
		if i.Name == name {
			return i, true
		}
	}
	return ort.InputOutputInfo{}, false
}

func names(infos []ort.InputOutputInfo) string {
	s := make([]string, len(infos))
	for i, n := range infos {
		s[i] = fmt.Sprintf("%s %v %v", n.Name, n.DataType, n.Dimensions)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// resolveModel reconciles metadata with the model's inputs and outputs.
// Every error names what was expected and what the model has.
func resolveModel(meta map[string]string, inputs, outputs []ort.InputOutputInfo) (*ModelInfo, error) {
	get := func(key, def string) string {
		if v, ok := meta[key]; ok && v != "" {
			return v
		}
		return def
	}
	mi := &ModelInfo{
		ZName:     get(MetaZ, "z"),
		ImageName: get(MetaImage, "image"),
		Layout:    strings.ToUpper(get(MetaLayout, LayoutNCHW)),
		Range:     strings.ReplaceAll(get(MetaRange, RangeSigned), " ", ""),
		Metadata:  meta,
	}
	if mi.Layout != LayoutNCHW && mi.Layout != LayoutNHWC {
		return nil, fmt.Errorf("%s = %q: want NCHW or NHWC", MetaLayout, mi.Layout)
	}
	switch mi.Range {
	case RangeSigned, RangeUnit, RangeByte:
	default:
		return nil, fmt.Errorf("%s = %q: want \"-1,1\", \"0,1\" or \"0,255\"", MetaRange, mi.Range)
	}
	var err error
	if mi.ZDim, err = positiveInt(meta, MetaZDim); err != nil {
		return nil, err
	}
	if mi.MetaMaxBatch, err = positiveInt(meta, MetaMaxBatch); err != nil {
		return nil, err
	}

	// Latent input: float32 [N, zdim].
	z, ok := findInfo(inputs, mi.ZName)
	if !ok {
		return nil, fmt.Errorf("no latent input %q; the model's inputs are: %s (set %s or a sidecar \"z\")", mi.ZName, names(inputs), MetaZ)
	}
	if z.DataType != ort.TensorElementDataTypeFloat || len(z.Dimensions) != 2 {
		return nil, fmt.Errorf("latent input %q is %v %v; want float32 [N, zdim]", z.Name, z.DataType, z.Dimensions)
	}
	switch d := z.Dimensions[1]; {
	case d > 0 && mi.ZDim == 0:
		mi.ZDim = int(d)
	case d > 0 && int(d) != mi.ZDim:
		return nil, fmt.Errorf("zdim mismatch: %s says %d, latent input %q has %d", MetaZDim, mi.ZDim, z.Name, d)
	case d <= 0 && mi.ZDim == 0:
		return nil, fmt.Errorf("latent input %q has a dynamic second dimension and %s is not set", z.Name, MetaZDim)
	}
	switch b := z.Dimensions[0]; {
	case b == 1:
		mi.FixedBatch = true
	case b > 1:
		return nil, fmt.Errorf("latent input %q has its batch fixed at %d; export it with a dynamic batch (or batch 1)", z.Name, b)
	}

	// Optional truncation input: float32 [N].
	psiName, explicit := meta[MetaPsi]
	if !explicit || psiName == "" {
		psiName = "psi"
	}
	if p, ok := findInfo(inputs, psiName); ok {
		if p.DataType != ort.TensorElementDataTypeFloat || len(p.Dimensions) != 1 {
			return nil, fmt.Errorf("psi input %q is %v %v; want float32 [N]", p.Name, p.DataType, p.Dimensions)
		}
		mi.PsiName = psiName
	} else if explicit && meta[MetaPsi] != "" {
		return nil, fmt.Errorf("%s names input %q, which the model lacks; its inputs are: %s", MetaPsi, psiName, names(inputs))
	}
	for _, in := range inputs {
		if in.Name != mi.ZName && in.Name != mi.PsiName {
			return nil, fmt.Errorf("model has an input %q that imagegen cannot feed (it feeds only %q and an optional psi)", in.Name, mi.ZName)
		}
	}

	// Image output: float32 rank 4 with 3 channels.
	img, ok := findInfo(outputs, mi.ImageName)
	if !ok {
		return nil, fmt.Errorf("no image output %q; the model's outputs are: %s (set %s or a sidecar \"image\")", mi.ImageName, names(outputs), MetaImage)
	}
	if img.DataType != ort.TensorElementDataTypeFloat || len(img.Dimensions) != 4 {
		return nil, fmt.Errorf("image output %q is %v %v; want float32 [N,3,H,W] (or [N,H,W,3] with layout NHWC)", img.Name, img.DataType, img.Dimensions)
	}
	c, h, w := img.Dimensions[1], img.Dimensions[2], img.Dimensions[3]
	if mi.Layout == LayoutNHWC {
		h, w, c = img.Dimensions[1], img.Dimensions[2], img.Dimensions[3]
	}
	if c != 3 {
		return nil, fmt.Errorf("image output %q has shape %v: want 3 channels in layout %s", img.Name, img.Dimensions, mi.Layout)
	}
	if h > 0 && w > 0 {
		mi.Height, mi.Width = int(h), int(w)
		mi.SizeMaxBatch = sizeBatchCap(mi.Height, mi.Width)
	}
	return mi, nil
}
