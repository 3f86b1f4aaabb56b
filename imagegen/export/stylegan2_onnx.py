#!/usr/bin/env python3
"""Export a StyleGAN2 generator (config-f style) to ONNX for moetron.

The exported model follows moetron's model contract:

  inputs   z    float32 [N, 512]   latent
           psi  float32 [N]        truncation, applied in the graph:
                                   w = w_avg + psi * (w - w_avg)
  output   image float32 [N, 3, R, R], NCHW, clipped to [-1, 1]

N is dynamic (dim_param "N"); the file carries the moetron.* metadata_props
(z, psi, image, zdim, layout, range). Opset 17.

Weights come from a PyTorch checkpoint (--checkpoint) laid out like
rosinality's stylegan2-pytorch (see README.md for the key names), or are random
(--random) for testing the pipeline.

The generator is written here from the published architecture (Karras et al.,
"Analyzing and Improving the Image Quality of StyleGAN", 2020):

  * mapping: pixel norm of z, then 8 equalized-learning-rate fully connected
    layers (learning-rate multiplier 0.01) with leaky ReLU (slope 0.2, gain
    sqrt 2); w_avg for truncation;
  * synthesis: a learned 4x4 constant; per layer a modulated 3x3 convolution
    with demodulation, noise (disabled, or the checkpoint's fixed noise
    buffers with --noise fixed), a bias and leaky ReLU; resolution doubles
    with a transposed convolution followed by a [1,3,3,1] blur;
  * output: "skip" architecture: a modulated 1x1 toRGB (no demodulation) at
    every resolution, added to the upsampled (blurred) RGB of the previous one.

Modulation is applied to the activations rather than to per-sample weights
(x * s, a shared-weight convolution, then * demodulation coefficients): the
same mathematics as weight modulation, but without grouped convolutions whose
group count would fix the batch size in the ONNX graph.

--fp16 exports in float32 and then converts the graph to float16 inside, with
Cast nodes so the inputs and output stay float32 (PyTorch on a CPU cannot trace
half-precision convolutions).
"""

import argparse
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn

ZDIM = 512
CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}


