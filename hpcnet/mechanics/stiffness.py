"""Stiffness (= dynamical) matrix, rigid-body modes and their PETSc form.

``K = Σ_b k_b b_b b_bᵀ`` with ``b_b`` carrying ``+e_b`` on node j's two DOFs
and ``-e_b`` on node i's (docs/physics.md). With unit masses ``D = K``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from hpcnet.network import Network


def compatibility_matrix(net: Network) -> sp.csr_matrix:
    """The (M, 2N) matrix whose row b is ``b_bᵀ``: bond elongations are ``B u``."""
    e = net.unit_vectors()
    i, j = net.bonds[:, 0], net.bonds[:, 1]
    rows = np.repeat(np.arange(net.n_bonds), 4)
    cols = np.column_stack([2 * i, 2 * i + 1, 2 * j, 2 * j + 1]).ravel()
    vals = np.column_stack([-e, e]).ravel()
    return sp.csr_matrix((vals, (rows, cols)), shape=(net.n_bonds, net.n_dof))


def stiffness_matrix(net: Network) -> sp.csr_matrix:
    """K (2N × 2N, symmetric positive semi-definite) as a scipy CSR matrix.

    Equal to ``Bᵀ diag(k) B`` (B the compatibility matrix), assembled directly
    from the 2×2 blocks ``±k_b e_b e_bᵀ``.
    """
    e = net.unit_vectors()
    kee = net.stiffness[:, None, None] * e[:, :, None] * e[:, None, :]  # (M, 2, 2)
    i, j = net.bonds[:, 0], net.bonds[:, 1]
    dof = np.arange(2)
    blocks = [(i, i, kee), (j, j, kee), (i, j, -kee), (j, i, -kee)]
    rows = np.concatenate([(2 * a[:, None, None] + dof[None, :, None]).repeat(2, 2).ravel()
                           for a, _, _ in blocks])
    cols = np.concatenate([(2 * b[:, None, None] + dof[None, None, :]).repeat(2, 1).ravel()
                           for _, b, _ in blocks])
    vals = np.concatenate([v.ravel() for _, _, v in blocks])
    K = sp.csr_matrix((vals, (rows, cols)), shape=(net.n_dof, net.n_dof))
    K.sum_duplicates()
    return K


def rigid_modes(positions: np.ndarray) -> np.ndarray:
    """Orthonormal (2N, 3) basis of the two translations and the rotation about the centroid."""
    n = len(positions)
    r = positions - positions.mean(axis=0)
    R = np.zeros((2 * n, 3))
    R[0::2, 0] = 1.0
    R[1::2, 1] = 1.0
    R[0::2, 2] = -r[:, 1]
    R[1::2, 2] = r[:, 0]
    R /= np.linalg.norm(R, axis=0)
    return R


def remove_rigid(v: np.ndarray, R: np.ndarray) -> np.ndarray:
    """``v`` with its components along the orthonormal columns of ``R`` removed."""
    return v - R @ (R.T @ v)


def pinned_dofs(positions: np.ndarray) -> np.ndarray:
    """Three DOFs whose pinning removes exactly the rigid-body motions.

    Both DOFs of node 0 (translations) and, on the node farthest from it, the
    coordinate most perpendicular to the line joining them (rotation).
    """
    d = positions - positions[0]
    far = int(np.argmax(np.einsum("ij,ij->i", d, d)))
    dx, dy = d[far]
    return np.array([0, 1, 2 * far + (1 if abs(dx) >= abs(dy) else 0)])


def pinned_matrix(K: sp.csr_matrix, pinned: np.ndarray) -> sp.csr_matrix:
    """K with the pinned rows and columns replaced by a scaled identity.

    For a rigid network the result is symmetric positive definite, and its
    zero eigenvalues count the network's zero modes beyond the rigid ones.
    """
    n = K.shape[0]
    coo = K.tocoo()
    is_pinned = np.zeros(n, dtype=bool)
    is_pinned[pinned] = True
    keep = ~(is_pinned[coo.row] | is_pinned[coo.col])
    scale = K.diagonal().mean() if n else 1.0
    rows = np.concatenate([coo.row[keep], pinned])
    cols = np.concatenate([coo.col[keep], pinned])
    vals = np.concatenate([coo.data[keep], np.full(len(pinned), scale)])
    return sp.csr_matrix((vals, (rows, cols)), shape=K.shape)


def to_petsc(A: sp.csr_matrix, comm):
    """A PETSc AIJ matrix on ``comm`` holding ``A``; rows split by node pairs.

    Every rank passes the same global ``A`` and keeps its own row block.
    Collective on ``comm``.
    """
    from petsc4py import PETSc

    rstart, rend = dof_range(A.shape[0], comm)
    local = A[rstart:rend]
    M = PETSc.Mat().createAIJ(
        size=((rend - rstart, A.shape[0]), (rend - rstart, A.shape[1])),
        csr=(local.indptr.astype(PETSc.IntType), local.indices.astype(PETSc.IntType),
             local.data),
        comm=comm,
    )
    M.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    M.assemble()
    return M


def dof_range(n_dof: int, comm) -> tuple[int, int]:
    """This rank's contiguous DOF range, whole nodes only (x and y together)."""
    size, rank = comm.getSize(), comm.getRank()
    n_nodes = n_dof // 2
    counts = [n_nodes // size + (r < n_nodes % size) for r in range(size)]
    start = 2 * sum(counts[:rank])
    return start, start + 2 * counts[rank]
