#!/usr/bin/env python3
"""Write a random-weight generator in stylegan2-ada-pytorch's layout, for tests.

PREFIX.pt holds {"G_ema": state_dict} with ada's key names and shapes
(mapping.fcN.*, mapping.w_avg, synthesis.bR.const/conv0/conv1/torgb.*,
resample_filter buffers). PREFIX.pkl holds the same weights pickled the way a
network-snapshot-*.pkl is: each module is a persistent object
(torch_utils.persistence._reconstruct_persistent_obj with a meta dict of
module_src, class_name and the module's __dict__ as state), init kwargs in
dnnlib.util.EasyDict, and a D and an augment_pipe beside G_ema. The
module_src it embeds writes a marker file if anything ever runs it: the
exporter must read the pickle without doing so.

Channels follow ada's rule min(channel_base // res, channel_max); the weights
are random, with scales picked so that every part of the network (mapping
biases, w_avg, noise, toRGB gains, the clamp) visibly changes the image.
"""

import argparse
import collections
import math
import pickle
import sys
import types

import torch

# Source that would be exec'd by NVlabs' loader; it must never run here.
EVIL_SRC = "import pathlib\npathlib.Path({marker!r}).write_text('module_src was executed')\n"


def channels(resolution, channel_base, channel_max):
    return {r: min(channel_base // r, channel_max) for r in [4 << i for i in range(int(math.log2(resolution)) - 1)]}


def state_dict(resolution=64, channel_base=8192, channel_max=256, n_mapping=2, noise=True, seed=0,
               architecture="skip", c_dim=0, torgb_scale=0.5):
    """A random generator state dict in ada's layout."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, scale=1.0, mean=0.0):
        return torch.randn(*shape, generator=g) * scale + mean

    filt = torch.tensor([1.0, 3.0, 3.0, 1.0])
    filt = filt[:, None] * filt[None, :]
    filt = filt / filt.sum()
    sd = collections.OrderedDict()
    if c_dim:
        sd["mapping.embed.weight"] = randn(512, c_dim)
        sd["mapping.embed.bias"] = randn(512)
    for i in range(n_mapping):
        sd[f"mapping.fc{i}.weight"] = randn(512, 512 + (512 if c_dim and i == 0 else 0), scale=100.0)
        sd[f"mapping.fc{i}.bias"] = randn(512, scale=20.0)  # 0.2 after the 0.01 bias gain
    sd["mapping.w_avg"] = randn(512, scale=0.3)
    ch = channels(resolution, channel_base, channel_max)

    def layer(name, cin, cout, res):
        sd[f"{name}.resample_filter"] = filt.clone()
        sd[f"{name}.weight"] = randn(cout, cin, 3, 3)
        if noise:
            sd[f"{name}.noise_strength"] = randn(1, scale=0.3).reshape(())
        sd[f"{name}.bias"] = randn(cout, scale=0.3)
        sd[f"{name}.affine.weight"] = randn(cin, 512)
        sd[f"{name}.affine.bias"] = randn(cin, scale=0.2, mean=1.0)
        if noise:
            sd[f"{name}.noise_const"] = randn(res, res)

    def torgb(name, cin):
        sd[f"{name}.weight"] = randn(3, cin, 1, 1, scale=torgb_scale)
        sd[f"{name}.bias"] = randn(3, scale=0.1)
        sd[f"{name}.affine.weight"] = randn(cin, 512)
        sd[f"{name}.affine.bias"] = randn(cin, scale=0.2, mean=1.0)

    for r in sorted(ch):
        b = f"synthesis.b{r}"
        sd[f"{b}.resample_filter"] = filt.clone()
        if r == 4:
            sd[f"{b}.const"] = randn(ch[4], 4, 4)
        else:
            layer(f"{b}.conv0", ch[r // 2], ch[r], r)
        layer(f"{b}.conv1", ch[r], ch[r], r)
        if architecture == "skip" or r == resolution:
            torgb(f"{b}.torgb", ch[r])
        if architecture == "resnet" and r > 4:
            sd[f"{b}.skip.weight"] = randn(ch[r], ch[r // 2], 1, 1)
            sd[f"{b}.skip.resample_filter"] = filt.clone()
    return sd


# --------------------------------------------------------------------------
# Pickling like torch_utils.persistence, without NVlabs' code: stand-in
# modules named torch_utils.persistence and dnnlib.util exist only in this
# process, so that pickle writes those global names.


def _install_fake_modules():
    if "torch_utils.persistence" in sys.modules:
        return sys.modules["torch_utils.persistence"], sys.modules["dnnlib.util"]
    tu, pers = types.ModuleType("torch_utils"), types.ModuleType("torch_utils.persistence")
    dn, util = types.ModuleType("dnnlib"), types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):
        raise RuntimeError("test stand-in: not for loading")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    pers._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    util.EasyDict = EasyDict
    tu.persistence, dn.util = pers, util
    sys.modules.update({"torch_utils": tu, "torch_utils.persistence": pers, "dnnlib": dn, "dnnlib.util": util})
    return pers, util


class Persistent:
    """Pickles as torch_utils.persistence does: (_reconstruct_persistent_obj, (meta,))."""

    def __init__(self, class_name, params=(), buffers=(), modules=(), attrs=None, src=""):
        self.class_name, self.src = class_name, src
        self.state = {"training": False,
                      "_parameters": collections.OrderedDict(
                          (k, torch.nn.Parameter(v, requires_grad=False)) for k, v in params),
                      "_buffers": collections.OrderedDict(buffers),
                      "_non_persistent_buffers_set": set(),
                      "_backward_hooks": collections.OrderedDict(), "_forward_hooks": collections.OrderedDict(),
                      "_modules": collections.OrderedDict(modules)}
        self.state.update(attrs or {})

    def __reduce__(self):
        pers, _ = _install_fake_modules()
        meta = dict(type="class", version=6, module_src=self.src, class_name=self.class_name, state=self.state)
        return (pers._reconstruct_persistent_obj, (meta,))


def module_tree(sd, conv_clamp, resolution, marker, architecture="skip"):
    """G_ema as a tree of Persistent objects holding the tensors of sd."""
    _, util = _install_fake_modules()
    src = EVIL_SRC.format(marker=marker)

    def make(prefix, class_name, attrs=None):
        names = sorted({k[len(prefix):].split(".")[0] for k in sd if k.startswith(prefix)})
        params, buffers, children = [], [], []
        for n in names:
            key = prefix + n
            if key in sd:
                (buffers if n in ("resample_filter", "noise_const", "w_avg") else params).append((n, sd[key]))
            else:
                children.append((n, None))
        kids = []
        for n, _ in children:
            kind = {"mapping": "MappingNetwork", "synthesis": "SynthesisNetwork", "torgb": "ToRGBLayer",
                    "affine": "FullyConnectedLayer", "skip": "Conv2dLayer"}.get(n)
            if kind is None:
                kind = "SynthesisBlock" if n.startswith("b") and n[1:].isdigit() else \
                    "FullyConnectedLayer" if n.startswith("fc") else "SynthesisLayer"
            a = {}
            if kind == "FullyConnectedLayer":
                lr = 0.01 if n.startswith("fc") else 1
                a = {"activation": "lrelu" if lr == 0.01 else "linear", "bias_gain": lr}
            elif kind in ("SynthesisLayer", "ToRGBLayer"):
                a = {"conv_clamp": conv_clamp, "activation": "lrelu", "use_noise": True}
                if kind == "ToRGBLayer":
                    a = {"conv_clamp": conv_clamp}
            elif kind == "SynthesisBlock":
                a = {"architecture": architecture, "resolution": int(n[1:]), "is_last": int(n[1:]) == resolution}
            kids.append((n, make(prefix + n + ".", kind, a)))
        return Persistent(class_name, params, buffers, kids, attrs, src)

    kwargs = util.EasyDict(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
                           mapping_kwargs=util.EasyDict(num_layers=sum(1 for k in sd if k.endswith(".weight")
                                                                       and k.startswith("mapping.fc"))),
                           synthesis_kwargs=util.EasyDict(conv_clamp=conv_clamp, architecture=architecture))
    return make("", "Generator", {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": resolution,
                                  "img_channels": 3, "_init_args": (), "_init_kwargs": kwargs})


class _Unrelated:
    """Stands for objects of classes the exporter does not know (pickled by reference)."""


def snapshot(sd, conv_clamp, resolution, marker, architecture="skip"):
    """A dict shaped like a network-snapshot-*.pkl."""
    _, util = _install_fake_modules()
    g = module_tree(sd, conv_clamp, resolution, marker, architecture)
    d = Persistent("Discriminator", params=[("b4.fc.weight", torch.zeros(2, 2))], src=EVIL_SRC.format(marker=marker))
    return {"G": g, "D": d, "G_ema": g,
            "augment_pipe": Persistent("AugmentPipe", buffers=[("p", torch.tensor(0.1))],
                                       src=EVIL_SRC.format(marker=marker)),
            "training_set_kwargs": util.EasyDict(path="danbooru.zip", resolution=resolution),
            "extra": argparse.Namespace(note="an object of a class the exporter does not import")}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--channel-base", type=int, default=8192)
    p.add_argument("--channel-max", type=int, default=256)
    p.add_argument("--mapping", type=int, default=2, help="mapping layers")
    p.add_argument("--conv-clamp", default="256", help="stored in the .pkl (a number or none)")
    p.add_argument("--no-noise", action="store_true", help="use_noise=False: no noise_const/noise_strength")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--marker", default="/tmp/ada-module-src-was-executed",
                   help="file the embedded module_src would write if it were run")
    p.add_argument("-o", "--output", required=True, help="prefix: writes PREFIX.pt and PREFIX.pkl")
    a = p.parse_args()
    clamp = None if a.conv_clamp == "none" else float(a.conv_clamp)
    if clamp is not None and clamp == int(clamp):
        clamp = int(clamp)
    sd = state_dict(a.resolution, a.channel_base, a.channel_max, a.mapping, not a.no_noise, a.seed)
    torch.save({"G_ema": sd}, a.output + ".pt")
    with open(a.output + ".pkl", "wb") as f:
        pickle.dump(snapshot(sd, clamp, a.resolution, a.marker), f)
    ch = channels(a.resolution, a.channel_base, a.channel_max)
    print(f"wrote {a.output}.pt and .pkl: {a.resolution}x{a.resolution}, {a.mapping} mapping layers, "
          f"channels {ch}, conv_clamp {clamp}")


if __name__ == "__main__":
    main()
