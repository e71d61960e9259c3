"""Linear elastic response and Poisson's ratio with PETSc (docs/physics.md).

Uniaxial traction loads on the boundary sets, projected onto the range of K;
the response is the minimum-norm solution ``u = K⁺ f``. PETSc solves the
system with three DOFs pinned (which removes the rigid motions) and the rigid
components are then projected out, which gives exactly ``K⁺ f``.

Options prefix ``elastic_``: the default is a direct Cholesky factorisation
(CHOLMOD on one rank, MUMPS on several); ``-elastic_ksp_type cg
-elastic_pc_type gamg`` and any other PETSc setting override it.

Floppiness is checked on the same factorisation (see :mod:`hpcnet.mechanics.rigidity`):
a floppy network raises :class:`~hpcnet.errors.FloppyNetworkError` naming its
number of extra zero modes and never yields a number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hpcnet.errors import FloppyNetworkError, SolverError
from hpcnet.mechanics.rigidity import ZERO_TOL, count_zero_modes, smallest_eigenvalue
from hpcnet.mechanics.stiffness import (
    dof_range,
    pinned_dofs,
    pinned_matrix,
    remove_rigid,
    rigid_modes,
    stiffness_matrix,
    to_petsc,
)
from hpcnet.mechanics.strain import (
    AXES,
    affine_fraction,
    affine_strain,
    boundary_strain,
    poisson_pair,
)
from hpcnet.network import Network
from hpcnet.tools.mpi import as_petsc

#: Largest accepted relative residual ‖K u − f‖/‖f‖ of a solve.
RESIDUAL_TOL = 1e-8


def uniaxial_load(net: Network, axis: str) -> np.ndarray:
    """Traction load along ``axis`` ('x' or 'y'), rigid components not yet removed.

    x: ``-1/|left|`` on every left node and ``+1/|right|`` on every right node,
    along x; y: the same on bottom/top along y.
    """
    a = AXES.index(axis)
    low, high = ("left", "right") if axis == "x" else ("bottom", "top")
    f = np.zeros(net.n_dof)
    np.add.at(f, 2 * net.boundary[low] + a, -1.0 / len(net.boundary[low]))
    np.add.at(f, 2 * net.boundary[high] + a, 1.0 / len(net.boundary[high]))
    return f


@dataclass(frozen=True)
class PoissonResult:
    """Poisson's ratios of one network, the strains they come from, and the material check.

    ``affine_x``/``affine_y`` are the affine fractions of the two responses and
    ``a_min`` the smaller; ``nu_boundary*`` are ν from the boundary sets' mean
    displacements (docs/physics.md, "Material response").
    """

    nu: float
    nu_x: float
    nu_y: float
    strain_x: tuple  # ε (2×2, nested tuples) under the x-load
    strain_y: tuple  # ε under the y-load
    affine_x: float
    affine_y: float
    a_min: float
    nu_boundary: float
    nu_boundary_x: float
    nu_boundary_y: float

    @classmethod
    def of_responses(cls, net: Network, u_x: np.ndarray, u_y: np.ndarray) -> PoissonResult:
        """The result for the responses ``u_x``, ``u_y`` of ``net`` to the two loads."""
        eps_x, eps_y = (affine_strain(net.positions, u) for u in (u_x, u_y))
        nu, nu_x, nu_y = poisson_pair(eps_x, eps_y)
        affine = [affine_fraction(net.positions, u) for u in (u_x, u_y)]
        nu_b, nu_bx, nu_by = poisson_pair(
            *(boundary_strain(net.positions, net.boundary, u) for u in (u_x, u_y)))
        return cls(nu=nu, nu_x=nu_x, nu_y=nu_y, strain_x=tuple(map(tuple, eps_x)),
                   strain_y=tuple(map(tuple, eps_y)), affine_x=affine[0], affine_y=affine[1],
                   a_min=min(affine), nu_boundary=nu_b, nu_boundary_x=nu_bx,
                   nu_boundary_y=nu_by)

    def as_dict(self) -> dict:
        return asdict(self)


class ElasticSolver:
    """Factorises K of one network once and solves for any number of loads.

    Collective on ``comm`` (mpi4py or PETSc, default ``COMM_SELF``). Raises
    :class:`~hpcnet.errors.FloppyNetworkError` for a floppy network.
    Use as a context manager, or call :meth:`destroy`.
    """

    def __init__(self, net: Network, comm=None, prefix: str = "elastic_",
                 check_rigidity: bool = True):
        from petsc4py import PETSc

        self.net = net
        self.comm = as_petsc(comm)
        self.K = stiffness_matrix(net)
        self.R = rigid_modes(net.positions)
        self.pinned = pinned_dofs(net.positions)
        self._Kp = pinned_matrix(self.K, self.pinned)
        self._A = to_petsc(self._Kp, self.comm)
        self._x, self._b = self._A.createVecs()
        self._range = dof_range(net.n_dof, self.comm)
        self.ksp = PETSc.KSP().create(comm=self.comm)
        self.ksp.setOperators(self._A)
        self.ksp.setType(PETSc.KSP.Type.PREONLY)
        pc = self.ksp.getPC()
        pc.setType(PETSc.PC.Type.CHOLESKY)
        pc.setFactorSolverType("cholmod" if self.comm.getSize() == 1 else "mumps")
        self.ksp.setTolerances(rtol=1e-12, atol=1e-50)
        self.ksp.setOptionsPrefix(prefix)
        self.ksp.setFromOptions()
        self._gather, self._full = PETSc.Scatter.toAll(self._x)
        if check_rigidity:
            self._check_rigid()

    def _check_rigid(self) -> None:
        """Raise FloppyNetworkError if K has zero modes beyond the rigid ones."""
        from petsc4py import PETSc

        direct = self.ksp.getPC().getType() in (PETSc.PC.Type.CHOLESKY, PETSc.PC.Type.LU)
        if direct:
            try:
                self.ksp.setUp()
                lam = smallest_eigenvalue(self._A, self.ksp, self.comm)
            except (SolverError, PETSc.Error):  # the factorisation broke down: singular
                lam = 0.0
            if lam > ZERO_TOL * float(self._Kp.diagonal().mean()):
                return
        extra = count_zero_modes(self._Kp, self.comm)
        if extra:
            raise FloppyNetworkError(extra)
        if direct:
            raise SolverError("the factorisation of K failed although the network is rigid")

    def solve(self, f: np.ndarray) -> np.ndarray:
        """Minimum-norm ``u = K⁺ f`` (``f`` is first projected onto the range of K)."""
        from petsc4py import PETSc

        f = remove_rigid(np.asarray(f, dtype=np.float64), self.R)
        rhs = f.copy()
        rhs[self.pinned] = 0.0
        lo, hi = self._range
        self._b.setArray(rhs[lo:hi])
        self.ksp.solve(self._b, self._x)
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            raise SolverError(f"elastic solve failed (KSP reason {reason}); "
                              "check the -elastic_* options")
        self._gather.scatter(self._x, self._full, PETSc.InsertMode.INSERT,
                             PETSc.ScatterMode.FORWARD)
        u = remove_rigid(self._full.getArray().copy(), self.R)
        residual = np.linalg.norm(self.K @ u - f) / max(np.linalg.norm(f), 1e-300)
        if not residual < RESIDUAL_TOL:
            raise SolverError(f"elastic solve inaccurate: relative residual {residual:.2e}")
        return u

    def response(self, axis: str) -> np.ndarray:
        """Displacement under the uniaxial load along ``axis``."""
        return self.solve(uniaxial_load(self.net, axis))

    def poisson(self) -> PoissonResult:
        """ν_x, ν_y and ν = (ν_x + ν_y)/2 from the two uniaxial loads, with a_min."""
        return PoissonResult.of_responses(self.net, *(self.response(a) for a in AXES))

    def destroy(self) -> None:
        for obj in (self.ksp, self._A, self._x, self._b, self._gather, self._full):
            obj.destroy()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()


def poisson_ratio(net: Network, comm=None) -> PoissonResult:
    """Poisson's ratio of ``net`` (collective on ``comm``, default COMM_SELF)."""
    with ElasticSolver(net, comm) as solver:
        return solver.poisson()
