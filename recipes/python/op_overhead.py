# SPDX-License-Identifier: Apache-2.0
"""PyTorch counterpart of `./spindle op-overhead`: the same small ops, timed the same way.

Run: /usr/bin/python3 recipes/python/op_overhead.py [--size 8] [--iters 20000] [--threads 2]
"""
import argparse
import json
import time

import torch


def median(body, iters):
    rounds = []
    for r in range(-1, 5):
        t0 = time.perf_counter()
        for _ in range(iters):
            body()
        if r >= 0:
            rounds.append((time.perf_counter() - t0) * 1e6 / iters)
    rounds.sort()
    return rounds[len(rounds) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=8)
    p.add_argument("--iters", type=int, default=20000)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    a = torch.rand(args.size, args.size, requires_grad=True)
    b = torch.rand(args.size, args.size, requires_grad=True)
    seed = torch.ones(args.size, args.size)

    def step():
        c = a * b
        c.backward(seed)
        a.grad = None
        b.grad = None

    with torch.no_grad():
        raw = median(lambda: a + b, args.iters)
    forward = median(lambda: a + b, args.iters)
    print(json.dumps({"op": "add/mul", "shape": [args.size, args.size], "torch_add_no_grad_us": round(raw, 2),
                      "torch_add_forward_us": round(forward, 2),
                      "torch_mul_forward_backward_us": round(median(step, args.iters), 2)}))


if __name__ == "__main__":
    main()
