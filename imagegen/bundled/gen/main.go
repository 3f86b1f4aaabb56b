// Command gen regenerates the bundled models, imagegen/bundled/cppn.onnx and
// imagegen/bundled/portrait.onnx, from the architectures and seeds in
// imagegen/bundled/internal/cppn and imagegen/bundled/internal/portrait.
//
//	go run ./imagegen/bundled/gen [-dir imagegen/bundled]
//
// or go generate ./imagegen/bundled.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/moetron/moetron/imagegen/bundled/internal/cppn"
	"github.com/moetron/moetron/imagegen/bundled/internal/portrait"
)

func main() {
	dir := flag.String("dir", "imagegen/bundled", "output directory")
	flag.Parse()
	for _, m := range []struct {
		file  string
		build func() ([]byte, error)
	}{
		{"cppn.onnx", func() ([]byte, error) { return cppn.Build(cppn.Default) }},
		{"portrait.onnx", func() ([]byte, error) { return portrait.Build(portrait.Default) }},
	} {
		b, err := m.build()
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		out := filepath.Join(*dir, m.file)
		if err := os.WriteFile(out, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Printf("wrote %s (%d bytes)\n", out, len(b))
	}
}
