"""Cost per network of the mode survey (analysis.survey.network_row): full spectrum vs SLEPc.

For each kind and size L, the same networks (seeds 0..repeat-1) are analysed
both ways side by side: the whole dense spectrum (what ``survey`` uses up to
``full_max_nodes`` nodes) and the k lowest modes from SLEPc (above it). Each
time includes the elastic solves for both loads and the bond statistics; the
mean per network is printed with the ratio full/SLEPc.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_survey.py [--sizes 8 12 16]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hpcnet.analysis.survey import network_row  # noqa: E402
from hpcnet.generators import generate  # noqa: E402


def mean_time(nets, **options) -> float:
    """Mean seconds of network_row over ``nets`` (after one warm-up call)."""
    network_row(nets[0], **options)
    start = time.perf_counter()
    for net in nets:
        network_row(net, **options)
    return (time.perf_counter() - start) / len(nets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 12, 16])
    parser.add_argument("--kinds", nargs="+", default=["tri", "delaunay", "packing"])
    parser.add_argument("-k", type=int, default=20, help="SLEPc modes (default 20)")
    parser.add_argument("--repeat", type=int, default=5, help="networks per kind and size")
    args = parser.parse_args()

    print(f"1 rank, k = {args.k}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"mean over {args.repeat} networks")
    print(f"{'kind':<9} {'L':>3} {'N':>5} {'full [ms]':>10} {'SLEPc [ms]':>11} "
          f"{'full/SLEPc':>11}")
    for kind in args.kinds:
        for L in args.sizes:
            options = {"distortion": 0.3} if kind == "tri" else {}
            nets = [generate(kind, L, seed, **options) for seed in range(args.repeat)]
            full = mean_time(nets, full=True)
            lowest = mean_time(nets, k=args.k, full=False)
            n_nodes = round(sum(net.n_nodes for net in nets) / len(nets))
            print(f"{kind:<9} {L:3d} {n_nodes:5d} {1e3 * full:10.1f} {1e3 * lowest:11.1f} "
                  f"{full / lowest:10.2f}x", flush=True)


if __name__ == "__main__":
    main()
