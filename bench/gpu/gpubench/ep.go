package main

// Raw sessions on the CUDA plugin need OrtApi::SessionOptionsSetEpSelectionPolicy,
// which onnxruntime_go does not wrap and imagegen keeps unexported. This file
// calls it the way imagegen/capi.go does: the OrtApi table is read by index
// (the indices are those imagegen's TestOrtAPIIndices checks against the real
// header for API version 24).

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const void *(*GetApi)(uint32_t); const char *(*GetVersionString)(void); } gbApiBase;
typedef const gbApiBase *(*gbGetBaseFn)(void);
typedef void *(*gbSetPolicyFn)(void *, int);
typedef const char *(*gbErrMsgFn)(const void *);
typedef void (*gbReleaseStatusFn)(void *);

// gb_set_policy returns NULL on success, else a malloc'd message.
static char *gb_set_policy(const char *lib, void *opts, int policy) {
	void *h = dlopen(lib, RTLD_LAZY);
	if (!h) return strdup(dlerror());
	gbGetBaseFn get = (gbGetBaseFn) dlsym(h, "OrtGetApiBase");
	if (!get) return strdup("no OrtGetApiBase");
	void *const *api = (void *const *) get()->GetApi(24);
	if (!api) return strdup("C API version 24 not served");
	void *st = ((gbSetPolicyFn) api[305])(opts, policy);
	if (!st) return NULL;
	char *msg = strdup(((gbErrMsgFn) api[2])(st));
	((gbReleaseStatusFn) api[93])(st);
	return msg;
}
*/
import "C"

import (
	"errors"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// preferGPU is OrtExecutionProviderDevicePolicy_PREFER_GPU.
const preferGPU = 3

// setPreferGPU applies the PREFER_GPU policy to opts; lib is the ONNX
// Runtime library already loaded (ORT_LIB). ort.SessionOptions holds only
// the *OrtSessionOptions (imagegen's TestSessionOptionsLayout checks that).
func setPreferGPU(lib string, opts *ort.SessionOptions) error {
	raw := *(*unsafe.Pointer)(unsafe.Pointer(opts))
	if raw == nil {
		return errors.New("session options not initialised")
	}
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	msg := C.gb_set_policy(clib, raw, preferGPU)
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New("SessionOptionsSetEpSelectionPolicy: " + C.GoString(msg))
}
