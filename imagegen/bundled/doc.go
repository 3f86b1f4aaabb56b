// Package bundled embeds moetron's default image model, a small CPPN
// (compositional pattern producing network) that runs on any CPU, so the bot
// works with no download.
//
// The model follows the imagegen model contract:
//
//   - input "z": float32 [N, ZDim], a latent; the bot uses
//     numpy.random.RandomState(seed).randn(1, ZDim), but any standard normal
//     vector works;
//   - input "psi": float32 [N], the truncation value: it scales the latent's
//     contribution and the spatial frequency, so 0.55 ("rand") gives calmer
//     images and 1.0 ("mess") busier ones; at psi 0 all latents share one
//     pattern and differ only in palette;
//   - output "image": float32 [N, 3, Size, Size] (NCHW) in [-1, 1];
//   - N is dynamic (dim_param "N"); the metadata_props moetron.z, moetron.psi,
//     moetron.image, moetron.zdim, moetron.layout, moetron.range and
//     moetron.max_batch say the same to a loader.
//
// ZDim is 128 rather than StyleGAN2's 512: the latent only sets per-unit
// gains and biases of a 24-unit network, so more dimensions would add file
// size and no variety.
//
// Architecture: every pixel's coordinates x, y in [-1, 1] and r = sqrt(x²+y²)
// go through a coordinate layer and three hidden layers (sin, tanh, sin) of
// Hidden (24) units. The coordinate weights are a fixed vector plus a
// projection of the psi-scaled latent, so each seed gets its own orientations
// and scales; every layer's units get a gain 1+tanh(zA) and a bias b+zB from
// the same latent, in the way StyleGAN modulates its convolutions. A last
// layer gives three tanh channels read as luma and chroma (its bias, the
// palette, comes from the unscaled latent, so a seed keeps its colours across
// psi), turned into RGB by a fixed matrix and clipped to [-1, 1]. The pixel
// grid is computed in the graph from one 512-value coordinate vector, so the
// file is about 150 KB.
//
// Speed: about 160 ms for one 512x512 image on ONNX Runtime's CPU provider
// with 2 cores (BenchmarkGenerate512).
//
// The weights come from a fixed seed through a platform-independent
// generator. cppn.onnx is regenerated, byte for byte, by
//
//	go run ./imagegen/bundled/gen
//
// and a test checks that the committed file matches the generator.
package bundled
