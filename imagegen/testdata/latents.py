#!/usr/bin/python3
"""Writes latents.json: reference latents from NumPy's legacy RandomState.

Each case is numpy.random.RandomState(seed).randn(1, zdim): "z64" holds the
float64 values (repr, exact), "z32" the same cast to float32 as the bot does.
Run with Debian's python3-numpy: /usr/bin/python3 latents.py > latents.json
"""
import json
import numpy

CASES = [(0, 8), (1, 7), (42, 128), (123456789, 16), (1234567890, 512), (4294967295, 9), (999999999, 3)]

out = {"numpy": numpy.__version__, "cases": []}
for seed, zdim in CASES:
    z = numpy.random.RandomState(seed).randn(1, zdim)
    out["cases"].append({
        "seed": seed,
        "zdim": zdim,
        "z64": [float(v) for v in z[0]],
        "z32": [float(v) for v in z[0].astype(numpy.float32)],
    })
print(json.dumps(out, indent=1))
