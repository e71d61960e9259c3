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
    """K (2N × 2N, symmetric positive semi-definite) as a canonical scipy CSR matrix.

    Equal to ``Bᵀ diag(k) B`` (B the compatibility matrix), assembled directly
    from the 2×2 blocks ``±k_b e_b e_bᵀ``: node-level blocks are summed once and
    written into CSR without a COO round trip. Every node's diagonal block is
    stored (zero for an isolated node).
    """
    e = net.unit_vectors()
    kee = net.stiffness[:, None, None] * e[:, :, None] * e[:, None, :]  # (M, 2, 2)
    n, (i, j), nodes = net.n_nodes, net.bonds.T, np.arange(net.n_nodes)
    keys = np.concatenate([i, j, i, j, nodes]).astype(np.int64) * n \
        + np.concatenate([j, i, i, j, nodes])
    entries = np.concatenate([-kee, -kee, kee, kee, np.zeros((n, 2, 2))]).reshape(-1, 4)
    order = np.argsort(keys, kind="stable")  # fast on these nearly sorted runs
    keys, entries = keys[order], entries[order]
    first = np.concatenate([[True], keys[1:] != keys[:-1]])
    slot, keys = np.cumsum(first) - 1, keys[first]
    blocks = np.stack([np.bincount(slot, entries[:, c], len(keys)) for c in range(4)],
                      axis=1).reshape(-1, 2, 2)
    rows, cols = keys // n, keys % n
    per_node = np.bincount(rows, minlength=n)
    start = np.concatenate([[0], np.cumsum(per_node)])
    # block k of node row r lands at 4 start_r + a·2 per_node_r + 2 (k − start_r) + b
    base = 4 * start[rows] + 2 * (np.arange(len(rows)) - start[rows])
    pos = (base[:, None, None] + 2 * per_node[rows][:, None, None] * np.arange(2)[None, :, None]
           + np.arange(2)[None, None, :])
    data = np.empty(4 * len(rows))
    indices = np.empty(4 * len(rows), dtype=np.int32)
    data[pos] = blocks
    indices[pos] = 2 * cols[:, None, None] + np.arange(2)[None, None, :]
    indptr = np.empty(2 * n + 1, dtype=np.int32)
    indptr[0:-1:2] = 4 * start[:-1]
    indptr[1::2] = 4 * start[:-1] + 2 * per_node
    indptr[-1] = data.size
    K = sp.csr_matrix((data, indices, indptr), shape=(net.n_dof, net.n_dof))
    K.has_canonical_format = True
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
    It keeps K's sparsity pattern (the zeroed entries stay stored), so that
    both share one symbolic analysis.
    """
    n = K.shape[0]
    Kp = sp.csr_matrix(K, copy=True)
    is_pinned = np.zeros(n, dtype=bool)
    is_pinned[pinned] = True
    rows = np.repeat(np.arange(n), np.diff(Kp.indptr))
    Kp.data[is_pinned[rows] | is_pinned[Kp.indices]] = 0.0
    scale = K.diagonal().mean() if n else 1.0
    at = _diagonal_positions(Kp, pinned)
    if np.all(at >= 0):
        Kp.data[at] = scale
        return Kp
    return Kp + sp.csr_matrix((np.full(len(pinned), scale), (pinned, pinned)), shape=K.shape)


def _diagonal_positions(A: sp.csr_matrix, dofs: np.ndarray) -> np.ndarray:
    """Index into ``A.data`` of each diagonal entry ``(d, d)``, −1 where it is not stored."""
    out = np.full(len(dofs), -1)
    for k, d in enumerate(dofs):
        lo, hi = A.indptr[d], A.indptr[d + 1]
        hit = np.flatnonzero(A.indices[lo:hi] == d)
        if len(hit):
            out[k] = lo + hit[0]
    return out


def to_petsc(A: sp.csr_matrix, comm):
    """A PETSc AIJ matrix on ``comm`` holding ``A``; rows split by node pairs.

    Every rank passes the same global ``A`` and keeps its own row block. On
    one rank the matrix shares ``A``'s arrays (sorted): changing ``A`` changes it.
    Collective on ``comm``.
    """
    from petsc4py import PETSc

    def csr(B):
        return (B.indptr.astype(PETSc.IntType, copy=False),
                B.indices.astype(PETSc.IntType, copy=False), B.data)

    if comm.getSize() == 1:  # wraps A's arrays, no copy
        M = PETSc.Mat().createAIJWithArrays(A.shape, csr(A.sorted_indices()
                                                         if not A.has_sorted_indices else A),
                                            comm=comm)
    else:
        rstart, rend = dof_range(A.shape[0], comm)
        M = PETSc.Mat().createAIJ(
            size=((rend - rstart, A.shape[0]), (rend - rstart, A.shape[1])),
            csr=csr(A[rstart:rend]), comm=comm)
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
