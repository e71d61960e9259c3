"""Floppiness: zero modes beyond the three rigid-body ones.

The three pinned DOFs of :func:`~hpcnet.mechanics.stiffness.pinned_dofs` remove the
rigid-body motions, so every eigenvalue of the pinned stiffness matrix ``Kp``
at or below the threshold ``τ = ZERO_TOL × (mean diagonal of Kp)`` is one
extra zero mode, and a network is rigid exactly when ``λ_min(Kp) > τ``.

Three tools. The certificate (:func:`shift_certifies`): a Cholesky
factorisation ``LLᵀ`` of ``Kp − τI`` exists if and only if ``λ_min(Kp) > τ``;
CHOLMOD set to ``LLᵀ`` (:func:`prefer_ll`) stops at the first non-positive
pivot, so the factorisation itself is the verdict, at no extra solve.
:func:`smallest_eigenvalue` reuses a solver's factorisation of ``Kp``
(shift-and-invert about 0, some 16 solves), for solvers whose factorisation
does not report indefiniteness. :func:`count_zero_modes` counts the zero modes
with its own factorisation of ``Kp + δI`` (always definite), which is only
paid for floppy networks. Options prefix ``rigidity_``.
"""

from __future__ import annotations

import scipy.sparse as sp

from hpcnet.errors import SolverError
from hpcnet.tools.petsc_env import set_default_options

#: An eigenvalue below ZERO_TOL × (mean diagonal of K) counts as a zero mode.
ZERO_TOL = 1e-9
#: Shift of the counting path, relative to the mean diagonal.
SHIFT = -1e-6


def zero_threshold(Kp: sp.spmatrix) -> float:
    """``τ``: eigenvalues of the pinned matrix at or below it are zero modes."""
    return ZERO_TOL * float(Kp.diagonal().mean())


#: CHOLMOD settings under which every factorisation is ``LLᵀ`` and stops at a non-positive
#: pivot (its default simplicial ``LDLᵀ`` accepts negative pivots).
LL_OPTIONS = {"mat_cholmod_final_asis": False, "mat_cholmod_final_ll": True}


def prefer_ll(prefix: str) -> None:
    """Make CHOLMOD factorise ``LLᵀ``, quietly, under ``prefix``, where the user left it alone.

    A floppy network stopping the factorisation is an expected outcome, not
    worth CHOLMOD's warning.
    """
    set_default_options(prefix, {**LL_OPTIONS, "mat_cholmod_print": 0})


def shift_certifies(ksp) -> bool:
    """Whether ``ksp`` factorises by CHOLMOD ``LLᵀ`` (one rank, direct), failing when indefinite."""
    from petsc4py import PETSc

    pc, prefix = ksp.getPC(), ksp.getOptionsPrefix() or ""
    options = PETSc.Options()
    return (ksp.getComm().getSize() == 1
            and ksp.getType() == PETSc.KSP.Type.PREONLY
            and pc.getType() == PETSc.PC.Type.CHOLESKY
            and pc.getFactorSolverType() == "cholmod"
            and all(options.getBool(prefix + name, not value) == value
                    for name, value in LL_OPTIONS.items()))


class _InverseOperator:
    """MatPython context applying ``A⁻¹`` through an existing solver."""

    def __init__(self, ksp):
        self.ksp = ksp

    def mult(self, mat, x, y):
        self.ksp.solve(x, y)
        if self.ksp.getConvergedReason() < 0:
            raise SolverError("the factorisation cannot be applied (singular matrix)")


def smallest_eigenvalue(A, ksp, comm, prefix: str = "rigidity_") -> float:
    """Smallest eigenvalue of the SPD PETSc matrix ``A``, reusing ``ksp``'s factorisation.

    SLEPc finds the largest eigenvalue of ``A⁻¹`` applied by ``ksp`` (a
    direct factorisation of ``A``), so no second factorisation is made.
    Collective on ``comm``.
    """
    from petsc4py import PETSc
    from slepc4py import SLEPc

    inverse = PETSc.Mat().createPython(A.getSizes(), _InverseOperator(ksp), comm=comm)
    inverse.setUp()
    eps = SLEPc.EPS().create(comm=comm)
    try:
        eps.setOperators(inverse)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.LARGEST_MAGNITUDE)
        eps.setDimensions(nev=1)
        eps.setTolerances(1e-10, 200)
        eps.setOptionsPrefix(prefix)
        eps.setFromOptions()
        eps.solve()
        if eps.getConverged() < 1:
            raise SolverError("rigidity check: SLEPc did not converge")
        theta = eps.getEigenvalue(0).real
        return 1.0 / theta if theta > 0 else 0.0
    finally:
        eps.destroy()
        inverse.destroy()


def count_zero_modes(Kp: sp.csr_matrix, comm, prefix: str = "rigidity_") -> int:
    """Number of (numerically) zero eigenvalues of the pinned matrix ``Kp``.

    Zero modes are exactly degenerate, and a Krylov solver may return only
    some copies of a multiple eigenvalue; so the zero vectors found are
    deflated and the solve repeated until it finds no further zero. Collective on ``comm``.
    """
    from petsc4py import PETSc
    from slepc4py import SLEPc

    from hpcnet.mechanics.stiffness import to_petsc

    n = Kp.shape[0]
    scale = float(Kp.diagonal().mean())
    A = to_petsc(Kp, comm)
    found = []
    try:
        while len(found) < n:
            eps = SLEPc.EPS().create(comm=comm)
            try:
                eps.setOperators(A)
                eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
                eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_MAGNITUDE)
                eps.setTarget(SHIFT * scale)
                st = eps.getST()
                st.setType(SLEPc.ST.Type.SINVERT)
                ksp = st.getKSP()
                ksp.setType(PETSc.KSP.Type.PREONLY)
                ksp.getPC().setType(PETSc.PC.Type.CHOLESKY)
                ksp.getPC().setFactorSolverType("mumps")
                eps.setTolerances(1e-10, 200)
                eps.setDimensions(nev=min(4, n - len(found)))
                if found:
                    eps.setDeflationSpace(found)
                eps.setOptionsPrefix(prefix)
                eps.setFromOptions()
                eps.solve()
                if eps.getConverged() == 0:
                    raise SolverError("rigidity check: SLEPc found no eigenvalue")
                before = len(found)
                for i in range(eps.getConverged()):
                    v = A.createVecRight()
                    if eps.getEigenpair(i, v).real < ZERO_TOL * scale:
                        found.append(v)
                    else:
                        v.destroy()
            finally:
                eps.destroy()
            if len(found) == before:
                break  # the smallest eigenvalue outside the zero space is non-zero
        return len(found)
    finally:
        for v in found:
            v.destroy()
        A.destroy()
