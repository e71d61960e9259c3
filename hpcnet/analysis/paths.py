"""σ² along the chains' tuning paths, normalised as in the paper's Fig. 1j.

A chain tuned down (its target below its initial ν) is normalised by its σ² at
ν = 0, a chain tuned up by its σ² at ν = 1/3 (:data:`REFERENCES`). Each
reference σ² is read where the path first crosses that ν, interpolated
linearly in ν between the two consecutive snapshots on either side. A chain
whose path never crosses its reference is left out and counted. The collapse
across kinds is measured at :data:`COLLAPSE_AT` (ν = −0.5 down, +0.6 up): the
normalised σ² of each chain there, interpolated the same way, averaged per kind.
Everything is read from the stored snapshots; nothing is solved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hpcnet.errors import HpcnetError

#: The ν at which each direction's σ² is normalised to 1 (the paper's Fig. 1j).
REFERENCES = {"down": 0.0, "up": 1.0 / 3.0}
#: The ν at which the normalised σ² of the kinds are compared.
COLLAPSE_AT = {"down": -0.5, "up": 0.6}


@dataclass(frozen=True)
class SigmaCurve:
    """One chain's path: ν and σ²/σ²(reference) at each snapshot."""

    kind: str
    row: int
    direction: str  # "down" or "up"
    nu: np.ndarray
    ratio: np.ndarray


@dataclass(frozen=True)
class SigmaCurves:
    """The normalised curves and, per direction, how many chains never crossed their reference."""

    curves: list[SigmaCurve]
    uncrossed: dict[str, int]

    def kinds(self) -> list[str]:
        return sorted({c.kind for c in self.curves})


def at_crossing(nu, values, level: float) -> float:
    """``values`` where the path ``nu`` first reaches ``level``, linear in ν between the two
    snapshots around it; NaN when it never does."""
    nu, values = np.asarray(nu, float), np.asarray(values, float)
    side = np.sign(nu - level)
    hit = np.flatnonzero(side == 0)
    cross = np.flatnonzero(side[:-1] * side[1:] < 0)
    first = min([*hit[:1], *cross[:1]], default=None)
    if first is None:
        return math.nan
    if side[first] == 0:
        return float(values[first])
    t = (level - nu[first]) / (nu[first + 1] - nu[first])
    return float(values[first] + t * (values[first + 1] - values[first]))


def sigma_curves(results) -> SigmaCurves:
    """The normalised σ² path of every finished chain of ``results`` (an ensemble with paths).

    Raises
    ------
    HpcnetError
        No paths in the file or no finished chain.
    """
    rows = np.flatnonzero(results.done)
    if not len(rows):
        raise HpcnetError(f"{results.file}: no finished chains to plot")
    curves, uncrossed = [], dict.fromkeys(REFERENCES, 0)
    for row in rows:
        path = results.path(int(row))
        start = path["nu"][0] if len(path["nu"]) else results.tasks["nu_initial"][row]
        direction = "down" if results.tasks["target"][row] < start else "up"
        reference = at_crossing(path["nu"], path["sigma2"], REFERENCES[direction])
        if not np.isfinite(reference):
            uncrossed[direction] += 1
            continue
        curves.append(SigmaCurve(str(results.tasks["kind"][row]), int(row), direction,
                                 np.asarray(path["nu"], float),
                                 np.asarray(path["sigma2"], float) / reference))
    return SigmaCurves(curves, uncrossed)


def collapse(curves: SigmaCurves) -> dict[str, dict]:
    """Per direction, at :data:`COLLAPSE_AT`: each kind's mean normalised σ² (``means``), its
    number of chains reaching that ν (``chains``), and the ``spread`` (max − min) of the means."""
    out = {}
    for direction, level in COLLAPSE_AT.items():
        means, counts = {}, {}
        for kind in curves.kinds():
            values = [at_crossing(c.nu, c.ratio, level) for c in curves.curves
                      if c.kind == kind and c.direction == direction]
            values = [v for v in values if np.isfinite(v)]
            if values:
                means[kind], counts[kind] = float(np.mean(values)), len(values)
        spread = max(means.values()) - min(means.values()) if means else math.nan
        out[direction] = {"at": level, "means": means, "chains": counts, "spread": spread}
    return out
