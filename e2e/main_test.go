package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bins holds the binaries TestMain built, by name ("webhook", "worker", "bot"), and
// why a binary is missing when it is.
var bins = struct {
	dir     string
	path    map[string]string
	missing map[string]string
}{path: map[string]string{}, missing: map[string]string{}}

// moduleRoot is the repository root (the parent of this directory).
var moduleRoot string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	moduleRoot = root
	dir, err := os.MkdirTemp("", "moetron-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bins.dir = dir
	for _, name := range []string{"webhook", "worker", "bot"} {
		buildBinary(name)
	}
	return m.Run()
}

// buildBinary builds examples/<name> into bins.dir. A package that does not
// exist yet is recorded as missing (its tests skip); one that exists but
// does not build is recorded too, with the compiler's output, and the tests
// that need it fail rather than skip.
func buildBinary(name string) {
	pkg := "./examples/" + name
	if _, err := os.Stat(filepath.Join(moduleRoot, "examples", name)); err != nil {
		bins.missing[name] = "skip: " + pkg + " does not exist yet"
		return
	}
	out := filepath.Join(bins.dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = moduleRoot
	if b, err := cmd.CombinedOutput(); err != nil {
		bins.missing[name] = fmt.Sprintf("fail: go build %s: %v\n%s", pkg, err, strings.TrimSpace(string(b)))
		return
	}
	bins.path[name] = out
}

// needBinary returns the path of a built binary, skipping t when its package
// does not exist and failing it when the package does not build.
func needBinary(t testing.TB, name string) string {
	t.Helper()
	if p, ok := bins.path[name]; ok {
		return p
	}
	why := bins.missing[name]
	if rest, ok := strings.CutPrefix(why, "skip: "); ok {
		t.Skip(rest)
	}
	t.Fatal(strings.TrimPrefix(why, "fail: "))
	return ""
}
