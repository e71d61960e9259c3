"""What recording the tuning path costs: file size and time per chain, with and without.

Runs the same small ensemble twice with `hpcnet anneal` on one rank: once with the
default ``--path-step 0.05`` and once with ``--path-step 10`` (no move is that large,
so a path holds its two ends only: the initial network and the answer, whose σ²
the file stored before paths existed). The chains are identical (the step changes
nothing else); the difference is the σ² solve of every snapshot and the ``/path``
datasets. Prints per chain: snapshots, file size, ``/path`` storage and wall time.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_path.py [--sizes 12] [--seeds 0-1]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

STEPS = {"with paths (step 0.05)": "0.05", "ends only (step 10)": "10"}


def run(out: Path, step: str, args) -> float:
    """Run the ensemble; its wall time (seconds, from the command's own report)."""
    cmd = [sys.executable, "-m", "hpcnet", "anneal", "--kinds", args.kinds, "--sizes",
           args.sizes, "--seeds", args.seeds, "--targets", "-0.9,0.9", "--alpha", args.alpha,
           "--lk", args.lk, "--lk-per-bond", "0", "--path-step", step, "-o", str(out)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return float(re.search(r"wall time ([\d.]+) s", proc.stdout).group(1))


def measure(out: Path, wall: float) -> dict:
    with h5py.File(out, "r") as fh:
        tasks = len(fh["tasks/status"])
        path_bytes = sum(d.id.get_storage_size() for d in fh["path"].values())
        return {"chains": tasks, "snapshots": float(np.mean(fh["tasks/n_path"][()])),
                "max_snapshots": int(fh["tasks/n_path"][()].max()),
                "file_kib": out.stat().st_size / 1024 / tasks,
                "path_kib": path_bytes / 1024 / tasks,
                "chain_s": float(np.mean(fh["tasks/wall_time"][()])), "wall_s": wall / tasks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="tri,delaunay,packing")
    parser.add_argument("--sizes", default="12")
    parser.add_argument("--seeds", default="0-1")
    parser.add_argument("--alpha", default="0.8")
    parser.add_argument("--lk", default="100")
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, step in STEPS.items():
            out = Path(tmp) / f"step{step}.h5"
            rows[name] = measure(out, run(out, step, args))
    print(f"{'per chain':24} {'snapshots':>9} {'max':>5} {'file KiB':>9} {'/path KiB':>9} "
          f"{'chain s':>8} {'wall s':>8}")
    for name, r in rows.items():
        print(f"{name:24} {r['snapshots']:9.1f} {r['max_snapshots']:5d} {r['file_kib']:9.1f} "
              f"{r['path_kib']:9.1f} {r['chain_s']:8.2f} {r['wall_s']:8.2f}")
    a, b = rows.values()
    print(f"paths add {a['file_kib'] - b['file_kib']:.1f} KiB per chain "
          f"({a['file_kib'] / b['file_kib']:.2f}x the file) and "
          f"{a['wall_s'] - b['wall_s']:+.2f} s per chain ({a['wall_s'] / b['wall_s']:.2f}x the "
          f"wall time; {a['chains']} chains, kinds {args.kinds}, L = {args.sizes})")


if __name__ == "__main__":
    main()
