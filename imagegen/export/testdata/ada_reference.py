#!/usr/bin/env python3
"""Reference forward pass of a stylegan2-ada-pytorch generator, for checking the export.

It reads a state dict in ada's own key names (a .pt written by
make_ada_checkpoint.py: {"G_ema": state_dict}) and computes images the way
stylegan2-ada-pytorch's equations do, independently of stylegan2_onnx.py:

  * mapping: z * rsqrt(mean(z^2) + 1e-8), then fc layers
    x @ (W * lr / sqrt(fan_in))^T + b * lr with lr = 0.01, leaky ReLU 0.2 and
    gain sqrt(2); truncation w = lerp(w_avg, w, psi);
  * per synthesis layer (fused modulation, as at inference): styles =
    affine(w) (gain 1/sqrt(512), bias gain 1); per-sample weights
    W[o,i] * s[n,i], demodulated by rsqrt(sum W'^2 + 1e-8), applied as one
    grouped convolution over the batch; upsampling layers run ada's
    conv2d_resample arithmetic (transposed convolution, stride 2, then the
    [1,3,3,1] filter with gain 4 and padding 1,1); then + noise_const *
    noise_strength, + bias, leaky ReLU, * sqrt(2), clamp to +-conv_clamp;
  * toRGB: styles * 1/sqrt(fan_in), no demodulation, + bias, clamp; the
    image of the previous block upsampled by upfirdn2d (zero insertion, pad
    2,1, filter gain 4) and added;
  * the sum is clipped to [-1, 1] (moetron's contract).

--break NAME computes a deliberately wrong image (one mistake a key mapping
could make), so a check can show that the comparison notices it.
"""

import argparse
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

BREAKS = ["none", "torgb-gain", "mapping-bias-gain", "conv-clamp", "torgb-clamp", "w-avg", "noise", "skip-shift"]


