#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch reference for spindle.layers.moe's parity test (MoeTorchParityTest).

Usage: /usr/bin/python3 moe_ref.py INPUT.json OUTPUT.json

INPUT (written by the Java test): a list of cases, each with the MoE options (the field names of Spindle's
ExpertDims, RouterOptions and BalanceOptions, in one flat map), the training flag, x [B, T, hidden], the
parameters under their Hugging Face names relative to the layer's `mlp` and the upstream gradient dy.
OUTPUT: per case the output y, the balance loss, the slots routed to each expert and
d(sum(y * dy) + loss) / d(x and every parameter), all in float64.

With the default options the forward is the MoE of torch_ref.py, the benchmark model (softmax top-k, weights
normalised when norm_topk_prob then times routed_scaling_factor, the Switch/DeepSeek-V2 balance loss
alpha * sum_i f_i * P_i), except that f is float64 here. The other options follow DeepSeek-V3: sigmoid
scores, group-limited top-k (group score = sum of the two best keys for sigmoid, the best key for softmax),
the loss-free bias in the selection key only, the sequence-wise balance loss on scores normalised per token,
plus the router z-loss and a capacity limit that keeps the earliest tokens of each expert in training.
"""
import json
import math
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    sys.stderr.write("moe_ref.py: %s cannot import torch (%s); install PyTorch for it "
                     "(Debian's python3-torch, as .ci/run does)\n" % (sys.executable, e))
    sys.exit(3)

torch.set_default_dtype(torch.float64)


def tensor(entry, grad=False):
    return torch.tensor(entry["data"], dtype=torch.float64).reshape(entry["shape"]).requires_grad_(grad)


def swiglu(p, prefix, x):
    return F.linear(F.silu(F.linear(x, p[prefix + "gate_proj.weight"])) * F.linear(x, p[prefix + "up_proj.weight"]),
                    p[prefix + "down_proj.weight"])


def select(c, scores, bias):
    key = scores if bias is None else scores + bias
    n, e = key.shape
    if c["nGroup"] > 1:
        g = key.view(n, c["nGroup"], -1)
        per = g.shape[-1]
        if c["scoring"] == "SIGMOID" and per > 1:
            group_score = g.topk(2, dim=-1).values.sum(-1)
        else:
            group_score = g.max(-1).values
        best = group_score.topk(c["topkGroup"], dim=-1).indices
        allowed = torch.zeros(n, c["nGroup"], dtype=torch.bool).scatter_(1, best, True)
        key = key.masked_fill(~allowed.repeat_interleave(per, dim=1), float("-inf"))
    return key.topk(c["topK"], dim=-1).indices


def forward(c, training, x, p, bias):
    b, t, d = x.shape
    n_exp, k = c["nRoutedExperts"], c["topK"]
    x = x.reshape(-1, d)
    logits = F.linear(x, p["gate.weight"])
    scores = logits.softmax(-1) if c["scoring"] == "SOFTMAX" else logits.sigmoid()
    with torch.no_grad():
        idx = select(c, scores, bias)
    w = scores.gather(1, idx)
    if c["normTopkProb"]:
        w = w / w.sum(-1, keepdim=True)
    w = w * c["routedScalingFactor"]
    cap = math.ceil(c["capacityFactor"] * x.shape[0] * k / n_exp) if training and c["capacityFactor"] > 0 else None
    y = torch.zeros_like(x)
    for e in range(n_exp):
        tok, slot = (idx == e).nonzero(as_tuple=True)   # row-major: tokens in increasing order
        if cap is not None:
            tok, slot = tok[:cap], slot[:cap]
        if tok.numel():
            y = y.index_add(0, tok, swiglu(p, "experts.%d." % e, x[tok]) * w[tok, slot, None])
    if "shared_experts.gate_proj.weight" in p:
        y = y + swiglu(p, "shared_experts.", x)
    counts = torch.zeros(n_exp).index_add_(0, idx.flatten(), torch.ones(idx.numel()))
    loss = torch.zeros(())
    if c["auxLossAlpha"] > 0:
        probs = scores if c["scoring"] == "SOFTMAX" else scores / scores.sum(-1, keepdim=True)
        if c["seqAux"]:
            ce = torch.zeros(b, n_exp).scatter_add_(1, idx.view(b, -1), torch.ones(b, t * k)) * n_exp / (t * k)
            loss = loss + (ce * probs.view(b, t, n_exp).mean(1)).sum(1).mean() * c["auxLossAlpha"]
        else:
            f = counts * n_exp / idx.numel()
            loss = loss + c["auxLossAlpha"] * (f * probs.mean(0)).sum()
    if c["zLossCoef"] > 0:
        loss = loss + c["zLossCoef"] * torch.logsumexp(logits, -1).square().mean()
    return y.view(b, t, d), loss, counts


def run(case):
    x = tensor(case["x"], True)
    params = {name: tensor(v, True) for name, v in case["params"].items()}
    bias = tensor(case["bias"]) if "bias" in case else None
    y, loss, counts = forward(case["config"], case["training"], x, params, bias)
    ((y * tensor(case["dy"])).sum() + loss).backward()
    # an expert that got no tokens has no .grad in PyTorch; Spindle gives it zeros
    grads = {name: (v.grad if v.grad is not None else torch.zeros_like(v)).flatten().tolist()
             for name, v in params.items()}
    grads["x"] = x.grad.flatten().tolist()
    return {"y": y.detach().flatten().tolist(), "loss": loss.item(), "counts": [int(v) for v in counts.tolist()],
            "grads": grads}


if __name__ == "__main__":
    cases = json.load(open(sys.argv[1]))
    json.dump({name: run(case) for name, case in cases.items()}, open(sys.argv[2], "w"))
