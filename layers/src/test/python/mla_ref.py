#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for spindle.layers.attention.MultiHeadLatentAttention (MlaTorchParityTest).

Usage: /usr/bin/python3 mla_ref.py TORCH_REF_DIR INPUT.json OUTPUT.json

Builds shared/bench/torch_ref.py's MLAttention in float64 from INPUT (a Hugging Face style config,
the layer's weights under their checkpoint names, x and a seed tensor), runs it on x with float64
RoPE tables of torch_ref's formula, and writes to OUTPUT the output y and the gradients of
sum(y * seed) with respect to x and every weight, all flattened.
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


def rope_tables64(rot_dim, seq_len, theta):
    # torch_ref.rope_tables' formula, evaluated in float64 (torch_ref builds its tables in float32).
    inv = 1.0 / (theta ** (torch.arange(0, rot_dim, 2, dtype=torch.float64) / rot_dim))
    ang = torch.outer(torch.arange(seq_len, dtype=torch.float64), inv)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos(), ang.sin()


def main():
    inp = json.load(open(sys.argv[2]))
    c = inp["config"]
    attn = MLAttention(c).double()
    attn.load_state_dict({k: tensor(v) for k, v in inp["params"].items()}, strict=True)
    x = tensor(inp["x"]).requires_grad_(True)
    cos, sin = rope_tables64(c["qk_rope_head_dim"], x.shape[1], c["rope_theta"])
    y = attn(x, cos, sin)
    (y * tensor(inp["seed"])).sum().backward()
    grads = {n: p.grad.flatten().tolist() for n, p in attn.named_parameters()}
    grads["x"] = x.grad.flatten().tolist()
    json.dump({"y": y.detach().flatten().tolist(), "grads": grads}, open(sys.argv[3], "w"))


if __name__ == "__main__":
    main()
