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
number of extra zero modes and never yields a number. With the default
CHOLMOD the factorisation is that of ``Kp − τI`` (``τ`` the zero-mode
threshold), which exists only for a rigid network; the loads are then solved
by conjugate gradients on ``Kp`` preconditioned by that factor, whose
eigenvalues ``λ/(λ − τ)`` all lie in ``(1, λ_min/(λ_min − τ)]``: a few steps
reach round-off, and a network so close to the threshold that they do not is
refactorised without the shift.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hpcnet.errors import FloppyNetworkError, SolverError
from hpcnet.mechanics.rigidity import (
    count_zero_modes,
    prefer_ll,
    shift_certifies,
    smallest_eigenvalue,
    zero_threshold,
)
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
from hpcnet.tools.petsc_env import set_default_options

#: Largest accepted relative residual ‖K u − f‖/‖f‖ of a solve.
RESIDUAL_TOL = 1e-8
#: CHOLMOD goes supernodal only from about L = 40 on (measured on tri lattices: simplicial is
#: 1.5× faster at L = 32, supernodal 1.5× at L = 48; CHOLMOD's own switch is 40).
CHOLMOD_SPEED = {"mat_cholmod_supernodal_switch": 80}
#: Conjugate gradients on the shifted factor stop at a residual of CG_TOL × ‖f‖ (direct
#: solves leave 1e-14–1e-13 on generated networks up to L = 128) or at round-off; they
#: give way to an unshifted factorisation after CG_MAX_IT steps, or when the residual is
#: then above CG_ACCEPT × ‖f‖.
CG_TOL = 1e-12
CG_MAX_IT = 10
CG_ACCEPT = 1e-2 * RESIDUAL_TOL


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
    Use as a context manager, or call :meth:`destroy`. On the default path
    ``ksp`` holds the factorisation of the shifted ``Kp − τI`` (see the module
    notes); :meth:`solve` is the way to solve with it.
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
        if self.comm.getSize() == 1:
            prefer_ll(prefix)
            set_default_options(prefix, CHOLMOD_SPEED)
        self.ksp.setFromOptions()
        self._gather, self._full = PETSc.Scatter.toAll(self._x)
        self._cholmod_ll = shift_certifies(self.ksp)
        self._shifted = None  # the factorised Kp − τI, while solves go through it
        if check_rigidity:
            self._check_rigid()

    def _check_rigid(self) -> None:
        """Raise FloppyNetworkError if K has zero modes beyond the rigid ones."""
        from petsc4py import PETSc

        tau = zero_threshold(self._Kp)
        direct = self.ksp.getPC().getType() in (PETSc.PC.Type.CHOLESKY, PETSc.PC.Type.LU)
        if self._cholmod_ll:
            self._shifted = self._A.duplicate(copy=True)
            self._shifted.shift(-tau)
            self.ksp.setOperators(self._shifted)
            try:
                self.ksp.setUp()  # succeeds if and only if λ_min(Kp) > τ
                return
            except PETSc.Error:
                self._unshift()
        elif direct:
            try:
                self.ksp.setUp()
                lam = smallest_eigenvalue(self._A, self.ksp, self.comm)
            except (SolverError, PETSc.Error):  # the factorisation broke down: singular
                lam = 0.0
            if lam > tau:
                return
        extra = count_zero_modes(self._Kp, self.comm)
        if extra:
            raise FloppyNetworkError(extra)
        if direct:
            raise SolverError("the factorisation of K failed although the network is rigid")

    def _unshift(self) -> None:
        """Go back to the factorisation of Kp itself (made at the next setUp or solve)."""
        self.ksp.setOperators(self._A)
        self._shifted.destroy()
        self._shifted = None

    def _apply(self, rhs: np.ndarray) -> np.ndarray:
        """The KSP applied to each column of ``rhs`` (2N, k), gathered on every rank."""
        from petsc4py import PETSc

        if self._cholmod_ll:  # all columns in one pass through CHOLMOD's factor
            self.ksp.setUp()
            out = np.empty(rhs.shape, order="F")
            B, X = (PETSc.Mat().createDense(rhs.shape, array=a, comm=self.comm)
                    for a in (np.asfortranarray(rhs), out))
            try:
                self.ksp.getPC().getFactorMatrix().matSolve(B, X)
            finally:
                B.destroy()
                X.destroy()
            return out
        lo, hi = self._range
        out = np.empty_like(rhs)
        for k in range(rhs.shape[1]):
            self._b.setArray(rhs[lo:hi, k])
            self.ksp.solve(self._b, self._x)
            reason = self.ksp.getConvergedReason()
            if reason < 0:
                raise SolverError(f"elastic solve failed (KSP reason {reason}); "
                                  "check the -elastic_* options")
            self._gather.scatter(self._x, self._full, PETSc.InsertMode.INSERT,
                                 PETSc.ScatterMode.FORWARD)
            out[:, k] = self._full.getArray()
        return out

    def _pinned_solve(self, rhs: np.ndarray) -> np.ndarray:
        """``Kp⁻¹ rhs``: directly, or by CG on the shifted factor (see the module notes)."""
        if self._shifted is not None:
            x = _preconditioned_cg(self._Kp, self._apply, rhs)
            if x is not None:
                return x
            self._unshift()
        return self._apply(rhs)

    def solve(self, f: np.ndarray) -> np.ndarray:
        """Minimum-norm ``u = K⁺ f`` (``f`` is first projected onto the range of K).

        ``f`` is one load (2N,) or several as columns (2N, k); ``u`` has its shape.
        """
        f = np.asarray(f, dtype=np.float64)
        F = remove_rigid(f.reshape(len(f), -1), self.R)
        rhs = F.copy()
        rhs[self.pinned] = 0.0
        U = remove_rigid(self._pinned_solve(rhs), self.R)
        residual = (np.linalg.norm(self.K @ U - F, axis=0)
                    / np.maximum(np.linalg.norm(F, axis=0), 1e-300)).max(initial=0.0)
        if not residual < RESIDUAL_TOL:
            raise SolverError(f"elastic solve inaccurate: relative residual {residual:.2e}")
        return U.reshape(f.shape)

    def response(self, axis: str) -> np.ndarray:
        """Displacement under the uniaxial load along ``axis``."""
        return self.solve(uniaxial_load(self.net, axis))

    def poisson(self) -> PoissonResult:
        """ν_x, ν_y and ν = (ν_x + ν_y)/2 from the two uniaxial loads, with a_min."""
        U = self.solve(np.column_stack([uniaxial_load(self.net, a) for a in AXES]))
        return PoissonResult.of_responses(self.net, U[:, 0], U[:, 1])

    def destroy(self) -> None:
        for obj in (self.ksp, self._A, self._shifted, self._x, self._b, self._gather,
                    self._full):
            if obj is not None:
                obj.destroy()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()


