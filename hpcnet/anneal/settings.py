"""The settings of one annealing (or greedy) chain: every knob, validated, JSON round-trip.

The physics of what they set is in docs/anneal.md; :mod:`hpcnet.anneal.chain` runs
a chain with them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from hpcnet.errors import HpcnetError
from hpcnet.mechanics.strain import MATERIAL_FLOOR

METHODS = ("sa", "greedy")
EVALUATORS = ("incremental", "full")


@dataclass
class AnnealSettings:
    """Every knob of one chain; plain fields, so ``asdict()`` round-trips through JSON/HDF5.

    Attributes
    ----------
    target : float
        Target Poisson's ratio ν* in [-1, 1].
    t0, alpha, tf : float
        Schedule ``T_t = t0 · alpha^t`` for every ``T_t ≥ tf``, in units of the
        energy (bonds; see the module docstring).
    lk : int
        Least number of proposals per temperature.
    lk_per_bond : float
        Proposals per temperature per bond of the network (the schedule grows with it).
    moves : int
        1: remove, re-add or swap; more: bonds toggled uniformly at random per proposal.
    lambda_iso : float
        Weight of the isotropy term ``|ν_x − ν_y|`` in E₀.
    tol : float
        The target is met when ``|ν − ν*| ≤ tol`` (and the next two hold).
    iso_tol : float
        ... and ``|ν_x − ν_y| ≤ iso_tol``.
    affine_floor : float
        ... and ``a_min ≥ affine_floor``; every accepted state keeps it (0: no guard).
    method : str
        "sa" (greedy descent, then simulated annealing) or "greedy".
    keep_degree : bool
        Keep every node at ≥ 3 bonds.
    convex_only : bool
        Refuse removals that create a reflex inner corner (see :mod:`hpcnet.anneal.constraints`).
    evaluator : str
        "incremental" (Woodbury updates of one factorisation) or "full" (re-solve each
        proposal; for benchmarks and checks).
    refactor_every : int
        Refactorise once the state differs from the factorised base in more bonds.
    checkpoint_every : int
        Temperature steps between checkpoints (used by the CLI and the ensemble runner).
    path_step : float
        A snapshot of the path is taken once ν has moved this far from the last one
        (0: every accepted state).
    """

    target: float = -0.9
    t0: float = 4.0
    alpha: float = 0.9
    tf: float = 0.02
    lk: int = 400
    lk_per_bond: float = 1.5
    moves: int = 1
    lambda_iso: float = 1.0
    tol: float = 0.01
    iso_tol: float = 0.05
    affine_floor: float = MATERIAL_FLOOR
    method: str = "sa"
    keep_degree: bool = True
    convex_only: bool = True
    evaluator: str = "incremental"
    refactor_every: int = 64
    checkpoint_every: int = 10
    path_step: float = 0.05

    def validate(self) -> AnnealSettings:
        """Raise HpcnetError naming the first bad value; returns self."""
        def bad(name, why):
            raise HpcnetError(f"anneal setting {name} = {getattr(self, name)!r}: {why}")

        if not (-1.0 <= self.target <= 1.0):
            bad("target", "must lie in [-1, 1]")
        if not self.t0 > 0:
            bad("t0", "must be positive")
        if not 0.0 < self.alpha < 1.0:
            bad("alpha", "must lie strictly between 0 and 1")
        if not 0.0 < self.tf <= self.t0:
            bad("tf", f"must be positive and at most t0 = {self.t0}")
        for name in ("lk", "moves", "refactor_every", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                bad(name, "must be a positive integer")
        if not self.lambda_iso >= 0:
            bad("lambda_iso", "must be non-negative")
        if not self.lk_per_bond >= 0:
            bad("lk_per_bond", "must be non-negative")
        if not self.tol > 0:
            bad("tol", "must be positive")
        if not self.iso_tol > 0:
            bad("iso_tol", "must be positive")
        if not self.path_step >= 0:
            bad("path_step", "must be non-negative")
        if not 0.0 <= self.affine_floor < 1.0:
            bad("affine_floor", "must lie in [0, 1)")
        if self.method not in METHODS:
            bad("method", f"choose from {', '.join(METHODS)}")
        if self.evaluator not in EVALUATORS:
            bad("evaluator", f"choose from {', '.join(EVALUATORS)}")
        return self

    @property
    def n_steps(self) -> int:
        """Number of temperatures ``T_t = t0 α^t ≥ tf``."""
        return int(math.floor(math.log(self.tf / self.t0) / math.log(self.alpha) + 1e-9)) + 1

    def temperature(self, step: int) -> float:
        return self.t0 * self.alpha**step

    def proposals_per_temperature(self, n_bonds: int) -> int:
        """``max(lk, ⌈lk_per_bond · n_bonds⌉)``."""
        return max(int(self.lk), math.ceil(self.lk_per_bond * n_bonds))

    def meets_target(self, nu: float, nu_x: float, nu_y: float, a_min: float) -> bool:
        """Whether a state meets the target: ν within tol, isotropic, and a material."""
        return bool(abs(nu - self.target) <= self.tol and abs(nu_x - nu_y) <= self.iso_tol
                    and a_min >= self.affine_floor)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AnnealSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(text).items() if k in known})
