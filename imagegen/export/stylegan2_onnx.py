#!/usr/bin/env python3
"""Export a StyleGAN2 generator (config-f style) to ONNX for moetron.

The exported model follows moetron's model contract:

  inputs   z    float32 [N, 512]   latent
           psi  float32 [N]        truncation, applied in the graph:
                                   w = w_avg + psi * (w - w_avg)
  output   image float32 [N, 3, R, R], NCHW, clipped to [-1, 1]

N is dynamic (dim_param "N"); the file carries the moetron.* metadata_props
(z, psi, image, zdim, layout, range). Opset 17.

Weights come from a checkpoint (--checkpoint) in one of two layouts, detected
from the key names (stylegan2_checkpoint.py, README.md): rosinality's
stylegan2-pytorch (.pt), or NVlabs' stylegan2-ada-pytorch (a
network-snapshot .pkl, read without running the code embedded in it, or a .pt
of its generator's state dict). Resolution, channels per resolution and the
number of mapping layers are read from the weights. Or the weights are random
(--random) for testing the pipeline.

The generator is written here from the published architecture (Karras et al.,
"Analyzing and Improving the Image Quality of StyleGAN", 2020):

  * mapping: pixel norm of z, then (usually 8) equalized-learning-rate fully
    connected layers (learning-rate multiplier 0.01) with leaky ReLU (slope
    0.2, gain sqrt 2); w_avg for truncation;
  * synthesis: a learned 4x4 constant; per layer a modulated 3x3 convolution
    with demodulation, noise (disabled, or the checkpoint's fixed noise
    buffers with --noise fixed), a bias and leaky ReLU, then for ada
    checkpoints trained with conv_clamp a clamp to +-conv_clamp; resolution
    doubles with a transposed convolution followed by a [1,3,3,1] blur;
  * output: "skip" architecture: a modulated 1x1 toRGB (no demodulation,
    clamped like the convolutions) at every resolution, added to the
    upsampled (blurred) RGB of the previous one.

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
import pickle
import sys

import torch
import torch.nn.functional as F
from torch import nn

import stylegan2_checkpoint as sc

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
    def __init__(self, cin, cout, k, demodulate=True, upsample=False, weight_gain=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.modulation = EqualLinear(ZDIM, cin, bias_init=1.0)
        # rosinality scales every modulated weight by 1/sqrt(fan_in); ada
        # leaves demodulated weights unscaled (demodulation cancels the scale,
        # up to where the 1e-8 in the rsqrt sits).
        self.scale = 1.0 / math.sqrt(cin * k * k) if weight_gain else 1.0
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


def clamp(x, c):
    """stylegan2-ada's conv_clamp: activations limited to [-c, c] (None: no limit)."""
    return x if c is None else x.clamp(-c, c)


class StyledConv(nn.Module):
    def __init__(self, cin, cout, res, upsample=False, conv_clamp=None, weight_gain=True):
        super().__init__()
        self.conv = ModulatedConv(cin, cout, 3, upsample=upsample, weight_gain=weight_gain)
        self.noise = Noise(res)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.conv_clamp = conv_clamp

    def forward(self, x, w):
        return clamp(lrelu(self.noise(self.conv(x, w)), self.bias), self.conv_clamp)