def lrelu(x, bias=None):
    """Leaky ReLU with slope 0.2 and gain sqrt(2), after an optional per-channel bias."""
    if bias is not None:
        x = x + (bias.view(1, -1, 1, 1) if x.dim() == 4 else bias.view(1, -1))
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate (runtime weight scaling)."""

    def __init__(self, din, dout, bias_init=0.0, lr_mul=1.0, act=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(dout, din) / lr_mul)
        self.bias = nn.Parameter(torch.full((dout,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(din)
        self.lr_mul = lr_mul
        self.act = act

    def forward(self, x):
        y = F.linear(x, self.weight * self.scale)
        if self.act:
            return lrelu(y, self.bias * self.lr_mul)
        return y + self.bias * self.lr_mul


def blur_kernel(gain):
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = k[:, None] * k[None, :]
    return k / k.sum() * gain


class Blur(nn.Module):
    """Depthwise 4x4 [1,3,3,1] filter with explicit padding."""

    def __init__(self, channels, pad, gain=1.0):
        super().__init__()
        self.register_buffer("kernel", blur_kernel(gain)[None, None].repeat(channels, 1, 1, 1))
        self.pad = pad  # (before, after) for both axes
        self.channels = channels

    def forward(self, x):
        x = F.pad(x, (self.pad[0], self.pad[1], self.pad[0], self.pad[1]))
        return F.conv2d(x, self.kernel, groups=self.channels)


class Upsample2x(nn.Module):
    """Zero-insertion upsampling by 2 followed by the blur (gain 4), as in the skip path."""

    def __init__(self, channels):
        super().__init__()
        self.register_buffer("ones", torch.ones(channels, 1, 1, 1))
        self.blur = Blur(channels, (2, 2), gain=4.0)
        self.channels = channels

    def forward(self, x):
        x = F.conv_transpose2d(x, self.ones, stride=2, groups=self.channels)  # 2H-1, zeros between
        return self.blur(x)


class ModulatedConv(nn.Module):
    def __init__(self, cin, cout, k, demodulate=True, upsample=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.modulation = EqualLinear(ZDIM, cin, bias_init=1.0)
        self.scale = 1.0 / math.sqrt(cin * k * k)
        self.demodulate, self.upsample, self.k = demodulate, upsample, k
        if upsample:
            self.blur = Blur(cout, (1, 1), gain=4.0)

    def forward(self, x, w):
        s = self.modulation(w)  # [N, cin]
        weight = self.weight[0] * self.scale  # [cout, cin, k, k]
        x = x * s[:, :, None, None]
        if self.upsample:
            x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
        else:
            x = F.conv2d(x, weight, padding=self.k // 2)
        if self.demodulate:
            # d[n, o] = 1 / sqrt(sum_{i,kh,kw} (weight[o,i] * s[n,i])^2 + 1e-8)
            wsq = weight.pow(2).sum(dim=(2, 3))  # [cout, cin]
            d = torch.rsqrt(F.linear(s.pow(2), wsq) + 1e-8)  # [N, cout]
            x = x * d[:, :, None, None]
        if self.upsample:
            x = self.blur(x)
        return x


class Noise(nn.Module):
    def __init__(self, res):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.register_buffer("fixed", torch.randn(1, 1, res, res))
        self.enabled = False

    def forward(self, x):
        return x + self.weight * self.fixed if self.enabled else x


class StyledConv(nn.Module):
    def __init__(self, cin, cout, res, upsample=False):
        super().__init__()
        self.conv = ModulatedConv(cin, cout, 3, upsample=upsample)
        self.noise = Noise(res)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x, w):
        return lrelu(self.noise(self.conv(x, w)), self.bias)


class ToRGB(nn.Module):
    def __init__(self, cin, skip_channels=None):
        super().__init__()
        self.conv = ModulatedConv(cin, 3, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        self.up = Upsample2x(3) if skip_channels else None

    def forward(self, x, w, skip=None):
        out = self.conv(x, w) + self.bias
        if skip is not None:
            out = out + self.up(skip)
        return out


class Generator(nn.Module):
    def __init__(self, resolution, channel_multiplier=2):
        super().__init__()
        ch = {r: (c if r <= 32 else c * channel_multiplier) for r, c in CHANNELS.items()}
        self.mapping = nn.ModuleList(EqualLinear(ZDIM, ZDIM, lr_mul=0.01, act=True) for _ in range(8))
        self.register_buffer("w_avg", torch.zeros(ZDIM))
        self.const = nn.Parameter(torch.randn(1, ch[4], 4, 4))
        self.conv1 = StyledConv(ch[4], ch[4], 4)
        self.to_rgb1 = ToRGB(ch[4])
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        res, cin = 8, ch[4]
        while res <= resolution:
            self.convs.append(StyledConv(cin, ch[res], res, upsample=True))
            self.convs.append(StyledConv(ch[res], ch[res], res))
            self.to_rgbs.append(ToRGB(ch[res], skip_channels=3))
            cin, res = ch[res], res * 2

    def map(self, z):
        w = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        for layer in self.mapping:
            w = layer(w)
        return w

    def set_noise(self, enabled):
        for m in self.modules():
            if isinstance(m, Noise):
                m.enabled = enabled

    def forward(self, z, psi):
        w = self.map(z)
        w = self.w_avg + psi[:, None] * (w - self.w_avg)
        x = self.const.expand(z.shape[0], -1, -1, -1)
        x = self.conv1(x, w)
        rgb = self.to_rgb1(x, w)
        for i, to_rgb in enumerate(self.to_rgbs):
            x = self.convs[2 * i](x, w)
            x = self.convs[2 * i + 1](x, w)
            rgb = to_rgb(x, w, rgb)
        return rgb.clamp(-1.0, 1.0)


def load_checkpoint(g, path, key):
    """Copy weights from a rosinality-style state dict into g (see README.md)."""
    ckpt = torch.load(path, map_location="cpu")
    sd = ckpt[key] if key in ckpt else ckpt
    own = {}

    def put(dst, src):
        if src not in sd:
            raise KeyError(f"checkpoint has no {src!r} (expected rosinality stylegan2-pytorch naming)")
        own[dst] = sd[src]

    for i in range(8):
        put(f"mapping.{i}.weight", f"style.{i + 1}.weight")
        put(f"mapping.{i}.bias", f"style.{i + 1}.bias")
    put("const", "input.input")

    def styled(dst, src):
        put(f"{dst}.conv.weight", f"{src}.conv.weight")
        put(f"{dst}.conv.modulation.weight", f"{src}.conv.modulation.weight")
        put(f"{dst}.conv.modulation.bias", f"{src}.conv.modulation.bias")
        put(f"{dst}.noise.weight", f"{src}.noise.weight")
        put(f"{dst}.bias", f"{src}.activate.bias")

    def torgb(dst, src):
        put(f"{dst}.conv.weight", f"{src}.conv.weight")
        put(f"{dst}.conv.modulation.weight", f"{src}.conv.modulation.weight")
        put(f"{dst}.conv.modulation.bias", f"{src}.conv.modulation.bias")
        put(f"{dst}.bias", f"{src}.bias")

    styled("conv1", "conv1")
    torgb("to_rgb1", "to_rgb1")
    for i in range(len(g.convs)):
        styled(f"convs.{i}", f"convs.{i}")
    for i in range(len(g.to_rgbs)):
        torgb(f"to_rgbs.{i}", f"to_rgbs.{i}")
    # Fixed noise buffers: noises.noise_0 for conv1, noise_{i+1} for convs.{i}.
    for i, name in enumerate(["conv1"] + [f"convs.{j}" for j in range(len(g.convs))]):
        if f"noises.noise_{i}" in sd:
            own[f"{name}.noise.fixed"] = sd[f"noises.noise_{i}"]
    if "latent_avg" in ckpt:
        own["w_avg"] = ckpt["latent_avg"].reshape(-1)[:ZDIM]
    else:
        print("warning: no latent_avg in checkpoint; estimating w_avg from 10000 samples", file=sys.stderr)
    missing = g.load_state_dict(own, strict=False).missing_keys
    missing = [k for k in missing if not k.endswith((".kernel", ".ones", "noise.fixed", "w_avg"))]
    if missing:
        raise KeyError(f"weights not filled from the checkpoint: {missing}")
    return "latent_avg" in ckpt


@torch.no_grad()
def estimate_w_avg(g, n=10000, seed=0):
    gen = torch.Generator().manual_seed(seed)
    g.w_avg.copy_(g.map(torch.randn(n, ZDIM, generator=gen)).mean(dim=0))


def to_fp16(model_proto):
    """Convert a float32 ONNX graph to float16 inside, keeping float32 inputs and outputs."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model_proto.graph
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx_attr_tensor() and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
            if node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.FLOAT16
    del graph.value_info[:]
    # Float inputs are cast to half right after entry; the output is cast back.
    casts = []
    for inp in graph.input:
        if inp.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        half = inp.name + "_fp16"
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name == inp.name:
                    node.input[i] = half
        casts.append(helper.make_node("Cast", [inp.name], [half], to=TensorProto.FLOAT16))
    tail = []
    for out in graph.output:
        half = out.name + "_fp16"
        for node in graph.node:
            for i, name in enumerate(node.output):
                if name == out.name:
                    node.output[i] = half
        tail.append(helper.make_node("Cast", [half], [out.name], to=TensorProto.FLOAT))
    nodes = casts + list(graph.node) + tail
    del graph.node[:]
    graph.node.extend(nodes)
    return model_proto


