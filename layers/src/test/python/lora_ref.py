#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for spindle.layers.lora's LoraLinear (LoraTorchParityTest).

Usage: /usr/bin/python3 lora_ref.py TORCH_REF_DIR INPUT.json OUTPUT.json

INPUT (written by the Java test): {case name: {"config": {in, out, bias, r, alpha, rslora, dora}, "params",
"x", "dy"}}, each tensor as {"shape": [...], "data": [flat, row-major]}; params under PEFT's names (weight,
bias, lora_A.weight, lora_B.weight, lora_magnitude_vector). Each case wraps a frozen float64 nn.Linear in
torch_ref's LoRALinear, runs forward and backward of sum(y * dy), and writes {case name: {"y": tensor,
"grads": {"x" or PEFT name: tensor}}}; a frozen base weight or bias that got a gradient is an error.
"""
import json
import sys

try:
    import torch
    import torch.nn as nn
except ImportError as e:
    sys.stderr.write("lora_ref.py: %s cannot import torch (%s); install PyTorch for it "
                     "(Debian's python3-torch, as .ci/run does)\n" % (sys.executable, e))
    sys.exit(3)

sys.path.insert(0, sys.argv[1])
from torch_ref import LoRALinear  # noqa: E402

torch.set_default_dtype(torch.float64)


def tensor(entry):
    return torch.tensor(entry["data"], dtype=torch.float64).reshape(entry["shape"])


def dump(t):
    return {"shape": list(t.shape), "data": t.detach().double().flatten().tolist()}


def run(case):
    c, p = case["config"], case["params"]
    base = nn.Linear(c["in"], c["out"], bias=c["bias"])
    with torch.no_grad():
        base.weight.copy_(tensor(p["weight"]))
        if c["bias"]:
            base.bias.copy_(tensor(p["bias"]))
    for q in base.parameters():
        q.requires_grad_(False)
    lora = LoRALinear(base, c["r"], c["alpha"], c["rslora"], c["dora"])
    trained = {"lora_A.weight": lora.lora_A, "lora_B.weight": lora.lora_B}
    if c["dora"]:
        trained["lora_magnitude_vector"] = lora.lora_magnitude_vector
    with torch.no_grad():
        for name, param in trained.items():
            param.copy_(tensor(p[name]))
    x = tensor(case["x"]).requires_grad_(True)
    y = lora(x)
    (y * tensor(case["dy"])).sum().backward()
    if any(q.grad is not None for q in base.parameters()):
        raise SystemExit("lora_ref.py: the frozen base got a gradient")
    grads = {name: dump(param.grad) for name, param in trained.items()}
    grads["x"] = dump(x.grad)
    return {"y": dump(y), "grads": grads}


if __name__ == "__main__":
    cases = json.load(open(sys.argv[2]))
    json.dump({name: run(case) for name, case in cases.items()}, open(sys.argv[3], "w"))
