package imagegen

import "errors"

// Sentinel errors. Every error the package returns wraps at most one of
// these, with details added; test with errors.Is.
var (
	// ErrRuntime: the ONNX Runtime library is missing, not ONNX Runtime, too
	// old, or its environment failed to initialise. The message says how to
	// get a library (make ort, or ORT_LIB).
	ErrRuntime = errors.New("imagegen: ONNX Runtime unavailable")

	// ErrModel: the model cannot be read or loaded, or it does not meet the
	// model contract (names, ranks, element types, zdim, channels, batch).
	ErrModel = errors.New("imagegen: unusable model")

	// ErrDevice: the requested execution provider (cuda) could not be used.
	ErrDevice = errors.New("imagegen: execution provider unavailable")

	// ErrBadRequest: a Request field is out of range (psi, format, quality).
	ErrBadRequest = errors.New("imagegen: bad request")

	// ErrUnknownCommand: no command of that name is registered.
	ErrUnknownCommand = errors.New("imagegen: unknown command")

	// ErrClosed: the Generator was closed before or while the call waited.
	ErrClosed = errors.New("imagegen: generator closed")

	// ErrConfig: a Config field is invalid.
	ErrConfig = errors.New("imagegen: invalid config")
)
