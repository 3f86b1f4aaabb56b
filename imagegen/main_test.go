package imagegen

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// TestMain skips the examples that need ONNX Runtime when the library is
// missing outside CI (tests skip themselves through needRuntime; examples
// cannot). In CI a missing library fails those tests instead.
func TestMain(m *testing.M) {
	flag.Parse()
	if _, err := os.Stat(LibraryPath()); err != nil && os.Getenv("CI") == "" {
		fmt.Fprintf(os.Stderr, "imagegen: ONNX Runtime not found at %s: skipping examples that need it (run `make ort`)\n", LibraryPath())
		skip := "^ExampleGenerator"
		if s := flag.Lookup("test.skip").Value.String(); s != "" {
			skip = s + "|" + skip
		}
		_ = flag.Set("test.skip", skip)
	}
	os.Exit(m.Run())
}
