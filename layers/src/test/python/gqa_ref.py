#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for spindle.layers.attention.MultiHeadAttention (GqaTorchParityTest).

Usage: /usr/bin/python3 gqa_ref.py TORCH_REF_DIR INPUT.json OUTPUT.json

Builds torch_ref.py's GQAttention in float64 with the weights in INPUT, runs it on x with the cos/sin
tables given in INPUT, or else torch_ref.rope_tables cast to float64 (what LM(c).double() uses), and
writes y and the gradients of sum(y * seed) for x and every weight, flattened.
"""
import json
import sys

try:
    import torch
except ImportError as e:
    sys.stderr.write("gqa_ref.py: %s cannot import torch (%s)\n" % (sys.executable, e))
    sys.exit(3)

sys.path.insert(0, sys.argv[1])
from torch_ref import GQAttention, rope_tables  # noqa: E402


def tensor(entry):
    return torch.tensor(entry["data"], dtype=torch.float64).reshape(entry["shape"])


inp = json.load(open(sys.argv[2]))
c = inp["config"]
model = GQAttention(c).double()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(tensor(inp["params"][name]))
x = tensor(inp["x"]).requires_grad_(True)
s = x.shape[1]
if "cos" in inp:
    cos, sin = tensor(inp["cos"]), tensor(inp["sin"])
else:
    cos, sin = rope_tables(c["hidden_size"] // c["num_attention_heads"], s, c["rope_theta"])
    cos, sin = cos.double(), sin.double()
y = model(x, cos, sin)
(y * tensor(inp["seed"])).sum().backward()
grads = {"x": x.grad.flatten().tolist()}
grads.update({n: p.grad.flatten().tolist() for n, p in model.named_parameters()})
json.dump({"y": y.detach().flatten().tolist(), "grads": grads}, open(sys.argv[3], "w"))
