#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for spindle.layers.attention.MultiHeadLatentAttention (MlaTorchParityTest).

Usage: /usr/bin/python3 mla_ref.py TORCH_REF_DIR INPUT.json OUTPUT.json

Builds shared/bench/torch_ref.py's MLAttention in float64 from INPUT (a Hugging Face style config,
the layer's weights under their checkpoint names, x, a seed tensor and the RoPE cos/sin tables the
Java side used, so that this checks attention, not table rounding), runs it on x, and writes to
OUTPUT the output y and the gradients of sum(y * seed) with respect to x and every weight, flattened.
"""
import json
import sys

try:
    import torch
except ImportError as e:
    sys.stderr.write("mla_ref.py: %s cannot import torch (%s)\n" % (sys.executable, e))
    sys.exit(3)

sys.path.insert(0, sys.argv[1])
from torch_ref import MLAttention  # noqa: E402


def tensor(entry):
    return torch.tensor(entry["data"], dtype=torch.float64).reshape(entry["shape"])


def main():
    inp = json.load(open(sys.argv[2]))
    c = inp["config"]
    attn = MLAttention(c).double()
    attn.load_state_dict({k: tensor(v) for k, v in inp["params"].items()}, strict=True)
    x = tensor(inp["x"]).requires_grad_(True)
    cos, sin = tensor(inp["cos"]), tensor(inp["sin"])
    y = attn(x, cos, sin)
    (y * tensor(inp["seed"])).sum().backward()
    grads = {n: p.grad.flatten().tolist() for n, p in attn.named_parameters()}
    grads["x"] = x.grad.flatten().tolist()
    json.dump({"y": y.detach().flatten().tolist(), "grads": grads}, open(sys.argv[3], "w"))


if __name__ == "__main__":
    main()
