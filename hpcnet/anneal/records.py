"""What a chain records: its checkpoint (:class:`ChainState`), its result
(:class:`ChainResult`), the progress it reports (:class:`StepInfo`), and the names of
its per-step trajectory and per-snapshot path entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from hpcnet.errors import HpcnetError
from hpcnet.tools.atomic import atomic_open

#: Per-step trajectory entries (one value per temperature step or greedy removal).
TRAJECTORY_FIELDS = ("T", "nu", "nu_x", "nu_y", "bonds", "acceptance", "energy", "a_min")
#: Per-snapshot path entries (besides the mask). ``step``: greedy removals made (greedy
#: phase) or proposals made, the greedy's trials included (anneal); ``temperature``: NaN
#: in the greedy phase; ``bonds``: bonds present.
PATH_FIELDS = ("step", "temperature", "nu", "nu_x", "nu_y", "a_min", "bonds")

@dataclass
class ChainState:
    """A checkpoint of a chain between two temperature steps (or greedy removals).

    Plain fields only; :meth:`to_dict` / :meth:`from_dict` give a flat mapping
    of numpy arrays, numbers and strings for npz or HDF5.
    """

    settings: str  # AnnealSettings JSON: a resume must use the same settings
    network: str  # network_fingerprint of the chain's network
    step: int  # steps done (greedy removals, then temperatures)
    mask: np.ndarray
    base_mask: np.ndarray  # the evaluator's factorised base (needed for bit-identical resume)
    lambda_bound: float
    initial: np.ndarray  # ν, ν_x, ν_y, a_min of the initial network
    best_mask: np.ndarray  # the answer so far
    best: np.ndarray  # ν, ν_x, ν_y, E₀, a_min of the answer so far
    rng_state: str  # JSON of rng.bit_generator.state
    phase: str = "greedy"  # "greedy", then (method "sa") "anneal" and "polish"
    anneal_start: int = 0  # the step at which the anneal phase began
    mu: float = 0.0  # energy unit of the anneal phase while the target is unmet (μ)
    trajectory: dict = field(default_factory=dict)
    path: dict = field(default_factory=dict)  # PATH_FIELDS and "masks": every snapshot so far
    answer_at: int = 1  # snapshots taken when the answer was found (the path keeps these)
    answer_step: int = 0  # step and temperature at which the answer was found
    answer_temperature: float = math.nan
    n_proposals: int = 0
    n_accepted: int = 0
    wall_time: float = 0.0
    status: str = "running"

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("trajectory", "path"):
                out.update({f"{f.name}/{k}": np.asarray(v) for k, v in value.items()})
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data) -> ChainState:
        """Inverse of :meth:`to_dict` (accepts an npz file, an h5py group or a dict)."""
        def get(name):
            value = data[name]
            value = value[()] if hasattr(value, "shape") and value.shape == () else value
            return value.decode() if isinstance(value, bytes) else value

        kwargs = {}
        for f in fields(cls):
            if f.name == "trajectory":
                kwargs["trajectory"] = {k: np.asarray(data[f"trajectory/{k}"])
                                        for k in TRAJECTORY_FIELDS
                                        if f"trajectory/{k}" in _keys(data)}
            elif f.name == "path":
                kwargs["path"] = {k: np.asarray(data[f"path/{k}"]) for k in (*PATH_FIELDS, "masks")}
            elif f.name in ("mask", "base_mask", "best_mask"):
                kwargs[f.name] = np.asarray(data[f.name], dtype=bool)
            elif f.name in ("initial", "best"):
                kwargs[f.name] = np.asarray(data[f.name], dtype=np.float64)
            else:
                kwargs[f.name] = get(f.name)
        for name in ("settings", "network", "rng_state", "status", "phase"):
            kwargs[name] = str(kwargs[name])
        for name in ("step", "anneal_start", "n_proposals", "n_accepted", "answer_at",
                     "answer_step"):
            kwargs[name] = int(kwargs[name])
        for name in ("lambda_bound", "mu", "wall_time", "answer_temperature"):
            kwargs[name] = float(kwargs[name])
        return cls(**kwargs)

    def save(self, path) -> None:
        """Write to ``path`` (npz), atomically."""
        with atomic_open(path, "wb") as fh:
            np.savez(fh, **self.to_dict())

    @classmethod
    def load(cls, path) -> ChainState:
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls.from_dict({k: data[k] for k in data.files})
        except (OSError, ValueError, KeyError) as exc:
            raise HpcnetError(f"{path}: not a readable chain checkpoint: {exc}") from None


def _keys(data):
    if hasattr(data, "files"):
        return data.files
    if hasattr(data, "visit"):  # h5py group: nested names
        names = []
        data.visit(names.append)
        return names
    return data.keys()

@dataclass
class ChainResult:
    """What one chain produced. Masks are over the original network's bonds.

    ``best_*`` is the chain's answer (see the module docstring), ``reached``
    whether it meets the target. A finished chain ends in its answer, so
    ``final_*`` equals ``best_*`` (the ensemble file stores both; in files of
    layout version 1 ``final`` was the last state visited).
    """

    initial_mask: np.ndarray
    final_mask: np.ndarray
    best_mask: np.ndarray
    initial_nu: float
    initial_nu_x: float
    initial_nu_y: float
    initial_a_min: float
    final_nu: float
    final_nu_x: float
    final_nu_y: float
    final_a_min: float
    best_nu: float
    best_nu_x: float
    best_nu_y: float
    best_a_min: float
    best_energy: float  # E₀ of the answer
    reached: bool
    trajectory: dict  # TRAJECTORY_FIELDS -> equal-length 1-D arrays
    path: dict  # PATH_FIELDS -> (K,) arrays and "masks" -> (K, bonds) bool: initial ... answer
    n_proposals: int
    n_accepted: int
    wall_time: float
    status: str  # "done", or "early-stop" (greedy met the target)


@dataclass(frozen=True)
class StepInfo:
    """Passed to ``on_step`` after each greedy removal and each temperature step."""

    step: int  # steps finished, this one included
    n_steps: int  # planned steps (during the greedy descent: an upper bound)
    temperature: float  # NaN during the greedy descent
    nu: float
    nu_x: float
    nu_y: float
    best_nu: float
    energy: float  # E₀ of the current state
    best_energy: float  # E₀ of the answer so far
    bonds: int
    acceptance: float
    n_proposals: int


def path_arrays(path: dict) -> dict:
    """Path lists as arrays: ``step``, ``bonds`` int64, masks (K, bonds) bool, else float64."""
    out = {k: np.asarray(path[k], dtype=np.int64 if k in ("step", "bonds") else np.float64)
           for k in PATH_FIELDS}
    out["masks"] = np.asarray(path["masks"], dtype=bool)
    return out
