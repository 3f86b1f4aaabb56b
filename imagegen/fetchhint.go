package imagegen

// FetchHint says how to get the ONNX Runtime library into
// DefaultLibraryPath from any module that requires moetron (and from this
// repository): examples/ortfetch downloads the pinned npm package and checks
// its sha256, as scripts/ort-lib.sh does.
const FetchHint = "fetch it with `go run github.com/moetron/moetron/examples/ortfetch`"
