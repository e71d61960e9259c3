"""Normal modes of the dynamical matrix D = K (unit masses) with SLEPc (docs/physics.md).

:func:`lowest_modes` finds the k lowest non-rigid modes: SLEPc's Krylov-Schur
on K with shift-and-invert about a small negative target (so that ``K − σI``
is positive definite and factorised once by Cholesky: CHOLMOD on one rank,
MUMPS on several) and the three rigid-body modes as deflation space, so that
they never enter the search. Options prefix ``modes_``: code defaults first,
then ``setFromOptions()``, so ``-modes_eps_type lobpcg``, ``-modes_st_type
shift``, ``-modes_st_pc_factor_mat_solver_type mumps``, ``-modes_eps_tol`` and
every other SLEPc/PETSc setting override them.

:func:`all_modes` gives the whole non-rigid spectrum densely (small networks:
verification and figures) from K restricted to the complement of the rigid
modes.

Both return orthonormal modes orthogonal to the rigid ones, in ascending
order of ω², each with a deterministic sign, and refuse floppy networks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from hpcnet.errors import FloppyNetworkError, HpcnetError, SolverError
from hpcnet.mechanics.rigidity import ZERO_TOL, count_zero_modes
from hpcnet.mechanics.stiffness import (
    dof_range,
    pinned_dofs,
    pinned_matrix,
    rigid_modes,
    stiffness_matrix,
)
from hpcnet.network import Network
from hpcnet.tools.mpi import as_petsc

#: Default shift-and-invert target, relative to the mean diagonal of K. Negative,
#: so that every eigenvalue lies above it and "closest to the target" means
#: "lowest" whatever the spectrum; small, so that the lowest modes converge fast.
TARGET = -1e-6
#: Default SLEPc tolerance (relative residual of each eigenpair).
TOLERANCE = 1e-10
#: Default largest number of restarts.
MAX_IT = 1000


@dataclass(frozen=True)
class Modes:
    """Normal modes of one network, rigid modes excluded.

    Attributes
    ----------
    omega2 : (k,) array
        Eigenvalues ω² of D, ascending.
    vectors : (2N, k) array
        Orthonormal eigenvectors φ_i as columns, orthogonal to the rigid modes.
        The sign of each is fixed (positive overlap with a fixed generic vector)
        so that repeated runs, on any number of ranks, agree.
    complete : bool
        True when these are all 2N − 3 non-rigid modes (so weights sum to 1).
    solver : dict
        How they were computed (method, eigensolver settings, iterations).
    """

    omega2: np.ndarray
    vectors: np.ndarray
    complete: bool
    solver: dict = field(default_factory=dict)

    @property
    def omega(self) -> np.ndarray:
        """Frequencies ω_i = sqrt(ω²_i)."""
        return np.sqrt(np.clip(self.omega2, 0.0, None))

    @property
    def k(self) -> int:
        return len(self.omega2)


def lowest_modes(net: Network, k: int = 20, comm=None, prefix: str = "modes_") -> Modes:
    """The ``k`` lowest non-rigid normal modes of ``net`` from SLEPc.

    Collective on ``comm`` (mpi4py or PETSc, default ``COMM_SELF``): K is distributed by rows
    over its ranks; every rank gets all the modes.

    Raises
    ------
    HpcnetError
        ``k`` is not between 1 and the number 2N − 3 of non-rigid modes.
    FloppyNetworkError
        The network has zero modes beyond the rigid ones.
    SolverError
        SLEPc converged fewer than ``k`` eigenpairs.
    """
    from petsc4py import PETSc
    from slepc4py import SLEPc

    from hpcnet.mechanics.stiffness import to_petsc

    comm = as_petsc(comm)
    n_modes = net.n_dof - 3
    if not 1 <= k <= n_modes:
        raise HpcnetError(f"k = {k}: a network of {net.n_nodes} nodes has {n_modes} non-rigid "
                          f"modes; ask for 1 to {n_modes} (all_modes or --all gives them all)")
    K = stiffness_matrix(net)
    scale = float(K.diagonal().mean())
    lo, hi = dof_range(net.n_dof, comm)
    A = to_petsc(K, comm)
    rigid = []
    for column in rigid_modes(net.positions).T:
        v = A.createVecLeft()
        v.setArray(column[lo:hi])
        rigid.append(v)
    eps = SLEPc.EPS().create(comm=comm)
    try:
        eps.setOperators(A)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        eps.setType(SLEPc.EPS.Type.KRYLOVSCHUR)
        eps.setDimensions(nev=k)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_MAGNITUDE)
        eps.setTarget(TARGET * scale)
        eps.setTolerances(TOLERANCE, MAX_IT)
        eps.setDeflationSpace(rigid)
        st = eps.getST()
        st.setType(SLEPc.ST.Type.SINVERT)
        ksp = st.getKSP()
        ksp.setType(PETSc.KSP.Type.PREONLY)
        ksp.getPC().setType(PETSc.PC.Type.CHOLESKY)
        ksp.getPC().setFactorSolverType("cholmod" if comm.getSize() == 1 else "mumps")
        eps.setOptionsPrefix(prefix)
        eps.setFromOptions()
        eps.solve()
        nconv = eps.getConverged()
        if nconv < k:
            raise SolverError(
                f"SLEPc converged {nconv} of the {k} requested modes "
                f"(reason {eps.getConvergedReason()}); check the -{prefix}* options"
            )
        omega2, vectors = _gather_eigenpairs(eps, k, A)
        solver = {
            "method": "slepc", "eps_type": eps.getType(), "st_type": st.getType(),
            "target": float(eps.getTarget().real), "tol": float(eps.getTolerances()[0]),
            "iterations": int(eps.getIterationNumber()), "converged": int(nconv),
            "ranks": comm.getSize(),
        }
    finally:
        eps.destroy()
        A.destroy()
        for v in rigid:
            v.destroy()
    order = np.argsort(omega2, kind="stable")
    omega2, vectors = omega2[order], vectors[:, order]
    if omega2[0] < ZERO_TOL * scale:
        raise FloppyNetworkError(count_zero_modes(pinned_matrix(K, pinned_dofs(net.positions)),
                                                  comm))
    return Modes(omega2, _fix_signs(vectors), complete=(k == n_modes), solver=solver)


def _gather_eigenpairs(eps, k: int, A) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` converged eigenpairs, every vector gathered on every rank."""
    from petsc4py import PETSc

    x = A.createVecRight()
    gather, full = PETSc.Scatter.toAll(x)
    omega2 = np.empty(k)
    vectors = np.empty((A.getSize()[0], k))
    try:
        for i in range(k):
            omega2[i] = eps.getEigenpair(i, x).real
            gather.scatter(x, full, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
            vectors[:, i] = full.getArray()
    finally:
        for obj in (x, gather, full):
            obj.destroy()
    return omega2, vectors


def all_modes(net: Network, comm=None) -> Modes:
    """All 2N − 3 non-rigid modes from a dense eigensolver (small networks only).

    K is restricted to the orthogonal complement of the rigid modes (a
    complete orthonormal basis Q from a QR factorisation of the rigid modes),
    ``QᵀKQ`` is diagonalised by LAPACK on rank 0 and the result broadcast.
    Collective on ``comm`` (mpi4py or PETSc, default ``COMM_SELF``). Memory and time grow as
    (2N)² and (2N)³: about 1 s at N = 1000 nodes.
    """

    comm = as_petsc(comm)
    mpi = comm.tompi4py()
    result = None
    if mpi.Get_rank() == 0:
        result = _dense_spectrum(stiffness_matrix(net), rigid_modes(net.positions))
    omega2, vectors = mpi.bcast(result, root=0)
    scale = float(net.stiffness.sum() * 2.0 / net.n_dof)  # mean diagonal of K
    extra = int(np.sum(omega2 < ZERO_TOL * scale))
    if extra:
        raise FloppyNetworkError(extra)
    return Modes(omega2, _fix_signs(vectors), complete=True,
                 solver={"method": "dense", "ranks": comm.getSize()})


def _dense_spectrum(K: sp.csr_matrix, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of K on the complement of the orthonormal columns of ``R``."""
    Q = np.linalg.qr(R, mode="complete")[0][:, R.shape[1]:]
    KQ = np.asarray(K @ Q)
    omega2, Y = np.linalg.eigh(Q.T @ KQ)
    return omega2, Q @ Y


def _fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Flip each column so that its overlap with a fixed generic vector is positive."""
    generic = np.random.default_rng(0).standard_normal(vectors.shape[0])
    signs = np.where(generic @ vectors < 0.0, -1.0, 1.0)
    return vectors * signs
