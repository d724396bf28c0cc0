#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""torch_ref.rope_tables for RopeTest: prints {"cos": [...], "sin": [...]} (float32 values, flattened).

Usage: /usr/bin/python3 rope_tables.py TORCH_REF_DIR ROT_DIM SEQ_LEN THETA
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

cos, sin = rope_tables(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
print(json.dumps({"cos": cos.double().flatten().tolist(), "sin": sin.double().flatten().tolist()}))
