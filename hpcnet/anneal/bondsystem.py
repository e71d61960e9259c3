"""The pinned stiffness system of one network under a mask over its bonds.

Everything a chain of bond removals needs about the *original* network,
computed once: the per-bond vectors ``b_b`` restricted to the unpinned DOFs,
the uniaxial loads, the linear strain functionals, and a fixed sparsity
pattern into which the pinned stiffness matrix of any mask is assembled by a
single sparse product (docs/physics.md; pinning as in :mod:`hpcnet.mechanics.stiffness`).

The strain of a pinned solution needs no projection: translations do not
change the affine fit and the rigid rotation only adds an antisymmetric part,
so ``ε_xx = g_xxᵀ x`` and ``ε_yy = g_yyᵀ x`` are linear functionals of the
pinned solution ``x`` itself.

The affine fraction of the true response ``u = x − R Rᵀx`` (R the orthonormal
rigid modes) needs only ``‖x‖²`` and six more functionals, the *fit moments*
``Lᵀx`` (:func:`affine_fractions`): with ``ū = 0`` the spread is
``‖u‖² = ‖x‖² − ‖Rᵀx‖²``, and the fitted part of u is that of x less its
rigid rotation.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hpcnet.mechanics.elastic import uniaxial_load
from hpcnet.mechanics.stiffness import pinned_dofs, remove_rigid, rigid_modes
from hpcnet.mechanics.strain import AXES
from hpcnet.network import Network


class BondSystem:
    """Pinned stiffness, loads and strain functionals of ``net`` for any bond mask.

    Attributes
    ----------
    dofs : (M, 4) int array
        The DOFs ``(2i, 2i+1, 2j, 2j+1)`` each bond touches.
    coef : (M, 4) float array
        The entries of ``b_b`` on those DOFs (zero on pinned DOFs).
    loads : (2N, 2) array
        Columns: the x- and y-loads, rigid parts removed, pinned entries zero.
    strain_functionals : (2N, 2) array
        Columns ``g_xx``, ``g_yy``: ``ε_xx = g_xxᵀ x``, ``ε_yy = g_yyᵀ x``.
    fit_functionals : (2N, 6) array
        Columns L of the fit moments ``Lᵀx``: ``Σ_i x_i`` (2) and ``Σ_i x_ia X_ib`` (4,
        ``X = r − r̄``), zero on the pinned DOFs.
    """

    def __init__(self, net: Network):
        self.net = net
        self.n_dof = net.n_dof
        self.n_bonds = net.n_bonds
        self.stiffness = net.stiffness.copy()
        self.pinned = pinned_dofs(net.positions)
        free = np.ones(self.n_dof)
        free[self.pinned] = 0.0
        i, j = net.bonds[:, 0], net.bonds[:, 1]
        e = net.unit_vectors()
        self.dofs = np.column_stack([2 * i, 2 * i + 1, 2 * j, 2 * j + 1])
        self.coef = np.column_stack([-e, e]) * free[self.dofs]
        self.loads = self._loads(free)
        self.strain_functionals = self._strain_functionals(free)
        self.fit_functionals = self._fit_functionals(free)
        self._build_pattern()

    # ------------------------------------------------------------- assembly
    def _build_pattern(self) -> None:
        """CSR pattern of the full network and the map from bond entries to it."""
        M, n = self.n_bonds, self.n_dof
        rows = np.repeat(self.dofs, 4, axis=1).ravel()
        cols = np.tile(self.dofs, (1, 4)).ravel()
        # Pinned DOFs carry a scaled identity so that the matrix stays definite.
        self.pin_scale = float(np.mean(self.full_diagonal()))
        rows = np.concatenate([rows, self.pinned])
        cols = np.concatenate([cols, self.pinned])
        n_entries = 16 * M + len(self.pinned)
        pattern = sp.csr_matrix((np.arange(1, n_entries + 1, dtype=np.float64), (rows, cols)),
                                shape=(n, n))
        pattern.sum_duplicates()
        pattern.sort_indices()
        self.indptr = pattern.indptr.astype(np.int32)
        self.indices = pattern.indices.astype(np.int32)
        # scatter[p, q] = 1 when bond entry q (or pin entry) lands in pattern slot p.
        slot = sp.csr_matrix((np.arange(pattern.nnz, dtype=np.float64) + 1.0,
                              pattern.indices, pattern.indptr), shape=(n, n))
        where = np.asarray(slot[rows, cols]).ravel().astype(np.int64) - 1
        self._scatter = sp.csr_matrix((np.ones(n_entries), (where, np.arange(n_entries))),
                                      shape=(pattern.nnz, n_entries))
        outer = self.coef[:, :, None] * self.coef[:, None, :]
        self._bond_entries = (self.stiffness[:, None] * outer.reshape(M, 16)).ravel()
        self._pin_entries = np.full(len(self.pinned), self.pin_scale)
        self.bond_diagonal = self.stiffness * np.sum(self.coef**2, axis=1)

    def full_diagonal(self) -> np.ndarray:
        """Diagonal of the full network's K on the unpinned DOFs."""
        d = np.zeros(self.n_dof)
        np.add.at(d, self.dofs, self.stiffness[:, None] * self.coef**2)
        return d

    def mean_pinned_diagonal(self, mask: np.ndarray) -> float:
        """Mean diagonal entry of the pinned stiffness of ``mask``."""
        total = float(np.dot(np.asarray(mask, dtype=np.float64), self.bond_diagonal))
        return (total + self.pin_scale * len(self.pinned)) / self.n_dof

    def pinned_values(self, mask: np.ndarray) -> np.ndarray:
        """CSR values, on the fixed pattern, of the pinned stiffness of ``mask``."""
        weights = np.repeat(np.asarray(mask, dtype=np.float64), 16) * self._bond_entries
        return self._scatter @ np.concatenate([weights, self._pin_entries])

    def pinned_matrix(self, mask: np.ndarray) -> sp.csr_matrix:
        """The pinned stiffness of ``mask`` as a scipy CSR matrix (on the fixed pattern)."""
        return sp.csr_matrix((self.pinned_values(mask), self.indices, self.indptr),
                             shape=(self.n_dof, self.n_dof))

    # ------------------------------------------------------ loads and strain
    def _loads(self, free: np.ndarray) -> np.ndarray:
        R = rigid_modes(self.net.positions)
        F = np.column_stack([remove_rigid(uniaxial_load(self.net, a), R) for a in AXES])
        return F * free[:, None]

    def _strain_functionals(self, free: np.ndarray) -> np.ndarray:
        """``g_xx``, ``g_yy`` of the least-squares affine fit (see :func:`affine_strain`)."""
        X = self.net.positions - self.net.positions.mean(axis=0)
        coeff = X @ np.linalg.inv(X.T @ X)  # A = Σ_i u_i coeff_iᵀ
        g = np.zeros((self.n_dof, 2))
        g[0::2, 0] = coeff[:, 0]  # ε_xx = A_00 = Σ_i u_ix coeff_i0
        g[1::2, 1] = coeff[:, 1]  # ε_yy = A_11 = Σ_i u_iy coeff_i1
        return g * free[:, None]

    def _fit_functionals(self, free: np.ndarray) -> np.ndarray:
        X = self.net.positions - self.net.positions.mean(axis=0)
        L = np.zeros((self.n_dof, 6))
        L[0::2, 0] = 1.0
        L[1::2, 1] = 1.0
        L[0::2, 2:4] = X  # Σ_i x_ix X_ib
        L[1::2, 4:6] = X  # Σ_i x_iy X_ib
        # quadratic forms of the moments m: F − ρ = mᵀ Q m and N|x̄|² + ρ = mᵀ P m, with
        # F = Σ_a m_aᵀ (XᵀX)⁻¹ m_a and ρ = (m_yx − m_xy)² / tr(XᵀX) (the rotation's share)
        S = X.T @ X
        r = np.zeros(6)
        r[3], r[4] = -1.0, 1.0
        rotation = np.outer(r, r) / np.trace(S)
        Q = -rotation
        Q[2:4, 2:4] += np.linalg.inv(S)
        Q[4:6, 4:6] += np.linalg.inv(S)
        P = rotation + np.diag([1.0, 1.0, 0, 0, 0, 0]) / len(X)
        self._fit_forms = np.vstack([Q, P])
        return L * free[:, None]

    def affine_fractions(self, norm2: np.ndarray, moments: np.ndarray) -> np.ndarray:
        """Affine fractions of the true responses of pinned solutions x, from their
        squared norms ``‖x‖²`` (k,) and fit moments ``Lᵀx`` (6, k); see the module docstring.

        ``a = (F − ρ) / (‖x‖² − N|x̄|² − ρ)`` with F the fitted sum of squares of the
        centred x and ρ its rigid rotation's share: two quadratic forms of the moments.
        """
        forms = self._fit_forms @ moments  # (12, k)
        fitted = np.sum(moments * forms[:6], axis=0)
        spread = norm2 - np.sum(moments * forms[6:], axis=0)
        return fitted / spread

    # ------------------------------------------------------------- bonds
    def bond_vector(self, bond: int) -> np.ndarray:
        """``b_b`` restricted to the unpinned DOFs, as a dense 2N vector."""
        v = np.zeros(self.n_dof)
        v[self.dofs[bond]] = self.coef[bond]
        return v

