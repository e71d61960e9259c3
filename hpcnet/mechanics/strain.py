"""Strain of a displacement field, Poisson's ratios, and whether the response is a material's.

The strain of ``u`` is the symmetric part of the least-squares affine fit
``u_i ≈ A (r_i − r̄) + t`` over all nodes (docs/physics.md, "Strain and
Poisson's ratio"). The fit's *affine fraction* says how much of ``u`` it
describes, and the *boundary* strains (mean displacements of the boundary
sets) cross-check ν (docs/physics.md, "Material response").
"""

from __future__ import annotations

import numpy as np

AXES = ("x", "y")

#: Default floor of the affine fraction: below it a response is a near-mechanism, not a material.
MATERIAL_FLOOR = 0.5


def _affine_fit(positions: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(A, residual)`` of the fit of field(s) ``u`` (2N,) or (2N, k); A is (k, 2, 2)."""
    X = positions - positions.mean(axis=0)
    U = u.reshape(len(positions), 2, -1)  # U[i, a, field]
    XtU = np.einsum("ib,iaf->fba", X, U)  # (k, 2, 2): Σ_i X_ib U_ia
    A = np.linalg.solve((X.T @ X)[None], XtU).transpose(0, 2, 1)  # A[f, a, b]
    centred = U - U.mean(axis=0)
    residual = centred - np.einsum("fab,ib->iaf", A, X)
    return A, residual


def affine_strain(positions: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Strain tensor(s) of displacement field(s).

    Parameters
    ----------
    positions : (N, 2) array
    u : (2N,) or (2N, k) array
        Interleaved displacement field(s).

    Returns
    -------
    (2, 2) array, or (k, 2, 2) for k fields.
    """
    A, _ = _affine_fit(positions, u)
    eps = 0.5 * (A + A.transpose(0, 2, 1))
    return eps[0] if u.ndim == 1 else eps


def affine_fraction(positions: np.ndarray, u: np.ndarray) -> float:
    """``a = 1 − Σ_i |u_i − (A r_i + t)|² / Σ_i |u_i − ū|²``: the share of ``u`` fitted."""
    _, residual = _affine_fit(positions, u)
    U = u.reshape(len(positions), 2)
    spread = float(np.sum((U - U.mean(axis=0)) ** 2))
    return 1.0 - float(np.sum(residual**2)) / spread


def poisson_of_strain(eps: np.ndarray, axis: str) -> np.ndarray:
    """``−ε_yy/ε_xx`` for the x-load, ``−ε_xx/ε_yy`` for the y-load; works on stacks."""
    a = AXES.index(axis)
    b = 1 - a
    return -eps[..., b, b] / eps[..., a, a]


def poisson_pair(eps_x: np.ndarray, eps_y: np.ndarray) -> tuple[float, float, float]:
    """``(ν, ν_x, ν_y)`` from the strains under the x-load and the y-load."""
    nu_x = float(poisson_of_strain(eps_x, "x"))
    nu_y = float(poisson_of_strain(eps_y, "y"))
    return 0.5 * (nu_x + nu_y), nu_x, nu_y


def boundary_strain(positions: np.ndarray, boundary: dict, u: np.ndarray) -> np.ndarray:
    """Diagonal strain (2×2) from the mean displacements of the boundary sets.

    ``ε_xx = (ū_x(right) − ū_x(left)) / (x̄(right) − x̄(left))``, likewise
    ``ε_yy`` from top and bottom; off-diagonal entries are zero.
    """
    U = u.reshape(len(positions), 2)
    eps = np.zeros((2, 2))
    for a, (low, high) in enumerate((("left", "right"), ("bottom", "top"))):
        lo, hi = boundary[low], boundary[high]
        eps[a, a] = ((U[hi, a].mean() - U[lo, a].mean())
                     / (positions[hi, a].mean() - positions[lo, a].mean()))
    return eps
