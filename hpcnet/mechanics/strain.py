"""Strain of a displacement field and Poisson's ratios (docs/physics.md).

The strain of ``u`` is the symmetric part of the least-squares affine fit
``u_i ≈ A (r_i − r̄) + t`` over all nodes.
"""

from __future__ import annotations

import numpy as np

AXES = ("x", "y")


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
    X = positions - positions.mean(axis=0)
    single = u.ndim == 1
    U = u.reshape(len(positions), 2, -1)  # U[i, a, field]
    G = X.T @ X
    XtU = np.einsum("ib,iaf->fba", X, U)  # (k, 2, 2): Σ_i X_ib U_ia
    A = np.linalg.solve(G[None], XtU).transpose(0, 2, 1)  # A[f, a, b]
    eps = 0.5 * (A + A.transpose(0, 2, 1))
    return eps[0] if single else eps


def poisson_of_strain(eps: np.ndarray, axis: str) -> np.ndarray:
    """``−ε_yy/ε_xx`` for the x-load, ``−ε_xx/ε_yy`` for the y-load; works on stacks."""
    a = AXES.index(axis)
    b = 1 - a
    return -eps[..., b, b] / eps[..., a, a]
