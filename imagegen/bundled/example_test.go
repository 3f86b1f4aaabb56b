package bundled_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/moetron/moetron/imagegen/bundled"
)

// The model is embedded: write it out to look at it with other tools, or
// pass no MODEL_PATH and the worker loads it from memory.
func ExampleModel() {
	dir, _ := os.MkdirTemp("", "model")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, bundled.FileName)
	if err := os.WriteFile(path, bundled.Model(), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	fi, _ := os.Stat(path)
	fmt.Println(bundled.FileName, fi.Size() > 10_000, bundled.ZDim)
	// Output: cppn.onnx true 128
}
