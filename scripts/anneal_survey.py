"""The annealing results table: kinds × sizes × seeds × targets, convex on/off, SA vs greedy.

Every chain's outcome is appended to a JSON-lines file (rerunning skips the
chains already there), and a table aggregated over seeds is printed: the best
ν reached (mean, and the worst seed), |ν_x − ν_y|, the fraction of bonds
removed, the coordination z of the best state and Δz = z − 2d (its excess over
isostaticity, 2d = 4), and the wall time per chain.

Usage (2 worker processes, one chain each, serial PETSc):
  OPENBLAS_NUM_THREADS=1 python scripts/anneal_survey.py --kinds tri,delaunay \\
      --sizes 12,16 --seeds 0,1,2 --out results/anneal_survey.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ISOSTATIC_Z = 4.0  # 2d in two dimensions


def task_key(task: dict) -> str:
    return json.dumps(task, sort_keys=True)


def run_one(task: dict, overrides: dict) -> dict:
    """One chain; returns its summary row."""
    from hpcnet.anneal.chain import run_chain
    from hpcnet.anneal.settings import AnnealSettings
    from hpcnet.generators import generate

    kind, size, seed = task["kind"], task["size"], task["seed"]
    net = generate(kind, size, seed, **({"distortion": 0.3} if kind == "tri" else {}))
    settings = AnnealSettings(target=task["target"], method=task["method"],
                              convex_only=task["convex"], **overrides)
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(7,)))
    result = run_chain(net, settings, rng)
    bonds = int(result.best_mask.sum())
    z = 2.0 * bonds / net.n_nodes
    return {**task, "settings": overrides, "best_nu": result.best_nu,
            "best_nu_x": result.best_nu_x, "best_nu_y": result.best_nu_y,
            "initial_nu": result.initial_nu, "removed": 1.0 - bonds / net.n_bonds,
            "z0": net.mean_coordination(), "z": z, "dz": z - ISOSTATIC_Z,
            "wall_time": result.wall_time, "n_proposals": result.n_proposals,
            "status": result.status}


def summarise(rows: list[dict]) -> str:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        key = (r["kind"], r["size"], r["target"], r["method"], r["convex"])
        groups.setdefault(key, []).append(r)
    head = ("| kind | L | target | method | convex | seeds | ν best (mean) | ν worst seed | "
            "max |ν_x−ν_y| | removed | z | Δz = z−4 | s/chain |")
    lines = [head, "|" + "---|" * 13]
    for key in sorted(groups):
        g = groups[key]
        nu = np.array([r["best_nu"] for r in g])
        worst = nu.max() if key[2] < 0 else nu.min()
        aniso = max(abs(r["best_nu_x"] - r["best_nu_y"]) for r in g)
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]:+.1f} | {key[3]} | {'yes' if key[4] else 'no'} | "
            f"{len(g)} | {nu.mean():+.3f} | {worst:+.3f} | {aniso:.3f} | "
            f"{np.mean([r['removed'] for r in g]):.3f} | {np.mean([r['z'] for r in g]):.2f} | "
            f"{np.mean([r['dz'] for r in g]):.2f} | {np.mean([r['wall_time'] for r in g]):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default="tri,delaunay")
    parser.add_argument("--sizes", default="12,16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--targets", default="-0.9,0.9")
    parser.add_argument("--methods", default="sa,greedy")
    parser.add_argument("--convex", default="yes,no", help="convex-only constraint: yes, no")
    parser.add_argument("--settings", default="{}",
                        help="JSON of AnnealSettings overrides, e.g. '{\"lk\": 800}'")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/anneal_survey.jsonl"))
    args = parser.parse_args()
    overrides = json.loads(args.settings)
    tasks = [
        {"kind": k, "size": int(L), "seed": int(s), "target": float(t), "method": m,
         "convex": c == "yes"}
        for k, L, s, t, m, c in itertools.product(
            args.kinds.split(","), args.sizes.split(","), args.seeds.split(","),
            args.targets.split(","), args.methods.split(","), args.convex.split(","))
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in args.out.read_text().splitlines()] \
        if args.out.exists() else []
    done = {task_key({k: r[k] for k in tasks[0]}) for r in rows
            if r.get("settings") == overrides} if tasks else set()
    todo = [t for t in tasks if task_key(t) not in done]
    print(f"{len(tasks)} chains, {len(tasks) - len(todo)} already in {args.out}", flush=True)
    with ProcessPoolExecutor(max_workers=args.workers) as pool, open(args.out, "a") as fh:
        futures = {pool.submit(run_one, t, overrides): t for t in todo}
        for future in as_completed(futures):
            row = future.result()
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            rows.append(row)
            print(f"{row['kind']} L={row['size']} seed={row['seed']} target={row['target']:+} "
                  f"{row['method']} convex={row['convex']}: nu={row['best_nu']:+.4f} "
                  f"removed={row['removed']:.3f} {row['wall_time']:.1f}s", flush=True)
    wanted = {task_key(t) for t in tasks}
    print(summarise([r for r in rows if r.get("settings") == overrides
                     and task_key({k: r[k] for k in tasks[0]}) in wanted]))


if __name__ == "__main__":
    main()
