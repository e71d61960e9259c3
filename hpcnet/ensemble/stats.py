"""Ensemble statistics per kind × size × target × method, from a finished or partial run.

A chain's answer is its final state. It *reached* its target when
``|ν − ν*| ≤ tolerance`` and it is a material, ``a_min ≥ floor``
(:func:`material_floor`); a chain stored without ``a_min`` (layout version 1)
counts by ν alone.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from hpcnet.anneal.settings import METHODS
from hpcnet.ensemble import layout
from hpcnet.ensemble.journal import journal_files, scan
from hpcnet.ensemble.runner import EnsembleSettings, journal_dir, stored_settings
from hpcnet.errors import HpcnetError
from hpcnet.tools.atomic import atomic_open

#: Columns of the per-group table, in order.
FIELDS = ("kind", "size", "target", "method", "tasks", "done", "failed", "missing", "nu_mean",
          "nu_std", "nu_min", "nu_max", "aniso_mean", "aniso_max", "reached", "material",
          "a_min_median", "a_min_min", "boundary_gap", "removed_fraction", "removed_median",
          "z", "dz", "wall_time")
#: The per-method columns of :func:`compare_methods`, side by side.
COMPARED = ("done", "reached", "removed_median", "z", "a_min_median", "wall_time")
#: The affine fraction a material has at least (the default guard of the search).
MATERIAL_FLOOR = 0.5


def material_floor(anneal: dict) -> float:
    """The floor on a_min that makes an answer a material: the run's guard
    (``affine_floor``), never below :data:`MATERIAL_FLOOR`, so an unguarded run
    is judged as a guarded one."""
    return max(float(anneal.get("affine_floor") or 0.0), MATERIAL_FLOOR)


def load_tasks(output: Path) -> tuple[EnsembleSettings, dict[str, np.ndarray]]:
    """Per-task columns of a run: from its journals while it is unfinished, else from the file."""
    output = Path(output)
    settings = stored_settings(output)
    if settings is None:
        raise HpcnetError(f"{output}: no such ensemble (no file and no journal)")
    jdir = journal_dir(output)
    if not jdir.is_dir():
        import h5py

        try:
            with h5py.File(output, "r") as fh:
                return settings, layout.read_tasks(fh)
        except (OSError, KeyError, ValueError, IndexError) as exc:
            raise HpcnetError(f"{output}: not a complete hpcnet ensemble file ({exc})") from None
    tasks = settings.tasks()
    columns = {name: np.full(len(tasks), layout.fill_value(dtype), dtype=dtype)
               for name, dtype in layout.TASK_COLUMNS.items()}
    columns["kind"] = np.array([t.kind for t in tasks])
    columns["method"] = np.array([t.method for t in tasks])
    columns["size"][:] = [t.size for t in tasks]
    columns["seed"][:] = [t.seed for t in tasks]
    columns["target"][:] = [t.target for t in tasks]
    finished, checkpoints = scan(journal_files(jdir))
    columns["status"][list(checkpoints)] = layout.PARTIAL
    for row, record in finished.items():
        for name in layout.TASK_COLUMNS:
            if name in record and name not in ("kind", "method"):
                columns[name][row] = record[name]
    columns["message"] = np.array([m.decode() if isinstance(m, bytes) else str(m)
                                   for m in columns["message"]])
    return settings, columns


def _median(values: np.ndarray) -> float:
    """Median of the finite values; NaN when there is none (a column a file lacks)."""
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else np.nan


def summarize(columns: dict[str, np.ndarray], tolerance: float,
              floor: float = MATERIAL_FLOOR) -> list[dict]:
    """One row per (kind, size, target, method) with counts and statistics of the finished
    chains; a method's rows follow each other in the order of ``METHODS``."""
    rows = []
    keys = sorted(set(zip(columns["kind"], columns["size"], columns["target"],
                          columns["method"], strict=True)),
                  key=lambda k: (*k[:3], METHODS.index(k[3])))
    for kind, size, target, method in keys:
        sel = ((columns["kind"] == kind) & (columns["size"] == size)
               & (columns["target"] == target) & (columns["method"] == method))
        done = sel & (columns["status"] == layout.DONE)
        nu = columns["nu_final"][done]
        aniso = np.abs(columns["nu_x_final"][done] - columns["nu_y_final"][done])
        a_min = columns["a_min_final"][done]
        known = np.isfinite(a_min)
        material = np.where(known, a_min >= floor, True)  # unknown: counts by ν alone
        row = {"kind": str(kind), "size": int(size), "target": float(target),
               "method": str(method), "tasks": int(sel.sum()), "done": int(done.sum()),
               "failed": int(np.sum(sel & (columns["status"] == layout.FAILED)))}
        row["missing"] = row["tasks"] - row["done"] - row["failed"]
        stats = {}
        if len(nu):
            z = 2.0 * columns["n_bonds"][done] / columns["n_nodes"][done] + columns["dz"][done]
            stats = {"nu_mean": nu.mean(), "nu_std": nu.std(), "nu_min": nu.min(),
                     "nu_max": nu.max(), "aniso_mean": aniso.mean(), "aniso_max": aniso.max(),
                     "reached": float(np.mean((np.abs(nu - target) <= tolerance) & material)),
                     "material": float(np.mean(a_min[known] >= floor)) if known.any() else np.nan,
                     "a_min_median": _median(a_min),
                     "a_min_min": float(a_min[known].min()) if known.any() else np.nan,
                     "boundary_gap": _median(np.abs(nu - columns["nu_boundary_final"][done])),
                     "removed_fraction": columns["removed_fraction"][done].mean(),
                     "removed_median": float(np.median(columns["removed_fraction"][done])),
                     "z": z.mean(), "dz": columns["dz"][done].mean(),
                     "wall_time": columns["wall_time"][done].mean()}
        rows.append(row | {k: float(stats.get(k, np.nan)) for k in FIELDS if k not in row})
    return rows


def compare_methods(rows: list[dict], first: str = "sa", second: str = "greedy") -> list[dict]:
    """SA beside greedy: one row per kind × size × target where both have finished chains,
    with :data:`COMPARED` of each (``reached_sa``, ``reached_greedy``, …) and the ratio
    of their median removed fractions."""
    by_key = {(r["kind"], r["size"], r["target"], r["method"]): r for r in rows if r["done"]}
    out = []
    for kind, size, target, method in by_key:
        other = by_key.get((kind, size, target, second))
        if method != first or other is None:
            continue
        mine = by_key[(kind, size, target, first)]
        row = {"kind": kind, "size": size, "target": target}
        for name in COMPARED:
            row[f"{name}_{first}"], row[f"{name}_{second}"] = mine[name], other[name]
        removed = other["removed_median"]
        row["removed_ratio"] = mine["removed_median"] / removed if removed > 0 else np.nan
        out.append(row)
    return out


def sigma_points(columns: dict[str, np.ndarray]) -> list[dict]:
    """Paper Fig. 1j data: (ν, σ²) of every finished chain, initial and final, pooled."""
    done = columns["status"] == layout.DONE
    points = []
    for row in np.flatnonzero(done):
        for state in ("initial", "final"):
            points.append({"kind": str(columns["kind"][row]), "size": int(columns["size"][row]),
                           "seed": int(columns["seed"][row]),
                           "target": float(columns["target"][row]), "state": state,
                           "nu": float(columns[f"nu_{state}"][row]),
                           "sigma2": float(columns[f"sigma2_{state}"][row])})
    return points


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write rows atomically (temp name, then rename)."""
    with atomic_open(path, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else list(FIELDS))
        writer.writeheader()
        writer.writerows(rows)
