#!/usr/bin/env python3
"""Run imagegen/export/stylegan2_onnx.py with the TorchScript ONNX exporter.

PyTorch 2.9 and later default torch.onnx.export to the dynamo exporter; the
export script was written and checked with the TorchScript one (PyTorch 1.13),
and passes dynamic_axes and opset 17 as that exporter expects. Where the
installed torch.onnx.export takes a `dynamo` argument, this wrapper passes
dynamo=False; all arguments go to the script unchanged.
"""

import inspect
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "imagegen", "export"))

import torch  # noqa: E402
import stylegan2_onnx  # noqa: E402

_export = torch.onnx.export
if "dynamo" in inspect.signature(_export).parameters:
    def _legacy(*args, **kwargs):
        kwargs.setdefault("dynamo", False)
        return _export(*args, **kwargs)

    torch.onnx.export = _legacy

stylegan2_onnx.main(sys.argv[1:])