def _preconditioned_cg(A, precondition, B: np.ndarray) -> np.ndarray | None:
    """``A⁻¹ B`` column by column (in lockstep) by CG with the preconditioner ``precondition``.

    Residuals are recomputed (``B − A X``) at every step, so that they do not
    drift. A column stops at a residual of CG_TOL × ‖b‖, or after two steps
    that fail to halve its best residual (round-off reached), and keeps its
    best iterate. None when that takes more than CG_MAX_IT steps or leaves a
    residual above CG_ACCEPT × ‖b‖ (a network so close to floppy that a direct
    solve is more accurate).
    """
    X, best = np.zeros_like(B), np.zeros_like(B)
    R = B.copy()
    Z = precondition(R)
    P = Z.copy()
    rz = np.einsum("ij,ij->j", R, Z)
    norm_B = np.abs(B).max(axis=0)
    residual, stalls = norm_B.copy(), np.zeros(B.shape[1], dtype=int)
    active = np.flatnonzero(norm_B > 0)
    for _ in range(CG_MAX_IT):
        Q = A @ P[:, active]
        alpha = rz[active] / np.einsum("ij,ij->j", P[:, active], Q)
        X[:, active] += alpha * P[:, active]
        R[:, active] = B[:, active] - A @ X[:, active]
        new = np.abs(R[:, active]).max(axis=0)
        better = new < residual[active]
        best[:, active[better]] = X[:, active[better]]
        stalls[active] = np.where(new <= 0.5 * residual[active], 0, stalls[active] + 1)
        residual[active] = np.minimum(new, residual[active])
        active = active[(residual[active] > CG_TOL * norm_B[active]) & (stalls[active] < 2)]
        if not len(active):
            return best if np.all(residual <= CG_ACCEPT * norm_B) else None
        Z = precondition(R[:, active])
        rz_new = np.einsum("ij,ij->j", R[:, active], Z)
        P[:, active] = Z + (rz_new / rz[active]) * P[:, active]
        rz[active] = rz_new
    return None


def poisson_ratio(net: Network, comm=None) -> PoissonResult:
    """Poisson's ratio of ``net`` (collective on ``comm``, default COMM_SELF)."""
    with ElasticSolver(net, comm) as solver:
        return solver.poisson()