class ToRGB(nn.Module):
    def __init__(self, cin, skip_channels=None, conv_clamp=None):
        super().__init__()
        self.conv = ModulatedConv(cin, 3, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        self.up = Upsample2x(3) if skip_channels else None
        self.conv_clamp = conv_clamp

    def forward(self, x, w, skip=None):
        out = clamp(self.conv(x, w) + self.bias, self.conv_clamp)
        if skip is not None:
            out = out + self.up(skip)
        return out


def config_f_channels(resolution, channel_multiplier=2):
    """Channels per resolution of rosinality's generator (512 up to 32x32, then halving)."""
    return {r: (c if r <= 32 else c * channel_multiplier) for r, c in CHANNELS.items() if r <= resolution}


class Generator(nn.Module):
    """The generator; the keyword arguments describe a checkpoint (see stylegan2_checkpoint.Config).

    channels maps each resolution to its channel count (default: config-f with
    channel_multiplier), n_mapping is the number of mapping layers,
    conv_clamp limits every convolution's output (ada), demod_weight_gain
    False drops the 1/sqrt(fan_in) weight scale of demodulated convolutions
    (ada) and mapping_lr is the mapping layers' learning-rate multiplier.
    """

    def __init__(self, resolution, channel_multiplier=2, *, channels=None, n_mapping=8, conv_clamp=None,
                 demod_weight_gain=True, mapping_lr=0.01):
        super().__init__()
        ch = channels or config_f_channels(resolution, channel_multiplier)
        self.resolution = resolution
        self.mapping = nn.ModuleList(EqualLinear(ZDIM, ZDIM, lr_mul=mapping_lr, act=True) for _ in range(n_mapping))
        self.register_buffer("w_avg", torch.zeros(ZDIM))
        self.const = nn.Parameter(torch.randn(1, ch[4], 4, 4))
        kw = dict(conv_clamp=conv_clamp, weight_gain=demod_weight_gain)
        self.conv1 = StyledConv(ch[4], ch[4], 4, **kw)
        self.to_rgb1 = ToRGB(ch[4], conv_clamp=conv_clamp)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        res, cin = 8, ch[4]
        while res <= resolution:
            self.convs.append(StyledConv(cin, ch[res], res, upsample=True, **kw))
            self.convs.append(StyledConv(ch[res], ch[res], res, **kw))
            self.to_rgbs.append(ToRGB(ch[res], skip_channels=3, conv_clamp=conv_clamp))
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


def build_from_checkpoint(path, key=None, layout="auto", conv_clamp="auto", resolution=None):
    """A Generator filled from the checkpoint at path, and whether it carried w_avg.

    layout is auto (from the key names), rosinality or ada; see
    stylegan2_checkpoint for both. conv_clamp ("auto", None or a number)
    applies to ada checkpoints.
    """
    ck = sc.load(path, key)
    found = sc.detect_layout(ck.sd)
    if layout == "auto":
        layout = found
    elif layout != found:
        raise ValueError(f"{ck.source}: --layout {layout}, but the key names are {found}'s")
    if layout == "ada":
        cfg = sc.ada_config(ck.sd, ck.attrs, conv_clamp)
        own = sc.ada_state(ck.sd, cfg)
    else:
        if conv_clamp not in ("auto", None):
            raise ValueError("--conv-clamp applies to stylegan2-ada-pytorch checkpoints only")
        cfg = sc.rosinality_config(ck.sd)
        own = sc.rosinality_state(ck.sd, ck.latent_avg, cfg)
    if resolution and resolution != cfg.resolution:
        raise ValueError(f"{ck.source}: --resolution {resolution}, but the checkpoint is "
                         f"{cfg.resolution}x{cfg.resolution}")
    print(f"{ck.source}: {layout} layout, {cfg.describe()}", file=sys.stderr)
    g = Generator(cfg.resolution, channels=cfg.channels, n_mapping=cfg.n_mapping, conv_clamp=cfg.conv_clamp,
                  demod_weight_gain=cfg.demod_weight_gain, mapping_lr=cfg.mapping_lr)
    wrong = [(k, tuple(v.shape), tuple(g.state_dict()[k].shape)) for k, v in own.items()
             if k in g.state_dict() and tuple(v.shape) != tuple(g.state_dict()[k].shape)]
    if wrong:
        k, have, want = wrong[0]
        raise ValueError(f"{ck.source}: {k} has shape {have}, the generator expects {want}")
    res = g.load_state_dict(own, strict=False)
    missing = [k for k in res.missing_keys if not k.endswith((".kernel", ".ones", "noise.fixed", "w_avg"))]
    if missing or res.unexpected_keys:
        raise KeyError(f"weights not filled from the checkpoint: {missing or res.unexpected_keys}")
    have_avg = "w_avg" in own
    if not have_avg:
        print("warning: no latent_avg in checkpoint; estimating w_avg from 10000 samples", file=sys.stderr)
    return g, have_avg


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
    src.add_argument("--checkpoint", help="rosinality stylegan2-pytorch .pt, or stylegan2-ada-pytorch .pkl "
                     "(network-snapshot-*.pkl) or a .pt holding its generator's state dict")
    src.add_argument("--random", action="store_true", help="random weights (pipeline testing)")
    p.add_argument("--key", help="the generator's entry in the checkpoint (default: g_ema, else G_ema, else "
                   "the file's dict itself)")
    p.add_argument("--layout", choices=["auto", "rosinality", "ada"], default="auto",
                   help="checkpoint key names (default: detected)")
    p.add_argument("--conv-clamp", default="auto",
                   help="ada only: clamp each convolution's output to +-X; 'none' for no clamp; auto (default): "
                   "the .pkl's value, or 256 (ada's training default) for a state dict")
    p.add_argument("--resolution", type=int, help="output size, a power of two in 64..1024 (default: the "
                   "checkpoint's; 512 with --random)")
    p.add_argument("--channel-multiplier", type=int, default=2, help="with --random: 2 for config-f")
    p.add_argument("--noise", choices=["off", "fixed"], default="off",
                   help="off: no noise; fixed: the checkpoint's noise buffers (random ones with --random)")
    p.add_argument("--fp16", action="store_true", help="float16 inside, float32 inputs and output")
    p.add_argument("--seed", type=int, default=0, help="seed for --random weights")
    p.add_argument("--max-batch", type=int, default=0, help="write moetron.max_batch when > 0")
    p.add_argument("--check-dir", help="also write z.bin, psi.bin and PyTorch's image.bin (raw little-endian "
                   "float32, batch of 2) to this directory, for comparing with ONNX Runtime")
    p.add_argument("-o", "--output", required=True, help="output .onnx file")
    a = p.parse_args(argv)

    if a.resolution is not None and (a.resolution < 64 or a.resolution > 1024 or a.resolution & (a.resolution - 1)):
        p.error("--resolution must be a power of two in 64..1024")
    clamp_arg = a.conv_clamp
    if clamp_arg not in ("auto", "none"):
        try:
            clamp_arg = float(clamp_arg)
        except ValueError:
            p.error(f"--conv-clamp: {a.conv_clamp!r} is not auto, none or a number")
        if not clamp_arg > 0:
            p.error("--conv-clamp must be positive")
    elif clamp_arg == "none":
        clamp_arg = None
    torch.manual_seed(a.seed)
    have_avg = False
    if a.checkpoint:
        try:
            g, have_avg = build_from_checkpoint(a.checkpoint, a.key, a.layout, clamp_arg, a.resolution)
        except (KeyError, ValueError, OSError, pickle.UnpicklingError) as e:
            print(f"error: {e.args[0] if isinstance(e, KeyError) and e.args else e}", file=sys.stderr)
            return 2
        r = g.resolution
        if r < 64 or r > 1024:
            print(f"error: the checkpoint is {r}x{r}; moetron exports 64..1024", file=sys.stderr)
            return 2
    else:
        if a.layout != "auto" or a.conv_clamp != "auto" or a.key:
            p.error("--layout, --conv-clamp and --key apply to --checkpoint")
        r = a.resolution or 512
        g = Generator(r, a.channel_multiplier)
    g.eval()
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
    sys.exit(main())
