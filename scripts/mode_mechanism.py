"""Does the two-mode estimate ν̄' track ν? (paper Fig. 4d) And how many modes hold 90%?

For every network (files given, or a generated set: tri at several
distortions, delaunay, and packing when its generator is importable) this
computes ν from the elastic solver and the mode decomposition of both load
responses, then prints one row per network and the linear fit ν̄' = a ν + b
(slope, intercept, Pearson r, Spearman ρ), overall and per kind. Mode counts
for 90% of a response: n90 counts modes in order of weight (largest first),
n90low in order of frequency (what k must be for the lowest modes to hold 90%).
With --all (default for networks up to --dense-max nodes) the full spectrum is
used, so the counts are exact; otherwise the -k lowest modes from SLEPc.

Networks are spread over MPI ranks, each analysed on COMM_SELF:
    python scripts/mode_mechanism.py                      # generated set
    mpirun -n 2 python scripts/mode_mechanism.py a.h5 b.h5 --csv fit.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from hpcnet.analysis.survey import linear_fit, network_row  # noqa: E402
from hpcnet.errors import HpcnetError  # noqa: E402
from hpcnet.generators import generate  # noqa: E402
from hpcnet.network import Network  # noqa: E402

COLUMNS = ("name", "kind", "L", "r", "seed", "nu", "nu_x", "nu_y", "two_mode", "two_mode_x",
           "two_mode_y", "top2_weight", "n90_x", "n90_y", "n90low_x", "n90low_y", "k")


def packing_available() -> bool:
    try:
        import hpcnet.generators.packing  # noqa: F401
    except ImportError:
        return False
    return True


def generated_set(sizes, distortions, seeds, kinds) -> list[tuple[str, dict]]:
    """(label, generate() arguments) of the default set."""
    jobs = []
    for L in sizes:
        for seed in seeds:
            if "tri" in kinds:
                jobs += [(f"tri-L{L}-r{r}-s{seed}", {"kind": "tri", "size": L, "seed": seed,
                                                     "distortion": r}) for r in distortions]
            for kind in ("delaunay", "packing"):
                if kind in kinds:
                    jobs.append((f"{kind}-L{L}-s{seed}", {"kind": kind, "size": L, "seed": seed}))
    return jobs


def row(name: str, net: Network, k: int, dense_max: int, full: bool | None) -> dict:
    numbers = network_row(net, k, full, dense_max)
    counts = {c: None if np.isnan(numbers[c]) else int(numbers[c])
              for c in ("n90_x", "n90_y", "n90low_x", "n90low_y")}
    return {
        "name": name, "kind": net.kind, "L": net.size,
        "r": net.params.get("distortion", float("nan")), "seed": net.seed,
        **{c: numbers[c] for c in ("nu", "nu_x", "nu_y", "two_mode", "two_mode_x",
                                   "two_mode_y", "top2_weight")},
        **counts, "k": int(numbers["modes"]),
    }


def fit(rows: list[dict]) -> str:
    nu = np.array([r["nu"] for r in rows])
    est = np.array([r["two_mode"] for r in rows])
    if len(rows) < 3:
        return f"n = {len(rows)}: too few networks to fit"
    line = linear_fit(nu, est)
    spearman = stats.spearmanr(nu, est).correlation
    return (f"n = {len(rows):3d}  slope {line['slope']:+8.3f}  intercept "
            f"{line['intercept']:+8.3f}  Pearson r {line['r']:+.3f}  Spearman rho "
            f"{spearman:+.3f}  nu in [{nu.min():+.3f}, {nu.max():+.3f}]  nu_bar' in "
            f"[{est.min():+.3f}, {est.max():+.3f}]")


def counts(rows: list[dict], key: str) -> str:
    values = [r[f"{key}_{a}"] for r in rows for a in "xy"]
    known = np.array([v for v in values if v is not None])
    missing = len(values) - len(known)
    text = (f"median {np.median(known):.0f}, mean {known.mean():.1f}, "
            f"range {known.min()}-{known.max()}") if len(known) else "none reached"
    return text + (f", not reached within k in {missing} responses" if missing else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", help="network files (default: a generated set)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 16, 20, 24])
    parser.add_argument("--distortions", type=float, nargs="+",
                        default=[0.1, 0.3, 0.5, 0.7, 0.9])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--kinds", nargs="+", default=["tri", "delaunay", "packing"])
    parser.add_argument("-k", type=int, default=40, help="SLEPc modes when not --all")
    parser.add_argument("--all", dest="full", action="store_true", default=None,
                        help="full spectrum for every network")
    parser.add_argument("--lowest", dest="full", action="store_false",
                        help="the -k lowest modes (SLEPc) for every network")
    parser.add_argument("--dense-max", type=int, default=1024,
                        help="full spectrum up to this many nodes unless --all/--lowest")
    parser.add_argument("--csv", help="also write the rows to this CSV file")
    args = parser.parse_args()

    from mpi4py import MPI

    world = MPI.COMM_WORLD
    kinds = list(args.kinds)
    if "packing" in kinds and not args.files and not packing_available():
        kinds.remove("packing")
        if world.rank == 0:
            print("note: hpcnet.generators.packing is not importable here; packing skipped",
                  file=sys.stderr)
    jobs = args.files or generated_set(args.sizes, args.distortions, args.seeds, kinds)
    mine = []
    for index in range(world.rank, len(jobs), world.size):
        job = jobs[index]
        try:
            if isinstance(job, str):
                name, net = job, Network.load(job)
            else:
                name, net = job[0], generate(**job[1])
            mine.append((index, row(name, net, args.k, args.dense_max, args.full)))
        except HpcnetError as exc:
            print(f"skipped {job if isinstance(job, str) else job[0]}: {exc}", file=sys.stderr)
    gathered = world.gather(mine, root=0)
    if world.rank != 0:
        return
    rows = [r for _, r in sorted(item for part in gathered for item in part)]
    header = (f"{'network':<22} {'nu':>8} {'nu_x':>8} {'nu_y':>8} {'nu_bar':>9} "
              f"{'top2 w':>7} {'n90 x,y':>8} {'n90low x,y':>11} {'k':>5}")
    print(header)
    for r in rows:
        n90 = f"{r['n90_x']},{r['n90_y']}"
        low = f"{r['n90low_x']},{r['n90low_y']}"
        print(f"{r['name']:<22} {r['nu']:+8.4f} {r['nu_x']:+8.4f} {r['nu_y']:+8.4f} "
              f"{r['two_mode']:+9.4f} {r['top2_weight']:7.3f} {n90:>8} {low:>11} {r['k']:5d}")
    print("\nlinear fit nu_bar' = slope * nu + intercept")
    print(f"  all        {fit(rows)}")
    for kind in sorted({r['kind'] for r in rows}):
        print(f"  {kind:<10} {fit([r for r in rows if r['kind'] == kind])}")
    print("\nmodes holding 90% of a response (x and y loads pooled)")
    print(f"  largest weights first: {counts(rows, 'n90')}")
    print(f"  lowest frequencies first: {counts(rows, 'n90low')}")
    print(f"  mean weight of the top-2 modes: {np.mean([r['top2_weight'] for r in rows]):.3f}")
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
