package imagegen

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ort "github.com/yalue/onnxruntime_go"
)

func TestDefaultLibraryPath(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/cache")
	assert.Equal(t, "/cache/moetron/onnxruntime-"+ORTVersion+"/libonnxruntime.so", DefaultLibraryPath())
	t.Setenv("ORT_LIB", "")
	assert.Equal(t, SystemLibrary, LibraryPath(), "nothing fetched: the system's library")
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	require.NoError(t, os.MkdirAll(filepath.Dir(DefaultLibraryPath()), 0o755))
	require.NoError(t, os.WriteFile(DefaultLibraryPath(), []byte("lib"), 0o644))
	assert.Equal(t, DefaultLibraryPath(), LibraryPath(), "a fetched library comes first")
	t.Setenv("ORT_LIB", "/opt/ort/libonnxruntime.so.1.29.0")
	assert.Equal(t, "/opt/ort/libonnxruntime.so.1.29.0", LibraryPath())
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/bot")
	assert.Equal(t, "/home/bot/.cache/moetron/onnxruntime-"+ORTVersion+"/libonnxruntime.so", DefaultLibraryPath())
}

func TestMissingLibrary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so")
	err := checkLibraryFile(missing)
	require.ErrorIs(t, err, ErrRuntime)
	assert.Contains(t, err.Error(), "go run github.com/moetron/moetron/examples/ortfetch")
	assert.Contains(t, err.Error(), missing)

	err = checkLibraryFile(t.TempDir())
	require.ErrorIs(t, err, ErrRuntime)
	assert.Contains(t, err.Error(), "is a directory")
}

func TestProbeWrongLibrary(t *testing.T) {
	// A file that is not a shared library.
	junk := filepath.Join(t.TempDir(), "libonnxruntime.so")
	require.NoError(t, os.WriteFile(junk, []byte("not an ELF file"), 0o644))
	_, err := probeLibrary(junk)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot load")

	// A real shared library that is not ONNX Runtime.
	libm := findLibm(t)
	_, err = probeLibrary(libm)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not an ONNX Runtime library")
}

func findLibm(t *testing.T) string {
	for _, p := range []string{"/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6", "/usr/lib64/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no libm.so.6 found to stand in for a foreign library")
	return ""
}

func TestProbeRealLibrary(t *testing.T) {
	lib := needRuntime(t)
	v, err := probeLibrary(lib)
	require.NoError(t, err)
	assert.NotEmpty(t, v)
}

// TestSessionOptionsLayout guards setEPSelectionPolicy's unsafe read of
// ort.SessionOptions: it must be one pointer, the *OrtSessionOptions.
func TestSessionOptionsLayout(t *testing.T) {
	assert.Equal(t, unsafe.Sizeof(uintptr(0)), unsafe.Sizeof(ort.SessionOptions{}))
	needRuntime(t)
	_, err := initRuntime(LibraryPath())
	require.NoError(t, err)
	opts, err := ort.NewSessionOptions()
	require.NoError(t, err)
	defer opts.Destroy()
	assert.NotNil(t, *(*unsafe.Pointer)(unsafe.Pointer(opts)))
	// The call itself succeeds on a CPU build (PREFER_GPU with no GPU
	// device is accepted; ONNX Runtime picks the CPU at session creation).
	require.NoError(t, setEPSelectionPolicy(opts, epPolicyPreferGPU))
	var zero ort.SessionOptions
	assert.ErrorContains(t, setEPSelectionPolicy(&zero, epPolicyPreferGPU), "not initialised")
	// The exported form says which kind of error it is.
	require.NoError(t, PreferGPU(opts))
	assert.ErrorIs(t, PreferGPU(&zero), ErrDevice)
}

