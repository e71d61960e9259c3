"""K assembled straight into CSR equals Bᵀ diag(k) B; the pinned matrix keeps its pattern."""

import numpy as np
import pytest
import scipy.sparse as sp
from petsc4py import PETSc

from hpcnet.generators import generate
from hpcnet.mechanics.stiffness import (
    compatibility_matrix,
    pinned_dofs,
    pinned_matrix,
    stiffness_matrix,
    to_petsc,
)
from hpcnet.network import Network


def reference(net):
    B = compatibility_matrix(net)
    return (B.T @ sp.diags(net.stiffness) @ B).toarray()


@pytest.mark.parametrize(("kind", "options"), [("tri", {"distortion": 0.4}), ("delaunay", {}),
                                               ("packing", {})])
def test_stiffness_is_bt_k_b(kind, options):
    net = generate(kind, 9, 1, **options)
    net = Network.from_arrays(net.positions, net.bonds, net.boundary,
                              stiffness=np.random.default_rng(0).uniform(0.5, 2, net.n_bonds))
    K = stiffness_matrix(net)
    K.check_format(full_check=True)
    assert K.has_sorted_indices
    np.testing.assert_allclose(K.toarray(), reference(net), atol=1e-14)


def test_isolated_nodes_and_repeated_bonds():
    """An unvalidated network: node 3 has no bond, bond (0, 1) appears twice."""
    positions = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.9], [3.0, 3.0]])
    bonds = np.array([[0, 1], [1, 2], [0, 2], [0, 1]])
    net = Network(positions, bonds, np.array([1.0, 2.0, 3.0, 0.5]),
                  {s: np.array([0]) for s in ("left", "right", "bottom", "top")})
    K = stiffness_matrix(net)
    np.testing.assert_allclose(K.toarray(), reference(net), atol=1e-14)
    assert K[6, 6] == 0.0 and K[7, 7] == 0.0  # stored, zero


def test_pinned_matrix_and_its_petsc_wrap():
    net = generate("tri", 6, 2, distortion=0.3)
    K = stiffness_matrix(net)
    pinned = pinned_dofs(net.positions)
    Kp = pinned_matrix(K, pinned)
    assert np.array_equal(Kp.indices, K.indices) and np.array_equal(Kp.indptr, K.indptr)
    dense, expected = Kp.toarray(), K.toarray()
    free = np.setdiff1d(np.arange(net.n_dof), pinned)
    expected[pinned, :] = expected[:, pinned] = 0.0
    expected[pinned, pinned] = K.diagonal().mean()
    np.testing.assert_array_equal(dense, expected)
    assert np.all(dense[np.ix_(free, free)] == K.toarray()[np.ix_(free, free)])
    A = to_petsc(Kp, PETSc.COMM_SELF)
    try:
        x = np.random.default_rng(1).random(net.n_dof)
        v, y = A.createVecs()
        v.setArray(x)
        A.mult(v, y)
        np.testing.assert_allclose(y.getArray(), Kp @ x, rtol=1e-14)
    finally:
        A.destroy()
