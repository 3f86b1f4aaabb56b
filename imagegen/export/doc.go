// Package export holds the StyleGAN2 to ONNX export script
// (stylegan2_onnx.py, see README.md) and a test that checks an exported file
// against PyTorch's output with ONNX Runtime. It has no Go API.
package export
