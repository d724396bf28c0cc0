#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for spindle.layers' basic layers (TorchLayersTest).

Usage: /usr/bin/python3 layers_ref.py TORCH_REF_DIR INPUT.json OUTPUT.json

INPUT (written by the Java test): {case name: {"kind", "config", "x" or "ids", "params", "dy"}}, each tensor
as {"shape": [...], "data": [flat, row-major]}; params under their Hugging Face names. Each case builds the
torch module (nn.Linear, nn.Embedding, nn.LayerNorm, torch_ref's RMSNorm and SwiGLU, an up/act/down MLP
with nn.GELU or nn.ReLU), loads the params, runs forward and backward of sum(y * dy) in float64, and writes
{case name: {"y": tensor, "grads": {"x" or param name: tensor}}}.
"""
import json
import sys

try:
    import torch
    import torch.nn as nn
except ImportError as e:
    sys.stderr.write("layers_ref.py: %s cannot import torch (%s); install PyTorch for it "
                     "(Debian's python3-torch, as .ci/run does)\n" % (sys.executable, e))
    sys.exit(3)

sys.path.insert(0, sys.argv[1])
from torch_ref import RMSNorm, SwiGLU  # noqa: E402

torch.set_default_dtype(torch.float64)


class MLP(nn.Module):
    def __init__(self, hidden, intermediate, act, bias):
        super().__init__()
        self.up_proj = nn.Linear(hidden, intermediate, bias=bias)
        self.act = {"RELU": nn.ReLU(), "GELU": nn.GELU(), "GELU_TANH": nn.GELU(approximate="tanh")}[act]
        self.down_proj = nn.Linear(intermediate, hidden, bias=bias)

    def forward(self, x):
        return self.down_proj(self.act(self.up_proj(x)))


def build(kind, c):
    if kind == "linear":
        return nn.Linear(c["in"], c["out"], bias=c["bias"])
    if kind == "embedding":
        return nn.Embedding(c["vocab"], c["dim"])
    if kind == "layer_norm":
        return nn.LayerNorm(c["dim"], eps=c["eps"], elementwise_affine=c["affine"])
    if kind == "rms_norm":
        return RMSNorm(c["dim"], c["eps"])
    if kind == "swiglu":
        return SwiGLU(c["hidden"], c["intermediate"])
    if kind == "mlp":
        return MLP(c["hidden"], c["intermediate"], c["act"], c["bias"])
    raise ValueError("unknown layer kind " + kind)


def tensor(entry, dtype=torch.float64):
    return torch.tensor(entry["data"], dtype=dtype).reshape(entry["shape"])


def dump(t):
    return {"shape": list(t.shape), "data": t.detach().double().flatten().tolist()}


def run(case):
    module = build(case["kind"], case["config"])
    module.load_state_dict({k: tensor(v) for k, v in case["params"].items()}, strict=True)
    if "ids" in case:
        x = tensor(case["ids"], torch.long)
    else:
        x = tensor(case["x"]).requires_grad_(True)
    y = module(x)
    (y * tensor(case["dy"])).sum().backward()
    grads = {name: dump(p.grad) for name, p in module.named_parameters()}
    if x.requires_grad:
        grads["x"] = dump(x.grad)
    return {"y": dump(y), "grads": grads}


if __name__ == "__main__":
    cases = json.load(open(sys.argv[2]))
    json.dump({name: run(case) for name, case in cases.items()}, open(sys.argv[3], "w"))
