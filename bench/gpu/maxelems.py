#!/usr/bin/env python3
"""Largest intermediate tensor of an ONNX model per image, and the largest batch
that keeps every tensor under 2^31 elements (ONNX Runtime's CUDA kernels index
some tensors with 32-bit integers; Resize was seen failing at 2^31).

Usage: maxelems.py model.onnx result.json
Shapes come from ONNX shape inference with the batch dimension symbolic; a
dimension that stays unknown is counted in "unknown" and that tensor skipped.
"""

import json
import sys

import onnx
from onnx import shape_inference

LIMIT = 2**31 - 1


def main(path, out):
    m = shape_inference.infer_shapes(onnx.load(path))
    g = m.graph
    best, name, shape, unknown = 0, "", "", 0
    for vi in list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            unknown += 1
            continue
        n, dims, ok = 1, [], True
        if not t.shape.dim or not t.shape.dim[0].HasField("dim_param"):
            continue  # no batch dimension (weights, shapes): does not grow with the batch
        for i, d in enumerate(t.shape.dim):
            if d.HasField("dim_value"):
                n *= d.dim_value
                dims.append(str(d.dim_value))
            elif i == 0 and d.HasField("dim_param"):
                dims.append(d.dim_param)  # the batch dimension
            else:
                ok = False
                break
        if not ok:
            unknown += 1
            continue
        if n > best:
            best, name, shape = n, vi.name, "[" + ",".join(dims) + "]"
    res = {"max_per_image": best, "tensor": name, "shape": shape, "unknown": unknown,
           "safe_batch": LIMIT // best if best else 0}
    with open(out, "w") as f:
        json.dump(res, f)
    print(f"maxelems: largest intermediate {name} {shape} = {best} elements per image; "
          f"batch <= {res['safe_batch']} stays under 2^31; {unknown} tensors of unknown shape")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
