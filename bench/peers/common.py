"""Shared by the peers: their options, thread limits set before numpy loads, the data file,
the JSON line."""
import argparse
import json
import os
import sys


def parse_args(description, threads_help):
    """The options every peer takes (data file, threads, shape, epochs)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", required=True, help="HDF5 file from 'zeta data import'")
    parser.add_argument("--threads", type=int, default=1, help=threads_help)
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=2, help="epochs, each timed alone")
    return parser.parse_args()


def limit_threads(threads):
    """Caps every thread pool (OpenBLAS, OpenMP) at `threads`; call before importing numpy."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def load_visible(path, split="train"):
    """The 0/1 rows of a Zeta data file's split as float32 [rows, pixels]."""
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        if f"/{split}/visible" not in f:
            sys.exit(f"{path}: no /{split}/visible (make it with 'zeta data import')")
        return np.ascontiguousarray(f[f"/{split}/visible"][:], dtype=np.float32)


def report(peer, method, threads, rows, epoch_seconds):
    """Prints the peer's result as one JSON line: the fastest epoch, and all of them."""
    best = min(epoch_seconds)
    print(json.dumps({"peer": peer, "method": method, "threads": threads, "samples": rows,
                      "seconds": best, "samples_per_second": rows / best,
                      "epoch_seconds": epoch_seconds}))
