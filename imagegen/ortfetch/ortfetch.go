// Package ortfetch downloads the ONNX Runtime library imagegen needs into
// imagegen.DefaultLibraryPath(), so that it works from any module that
// imports moetron:
//
//	go run github.com/moetron/moetron/examples/ortfetch
//
// scripts/ort-lib.sh (make ort) runs the same program.
//
// The source is Microsoft's own npm package onnxruntime-node@1.29.0 (MIT),
// published by the ONNX Runtime team, fetched from the npm registry as a
// tarball; nothing of it is installed or run. Its linux/x64 and linux/arm64
// builds of libonnxruntime.so.1 are the ONNX Runtime 1.29.0 CPU library;
// the one for this machine is checked against the sha256 pinned here before
// it is moved into place as libonnxruntime.so.
//
// The GPU path (see the repository's bench/gpu) loads a CUDA plugin built
// against the same 1.29.0 core and brings its own copy of the core.
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
	"runtime"
	"strings"

	"github.com/moetron/moetron/imagegen"
)

// Pinned source.
const (
	Package        = "onnxruntime-node"
	PackageVersion = imagegen.ORTVersion
	// DefaultRegistry is the npm registry.
	DefaultRegistry = "https://registry.npmjs.org"
	// LibName is the installed file's name in the cache directory.
	LibName    = "libonnxruntime.so"
	maxTarball = 256 << 20
)

// Build is one platform's library inside the package tarball.
type Build struct {
	Member string // path inside the tarball
	SHA256 string // pinned sum of that member
}

// Builds lists the platforms the package provides, keyed by GOOS/GOARCH.
var Builds = map[string]Build{
	"linux/amd64": {
		Member: "package/bin/napi-v6/linux/x64/libonnxruntime.so.1",
		SHA256: "89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d",
	},
	"linux/arm64": {
		Member: "package/bin/napi-v6/linux/arm64/libonnxruntime.so.1",
		SHA256: "a27d21126db312aa8f02f3d5eaebe466e991f51f469882e6d0407d5a8b64afda",
	},
}

// ErrChecksum means a downloaded library does not match its pinned sum.
var ErrChecksum = errors.New("ortfetch: sha256 mismatch")

// ErrPlatform means the package has no library for the platform.
var ErrPlatform = errors.New("ortfetch: no ONNX Runtime build for this platform")

// Options tune Fetch; the zero value fetches this platform's library from
// npm into imagegen.DefaultLibraryPath()'s directory.
type Options struct {
	Registry   string       // npm registry base URL; "" means DefaultRegistry
	Dir        string       // install directory; "" means DefaultLibraryPath's
	HTTPClient *http.Client // nil means http.DefaultClient
	Platform   string       // GOOS/GOARCH key of Builds; "" means this machine's

	// LibSum overrides the pinned sum (tests with a local tarball).
	LibSum string
}

// URL returns the tarball's address in registry.
func URL(registry string) string {
	return fmt.Sprintf("%s/%s/-/%s-%s.tgz", strings.TrimRight(registry, "/"), Package, Package, PackageVersion)
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
	if o.Platform == "" {
		o.Platform = runtime.GOOS + "/" + runtime.GOARCH
	}
	build, ok := Builds[o.Platform]
	if !ok {
		return "", fmt.Errorf("%w (%s): %s@%s has linux/amd64 and linux/arm64; set ORT_LIB to an ONNX Runtime %s library",
			ErrPlatform, o.Platform, Package, PackageVersion, imagegen.ORTVersion)
	}
	if o.LibSum != "" {
		build.SHA256 = o.LibSum
	}
	lib := filepath.Join(o.Dir, LibName)
	if ok, _ := sumIs(lib, build.SHA256); ok {
		return lib, nil
	}
	url := URL(o.Registry)
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
	staged := filepath.Join(tmp, LibName)
	for found := false; !found; {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("ortfetch: %s lacks %s", url, build.Member)
		}
		if err != nil {
			return "", fmt.Errorf("ortfetch: reading %s: %w", url, err)
		}
		if h.Name != build.Member || h.Typeflag != tar.TypeReg {
			continue
		}
		if err := extract(tr, staged, build.SHA256); err != nil {
			return "", err
		}
		found = true
	}
	if err := os.Rename(staged, lib); err != nil {
		return "", fmt.Errorf("ortfetch: %w", err)
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
	if err == nil {
		err = f.Sync()
	}
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

// Verify reports whether path holds the pinned library for this machine.
func Verify(path string) (bool, error) {
	build, ok := Builds[runtime.GOOS+"/"+runtime.GOARCH]
	if !ok {
		return false, ErrPlatform
	}
	return sumIs(path, build.SHA256)
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