def onnx_attr_tensor():
    from onnx import AttributeProto

    return AttributeProto.TENSOR


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="PyTorch checkpoint (rosinality stylegan2-pytorch layout)")
    src.add_argument("--random", action="store_true", help="random weights (pipeline testing)")
    p.add_argument("--key", default="g_ema", help="state dict inside the checkpoint (default g_ema)")
    p.add_argument("--resolution", type=int, default=512, help="output size, a power of two in 64..1024")
    p.add_argument("--channel-multiplier", type=int, default=2, help="2 for config-f")
    p.add_argument("--noise", choices=["off", "fixed"], default="off",
                   help="off: no noise; fixed: the checkpoint's noise buffers (random ones with --random)")
    p.add_argument("--fp16", action="store_true", help="float16 inside, float32 inputs and output")
    p.add_argument("--seed", type=int, default=0, help="seed for --random weights")
    p.add_argument("--max-batch", type=int, default=0, help="write moetron.max_batch when > 0")
    p.add_argument("--check-dir", help="also write z.bin, psi.bin and PyTorch's image.bin (raw little-endian "
                   "float32, batch of 2) to this directory, for comparing with ONNX Runtime")
    p.add_argument("-o", "--output", required=True, help="output .onnx file")
    a = p.parse_args(argv)

    r = a.resolution
    if r < 64 or r > 1024 or r & (r - 1):
        p.error("--resolution must be a power of two in 64..1024")
    torch.manual_seed(a.seed)
    g = Generator(r, a.channel_multiplier).eval()
    have_avg = False
    if a.checkpoint:
        have_avg = load_checkpoint(g, a.checkpoint, a.key)
    if not have_avg:
        estimate_w_avg(g)
    g.set_noise(a.noise == "fixed")

    z = torch.randn(2, ZDIM, generator=torch.Generator().manual_seed(a.seed + 1))
    psi = torch.tensor([0.55, 1.0])
    torch.onnx.export(
        g, (z, psi), a.output, opset_version=17,
        input_names=["z", "psi"], output_names=["image"],
        dynamic_axes={"z": {0: "N"}, "psi": {0: "N"}, "image": {0: "N"}},
        do_constant_folding=True,
    )

    import onnx

    m = onnx.load(a.output)
    if a.fp16:
        m = to_fp16(m)
    meta = {"moetron.z": "z", "moetron.psi": "psi", "moetron.image": "image", "moetron.zdim": str(ZDIM),
            "moetron.layout": "NCHW", "moetron.range": "-1,1"}
    if a.max_batch > 0:
        meta["moetron.max_batch"] = str(a.max_batch)
    del m.metadata_props[:]
    for k, v in sorted(meta.items()):
        m.metadata_props.add(key=k, value=v)
    m.producer_name = "moetron-stylegan2-export"
    onnx.checker.check_model(m)
    onnx.save(m, a.output)

    if a.check_dir:
        import os

        os.makedirs(a.check_dir, exist_ok=True)
        with torch.no_grad():
            img = g(z, psi)
        for name, t in (("z", z), ("psi", psi), ("image", img)):
            t.contiguous().numpy().astype("<f4").tofile(os.path.join(a.check_dir, name + ".bin"))
    print(f"wrote {a.output} ({r}x{r}, {'fp16' if a.fp16 else 'fp32'}, noise {a.noise})")


if __name__ == "__main__":
    main()