// TestOrtAPIIndices compiles a C program against the real
// onnxruntime_c_api.h from the onnxruntime_go module and checks the OrtApi
// indices capi.go declares.
func TestOrtAPIIndices(t *testing.T) {
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		t.Skipf("no C compiler (%s) to check the header with", cc)
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yalue/onnxruntime_go").Output()
	require.NoError(t, err, "locating onnxruntime_go")
	dir := strings.TrimSpace(string(out))
	require.FileExists(t, filepath.Join(dir, "onnxruntime_c_api.h"))

	tmp := t.TempDir()
	src := filepath.Join(tmp, "idx.c")
	require.NoError(t, os.WriteFile(src, []byte(`#include <stddef.h>
#include <stdio.h>
#include "onnxruntime_c_api.h"
#define IDX(f) (int)(offsetof(OrtApi, f) / sizeof(void *))
int main(void) {
	printf("%d %d %d %d %d\n", ORT_API_VERSION, IDX(GetErrorMessage), IDX(ReleaseStatus),
	       IDX(SessionOptionsSetEpSelectionPolicy), (int)OrtExecutionProviderDevicePolicy_PREFER_GPU);
	return 0;
}
`), 0o644))
	bin := filepath.Join(tmp, "idx")
	cmd := exec.Command(cc, "-I", dir, "-o", bin, src)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	got, err := exec.Command(bin).Output()
	require.NoError(t, err)
	want := fmt.Sprintf("%d %d %d %d %d\n", ortAPIVersion, idxGetErrorMessage, idxReleaseStatus, idxSetEpSelectionPolicy, epPolicyPreferGPU)
	assert.Equal(t, want, string(got))
}

// TestNewWithoutLibrary runs New in a child process (the runtime loads once
// per process) with a missing and with a foreign library, and checks that
// each is one clear error, not a crash.
func TestNewWithoutLibrary(t *testing.T) {
	if lib := os.Getenv("MOETRON_CHILD_LIB"); lib != "" {
		t.Setenv("ORT_LIB", lib)
		_, err := New(Config{Model: testModel{}.build(t)})
		fmt.Printf("CHILD-ERROR: %v\n", err)
		_, err2 := New(Config{Model: testModel{}.build(t)})
		fmt.Printf("CHILD-SAME: %v %v\n", errors.Is(err, ErrRuntime), err2 != nil && err2.Error() == err.Error())
		return
	}
	for _, c := range []struct{ lib, want string }{
		{filepath.Join(t.TempDir(), "libonnxruntime.so"), "ONNX Runtime library not found"},
		{findLibm(t), "not an ONNX Runtime library"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestNewWithoutLibrary$", "-test.v")
		cmd.Env = append(os.Environ(), "MOETRON_CHILD_LIB="+c.lib)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "CHILD-ERROR: imagegen: ONNX Runtime unavailable")
		assert.Contains(t, string(out), c.want)
		assert.Contains(t, string(out), "go run github.com/moetron/moetron/examples/ortfetch")
		assert.Contains(t, string(out), "CHILD-SAME: true true", "the error is kept for later callers")
	}
}

// TestSystemLibraryFallback runs this test binary again with ORT_LIB unset
// and an empty cache, so that LibraryPath is the plain SystemLibrary name:
// with LD_LIBRARY_PATH pointing at a directory holding libonnxruntime.so the
// runtime loads from there; without it the error names the cache path, the
// system name and the fetch command.
func TestSystemLibraryFallback(t *testing.T) {
	if os.Getenv("MOETRON_FALLBACK_CHILD") != "" {
		assert.Equal(t, SystemLibrary, LibraryPath())
		v, err := initRuntime(LibraryPath())
		if err != nil {
			fmt.Println("ERR:", err)
			return
		}
		fmt.Println("VERSION:", v)
		return
	}
	lib := needRuntime(t)
	child := func(ldPath string) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSystemLibraryFallback$", "-test.v")
		cmd.Env = append(os.Environ(), "MOETRON_FALLBACK_CHILD=1", "ORT_LIB=", "XDG_CACHE_HOME="+t.TempDir(), "LD_LIBRARY_PATH="+ldPath)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	sys := t.TempDir()
	abs, err := filepath.Abs(lib)
	require.NoError(t, err)
	require.NoError(t, os.Symlink(abs, filepath.Join(sys, SystemLibrary)))
	out := child(sys)
	assert.Contains(t, out, "VERSION: "+ORTVersion, "loaded through the dynamic loader's search path")

	out = child(t.TempDir())
	if strings.Contains(out, "VERSION:") {
		t.Skip("this machine has a system libonnxruntime.so; the not-found message cannot be checked")
	}
	assert.Contains(t, out, "ERR: ")
	assert.Contains(t, out, "ONNX Runtime library not found")
	assert.Contains(t, out, "moetron/onnxruntime-"+ORTVersion+"/libonnxruntime.so")
	assert.Contains(t, out, "go run github.com/moetron/moetron/examples/ortfetch")
}
