"""Writes a safetensors file with PyTorch-made tensors of every dtype Spindle reads, and their values as JSON.

Usage: /usr/bin/python3 write_safetensors.py OUT.safetensors OUT.json
"""
import json
import struct
import sys

import torch


def main(path, values_path):
    g = torch.Generator().manual_seed(3)
    base = torch.randn(3, 5, generator=g, dtype=torch.float64) * 10
    tensors = {
        "f64": base,
        "f32": base.float(),
        "bf16": base.bfloat16(),
        "f16": base.half(),
        "i64": torch.arange(-4, 8, dtype=torch.int64).reshape(2, 6),
        "i32": torch.tensor([-2**31, -1, 0, 2**31 - 1], dtype=torch.int32),
        "u8": torch.tensor([[0, 7], [128, 255]], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        # exact in half precision: the largest finite value, the smallest subnormal, infinity
        "f16_edges": torch.tensor([65504.0, 2.0**-24, -float("inf"), -0.0], dtype=torch.float16),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
    }
    codes = {torch.float64: "F64", torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16",
             torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dim() else t.reshape(1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    # the values as PyTorch widens them to float64, for an exact comparison
    with open(values_path, "w") as f:
        json.dump({name: t.double().flatten().tolist() for name, t in tensors.items()}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
