"""Proposals per second of one SA chain: incremental (Woodbury) path against full re-solves.

Both evaluators walk the *same* chain (same network, settings and seed): the
script runs the first STEPS temperature steps with each, checks that they
accepted the same bonds and agree on ν, and prints proposals/s side by side
with their ratio. The full path (assemble, factorise, rigidity check on the
factor, solve; what ElasticSolver does per network) is sampled on fewer steps
at large L; the incremental path is then also timed over the whole chain (to
the default Tf), which is what a user waits for. "evals" counts the proposals
that passed the degree and convexity rules and so were evaluated (the others
cost both paths nothing).

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_anneal.py [--sizes 12,16,24,32,64]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hpcnet.anneal.chain import run_chain  # noqa: E402
from hpcnet.anneal.incremental import IncrementalPoisson  # noqa: E402
from hpcnet.anneal.records import ChainState  # noqa: E402
from hpcnet.anneal.settings import AnnealSettings
from hpcnet.generators import generate  # noqa: E402

EVALUATED = {"count": 0}


def _counting(evaluate):
    def wrapped(self, toggles):
        EVALUATED["count"] += 1
        return evaluate(self, toggles)
    return wrapped


IncrementalPoisson.evaluate = _counting(IncrementalPoisson.evaluate)


class _Enough(Exception):
    pass


def prefix(net, settings, seed: int, steps: int) -> ChainState:
    """Run the chain's first ``steps`` temperature steps; return its state there."""
    seen = {}

    def stop(info, state):
        seen["state"] = state
        if info.step >= steps:
            raise _Enough

    try:
        run_chain(net, settings, np.random.default_rng(seed), on_step=stop)
    except _Enough:
        pass
    return seen["state"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="12,16,24,32,64")
    parser.add_argument("--kind", default="tri")
    parser.add_argument("--target", type=float, default=-0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full-steps", default="12:2,16:2,24:1,32:1,64:1",
                        help="L:steps sampled with the full path (default 1)")
    parser.add_argument("--whole", action="store_true",
                        help="also time the incremental chain to Tf (default: L <= 32)")
    args = parser.parse_args()
    full_steps = {int(k): int(v) for k, v in (p.split(":") for p in args.full_steps.split(","))}
    base = AnnealSettings(target=args.target)
    print(f"kind {args.kind}, target {args.target}, seed {args.seed}; "
          f"defaults T0={base.t0} alpha={base.alpha} Tf={base.tf} Lk={base.lk}")
    print(f"{'L':>4} {'dofs':>6} {'bonds':>6} {'steps':>5} {'props':>6} {'evals':>6} "
          f"{'inc p/s':>9} "
          f"{'full p/s':>9} {'ratio':>7} {'same':>5} {'max|dnu|':>9} | "
          f"{'chain p/s':>9} {'chain s':>8} {'best nu':>8}")
    for L in map(int, args.sizes.split(",")):
        net = generate(args.kind, L, args.seed,
                       **({"distortion": 0.3} if args.kind == "tri" else {}))
        steps = full_steps.get(L, 1)
        EVALUATED["count"] = 0
        inc = prefix(net, base, args.seed, steps)
        evaluated = EVALUATED["count"]
        full = prefix(net, replace(base, evaluator="full"), args.seed, steps)
        same = np.array_equal(inc.mask, full.mask) and inc.n_proposals == full.n_proposals
        dnu = np.max(np.abs(inc.trajectory["nu"] - full.trajectory["nu"]))
        r_inc = inc.n_proposals / inc.wall_time
        r_full = full.n_proposals / full.wall_time
        line = (f"{L:>4} {net.n_dof:>6} {net.n_bonds:>6} {steps:>5} {inc.n_proposals:>6} "
                f"{evaluated:>6} "
                f"{r_inc:>9.0f} {r_full:>9.1f} {r_inc / r_full:>6.0f}x {str(same):>5} "
                f"{dnu:>9.1e} |")
        if args.whole or L <= 32:
            t = time.perf_counter()
            result = run_chain(net, base, np.random.default_rng(args.seed))
            wall = time.perf_counter() - t
            line += (f" {result.n_proposals / result.wall_time:>9.0f} {wall:>8.1f} "
                     f"{result.best_nu:>+8.4f}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
