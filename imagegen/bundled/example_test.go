package bundled_test

import (
	"bytes"
	"fmt"

	"github.com/moetron/moetron/imagegen/bundled"
)

// The model is embedded: with no MODEL_PATH the worker loads these bytes
// from memory; write them to bundled.FileName to look at the graph with
// other tools. Its latent is ZDim long.
func ExampleModel() {
	m := bundled.Model()
	fmt.Println(bundled.FileName, len(m) > 10_000, bytes.Contains(m, []byte("moetron.zdim")), bundled.ZDim)
	// Output: cppn.onnx true true 128
}
