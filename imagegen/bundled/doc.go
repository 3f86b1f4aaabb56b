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
//     images and 1.0 ("mess") busier ones; psi 0 gives one image for every
//     latent;
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
// Hidden units; each layer's units get a gain 1+tanh(zA) and a bias zB
// computed from the psi-scaled latent, in the way StyleGAN modulates its
// convolutions; a last layer maps to three tanh colour channels. The grid is
// computed in the graph from one 512-value coordinate vector, so the file is
// small (see Model).
//
// The weights come from a fixed seed through a platform-independent
// generator. cppn.onnx is regenerated, byte for byte, by
//
//	go run ./imagegen/bundled/gen
//
// and a test checks that the committed file matches the generator.
package bundled
