"""Rigidity of a network changed by a few bonds, decided from the base's factorisation.

For a base ``K₀`` and the current state ``K = K₀ + U C Uᵀ`` (the bonds that differ,
``C = diag(±k)``), Haynsworth inertia turns questions about K into questions about
small dense matrices: a proposal creates a zero mode exactly when ``Ŝ = diag(τ) +
k^½ Uᵀ K⁻¹ U k^½`` lacks one clearly negative eigenvalue per removed bond
(:func:`removal_ratio`), and ``K − shift·I ≻ 0`` (the margin of rigidity) can be
proven or disproven from ``Uᵀ K₀⁻¹ U`` and ``WᵀW``, ``W = K₀⁻¹ U``
(:func:`inertia_verdict`, :func:`pencil_shift`). The evaluator in
:mod:`hpcnet.anneal.incremental` supplies those matrices from its cached columns.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la

#: A removal with ``1 − χ_b`` (or an eigenvalue of ``Ŝ``) above ``−FLOPPY_TOL`` creates a zero mode.
FLOPPY_TOL = 1e-9
#: The base's λ_min from SLEPc (a Ritz value, so from above, converged to 1e-8) times this
#: is taken as a lower bound of it.
BASE_LAMBDA_SAFETY = 0.99


def removal_ratio(tau: np.ndarray, k: np.ndarray, G: np.ndarray) -> float:
    """Lower bound of λ_min(after)/λ_min(before) for the toggles (0 when a zero mode appears).

    ``G = U_Sᵀ K⁻¹ U_S`` of the current state, ``tau`` −1 (remove) / +1 (add).
    Additions only stiffen; the removals then lower λ_min by at most the
    determinant ratio ``det(K')/det(K'')`` (K'' = K + additions, K' ≤ K'').
    Zero when ``Ŝ = diag(τ) + k^½ G k^½`` lacks one clearly negative
    eigenvalue per removal (Haynsworth inertia: a new zero mode).
    """
    removals = tau < 0
    n_removals = int(np.sum(removals))
    if n_removals == 0:
        return 1.0
    if len(tau) == 1:
        ratio = 1.0 - k[0] * G[0, 0]  # 1 − χ_b
        return ratio if ratio > FLOPPY_TOL else 0.0
    sk = np.sqrt(k)
    S_hat = np.diag(tau) + sk[:, None] * G * sk[None, :]
    eig = np.linalg.eigvalsh(0.5 * (S_hat + S_hat.T))
    if np.sum(eig < -FLOPPY_TOL) < n_removals:
        return 0.0
    CG = (tau * k)[:, None] * G
    adds = ~removals
    det_all = np.linalg.det(np.eye(len(tau)) + CG)
    det_adds = np.linalg.det(np.eye(int(adds.sum())) + CG[np.ix_(adds, adds)]) \
        if adds.any() else 1.0
    return float(det_all / det_adds)


def inertia_verdict(removed: int, unshifted: np.ndarray, gram: np.ndarray, shift: float,
                     lam0: float) -> bool | None:
    """Whether ``K − shift·I ≻ 0``, from the pieces of :meth:`IncrementalPoisson._inertia_pieces`.

    ``K = K₀ + U C Uᵀ``; with ``A = K₀ − shift·I ≻ 0`` (``shift < lam0 ≤ λ_min(K₀)``),
    Haynsworth inertia gives: ``K − shift·I ≻ 0`` exactly when ``Cap = C⁻¹ + Uᵀ A⁻¹ U``
    has one negative eigenvalue per removed bond (``removed`` of them). ``Uᵀ A⁻¹ U =
    Uᵀ K₀⁻¹ U + shift·WᵀW + R`` with ``0 ⪯ R ⪯ shift²/(lam0 − shift)·WᵀW``, so by Weyl
    the r-th eigenvalue of Cap lies between those of the two matrices without and with
    that bound of R: both clearly negative proves it, both clearly positive disproves it.
    Scaled by ``|C|^½`` (same inertia).
    """
    low = unshifted + shift * gram
    if np.linalg.eigvalsh(low + shift * shift / (lam0 - shift) * gram)[removed - 1] \
            < -FLOPPY_TOL:
        return True
    if np.linalg.eigvalsh(low)[removed - 1] > FLOPPY_TOL:
        return False
    return None


def pencil_shift(removed: int, unshifted: np.ndarray, gram: np.ndarray, lam0: float) -> float:
    """A shift just below where :func:`inertia_verdict` stops proving rigidity (0 if none).

    The upper matrix there is ``unshifted + ρ·gram`` with ``ρ = shift·lam0/(lam0 − shift)``;
    its r-th eigenvalue turns positive at ``ρ* = −θ_r``, θ the eigenvalues of the
    pencil (unshifted, gram). Nine tenths of the matching shift, to be verified.
    """
    try:
        theta = la.eigh(unshifted, gram, eigvals_only=True, check_finite=False)
    except (la.LinAlgError, ValueError):  # gram not positive definite
        return 0.0
    rho = -float(theta[removed - 1])
    return 0.9 * rho * lam0 / (lam0 + rho) if rho > 0 else 0.0
