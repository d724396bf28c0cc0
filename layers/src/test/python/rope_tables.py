#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""torch_ref.rope_tables for RopeTest: prints {"cos": [...], "sin": [...]} (float32 values, flattened).

Usage: /usr/bin/python3 rope_tables.py TORCH_REF_DIR ROT_DIM SEQ_LEN THETA [ROPE_SCALING_JSON]
"""
import json
import sys

try:
    import torch  # noqa: F401
except ImportError as e:
    sys.stderr.write("rope_tables.py: %s cannot import torch (%s)\n" % (sys.executable, e))
    sys.exit(3)

sys.path.insert(0, sys.argv[1])
from torch_ref import rope_tables  # noqa: E402

scaling = json.loads(sys.argv[5]) if len(sys.argv) > 5 else None
cos, sin = rope_tables(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), scaling)
print(json.dumps({"cos": cos.double().flatten().tolist(), "sin": sin.double().flatten().tolist()}))
