# SPDX-License-Identifier: Apache-2.0
"""Executes notebooks with nbclient and names the notebook and the cell that failed.

A code cell tagged "image" must display a PNG: the run fails when it shows none. The committed
notebooks carry their outputs, so the executed copies go to --out and the committed files stay as
they are; --update writes a notebook that ran cleanly back over its source instead.

Usage: execute.py --kernel NAME --timeout SECONDS --out DIR [--update] notebook.ipynb...
"""
import argparse
import atexit
import base64
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from jupyter_client.manager import KernelManager
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


STARTS = 5
CHANNELS = 5  # shell, control, stdin, iopub, heartbeat
IMAGE_TAG = "image"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def shows_png(cell):
    """True when one of the cell's outputs is a PNG (base64 text that decodes to a PNG signature)."""
    for output in cell.get("outputs", []):
        png = output.get("data", {}).get("image/png")
        if isinstance(png, list):
            png = "".join(png)
        if png and base64.b64decode(png)[:len(PNG_SIGNATURE)] == PNG_SIGNATURE:
            return True
    return False


def missing_images(nb):
    """1-based numbers of the code cells tagged "image" that show no PNG."""
    return [i + 1 for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and IMAGE_TAG in cell.metadata.get("tags", []) and not shows_png(cell)]


def not_committed_executed(nb):
    """Why a committed notebook does not show its results (None when it does): a code cell never run, or an
    "image" cell without its picture."""
    never_run = [i + 1 for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.execution_count is None]
    if never_run:
        return f"code cells {never_run} have never been run"
    if missing_images(nb):
        return f"cells {missing_images(nb)} are tagged \"{IMAGE_TAG}\" but show no PNG"
    return None


def coalesce_streams(nb):
    """Joins each run of stdout (or stderr) outputs into one: the kernel sends every print separately."""
    for cell in nb.cells:
        merged = []
        for output in cell.get("outputs", []):
            if (output.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == output.name):
                merged[-1].text += output.text
            else:
                merged.append(output)
        if "outputs" in cell:
            cell.outputs = merged


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
    # No per-cell timestamps: they would change every committed cell on each --update.
    client = NotebookClient(nb, km=km, timeout=args.timeout, startup_timeout=10, record_timing=False,
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


def execute(path, args, log):
    """Runs the notebook at path, restarting a kernel that never answered; returns it executed and "ok" or
    "FAILED"."""
    name = os.path.basename(path)
    status = "FAILED"
    for attempt in range(1, STARTS + 1):
        nb = nbformat.read(path, as_version=4)
        current = [None]
        try:
            run(nb, path, args, log, current)
            return nb, "ok"
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
            index = current[0] if current[0] is not None else 0
            source = nb.cells[index].source.strip()
            head = source.splitlines()[0] if source else ""
            print(f"{name}: cell {index + 1} of {len(nb.cells)} failed ({type(e).__name__}): {head}\n{e}"
                  f"\n(kernel log: {log.name})", file=sys.stderr)
            return nb, status
        except RuntimeError as e:
            if current[0] is not None:
                print(f"{name}: cell {current[0] + 1} of {len(nb.cells)} failed: {e}", file=sys.stderr)
                return nb, status
            # The kernel never answered (see start_kernel); no cell has run, so a fresh start is safe.
            print(f"{name}: kernel start {attempt} of {STARTS} failed: {e}", file=sys.stderr)
    return nb, status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--timeout", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--update", action="store_true",
                        help="write each notebook that ran cleanly back over its source, outputs included")
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args()
    failures = []
    for path in args.notebooks:
        name = os.path.basename(path)
        start = time.monotonic()
        stale = None if args.update else not_committed_executed(nbformat.read(path, as_version=4))
        # The kernel's own chatter (classpath lines, channel logs) goes to a log file, not the CI log.
        with open(os.path.join(args.out, name.replace(".ipynb", ".kernel.log")), "w") as log:
            nb, status = execute(path, args, log)
        coalesce_streams(nb)
        if status == "ok" and missing_images(nb):
            status = "FAILED"
            print(f"{name}: cells {missing_images(nb)} are tagged \"{IMAGE_TAG}\" but displayed no PNG",
                  file=sys.stderr)
        nbformat.write(nb, os.path.join(args.out, name))
        if status == "ok" and args.update:
            nbformat.write(nb, path)
        if status == "ok" and stale:
            status = "FAILED"
            print(f"{name}: ran, but the committed notebook does not show its results ({stale});"
                  f" commit it executed: bash notebooks/run.sh --update {path}", file=sys.stderr)
        if status != "ok":
            failures.append(name)
        print(f"{name}: {status} in {time.monotonic() - start:.1f} s", flush=True)
    passed = len(args.notebooks) - len(failures)
    print(f"notebooks: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
