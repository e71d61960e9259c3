"""SA against greedy pruning on the same networks: reach, bonds removed, z, a_min, time.

For every kind × size × seed × target the script runs ``--method greedy`` and
``--method sa`` (defaults otherwise: convex faces, degree ≥ 3, affine floor
0.5) on the same network, checks each answer against a fresh solve, and prints
per kind × size × target: the share of chains whose answer meets the target,
the median removed fraction, z and a_min of the answers, the wall time per
chain, and the ratio of SA's median removed fraction to greedy's (over the
networks where both met the target). ``--floors`` repeats greedy and SA with
other affine floors (the reach of ±0.9 as a function of the floor).
``--guard-cost L,...`` instead times the guard: the same random walk of
single-bond proposals through IncrementalPoisson, with and without the
affine fraction of every proposal, in microseconds per proposal. (A chain
computes it only for the proposals Metropolis accepts.)

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sa_greedy.py \\
           [--kinds tri,delaunay,packing] [--sizes 16,32] [--seeds 0-2] [--targets -0.9,0.9]
           [--floors 0.5] [--workers 2] [--json FILE]
       OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sa_greedy.py --guard-cost 16,32,64
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from hpcnet.anneal.bondsystem import BondSystem  # noqa: E402
from hpcnet.anneal.chain import run_chain  # noqa: E402
from hpcnet.anneal.incremental import IncrementalPoisson  # noqa: E402
from hpcnet.anneal.settings import AnnealSettings
from hpcnet.generators import generate  # noqa: E402
from hpcnet.mechanics.elastic import poisson_ratio  # noqa: E402


def network(kind: str, size: int, seed: int):
    return generate(kind, size, seed, **({"distortion": 0.2} if kind == "tri" else {}))


def one(job: tuple) -> dict:
    """Run one chain; the answer checked by a fresh solve."""
    kind, size, seed, target, method, floor, overrides = job
    net = network(kind, size, seed)
    settings = replace(AnnealSettings(), target=target, method=method, affine_floor=floor,
                       **overrides)
    start = time.perf_counter()
    result = run_chain(net, settings, np.random.default_rng(1000 * seed + 1))
    wall = time.perf_counter() - start
    fresh = poisson_ratio(net.pruned(result.best_mask))
    assert abs(fresh.nu - result.best_nu) < 1e-8 and abs(fresh.a_min - result.best_a_min) < 1e-8
    kept = int(result.best_mask.sum())
    print(f"{kind} L={size} seed={seed} {target:+.2f} {method} floor={floor}: "
          f"reached={result.reached} nu={fresh.nu:+.3f} removed={1 - kept / net.n_bonds:.3f} "
          f"{wall:.0f} s", file=sys.stderr, flush=True)
    return {"kind": kind, "size": size, "seed": seed, "target": target, "method": method,
            "floor": floor, "reached": bool(result.reached), "nu": fresh.nu,
            "a_min": fresh.a_min, "removed": 1.0 - kept / net.n_bonds,
            "z": 2.0 * kept / net.n_nodes, "wall": wall, "bonds": net.n_bonds}


def parse_range(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def table(rows: list[dict]) -> None:
    groups = sorted({(r["floor"], r["kind"], r["size"], r["target"]) for r in rows})
    print(f"{'floor':>5} {'kind':>8} {'L':>3} {'target':>6} | {'reach g':>7} {'reach sa':>8} | "
          f"{'rm g':>6} {'rm sa':>6} {'ratio':>6} | {'z g':>5} {'z sa':>5} | "
          f"{'a g':>5} {'a sa':>5} | {'s g':>6} {'s sa':>6}")
    for floor, kind, size, target in groups:
        sel = {m: [r for r in rows if (r["floor"], r["kind"], r["size"], r["target"], r["method"])
                   == (floor, kind, size, target, m)] for m in ("greedy", "sa")}
        g, a = sel["greedy"], sel["sa"]
        both = [(x, y) for x in g for y in a if x["seed"] == y["seed"]
                and x["reached"] and y["reached"]]
        ratio = float("nan")
        if both:
            ratio = (statistics.median(y["removed"] for _, y in both)
                     / max(statistics.median(x["removed"] for x, _ in both), 1e-12))

        def med(rs, key):
            return statistics.median(r[key] for r in rs)

        def share(rs):
            return f"{sum(r['reached'] for r in rs)}/{len(rs)}"

        print(f"{floor:5.2f} {kind:>8} {size:3d} {target:+6.2f} | {share(g):>7} {share(a):>8} | "
              f"{med(g, 'removed'):6.3f} {med(a, 'removed'):6.3f} {ratio:6.2f} | "
              f"{med(g, 'z'):5.2f} {med(a, 'z'):5.2f} | {med(g, 'a_min'):5.2f} "
              f"{med(a, 'a_min'):5.2f} | {med(g, 'wall'):6.1f} {med(a, 'wall'):6.1f}")


def walk_seconds(net, proposals: int, guard: bool) -> float:
    """Seconds spent in ``evaluate`` over a seeded walk (30 % of rigid proposals accepted)."""
    rng = np.random.default_rng(0)
    ev = IncrementalPoisson(BondSystem(net), np.ones(net.n_bonds, bool))
    spent = 0.0
    for _ in range(proposals):
        absent = np.flatnonzero(~ev.mask)
        pool = absent if len(absent) and rng.random() < 0.5 else np.flatnonzero(ev.mask)
        S = pool[rng.integers(len(pool))][None]
        start = time.perf_counter()
        out = ev.evaluate(S, affine=guard)
        spent += time.perf_counter() - start
        if not out.floppy and rng.random() < 0.3:
            ev.accept(S)
    ev.destroy()
    return spent


def guard_cost(sizes: list[int], proposals: int) -> None:
    print(f"{'L':>3} {'dofs':>6} | {'us/prop guard':>13} {'us/prop none':>12} {'ratio':>6}")
    for size in sizes:
        net = network("tri", size, 0)
        walk_seconds(net, 50, True)  # warm up
        with_guard = walk_seconds(net, proposals, True)
        without = walk_seconds(net, proposals, False)
        print(f"{size:3d} {net.n_dof:6d} | {1e6 * with_guard / proposals:13.0f} "
              f"{1e6 * without / proposals:12.0f} {with_guard / without:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="tri,delaunay,packing")
    parser.add_argument("--sizes", default="16")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--targets", default="-0.9,0.9")
    parser.add_argument("--floors", default="0.5")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override an AnnealSettings field of both methods")
    parser.add_argument("--json", help="also write every chain's row to this file")
    parser.add_argument("--guard-cost", metavar="SIZES",
                        help="time the guard per proposal at these sizes instead")
    parser.add_argument("--proposals", type=int, default=2000,
                        help="proposals of the --guard-cost walk")
    args = parser.parse_args()
    if args.guard_cost:
        guard_cost(parse_range(args.guard_cost), args.proposals)
        return
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = type(getattr(AnnealSettings(), name))(value)
    jobs = [(k, size, seed, target, method, floor, overrides)
            for floor in map(float, args.floors.split(","))
            for size in parse_range(args.sizes) for k in args.kinds.split(",")
            for seed in parse_range(args.seeds) for target in map(float, args.targets.split(","))
            for method in ("greedy", "sa")]
    jobs.sort(key=lambda j: -j[1])  # largest first
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(one, jobs))
    print(f"settings: {json.dumps({**AnnealSettings().__dict__, **overrides})}")
    table(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
