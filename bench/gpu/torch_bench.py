#!/usr/bin/env python3
"""PyTorch eager throughput of the generator that stylegan2_onnx.py exports.

The generator is the export script's own module, built with the same random
weights (torch.manual_seed(--seed) before construction, w_avg estimated the
same way, noise off), so the ONNX files and this model compute the same
function. Rows: "torch tf32" (float32 with TF32 matmuls and convolutions,
cuDNN autotuning on) and "torch half" (the module and inputs in float16), at
each --batches size; on a CPU only float32 runs.

It also writes, with TF32 off, the float32 images for seeds 0..--ref-n-1
(latents as imagegen.Latent: numpy RandomState(seed).randn(1, 512), psi
alternating 0.55 and 1.0) so gpubench can check this is the ONNX model's
function.

Usage: torch_bench.py --resolution 512 --device cuda --out DIR
"""

import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "imagegen", "export"))
import stylegan2_onnx as sg  # noqa: E402


def build(res, seed, channel_multiplier=2):
    """The generator as stylegan2_onnx.main builds it for --random --seed seed."""
    torch.manual_seed(seed)
    g = sg.Generator(res, channel_multiplier).eval()
    sg.estimate_w_avg(g)
    g.set_noise(False)
    return g


def latents(n):
    z = np.concatenate([np.random.RandomState(s).randn(1, sg.ZDIM) for s in range(n)]).astype(np.float32)
    psi = np.array([0.55 if i % 2 == 0 else 1.0 for i in range(n)], dtype=np.float32)
    return torch.from_numpy(z), torch.from_numpy(psi)


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


@torch.inference_mode()
def throughput(g, dev, dtype, batch, warm, images):
    z = torch.randn(batch, sg.ZDIM, generator=torch.Generator().manual_seed(batch)).to(dev, dtype)
    psi = torch.full((batch,), 0.55).to(dev, dtype)
    for _ in range(warm):
        g(z, psi)
    sync(dev)
    runs = max(3, math.ceil(images / batch))
    t = time.perf_counter()
    for _ in range(runs):
        g(z, psi)
    sync(dev)
    return runs * batch / (time.perf_counter() - t)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=512)
    p.add_argument("--seed", type=int, default=0, help="weights seed, as the export's --seed")
    p.add_argument("--device", default="cuda")
    p.add_argument("--batches", default="1,8,32")
    p.add_argument("--images", type=int, default=640, help="images per measurement")
    p.add_argument("--warm", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's choice)")
    p.add_argument("--ref-n", type=int, default=4)
    p.add_argument("--out", required=True, help="directory for torch.json and torch_ref.bin")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    os.makedirs(a.out, exist_ok=True)
    g = build(a.resolution, a.seed).to(dev)

    # Reference images in exact float32.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    z, psi = latents(a.ref_n)
    with torch.inference_mode():
        ref = g(z.to(dev), psi.to(dev)).float().cpu().contiguous()
    ref_path = os.path.join(a.out, "torch_ref.bin")
    ref.numpy().astype("<f4").tofile(ref_path)

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    batches = [int(b) for b in a.batches.split(",")]
    rows, skip = [], ""
    modes = [("torch tf32", g, torch.float32)]
    if dev.type == "cuda":
        modes.append(("torch half", copy.deepcopy(g).half(), torch.float16))
    else:
        skip = "no half-precision row on the CPU"
    for name, model, dtype in modes:
        for b in batches:
            ips = throughput(model, dev, dtype, b, a.warm, a.images)
            rows.append({"what": name, "batch": b, "ips": ips})
            print(f"{name} batch {b}: {ips:.1f} img/s", flush=True)
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    res = {"device": dev.type, "torch": torch.__version__, "gpu": gpu, "rows": rows, "ref": ref_path,
           "ref_n": a.ref_n, "res": a.resolution, "skip": skip}
    with open(os.path.join(a.out, "torch.json"), "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
