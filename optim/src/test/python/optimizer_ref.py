#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference trajectories for spindle.optim's parity test (TorchParityTest).

Usage: /usr/bin/python3 optimizer_ref.py INPUT.json OUTPUT.json

INPUT (written by the Java test): the fixed problem per dtype (x, y, initial weight and bias), the
number of steps and the cases (optimizer, default options, parameter groups with overrides), all
with Spindle's option names. OUTPUT: per case and parameter, the flattened value after every step.
The loss is mean((x W^T + b - y)^2) + quartic * sum(W^4), built from the same ops as the Java side.
"""
import json
import sys

try:
    import torch
except ImportError as e:
    sys.stderr.write("optimizer_ref.py: %s cannot import torch (%s); install PyTorch for it "
                     "(Debian's python3-torch, as .ci/run does)\n" % (sys.executable, e))
    sys.exit(3)

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def torch_options(kind, opts):
    """Spindle option names -> keyword arguments of the torch.optim class."""
    out = {}
    for name, value in opts.items():
        if name in ("beta1", "beta2"):
            betas = list(out.get("betas", (None, None)))
            betas[0 if name == "beta1" else 1] = value
            out["betas"] = tuple(betas)
        elif name in ("nesterov", "amsgrad"):
            out[name] = bool(value)
        elif name in ("lr", "weight_decay", "momentum", "dampening", "eps"):
            out[name] = value
        else:
            raise ValueError("unknown option %r for %s" % (name, kind))
    return out


def make_optimizer(case, named):
    cls = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}[case["optimizer"]]
    defaults = torch_options(case["optimizer"], case["defaults"])
    groups = []
    for g in case["groups"]:
        group = {"params": [named[n] for n in g["params"]]}
        overrides = torch_options(case["optimizer"], g["overrides"])
        if "betas" in overrides:  # a single overridden beta keeps the default for the other
            overrides["betas"] = tuple(d if o is None else o for o, d in zip(overrides["betas"], defaults["betas"]))
        group.update(overrides)
        groups.append(group)
    return cls(groups, **defaults)


def loss_fn(problem, weight, bias):
    r = torch.nn.functional.linear(problem["x"], weight, bias) - problem["y"]
    w2 = weight * weight
    return (r * r).mean() + (w2 * w2).sum() * problem["quartic"]


def run(case, problem_json, names, steps):
    dtype = DTYPES[case["dtype"]]
    problem = {k: torch.tensor(problem_json[k], dtype=dtype) for k in ("x", "y")}
    problem["quartic"] = problem_json["quartic"]
    weight = torch.tensor(problem_json["weight"], dtype=dtype, requires_grad=True)
    bias = torch.tensor(problem_json["bias"], dtype=dtype, requires_grad=True)
    named = {names["weight"]: weight, names["bias"]: bias}
    opt = make_optimizer(case, named)
    trajectory = {n: [] for n in named}
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_fn(problem, weight, bias).backward()
        opt.step()
        for n, t in named.items():
            trajectory[n].append(t.detach().reshape(-1).tolist())
    return trajectory


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    torch.set_num_threads(1)
    with open(argv[1]) as f:
        spec = json.load(f)
    out = {c["name"]: run(c, spec["problems"][c["dtype"]], spec["names"], spec["steps"]) for c in spec["cases"]}
    with open(argv[2], "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
