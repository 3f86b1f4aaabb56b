// Package ortfetch downloads the ONNX Runtime library imagegen needs into
// imagegen.DefaultLibraryPath(), as scripts/ort-lib.sh does but in Go, so
// that it works from any module that imports moetron:
//
//	go run github.com/moetron/moetron/examples/ortfetch
//
// The source is the npm package com.github.asus4.onnxruntime@0.4.9 (a
// repackaging of Microsoft's ONNX Runtime 1.29.0 CPU build, MIT), fetched
// from the npm registry as a tarball; both libraries are checked against
// the sha256 sums pinned here (the same as the script's) before they are
// moved into place. Only linux/amd64 is provided by that package.
package ortfetch

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/moetron/moetron/imagegen"
)

// Pinned source and sums (scripts/ort-lib.sh has the same).
const (
	Package        = "com.github.asus4.onnxruntime"
	PackageVersion = "0.4.9"
	LibSHA256      = "5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca"
	SharedSHA256   = "086ec1d5388f64153d9c63470d126693db9a182c8ce236d3a1119068471b8a0d"
	// DefaultRegistry is the npm registry.
	DefaultRegistry = "https://registry.npmjs.org"
	maxTarball      = 256 << 20
)

// ErrChecksum means a downloaded library does not match its pinned sum.
var ErrChecksum = errors.New("ortfetch: sha256 mismatch")

// Options tune Fetch; the zero value fetches the pinned package from npm
// into imagegen.DefaultLibraryPath()'s directory.
type Options struct {
	Registry   string       // npm registry base URL; "" means DefaultRegistry
	Dir        string       // install directory; "" means DefaultLibraryPath's
	HTTPClient *http.Client // nil means http.DefaultClient

	// Sums override the pinned sums (tests with a local tarball).
	LibSum, SharedSum string
}

// files maps the tarball's members to installed names.
var files = map[string]string{
	"package/Plugins/Linux/x64/libonnxruntime.so":                  "libonnxruntime.so",
	"package/Plugins/Linux/x64/libonnxruntime_providers_shared.so": "libonnxruntime_providers_shared.so",
}

// Fetch installs the library unless an intact copy is there, and returns
// its path.
func Fetch(ctx context.Context, o Options) (string, error) {
	if o.Registry == "" {
		o.Registry = DefaultRegistry
	}
	if o.Dir == "" {
		o.Dir = filepath.Dir(imagegen.DefaultLibraryPath())
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	sums := map[string]string{"libonnxruntime.so": LibSHA256, "libonnxruntime_providers_shared.so": SharedSHA256}
	if o.LibSum != "" {
		sums["libonnxruntime.so"] = o.LibSum
	}
	if o.SharedSum != "" {
		sums["libonnxruntime_providers_shared.so"] = o.SharedSum
	}
	lib := filepath.Join(o.Dir, "libonnxruntime.so")
	if ok, _ := sumIs(lib, sums["libonnxruntime.so"]); ok {
		if ok, _ := sumIs(filepath.Join(o.Dir, "libonnxruntime_providers_shared.so"), sums["libonnxruntime_providers_shared.so"]); ok {
			return lib, nil
		}
	}
	url := fmt.Sprintf("%s/%s/-/%s-%s.tgz", strings.TrimRight(o.Registry, "/"), Package, Package, PackageVersion)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", fmt.Errorf("ortfetch: %w", err)
	}
	resp, err := o.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("ortfetch: downloading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ortfetch: downloading %s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return "", fmt.Errorf("ortfetch: %w", err)
	}
	tmp, err := os.MkdirTemp(o.Dir, ".fetch-")
	if err != nil {
		return "", fmt.Errorf("ortfetch: %w", err)
	}
	defer os.RemoveAll(tmp)
	zr, err := gzip.NewReader(io.LimitReader(resp.Body, maxTarball))
	if err != nil {
		return "", fmt.Errorf("ortfetch: %s is not a gzip tarball: %w", url, err)
	}
	tr := tar.NewReader(zr)
	found := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("ortfetch: reading the tarball: %w", err)
		}
		name, ok := files[h.Name]
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		if err := extract(tr, filepath.Join(tmp, name), sums[name]); err != nil {
			return "", err
		}
		found[name] = true
	}
	for _, name := range files {
		if !found[name] {
			return "", fmt.Errorf("ortfetch: the tarball lacks %s", name)
		}
	}
	// The providers library first, the main one last: the main one's
	// presence is what callers check.
	for _, name := range []string{"libonnxruntime_providers_shared.so", "libonnxruntime.so"} {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(o.Dir, name)); err != nil {
			return "", fmt.Errorf("ortfetch: %w", err)
		}
	}
	return lib, nil
}

func extract(r io.Reader, path, want string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return fmt.Errorf("ortfetch: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ortfetch: writing %s: %w", filepath.Base(path), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w for %s: got %s, want %s", ErrChecksum, filepath.Base(path), got, want)
	}
	return nil
}

func sumIs(path, want string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == want, nil
}
