"""Floppiness: zero modes beyond the three rigid-body ones, with SLEPc.

The three pinned DOFs of :func:`~hpcnet.mechanics.stiffness.pinned_dofs` remove the
rigid-body motions, so every zero eigenvalue of the pinned stiffness matrix
``Kp`` is one extra zero mode.

Two paths: :func:`smallest_eigenvalue` reuses a solver's existing
factorisation of ``Kp`` (shift-and-invert about 0 costs a few triangular
solves), which is all a rigid network needs; :func:`count_zero_modes` counts
the zero modes with its own factorisation of ``Kp + δI`` (always definite),
which is only paid for floppy networks. Options prefix ``rigidity_``.
"""

from __future__ import annotations

import scipy.sparse as sp

from hpcnet.errors import SolverError

#: An eigenvalue below ZERO_TOL × (mean diagonal of K) counts as a zero mode.
ZERO_TOL = 1e-9
#: Shift of the counting path, relative to the mean diagonal.
SHIFT = -1e-6


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
