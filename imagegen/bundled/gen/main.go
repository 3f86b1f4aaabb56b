// Command gen regenerates the bundled model, imagegen/bundled/cppn.onnx,
// from the architecture and weight seed in imagegen/bundled/internal/cppn.
//
//	go run ./imagegen/bundled/gen [-o imagegen/bundled/cppn.onnx]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/moetron/moetron/imagegen/bundled/internal/cppn"
)

func main() {
	out := flag.String("o", "imagegen/bundled/cppn.onnx", "output file")
	flag.Parse()
	b, err := cppn.Build(cppn.Default)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%d bytes)\n", *out, len(b))
}
