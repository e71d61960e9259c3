"""Bond-level response statistics (docs/physics.md, paper Fig. 1i-j).

Each bond b gives a point ``p_b = (δl_b(u_x)/ε_xx(u_x), δl_b(u_y)/ε_yy(u_y))``:
its elongation ``δl_b = e_b·(u_j − u_i)`` under the x-load divided by that
load's ε_xx, and under the y-load divided by its ε_yy. Its spread
``σ² = mean_b |p_b − p̄|²`` and the share of points in quadrants I+III
(both elongations of one sign: auxetic-like) against II+IV summarise it.

A coordinate within :data:`AXIS_TOL` mean bond lengths of zero puts its point
on an axis, in no quadrant: on a perfect triangular lattice the x-load response
is affine with ν_x = 1/3, which leaves the bonds at ±60° exactly unstretched,
and round-off must not scatter them over quadrants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpcnet.mechanics.stiffness import compatibility_matrix
from hpcnet.mechanics.strain import affine_strain
from hpcnet.network import Network

#: Names of the quadrants, counter-clockwise from (+, +).
QUADRANTS = ("I", "II", "III", "IV")
#: |p| below AXIS_TOL × (mean rest length) counts as zero (p has units of length).
AXIS_TOL = 1e-9


@dataclass(frozen=True)
class BondStatistics:
    """The bond points of one network and their statistics.

    Attributes
    ----------
    points : (M, 2) array
        ``p_b`` for every bond (x-load, y-load).
    sigma2 : float
        ``mean_b |p_b − p̄|²``.
    quadrants : (4,) int array
        Number of points strictly inside quadrants I, II, III, IV.
    on_axes : int
        Number of points with a zero coordinate (within AXIS_TOL).
    """

    points: np.ndarray
    sigma2: float
    quadrants: np.ndarray
    on_axes: int

    @property
    def fraction_13(self) -> float:
        """Share of all bonds in quadrants I and III."""
        return float(self.quadrants[[0, 2]].sum() / len(self.points))

    @property
    def fraction_24(self) -> float:
        """Share of all bonds in quadrants II and IV."""
        return float(self.quadrants[[1, 3]].sum() / len(self.points))

    @property
    def fraction_axes(self) -> float:
        """Share of all bonds on an axis."""
        return self.on_axes / len(self.points)

    def as_dict(self) -> dict:
        """Summary without the per-bond points."""
        return {"bonds": len(self.points), "sigma2": self.sigma2,
                "mean": self.points.mean(axis=0).tolist(),
                "quadrants": dict(zip(QUADRANTS, self.quadrants.tolist(), strict=True)),
                "on_axes": self.on_axes, "fraction_13": self.fraction_13,
                "fraction_24": self.fraction_24, "fraction_axes": self.fraction_axes}


def bond_points(net: Network, u_x: np.ndarray, u_y: np.ndarray) -> np.ndarray:
    """(M, 2) normalised elongations of every bond under the x- and y-load responses."""
    B = compatibility_matrix(net)
    eps_x = affine_strain(net.positions, u_x)
    eps_y = affine_strain(net.positions, u_y)
    return np.column_stack([B @ u_x / eps_x[0, 0], B @ u_y / eps_y[1, 1]])


def statistics(net: Network, points: np.ndarray) -> BondStatistics:
    """σ² and quadrant counts of the bond points of ``net``."""
    zero = AXIS_TOL * float(net.rest_lengths().mean())
    on_axis = np.any(np.abs(points) <= zero, axis=1)
    right, up = points[:, 0] > 0, points[:, 1] > 0
    inside = ~on_axis
    quadrants = np.array([np.sum(inside & right & up), np.sum(inside & ~right & up),
                          np.sum(inside & ~right & ~up), np.sum(inside & right & ~up)])
    spread = points - points.mean(axis=0)
    return BondStatistics(points=points, sigma2=float(np.mean(np.sum(spread**2, axis=1))),
                          quadrants=quadrants, on_axes=int(on_axis.sum()))


def bond_statistics(net: Network, comm=None) -> BondStatistics:
    """Bond statistics of ``net`` from its two load responses.

    Collective on ``comm`` (mpi4py or PETSc, default ``COMM_SELF``); raises
    :class:`~hpcnet.errors.FloppyNetworkError` for a floppy network.
    """
    from hpcnet.mechanics.elastic import ElasticSolver

    with ElasticSolver(net, comm) as solver:
        u_x, u_y = solver.response("x"), solver.response("y")
    return statistics(net, bond_points(net, u_x, u_y))
