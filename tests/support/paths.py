"""A stand-in for the chains' tuning paths, for tests of the code that reads them.

:func:`with_paths` patches ``EnsembleResults`` (``has_paths``, ``path``,
``path_mask``, ``path_network``) so that every finished chain of a real ensemble
has a path of up to :data:`SNAPSHOTS` snapshots: the initial mask, then the bonds
the chain removed taken away in index order, evenly, down to its final mask.
Each snapshot keeps every bond of the answer, so it is rigid; its ν, ν_x, ν_y,
a_min and σ² are fresh solves. :func:`without_paths` makes every file look
like one of layout version 1 (no paths).
"""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from hpcnet.ensemble.results import EnsembleResults
from hpcnet.errors import HpcnetError
from hpcnet.mechanics.bond_statistics import bond_statistics
from hpcnet.mechanics.elastic import poisson_ratio

#: Snapshots per chain (fewer when the chain removed fewer bonds).
SNAPSHOTS = 4
_PATHS: dict[tuple[str, int], dict[str, np.ndarray]] = {}


def _removed(results, row: int) -> tuple[np.ndarray, np.ndarray, int]:
    initial, final = results.mask(row, "initial"), results.mask(row, "final")
    removed = np.flatnonzero(initial & ~final)
    return initial, removed, min(SNAPSHOTS, len(removed) + 1)


def path_mask(results, row: int, k: int) -> np.ndarray:
    """Snapshot ``k`` of chain ``row``: the initial mask less the first share of removed bonds."""
    initial, removed, count = _removed(results, row)
    if not 0 <= k < count:
        raise HpcnetError(f"snapshot {k} of task {row}: it has {count}")
    mask = initial.copy()
    mask[removed[:round(k * len(removed) / max(count - 1, 1))]] = False
    return mask


def path_network(results, row: int, k: int):
    return results.original(row).pruned(path_mask(results, row, k))


def path(results, row: int) -> dict[str, np.ndarray]:
    """The stand-in path of chain ``row`` (fresh solves, cached per file and row)."""
    key = (str(results.file), int(row))
    if key not in _PATHS:
        count = _removed(results, row)[2]
        solved = []
        for k in range(count):
            net = path_network(results, row, k)
            p = poisson_ratio(net, PETSc.COMM_SELF)
            solved.append((p.nu, p.nu_x, p.nu_y, bond_statistics(net, PETSc.COMM_SELF).sigma2,
                           p.a_min, net.n_bonds))
        nu, nu_x, nu_y, sigma2, a_min, bonds = map(np.array, zip(*solved, strict=True))
        _PATHS[key] = {"step": 10 * np.arange(count), "temperature": np.full(count, np.nan),
                       "nu": nu, "nu_x": nu_x, "nu_y": nu_y, "sigma2": sigma2, "a_min": a_min,
                       "bonds": bonds}
    return {name: values.copy() for name, values in _PATHS[key].items()}


def with_paths(monkeypatch) -> None:
    """Every ``EnsembleResults`` gets the stand-in paths."""
    for name, value in (("has_paths", property(lambda self: True)), ("path", path),
                        ("path_mask", path_mask), ("path_network", path_network)):
        monkeypatch.setattr(EnsembleResults, name, value, raising=False)


def _no_paths(results, *args):
    raise HpcnetError(f"{results.file}: no paths in this file (layout version 1)")


def without_paths(monkeypatch) -> None:
    """Every ``EnsembleResults`` looks like a file without paths (layout version 1)."""
    for name, value in (("has_paths", property(lambda self: False)), ("path", _no_paths),
                        ("path_mask", _no_paths), ("path_network", _no_paths)):
        monkeypatch.setattr(EnsembleResults, name, value, raising=False)
