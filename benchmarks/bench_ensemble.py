"""Ensemble throughput with 1 and 2 ranks, side by side, and the share of time in I/O.

Runs the same mixed ensemble (all kinds, two sizes, both targets) under
`mpirun -n 1` and `mpirun -n 2` into fresh files and prints tasks per second,
the speed-up and the HDF5/journal I/O share reported by `hpcnet anneal`.
Usage: python benchmarks/bench_ensemble.py [--ranks 1,2] [--seeds 0-1] [--sizes 8,12]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(ranks: int, out: Path, args: list[str]) -> tuple[float, float, int]:
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=str(REPO))
    cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "hpcnet", "anneal", *args,
           "-o", str(out)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    io = float(re.search(r"I/O ([\d.]+) s", proc.stdout).group(1))
    done = int(re.search(r"(\d+) of \d+ tasks done", proc.stdout).group(1))
    return wall, io, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--kinds", default="tri,delaunay,packing")
    parser.add_argument("--sizes", default="8,12")
    parser.add_argument("--seeds", default="0-1")
    parser.add_argument("--lk", default="400", help="proposals per temperature (the default)")
    args = parser.parse_args()
    ensemble = ["--kinds", args.kinds, "--sizes", args.sizes, "--seeds", args.seeds,
                "--targets", "-0.9,0.9", "--lk", args.lk]
    print(f"ensemble: {' '.join(ensemble)}")
    print(f"{'ranks':>5} {'tasks':>6} {'wall [s]':>9} {'tasks/s':>8} {'speed-up':>9} "
          f"{'I/O [s]':>8} {'I/O share':>9}")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for ranks in map(int, args.ranks.split(",")):
            wall, io, done = run(ranks, Path(tmp) / f"r{ranks}.h5", ensemble)
            base = base or done / wall
            print(f"{ranks:>5} {done:>6} {wall:>9.1f} {done / wall:>8.3f} "
                  f"{done / wall / base:>8.2f}x {io:>8.2f} {io / wall:>9.1%}")


if __name__ == "__main__":
    main()
