// Package export holds the StyleGAN2 to ONNX export script
// (stylegan2_onnx.py, with its checkpoint reader stylegan2_checkpoint.py for
// rosinality and stylegan2-ada-pytorch layouts; see README.md) and a test
// that checks an exported file against PyTorch's output with ONNX Runtime.
// check.sh runs the whole check where PyTorch is installed. It has no Go API.
package export
