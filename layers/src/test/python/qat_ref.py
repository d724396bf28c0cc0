#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for spindle.layers.qat (FakeQuantTorchParityTest).

Usage: /usr/bin/python3 qat_ref.py TORCH_REF_DIR INPUT.json OUTPUT.json

INPUT holds a list of cases. A fake-quantizer case ("act", "8da4w", "int4wo", "int8wo") runs torch_ref's
fq_act_int8_per_token or fq_weight on x in its dtype and writes y and d sum(y * seed) / dx; a "linear" case
builds torch_ref's QatLinear around an nn.Linear holding the given weight and bias and writes y and the
gradients of x, weight and bias. Everything is flattened in row-major order.
"""
import json
import sys

try:
    import torch
except ImportError as e:
    sys.stderr.write("qat_ref.py: %s cannot import torch (%s)\n" % (sys.executable, e))
    sys.exit(3)

sys.path.insert(0, sys.argv[1])
from torch_ref import QatLinear, fq_act_int8_per_token, fq_weight  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def tensor(entry, dtype):
    return torch.tensor(entry["data"], dtype=dtype).reshape(entry["shape"])


def flat(t):
    return t.detach().double().reshape(-1).tolist()


def run(case):
    dtype = DTYPES[case["dtype"]]
    x = tensor(case["x"], dtype).requires_grad_(True)
    seed = tensor(case["seed"], dtype)
    kind = case["kind"]
    if kind == "act":
        y = fq_act_int8_per_token(x)
    elif kind == "linear":
        w = tensor(case["weight"], dtype)
        base = torch.nn.Linear(w.shape[1], w.shape[0], bias="bias" in case).to(dtype)
        with torch.no_grad():
            base.weight.copy_(w)
            if "bias" in case:
                base.bias.copy_(tensor(case["bias"], dtype))
        y = QatLinear(base, case["scheme"], case["group"])(x)
        (y * seed).sum().backward()
        grads = {"x": flat(x.grad), "weight": flat(base.weight.grad)}
        if "bias" in case:
            grads["bias"] = flat(base.bias.grad)
        return {"y": flat(y), "grads": grads}
    else:
        y = fq_weight(x, kind, case["group"])
    (y * seed).sum().backward()
    return {"y": flat(y), "grads": {"x": flat(x.grad)}}


cases = json.load(open(sys.argv[2]))
json.dump([run(c) for c in cases], open(sys.argv[3], "w"))
