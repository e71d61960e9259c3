"""Ensemble statistics per kind × size × target, from a finished or partial run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from hpcnet.ensemble import layout
from hpcnet.ensemble.journal import journal_files, scan
from hpcnet.ensemble.runner import EnsembleSettings, journal_dir, stored_settings
from hpcnet.errors import HpcnetError
from hpcnet.tools.atomic import atomic_open

#: Columns of the per-group table, in order.
FIELDS = ("kind", "size", "target", "tasks", "done", "failed", "missing", "nu_mean", "nu_std",
          "nu_min", "nu_max", "aniso_mean", "aniso_max", "reached", "removed_fraction", "dz",
          "wall_time")


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
    columns["size"][:] = [t.size for t in tasks]
    columns["seed"][:] = [t.seed for t in tasks]
    columns["target"][:] = [t.target for t in tasks]
    finished, checkpoints = scan(journal_files(jdir))
    columns["status"][list(checkpoints)] = layout.PARTIAL
    for row, record in finished.items():
        for name in layout.TASK_COLUMNS:
            if name in record and name != "kind":
                columns[name][row] = record[name]
    columns["message"] = np.array([m.decode() if isinstance(m, bytes) else str(m)
                                   for m in columns["message"]])
    return settings, columns


def summarize(columns: dict[str, np.ndarray], tolerance: float) -> list[dict]:
    """One row per (kind, size, target) with counts and statistics of the finished chains."""
    rows = []
    keys = sorted(set(zip(columns["kind"], columns["size"], columns["target"], strict=True)))
    for kind, size, target in keys:
        sel = (columns["kind"] == kind) & (columns["size"] == size) & (columns["target"] == target)
        done = sel & (columns["status"] == layout.DONE)
        nu = columns["nu_final"][done]
        aniso = np.abs(columns["nu_x_final"][done] - columns["nu_y_final"][done])
        row = {"kind": str(kind), "size": int(size), "target": float(target),
               "tasks": int(sel.sum()), "done": int(done.sum()),
               "failed": int(np.sum(sel & (columns["status"] == layout.FAILED)))}
        row["missing"] = row["tasks"] - row["done"] - row["failed"]
        stats = {}
        if len(nu):
            stats = {"nu_mean": nu.mean(), "nu_std": nu.std(), "nu_min": nu.min(),
                     "nu_max": nu.max(), "aniso_mean": aniso.mean(), "aniso_max": aniso.max(),
                     "reached": float(np.mean(np.abs(nu - target) < tolerance)),
                     "removed_fraction": columns["removed_fraction"][done].mean(),
                     "dz": columns["dz"][done].mean(),
                     "wall_time": columns["wall_time"][done].mean()}
        rows.append(row | {k: float(stats.get(k, np.nan)) for k in FIELDS if k not in row})
    return rows


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
