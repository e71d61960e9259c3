"""The factorised pinned stiffness of a masked network, and what an evaluation returns.

:class:`PinnedFactor` holds a sparse Cholesky factorisation (PETSc on
``COMM_SELF``) of the pinned stiffness of one bond mask, assembled on the full
network's fixed sparsity pattern (:class:`~hpcnet.anneal.bondsystem.BondSystem`).
Rigidity follows ElasticSolver: the smallest pinned eigenvalue (SLEPc on the
factor) must exceed ``ZERO_TOL`` times the mean diagonal; states a chain
accepts keep RIGID_MARGIN times that, so that each of them passes
``hpcnet poisson``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpcnet.anneal.bondsystem import BondSystem
from hpcnet.errors import FloppyNetworkError, SolverError
from hpcnet.mechanics.rigidity import ZERO_TOL, smallest_eigenvalue
from hpcnet.mechanics.strain import poisson_pair
from hpcnet.tools.petsc_env import set_default_options

#: Accepted states keep their smallest pinned eigenvalue above RIGID_MARGIN × ZERO_TOL × (mean
#: diagonal): ten times the threshold below which ElasticSolver calls a network floppy.
RIGID_MARGIN = 10.0


@dataclass(frozen=True)
class Evaluation:
    """Outcome of evaluating a mask: floppy, or its Poisson's ratios and affine fractions."""

    floppy: bool
    nu: float = float("nan")
    nu_x: float = float("nan")
    nu_y: float = float("nan")
    affine_x: float = float("nan")
    affine_y: float = float("nan")

    @property
    def a_min(self) -> float:
        """The smaller affine fraction (docs/physics.md, "Material response")."""
        return min(self.affine_x, self.affine_y)

    @classmethod
    def of_strains(cls, E: np.ndarray, affine: np.ndarray) -> Evaluation:
        """From the strains ``E[c, a] = g_cᵀ x_a`` and the affine fractions (a_x, a_y)."""
        nu, nu_x, nu_y = poisson_pair(np.diag(E[:, 0]), np.diag(E[:, 1]))
        return cls(False, float(nu), nu_x, nu_y, float(affine[0]), float(affine[1]))


FLOPPY = Evaluation(True)


class PinnedFactor:
    """Sparse Cholesky factorisation of the pinned stiffness of one mask.

    PETSc on ``COMM_SELF`` (CHOLMOD by default; options prefix ``prefix``,
    e.g. ``-anneal_pc_factor_mat_solver_type mumps``). The matrix keeps the
    full network's sparsity pattern, so refactorising reuses the symbolic
    analysis. Call :meth:`destroy` when done.
    """

    def __init__(self, system: BondSystem, mask: np.ndarray, prefix: str = "anneal_"):
        from petsc4py import PETSc

        self.system = system
        n = system.n_dof
        # a floppy proposal is an expected outcome, not worth CHOLMOD's warning
        set_default_options(prefix, {"mat_cholmod_print": 0})
        self.A = PETSc.Mat().createAIJ(
            size=(n, n), csr=(system.indptr, system.indices, system.pinned_values(mask)),
            comm=PETSc.COMM_SELF)
        self.A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        self.A.assemble()
        self.ksp = PETSc.KSP().create(comm=PETSc.COMM_SELF)
        self.ksp.setOperators(self.A)
        self.ksp.setType(PETSc.KSP.Type.PREONLY)
        pc = self.ksp.getPC()
        pc.setType(PETSc.PC.Type.CHOLESKY)
        pc.setFactorSolverType("cholmod")
        self.ksp.setOptionsPrefix(prefix)
        self.ksp.setFromOptions()
        self._x, self._b = self.A.createVecs()
        self._setup()

    def _setup(self) -> None:
        from petsc4py import PETSc

        try:
            self.ksp.setUp()
        except PETSc.Error as exc:
            raise SolverError(f"factorisation of the pinned stiffness failed: {exc}") from None

    def refactor(self, mask: np.ndarray) -> None:
        """Factorise the pinned stiffness of ``mask`` (same pattern, new values)."""
        self.A.setValuesCSR(self.system.indptr, self.system.indices,
                            self.system.pinned_values(mask))
        self.A.assemble()
        self.ksp.setOperators(self.A)
        self._setup()

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``K⁻¹ rhs`` for one right-hand side."""
        self._b.setArray(rhs)
        self.ksp.solve(self._b, self._x)
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            raise SolverError(f"solve with the factor failed (KSP reason {reason})")
        return self._x.getArray().copy()

    def solve_many(self, rhs: np.ndarray) -> np.ndarray:
        """``K⁻¹ rhs`` column by column (bitwise the same as :meth:`solve`)."""
        return np.column_stack([self.solve(rhs[:, k]) for k in range(rhs.shape[1])])

    def smallest_eigenvalue(self) -> float:
        """Smallest eigenvalue of the factorised matrix (SLEPc on the factor)."""
        from petsc4py import PETSc

        return smallest_eigenvalue(self.A, self.ksp, PETSc.COMM_SELF,
                                   prefix=self.ksp.getOptionsPrefix() + "rigidity_")

    def destroy(self) -> None:
        for obj in (self.ksp, self.A, self._x, self._b):
            obj.destroy()


def rigid_threshold(system: BondSystem, mask: np.ndarray) -> float:
    """Smallest pinned eigenvalue an accepted state must exceed (see RIGID_MARGIN)."""
    return RIGID_MARGIN * ZERO_TOL * system.mean_pinned_diagonal(mask)


def factor_rigid(system: BondSystem, mask: np.ndarray, prefix: str) -> tuple[PinnedFactor, float]:
    """Factorise ``mask`` and return the factor with its smallest pinned eigenvalue.

    Raises FloppyNetworkError (counting the zero modes) under ElasticSolver's
    criterion, so that a network ``hpcnet poisson`` accepts is accepted here.
    """
    from petsc4py import PETSc

    from hpcnet.mechanics.rigidity import count_zero_modes

    factor, lam = None, 0.0
    try:
        factor = PinnedFactor(system, mask, prefix)
        lam = factor.smallest_eigenvalue()
    except (SolverError, PETSc.Error):
        pass
    if lam > ZERO_TOL * system.mean_pinned_diagonal(mask):
        return factor, lam
    if factor is not None:
        factor.destroy()
    extra = count_zero_modes(system.pinned_matrix(mask), PETSc.COMM_SELF)
    raise FloppyNetworkError(max(extra, 1))
