"""Reading a merged ensemble file for analysis: finished tasks, their networks and trajectories.

Serial and read-only (plain h5py); the figures and the report use it. A run that
was interrupted has a readable merged file too: its unfinished tasks are simply
not selected.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hpcnet.ensemble import layout
from hpcnet.errors import HpcnetError
from hpcnet.network import Network


def is_ensemble_file(path) -> bool:
    """True when ``path`` is an HDF5 file with the ensemble layout (not a network file)."""
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            return "layout_version" in fh.attrs and "tasks" in fh
    except OSError:
        return False


class EnsembleResults:
    """An open ensemble file (use as a context manager).

    Attributes
    ----------
    file : Path
        The ensemble file (``path(row)`` is a chain's tuning path).
    tasks : dict of str -> array
        Every per-task column (:data:`hpcnet.ensemble.layout.TASK_COLUMNS`), ``kind`` and
        ``method`` as names; columns a version-1 file lacks are NaN.
    settings : dict
        The run's resolved settings.
    version : int
        The file's layout version.
    """

    def __init__(self, path):
        import h5py

        self.file = Path(path)
        if not self.file.is_file():
            raise HpcnetError(f"{self.file}: no such ensemble file")
        try:
            self._fh = h5py.File(self.file, "r")
        except OSError as exc:
            raise HpcnetError(f"{self.file}: not an HDF5 file ({exc})") from None
        try:
            self.version = int(self._fh.attrs.get("layout_version", -1))
            if self.version not in layout.READABLE_VERSIONS:
                raise HpcnetError(f"{self.file}: not an hpcnet ensemble file of layout version "
                                  f"{' or '.join(map(str, layout.READABLE_VERSIONS))}")
            self.tasks = layout.read_tasks(self._fh)
            self.settings = json.loads(self._fh.attrs["settings"])
            self.settings.setdefault("methods", layout.names(self._fh, "methods"))  # version 1
        except (KeyError, ValueError) as exc:
            self._fh.close()
            raise HpcnetError(f"{self.file}: not an hpcnet ensemble file ({exc})") from None
        except HpcnetError:
            self._fh.close()
            raise

    def __enter__(self) -> EnsembleResults:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    @property
    def done(self) -> np.ndarray:
        """Boolean per task: finished."""
        return self.tasks["status"] == layout.DONE

    def values(self, column: str) -> list:
        """Sorted distinct values of ``column`` among the finished tasks."""
        return sorted(set(self.tasks[column][self.done].tolist()))

    @property
    def primary_method(self) -> str:
        """The method figures draw by default: "sa" when the file has it."""
        methods = self.values("method")
        return "sa" if "sa" in methods or not methods else methods[0]

    def select(self, kind: str | None = None, size: int | None = None,
               seed: int | None = None, target: float | None = None,
               method: str | None = None) -> np.ndarray:
        """Rows of the finished tasks matching every criterion given."""
        sel = self.done.copy()
        for column, value in (("kind", kind), ("size", size), ("seed", seed),
                              ("target", target), ("method", method)):
            if value is not None:
                sel &= np.isclose(self.tasks[column], value) if column == "target" else (
                    self.tasks[column] == value)
        return np.flatnonzero(sel)

    def tuning_pair(self, kind: str, size: int, seed: int | None = None,
                    method: str | None = None) -> tuple[int, int]:
        """Rows of one initial network tuned both ways: the lowest and highest target.

        ``seed`` defaults to the smallest seed with both chains finished, ``method``
        to :attr:`primary_method`.
        """
        rows = self.select(kind=kind, size=size, seed=seed,
                           method=method or self.primary_method)
        for s in sorted(set(self.tasks["seed"][rows].tolist())):
            mine = rows[self.tasks["seed"][rows] == s]
            targets = self.tasks["target"][mine]
            if len(mine) >= 2 and targets.min() < targets.max():
                return int(mine[np.argmin(targets)]), int(mine[np.argmax(targets)])
        which = f"kind {kind}, L={size}" + ("" if seed is None else f", seed {seed}")
        raise HpcnetError(f"{self.file}: no finished pair of chains with two different "
                          f"targets for {which}")

    def network(self, row: int, mask: str = "final") -> Network:
        """Task ``row``'s network: the original (generated, or read by ``anneal --network``)
        with the bonds of ``mask`` kept."""
        if mask not in layout.MASKS:
            raise HpcnetError(f"unknown mask {mask!r}; choose from {', '.join(layout.MASKS)}")
        original = layout.read_network(self._fh, row)
        return original.pruned(layout.read_mask(self._fh, mask, row))

    def original(self, row: int) -> Network:
        """Task ``row``'s network as generated, before any pruning."""
        return layout.read_network(self._fh, row)

    def mask(self, row: int, mask: str) -> np.ndarray:
        """Bond mask ``mask`` of task ``row`` over the original bonds."""
        return layout.read_mask(self._fh, mask, row)

    def trajectory(self, row: int) -> dict[str, np.ndarray]:
        """Task ``row``'s per-temperature trajectory, trimmed to its length.

        A field the file lacks (``a_min`` in layout version 1) is NaN.
        """
        steps = int(self.tasks["n_steps"][row])
        group = self._fh["trajectory"]
        return {name: group[name][row, :steps] if name in group else np.full(steps, np.nan)
                for name in layout.TRAJECTORY}

    @property
    def has_paths(self) -> bool:
        """Whether the file stores each chain's path (``/path``; not in layout version 1)."""
        return "path" in self._fh

    def require_paths(self) -> None:
        """HpcnetError unless the file has paths (:attr:`has_paths`)."""
        if not self.has_paths:
            raise HpcnetError(f"{self.file}: the file has no paths (layout version "
                              f"{self.version}); re-run the ensemble with this version of "
                              f"hpcnet to record them")

    def path(self, row: int) -> dict[str, np.ndarray]:
        """Task ``row``'s path snapshots, first the initial network, last the answer.

        Keys :data:`hpcnet.ensemble.layout.PATH` (``step``, ``temperature`` (NaN in the
        greedy phase), ``nu``, ``nu_x``, ``nu_y``, ``a_min``, ``bonds``, ``sigma2``), each
        of length K (the chain's snapshots; 0 unless the task is done).
        """
        self.require_paths()
        snapshots = int(self.tasks["n_path"][row])
        return {name: self._fh[f"path/{name}"][row, :snapshots] for name in layout.PATH}

    def path_mask(self, row: int, k: int) -> np.ndarray:
        """Bond mask of snapshot ``k`` (negative: from the end) of task ``row``'s path."""
        self.require_paths()
        snapshots = int(self.tasks["n_path"][row])
        if not -snapshots <= k < snapshots:
            raise HpcnetError(f"snapshot {k} out of range: the chain has {snapshots} "
                              f"snapshot(s), 0 to {snapshots - 1}")
        n_bonds = int(self.tasks["n_bonds"][row])
        return layout.unpack_mask(self._fh["path/masks"][row, k % snapshots], n_bonds)

    def path_network(self, row: int, k: int) -> Network:
        """The original network of task ``row`` pruned to snapshot ``k``'s mask."""
        return self.original(row).pruned(self.path_mask(row, k))
