package bundled

import _ "embed"

// The model's shape, also recorded in its metadata.
const (
	ZDim = 128 // latent size: input z is [N, ZDim]
	Size = 512 // output height and width: image is [N, 3, Size, Size]
)

// FileName is the embedded model's file name in this directory.
const FileName = "cppn.onnx"

//go:embed cppn.onnx
var model []byte

// Model returns the bundled ONNX model. The slice is a fresh copy, so a
// caller may keep or change it.
func Model() []byte { return append([]byte(nil), model...) }
