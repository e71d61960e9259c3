"""The annealing chain's rigidity margin: shifted-inertia certificate against Lanczos.

Every state a chain accepts keeps its smallest pinned eigenvalue above a margin
(hpcnet.anneal.incremental). When the cheap bound does not clear it, the
evaluator now decides by the shifted inertia of a small dense matrix built from
columns it already holds; before, it ran Lanczos on the Woodbury inverse (about
20 solves). This script runs the *same* chain (network, settings, seed) both
ways in one process (the Lanczos run with both the current state's refresh and the
proposal's check patched back to Lanczos), checks that they accepted the same states (same answer
mask, same ν), and prints wall time per chain, the ratio, and how often each
path ran. ``--temperatures N`` stops both chains after N anneal temperatures
(for large L; the greedy descent is included either way).

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_margin.py [--sizes 16,32]
           [--kind tri] [--target -0.9] [--temperatures N]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import replace

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from hpcnet.anneal import incremental  # noqa: E402
from hpcnet.anneal.chain import run_chain  # noqa: E402
from hpcnet.anneal.settings import AnnealSettings  # noqa: E402
from hpcnet.generators import generate  # noqa: E402

COUNTS: dict[str, int] = {}


class _Stop(Exception):
    pass


def _tracked(cls):
    """Record the last evaluator built, so its counters can be read after the chain."""
    init = cls.__init__

    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        COUNTS["evaluator"] = self
    return wrapped


def one(net, settings, seed: int, temperatures: int | None, certificate: bool):
    cls = incremental.IncrementalPoisson
    original = cls._certified_bound, cls._refresh_bound
    if not certificate:  # the previous path: Lanczos for the state, then for the proposal
        cls._certified_bound = lambda self, mask, threshold: None
        cls._refresh_bound = lambda self: self._set_bound(self.mask, None, None)
    seen = {"answer": None}

    def on_step(info, state):
        seen["answer"] = state.best_mask
        if temperatures is not None and not math.isnan(info.temperature) \
                and state.step - state.anneal_start >= temperatures:
            raise _Stop

    start = time.perf_counter()
    try:
        result = run_chain(net, settings, np.random.default_rng(1000 * seed + 1),
                           on_step=on_step)
        answer, nu = result.best_mask, result.best_nu
    except _Stop:
        answer, nu = seen["answer"], math.nan
    finally:
        cls._certified_bound, cls._refresh_bound = original
    wall = time.perf_counter() - start
    ev = COUNTS["evaluator"]
    return wall, answer, nu, ev.n_exact_eigen, ev.n_certified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,32")
    parser.add_argument("--kind", default="tri")
    parser.add_argument("--target", type=float, default=-0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperatures", type=int, default=None)
    args = parser.parse_args()
    incremental.IncrementalPoisson.__init__ = _tracked(incremental.IncrementalPoisson)
    print(f"{'L':>3} {'bonds':>6} | {'s lanczos':>9} {'s shifted':>9} {'ratio':>6} | "
          f"{'lanczos runs':>12} {'(shifted)':>9} {'certified':>9} | same answer")
    for size in (int(x) for x in args.sizes.split(",")):
        net = generate(args.kind, size, args.seed,
                       **({"distortion": 0.2} if args.kind == "tri" else {}))
        settings = replace(AnnealSettings(), target=args.target)
        old = one(net, settings, args.seed, args.temperatures, certificate=False)
        new = one(net, settings, args.seed, args.temperatures, certificate=True)
        same = np.array_equal(old[1], new[1]) and (old[2] == new[2] or math.isnan(old[2]))
        print(f"{size:3d} {net.n_bonds:6d} | {old[0]:9.1f} {new[0]:9.1f} "
              f"{old[0] / new[0]:6.2f} | {old[3]:12d} {new[3]:9d} {new[4]:9d} | {same}",
              flush=True)


if __name__ == "__main__":
    main()
