package imagegen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ORTVersion is the ONNX Runtime release scripts/ort-lib.sh fetches and
// DefaultLibraryPath points at.
const ORTVersion = "1.29.0"

// DefaultLibraryPath returns where scripts/ort-lib.sh (make ort) puts the ONNX
// Runtime shared library: ${XDG_CACHE_HOME:-$HOME/.cache}/moetron/onnxruntime-<ORTVersion>/libonnxruntime.so.
// It does not check that the file exists.
func DefaultLibraryPath() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "moetron", "onnxruntime-"+ORTVersion, "libonnxruntime.so")
}

// SystemLibrary is the plain library name LibraryPath falls back to when
// ORT_LIB is unset and nothing was fetched into DefaultLibraryPath: the
// dynamic loader then looks for it on the system's library path
// (LD_LIBRARY_PATH, ld.so.cache, /usr/lib), where a distribution package or
// a hand-installed ONNX Runtime puts it.
const SystemLibrary = "libonnxruntime.so"

// LibraryPath returns the library New loads when Config.LibraryPath is
// empty: the ORT_LIB environment variable when set, else
// FallbackLibraryPath().
func LibraryPath() string {
	if p := os.Getenv("ORT_LIB"); p != "" {
		return p
	}
	return FallbackLibraryPath()
}

// FallbackLibraryPath is LibraryPath without ORT_LIB: DefaultLibraryPath
// when that file exists, else SystemLibrary.
func FallbackLibraryPath() string {
	def := DefaultLibraryPath()
	if _, err := os.Stat(def); err == nil {
		return def
	}
	return SystemLibrary
}

// runtimeState is the process-wide ONNX Runtime environment. onnxruntime_go
// keeps one environment per process, so it is initialised once and its
// error, if any, is kept and returned to every later caller.
var runtimeState struct {
	once    sync.Once
	path    string
	version string
	err     error
}

// initRuntime initialises the ONNX Runtime environment from path on the
// first call. Later calls return the first call's result; asking for a
// different library after that is an error, not a silent mismatch.
func initRuntime(path string) (string, error) {
	runtimeState.once.Do(func() {
		runtimeState.path = path
		runtimeState.version, runtimeState.err = loadRuntime(path)
	})
	if runtimeState.err != nil {
		return "", runtimeState.err
	}
	if path != runtimeState.path {
		return "", fmt.Errorf("%w: ONNX Runtime already loaded from %q, cannot load %q in the same process",
			ErrRuntime, runtimeState.path, path)
	}
	return runtimeState.version, nil
}

// loadRuntime checks the library and initialises onnxruntime_go with it.
func loadRuntime(path string) (string, error) {
	if err := checkLibraryFile(path); err != nil {
		return "", err
	}
	version, err := probeLibrary(path)
	if err != nil && path == SystemLibrary {
		return "", fmt.Errorf("%w: ONNX Runtime library not found: not at %q, and the system's %s could not be loaded (%v); %s, or set ORT_LIB to an ONNX Runtime %s library",
			ErrRuntime, DefaultLibraryPath(), SystemLibrary, err, FetchHint, ORTVersion)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v; %s, or set ORT_LIB to an ONNX Runtime %s library", ErrRuntime, err, FetchHint, ORTVersion)
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("%w: initialising ONNX Runtime %s from %q: %v", ErrRuntime, version, path, err)
	}
	return version, nil
}

// checkLibraryFile gives the common failure, a library that was never
// fetched, a message that says how to fetch it.
// A plain name (no slash) is left to the dynamic loader.
func checkLibraryFile(path string) error {
	if !strings.Contains(path, "/") {
		return nil
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: ONNX Runtime library not found at %q; %s, or set ORT_LIB", ErrRuntime, path, FetchHint)
	case err != nil:
		return fmt.Errorf("%w: ONNX Runtime library %q: %v", ErrRuntime, path, err)
	case st.IsDir():
		return fmt.Errorf("%w: ONNX Runtime library path %q is a directory; ORT_LIB must name the .so file", ErrRuntime, path)
	}
	return nil
}