class Ref:
    def __init__(self, sd, conv_clamp, noise, broken="none"):
        self.sd, self.clamp, self.noise, self.broken = sd, conv_clamp, noise, broken
        self.n_map = 0
        while f"mapping.fc{self.n_map}.weight" in sd:
            self.n_map += 1
        self.res = [4]
        while f"synthesis.b{self.res[-1] * 2}.conv1.weight" in sd:
            self.res.append(self.res[-1] * 2)

    def p(self, k):
        return self.sd[k].float()

    @staticmethod
    def bias_act(x, b, act, gain, clamp):
        if b is not None:
            x = x + b.reshape([1, -1] + [1] * (x.dim() - 2))
        if act == "lrelu":
            x = F.leaky_relu(x, 0.2)
        if gain != 1:
            x = x * gain
        if clamp is not None:
            x = x.clamp(-clamp, clamp)
        return x

    def fc(self, x, name, lr=1.0, act="linear", bias_gain=None):
        w = self.p(name + ".weight")
        b = self.p(name + ".bias") * (lr if bias_gain is None else bias_gain)
        x = x @ (w * (lr / math.sqrt(w.shape[1]))).t()
        return self.bias_act(x, b, act, math.sqrt(2) if act == "lrelu" else 1, None)

    @staticmethod
    def upfirdn2d(x, f, up=1, pad=(0, 0, 0, 0), gain=1.0):
        n, c, h, w = x.shape
        if up > 1:
            x = x.reshape(n, c, h, 1, w, 1)
            x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
            x = x.reshape(n, c, h * up, w * up)
        x = F.pad(x, list(pad))
        k = (f * gain).flip([0, 1])  # a true convolution
        return F.conv2d(x, k[None, None].repeat(c, 1, 1, 1), groups=c)

    def modconv(self, x, weight, styles, demod, up, noise, f):
        n, cin, h, w = x.shape
        cout, _, kh, kw = weight.shape
        wt = weight[None] * styles[:, None, :, None, None]  # [N, O, I, k, k]
        if demod:
            wt = wt * (wt.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()[:, :, None, None, None]
        x = x.reshape(1, n * cin, h, w)
        pad = kw // 2
        if up == 1:
            x = F.conv2d(x, wt.reshape(n * cout, cin, kh, kw), padding=pad, groups=n)
        else:
            # ada's conv2d_resample for up=2: padding taken up by the filter,
            # less what the transposed convolution covers.
            fw = f.shape[-1]
            p0 = pad + (fw + up - 1) // 2 - (kw - 1)
            p1 = pad + (fw - up) // 2 - (kw - up)
            pt = max(min(-p0, -p1), 0)
            wT = wt.transpose(1, 2).reshape(n * cin, cout, kh, kw)
            x = F.conv_transpose2d(x, wT, stride=up, padding=pt, groups=n)
            x = self.upfirdn2d(x, f, pad=(p0 + pt, p1 + pt, p0 + pt, p1 + pt), gain=up * up)
        x = x.reshape(n, cout, x.shape[2], x.shape[3])
        if noise is not None:
            x = x + noise
        return x

    def layer(self, x, w, name, up):
        styles = self.fc(w, name + ".affine")
        noise = None
        if self.noise and self.broken != "noise" and name + ".noise_const" in self.sd:
            noise = self.p(name + ".noise_const") * self.p(name + ".noise_strength")
        f = self.p(name + ".resample_filter")
        x = self.modconv(x, self.p(name + ".weight"), styles, True, up, noise, f)
        clamp = None if self.broken == "conv-clamp" else self.clamp
        return self.bias_act(x, self.p(name + ".bias"), "lrelu", math.sqrt(2), clamp)

    def torgb(self, x, w, name):
        weight = self.p(name + ".weight")
        fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
        gain = 1.0 if self.broken == "torgb-gain" else 1 / math.sqrt(fan_in)
        styles = self.fc(w, name + ".affine") * gain
        x = self.modconv(x, weight, styles, False, 1, None, None)
        clamp = None if self.broken in ("conv-clamp", "torgb-clamp") else self.clamp
        return self.bias_act(x, self.p(name + ".bias"), "linear", 1, clamp)

    @torch.no_grad()
    def __call__(self, z, psi):
        x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for i in range(self.n_map):
            x = self.fc(x, f"mapping.fc{i}", lr=0.01, act="lrelu",
                        bias_gain=1.0 if self.broken == "mapping-bias-gain" else None)
        w_avg = torch.zeros_like(x[0]) if self.broken == "w-avg" else self.p("mapping.w_avg")
        w = w_avg + psi[:, None] * (x - w_avg)  # lerp(w_avg, w, psi)
        img = None
        for r in self.res:
            b = f"synthesis.b{r}"
            if r == 4:
                x = self.p(b + ".const")[None].repeat(z.shape[0], 1, 1, 1)
                x = self.layer(x, w, b + ".conv1", 1)
            else:
                x = self.layer(x, w, b + ".conv0", 2)
                x = self.layer(x, w, b + ".conv1", 1)
                f = self.p(b + ".resample_filter")
                pad = (1, 2, 1, 2) if self.broken == "skip-shift" else (2, 1, 2, 1)
                img = self.upfirdn2d(img, f, up=2, pad=pad, gain=4.0)
            y = self.torgb(x, w, b + ".torgb")
            img = y if img is None else img + y
        return img.clamp(-1, 1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help=".pt with {'G_ema': ada state dict}")
    p.add_argument("--inputs", required=True, help="directory with z.bin and psi.bin (from --check-dir)")
    p.add_argument("--out", required=True, help="directory for z.bin, psi.bin and image.bin")
    p.add_argument("--conv-clamp", default="none", help="a number or none")
    p.add_argument("--noise", choices=["const", "none"], default="none")
    p.add_argument("--break", dest="broken", choices=BREAKS, default="none")
    a = p.parse_args()

    sd = torch.load(a.checkpoint, map_location="cpu", weights_only=True)["G_ema"]
    clamp = None if a.conv_clamp == "none" else float(a.conv_clamp)
    ref = Ref(sd, clamp, a.noise == "const", a.broken)
    z = torch.from_numpy(np.fromfile(os.path.join(a.inputs, "z.bin"), dtype="<f4").reshape(-1, 512))
    psi = torch.from_numpy(np.fromfile(os.path.join(a.inputs, "psi.bin"), dtype="<f4"))
    img = ref(z, psi)
    os.makedirs(a.out, exist_ok=True)
    for name, t in (("z", z), ("psi", psi), ("image", img)):
        t.contiguous().numpy().astype("<f4").tofile(os.path.join(a.out, name + ".bin"))
    sat = (img.abs() >= 1).float().mean().item()
    print(f"reference ({a.broken}): {img.shape[-1]}x{img.shape[-1]}, {ref.n_map} mapping layers, "
          f"rms {img.square().mean().sqrt().item():.3f}, {100 * sat:.0f}% of pixels at +-1")


if __name__ == "__main__":
    main()
