// Package imagegen turns seeds into images with an ONNX image generator run
// by ONNX Runtime (through github.com/yalue/onnxruntime_go), on the CPU or
// on an NVIDIA GPU.
//
// # ONNX Runtime library
//
// The shared library is loaded once per process, from Config.LibraryPath,
// else the ORT_LIB environment variable, else DefaultLibraryPath() (where
// `go run github.com/moetron/moetron/examples/ortfetch` or `make ort` puts
// ONNX Runtime 1.29.0 from Microsoft's npm package onnxruntime-node) when it
// exists, else the system's libonnxruntime.so (SystemLibrary). A missing,
// foreign or too old library is an ErrRuntime error that says how to get
// one; the first result, success or error, is kept for the whole process.
//
// # Model contract
//
// Config.ModelPath names a model file and Config.Model passes model bytes;
// with neither, the bundled CPPN (package imagegen/bundled, 512x512,
// zdim 128, with a psi input) is used, so nothing needs downloading. A
// ModelPath of "bundled:portrait" or "bundled:cppn" picks one of the two
// bundled models by name (so MODEL_PATH can too); an unknown bundled name
// is an ErrModel error listing the known ones.
//
// Input z float32 [N, zdim]; optional input psi float32 [N]; output image
// float32 [N,3,H,W] in [-1,1]. The model's ONNX metadata_props override the
// defaults, and a sidecar JSON overrides the metadata:
//
//	key (metadata)     sidecar key  default
//	moetron.z          z            "z"
//	moetron.psi        psi          "psi", used when the model has that input
//	moetron.image      image        "image"
//	moetron.zdim       zdim         the z input's fixed second dimension
//	moetron.layout     layout       "NCHW" ("NHWC" also accepted)
//	moetron.range      range        "-1,1" ("0,1" and "0,255" also accepted)
//	moetron.max_batch  max_batch    none
//
// The sidecar of model.onnx is model.json or model.onnx.json (both at once
// is an error); sidecar values may be strings or numbers, and an unknown
// key is an error. For a model given as bytes, Config.Sidecar holds it.
// Everything is checked against the model's real inputs and outputs
// (names, element types, ranks, zdim, three channels, a dynamic or unit
// batch dimension, no other inputs); a mismatch is an ErrModel error that
// names what the model actually has.
//
// # Seeds, latents and truncation
//
// Latent(seed, zdim) equals numpy.random.RandomState(seed).randn(1, zdim)
// cast to float32 (MT19937 init_genrand and NumPy's legacy polar Gaussian),
// so a model and seed reproduce the original Python bot. Truncation: when
// the model has a psi input, Request.Psi is passed to it; otherwise the
// latent is scaled, z*psi (truncation toward the mean latent, which is zero
// for a standard normal prior).
//
// Commands maps a command name to a seed rule and psi; DefaultCommands
// holds rand (random seed, psi 0.55), mess (random seed, psi 1.0) and name
// (NameSeed, psi 0.55). Register adds or replaces commands. RandomSeed
// draws from crypto/rand only when it is given no key; given the job's
// idempotency key it hashes the key instead, so a job the queue redelivers
// regenerates the same image.
//
// # Batching
//
// One goroutine owns the session and runs one batch at a time. Generate
// queues its latent; the loop takes a lone call at once (nothing else
// queued and, by construction, no run in flight), and when two or more are
// queued it waits until MaxBatch are queued or MaxWait has passed since the
// oldest arrived, then runs them together and hands each caller its slice
// of the output. Calls that queued behind a run for longer than MaxWait go
// at once. When the output size is fixed, ONNX Runtime writes the batch
// straight into Go memory that the callers share, so splitting copies
// nothing. A call whose context ends while queued leaves the queue and
// returns ctx.Err(); Close fails queued calls with ErrClosed.
//
// The batch cap is the smallest of Config.MaxBatch (default 32), the
// model's moetron.max_batch, and a cap derived from the output size that
// keeps a 128-channel full-resolution intermediate tensor under 2^31
// elements (ONNX Runtime's CUDA Resize fails past that; a 512x512
// StyleGAN2 at batch 64 reaches exactly 2^31, so 512x512 is capped at 63).
// A model whose batch dimension is fixed at 1 is run one call at a time,
// and the Generator logs that batching is off (MaxBatch reports 1).
//
// # Images
//
// The output is mapped from the model's range to 0..255, clamped and
// rounded; NaN values are drawn as 0 and counted (Image.NaNs,
// Stats.NaNValues). Conversion and encoding run on the callers' goroutines
// but at most Config.EncodeWorkers (default GOMAXPROCS) at a time. PNG uses
// png.BestSpeed unless Config.PNGLevel says otherwise: at GPU speed Go's
// default level costs several times more CPU than the model.
//
// # Execution providers
//
// Device "cpu" (default), "cuda" or "auto". CUDA comes either from an
// official GPU build of ONNX Runtime (AppendExecutionProviderCUDA) or,
// when Config.CUDAPlugin or ORT_CUDA_PLUGIN names the CUDA plugin library,
// from RegisterExecutionProviderLibrary plus the C API call
// SessionOptionsSetEpSelectionPolicy(PREFER_GPU), which onnxruntime_go does
// not wrap; capi.go holds that cgo. "cuda" fails with ErrDevice when CUDA
// cannot be set up; "auto" then falls back to the CPU and logs why. With the
// plugin, the device choice is ONNX Runtime's: without a usable GPU it may
// place the graph on the CPU without an error.
package imagegen
