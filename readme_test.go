package moetron_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README says every package of its table has Example tests: each of
// those directories has a func Example in a _test.go file.
func TestEveryREADMEPackageHasAnExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	row := regexp.MustCompile("^\\| \\[`([a-z0-9/]+)`\\]\\(")
	example := regexp.MustCompile(`(?m)^func Example\w*\(\)`)
	var pkgs []string
	for _, line := range strings.Split(string(readme), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			pkgs = append(pkgs, m[1])
		}
	}
	require.Greater(t, len(pkgs), 20, "the README's package table was found")
	for _, pkg := range pkgs {
		files, err := filepath.Glob(filepath.Join(pkg, "*_test.go"))
		require.NoError(t, err)
		found := false
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			if example.Match(b) {
				found = true
				break
			}
		}
		assert.True(t, found, "package %s (README table) has no Example test", pkg)
	}
}
