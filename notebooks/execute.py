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
from jupyter_client.manager import KernelManager
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


STARTS = 5
CHANNELS = 5  # shell, control, stdin, iopub, heartbeat


def start_kernel(kernel, log, startup_timeout):
    """Starts the kernel and returns its manager once all its channels are bound.

    rapaio-jupyter-kernel 3.0.1 starts its shell thread before it registers the message handlers; a
    request that is already waiting (jupyter_client sends kernel_info at once, and ZeroMQ queues it)
    can reach that thread first and kill it, and the kernel never answers. So nothing is sent before
    the kernel has logged the binding of every channel, plus a grace second.
    """
    offset = log.tell()
    km = KernelManager(kernel_name=kernel)
    km.start_kernel(stdout=log, stderr=log)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline and km.is_alive():
        with open(log.name) as f:
            f.seek(offset)
            if f.read().count("Binding") >= CHANNELS:
                time.sleep(1)
                return km
        time.sleep(0.2)
    return km


def run(nb, path, args, log, current):
    """Executes nb in a fresh kernel; current[0] follows the index of the cell being run."""
    log.flush()
    km = start_kernel(args.kernel, log, 15)
    client = NotebookClient(nb, km=km, timeout=args.timeout, startup_timeout=10,
                            on_cell_start=lambda cell, cell_index: current.__setitem__(0, cell_index),
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    try:
        client.execute()
    finally:
        # nbclient leaves its exit hook registered when the kernel never became ready; the kernel
        # is shut down here, and the hook would only print a traceback at exit.
        atexit.unregister(client._cleanup_kernel)
        if client.kc is not None:
            client.kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)


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
                current = [None]
                try:
                    run(nb, path, args, log, current)
                    status = "ok"
                    break
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
                    index = current[0] if current[0] is not None else 0
                    source = nb.cells[index].source.strip()
                    head = source.splitlines()[0] if source else ""
                    status = "FAILED"
                    print(f"{name}: cell {index + 1} of {len(nb.cells)} failed ({type(e).__name__}): {head}\n{e}"
                          f"\n(kernel log: {log_path})", file=sys.stderr)
                    break
                except RuntimeError as e:
                    status = "FAILED"
                    if current[0] is not None:
                        print(f"{name}: cell {current[0] + 1} of {len(nb.cells)} failed: {e}", file=sys.stderr)
                        break
                    # The kernel never answered (see start_kernel); no cell has run, so a fresh start is safe.
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
