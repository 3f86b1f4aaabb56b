package imagegen

// This is the package's only cgo file. It holds:
//
//  1. probe a shared library before handing it to onnxruntime_go, so that a
//     missing, foreign or too-old library is an error that says what is wrong
//     (onnxruntime_go reports a bare dlopen message, and an old library only
//     as "API version not supported");
//  2. call OrtApi::SessionOptionsSetEpSelectionPolicy, which plugin execution
//     providers (ONNX Runtime's CUDA plugin library) need and onnxruntime_go
//     does not wrap;
//  3. clog: NumPy's legacy Gaussian takes log() from the C library, and Go's
//     math.Log differs from glibc's in the last bit for some inputs (seed
//     42 hits one within 128 values), so latents use the C function to be
//     bit-exact with NumPy.
//
// ONNX Runtime's C API is a table of function pointers (struct OrtApi) that
// only ever grows at the end, so a function's index is fixed from the version
// that added it on. Rather than vendoring onnxruntime_c_api.h, the few entries
// used here are declared by index; TestOrtAPIIndices compiles the real header
// shipped in the onnxruntime_go module and checks every index below.

/*
#cgo LDFLAGS: -ldl -lm
#include <math.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct moetronOrtApiBase {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} moetronOrtApiBase;

typedef const moetronOrtApiBase *(*moetronGetApiBaseFn)(void);
typedef const char *(*moetronGetErrorMessageFn)(const void *status);
typedef void (*moetronReleaseStatusFn)(void *status);
typedef void *(*moetronSetEpSelectionPolicyFn)(void *options, int policy);

enum {
	moetronApiVersion = 24,              // ORT_API_VERSION that onnxruntime_go v1.27.0 requests
	moetronIdxGetErrorMessage = 2,       // OrtApi::GetErrorMessage
	moetronIdxReleaseStatus = 93,        // OrtApi::ReleaseStatus
	moetronIdxSetEpSelectionPolicy = 305 // OrtApi::SessionOptionsSetEpSelectionPolicy (API 22+)
};

static void *const *moetron_api;

// moetron_probe opens the library, finds OrtGetApiBase and asks for the API
// version. It returns 0 on success, 1 when dlopen fails, 2 when the symbol is
// missing, 3 when the version is not served. The handle is kept open (dlopen
// is reference counted, so onnxruntime_go's later dlopen gets the same copy).
static int moetron_probe(const char *path, const char **version, const char **dlmsg) {
	void *h = dlopen(path, RTLD_LAZY);
	if (!h) { *dlmsg = dlerror(); return 1; }
	moetronGetApiBaseFn get = (moetronGetApiBaseFn) dlsym(h, "OrtGetApiBase");
	if (!get) { *dlmsg = dlerror(); dlclose(h); return 2; }
	const moetronOrtApiBase *base = get();
	if (!base) { dlclose(h); return 2; }
	*version = base->GetVersionString();
	const void *api = base->GetApi(moetronApiVersion);
	if (!api) { dlclose(h); return 3; }
	moetron_api = (void *const *) api;
	return 0;
}

// moetron_set_ep_policy calls SessionOptionsSetEpSelectionPolicy. On failure
// it copies the message into a malloc'd string the caller frees.
static int moetron_set_ep_policy(void *options, int policy, char **msg) {
	if (!moetron_api) return -1;
	void *st = ((moetronSetEpSelectionPolicyFn) moetron_api[moetronIdxSetEpSelectionPolicy])(options, policy);
	if (!st) return 0;
	const char *m = ((moetronGetErrorMessageFn) moetron_api[moetronIdxGetErrorMessage])(st);
	size_t n = 0;
	while (m && m[n]) n++;
	*msg = malloc(n + 1);
	for (size_t i = 0; i < n; i++) (*msg)[i] = m[i];
	(*msg)[n] = 0;
	((moetronReleaseStatusFn) moetron_api[moetronIdxReleaseStatus])(st);
	return 1;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// clog is the C library's natural logarithm.
func clog(x float64) float64 { return float64(C.log(C.double(x))) }

// The C API version onnxruntime_go v1.27.0 requests, and the OrtApi
// indices declared above (checked by TestOrtAPIIndices).
const (
	ortAPIVersion           = C.moetronApiVersion
	idxGetErrorMessage      = C.moetronIdxGetErrorMessage
	idxReleaseStatus        = C.moetronIdxReleaseStatus
	idxSetEpSelectionPolicy = C.moetronIdxSetEpSelectionPolicy
)

// epPolicyPreferGPU is OrtExecutionProviderDevicePolicy_PREFER_GPU.
const epPolicyPreferGPU = 3

// probeLibrary checks that path is an ONNX Runtime library that serves the
// API version onnxruntime_go needs, and returns its version string. It
// leaves the library loaded and remembers its API table.
func probeLibrary(path string) (string, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var version, dlmsg *C.char
	rc := C.moetron_probe(cpath, &version, &dlmsg)
	v := ""
	if version != nil {
		v = C.GoString(version)
	}
	switch rc {
	case 0:
		return v, nil
	case 1:
		return "", fmt.Errorf("cannot load %q: %s", path, C.GoString(dlmsg))
	case 2:
		return "", fmt.Errorf("%q is not an ONNX Runtime library (no OrtGetApiBase)", path)
	default:
		return v, fmt.Errorf("ONNX Runtime %s at %q does not serve C API version %d (need 1.24 or newer)", v, path, ortAPIVersion)
	}
}

// setEPSelectionPolicy applies an OrtExecutionProviderDevicePolicy to opts.
//
// ort.SessionOptions is a struct whose only field is the *OrtSessionOptions;
// the pointer is read through unsafe, and TestSessionOptionsLayout fails if
// onnxruntime_go ever changes that layout.
func setEPSelectionPolicy(opts *ort.SessionOptions, policy int) error {
	raw := *(*unsafe.Pointer)(unsafe.Pointer(opts))
	if raw == nil {
		return errors.New("session options are not initialised")
	}
	var msg *C.char
	switch C.moetron_set_ep_policy(raw, C.int(policy), &msg) {
	case 0:
		return nil
	case -1:
		return errors.New("ONNX Runtime library was not probed")
	default:
		defer C.free(unsafe.Pointer(msg))
		return fmt.Errorf("SessionOptionsSetEpSelectionPolicy: %s", C.GoString(msg))
	}
}

// PreferGPU applies ONNX Runtime's PREFER_GPU execution-provider selection
// policy (SessionOptionsSetEpSelectionPolicy, which onnxruntime_go does not
// wrap) to opts, for callers that build their own sessions next to a
// Generator: with the CUDA plugin registered (New does that for
// Device "cuda" with a plugin), such a session then runs on the GPU. The
// ONNX Runtime library must have been loaded by New first.
func PreferGPU(opts *ort.SessionOptions) error {
	if err := setEPSelectionPolicy(opts, epPolicyPreferGPU); err != nil {
		return fmt.Errorf("%w: %w", ErrDevice, err)
	}
	return nil
}
