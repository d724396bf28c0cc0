#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""float32 angles and torch's cos/sin of them, for TorchFloat32TrigTest.

Usage: /usr/bin/python3 torch_trig.py OUT_FILE

OUT_FILE (little-endian) holds records until its end, each: int32 threads (torch.get_num_threads() for the
op; 0 means every angle was evaluated as its own one-element tensor), int32 n, then float32[n] angles,
float32[n] cos, float32[n] sin. Records: torch_ref's RoPE angle tables (rot_dim 4..128, theta 1e4 and 5e5,
4096 positions) with 1 thread; random angles in [0, 1e5] and [-1e5, 0], also one by one; with 2 threads,
tables and mixed small/large angles whose halves split at an offset that is not a multiple of 8.
"""
import struct
import sys

try:
    import torch
except ImportError as e:
    sys.stderr.write("torch_trig.py: %s cannot import torch (%s)\n" % (sys.executable, e))
    sys.exit(3)


def rope_angles(rot_dim, seq_len, theta):
    # torch_ref.rope_tables up to the cos/sin
    inv = 1.0 / (theta ** (torch.arange(0, rot_dim, 2, dtype=torch.float32) / rot_dim))
    ang = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv)
    return torch.cat([ang, ang], dim=-1).contiguous()


def record(out, threads, angles, cos, sin):
    out.write(struct.pack("<ii", threads, angles.numel()))
    for t in (angles, cos, sin):
        out.write(t.contiguous().view(-1).numpy().astype("<f4").tobytes())


def main():
    g = torch.Generator().manual_seed(0)
    with open(sys.argv[1], "wb") as out:
        torch.set_num_threads(1)
        for theta in (10000.0, 500000.0):
            for rot_dim in (4, 8, 16, 32, 64, 128):
                ang = rope_angles(rot_dim, 4096, theta)
                record(out, 1, ang, ang.cos(), ang.sin())
        pos = torch.rand(1 << 20, generator=g, dtype=torch.float64) * 1e5
        ang = torch.cat([pos, -pos[:1 << 16]]).float()
        record(out, 1, ang, ang.cos(), ang.sin())
        # every angle alone: repeated 8 times, a vector holds only copies of it (as a one-element tensor would)
        alone = ang[:1 << 17]
        wide = alone.repeat_interleave(8)
        record(out, 0, alone, wide.cos()[::8], wide.sin()[::8])
        # two threads: chunks of ceil(n / 2), so vectors straddle rows from the second chunk on
        torch.set_num_threads(2)
        for rot_dim, seq_len in ((4, 1025), (8, 1027), (4, 4095), (6, 999)):
            ang = rope_angles(rot_dim, seq_len, 10000.0)
            record(out, 2, ang, ang.cos(), ang.sin())
        # mostly small angles with some large ones: the result depends on where the second chunk starts
        for n in (4100, 6006, 2049):
            big = torch.rand(n, generator=g) < 0.1
            ang = torch.where(big, 125 + 875 * torch.rand(n, generator=g), 125 * torch.rand(n, generator=g))
            record(out, 2, ang, ang.cos(), ang.sin())


if __name__ == "__main__":
    main()
