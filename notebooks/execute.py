# SPDX-License-Identifier: Apache-2.0
"""Executes notebooks with nbclient and names the notebook and the cell that failed.

Usage: execute.py --kernel NAME --timeout SECONDS --out DIR notebook.ipynb...
"""
import argparse
import atexit
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def failed_cell(nb):
    """0-based index and source of the cell whose execution failed (the last one that ran)."""
    ran = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")]
    for i, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i, cell.source
    i = ran[-1] + 1 if ran else 0
    code = [j for j, c in enumerate(nb.cells) if c.cell_type == "code" and j >= i]
    i = code[0] if code else len(nb.cells) - 1
    return i, nb.cells[i].source


STARTS = 3


def run(nb, path, args, log):
    client = NotebookClient(nb, kernel_name=args.kernel, timeout=args.timeout, startup_timeout=20,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    try:
        client.execute(stdout=log, stderr=log)
    finally:
        # nbclient leaves its exit hook registered when the kernel never became ready; the kernel
        # is already shut down then, and the hook would only print a traceback at exit.
        atexit.unregister(client._cleanup_kernel)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--timeout", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args()
    failures = []
    for path in args.notebooks:
        name = os.path.basename(path)
        log_path = os.path.join(args.out, name.replace(".ipynb", ".kernel.log"))
        start = time.monotonic()
        # The kernel's own chatter (classpath lines, channel logs) goes to a log file, not the CI log.
        with open(log_path, "w") as log:
            for attempt in range(1, STARTS + 1):
                nb = nbformat.read(path, as_version=4)
                try:
                    run(nb, path, args, log)
                    status = "ok"
                    break
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
                    index, source = failed_cell(nb)
                    head = source.strip().splitlines()[0] if source.strip() else ""
                    status = "FAILED"
                    print(f"{name}: cell {index + 1} of {len(nb.cells)} failed ({type(e).__name__}): {head}\n{e}"
                          f"\n(kernel log: {log_path})", file=sys.stderr)
                    break
                except RuntimeError as e:
                    # rapaio's kernel now and then misses the first kernel_info requests and never
                    # answers; no cell has run then, so a fresh start is safe.
                    status = "FAILED"
                    print(f"{name}: kernel start {attempt} of {STARTS} failed: {e}", file=sys.stderr)
            nbformat.write(nb, os.path.join(args.out, name))
        if status != "ok":
            failures.append(name)
        print(f"{name}: {status} in {time.monotonic() - start:.1f} s", flush=True)
    passed = len(args.notebooks) - len(failures)
    print(f"notebooks: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
