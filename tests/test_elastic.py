"""Elastic solver: the triangular-lattice oracle, invariances, min-norm response, floppiness."""

import numpy as np
import pytest
from petsc4py import PETSc

from hpcnet.errors import FloppyNetworkError
from hpcnet.generators import generate
from hpcnet.mechanics.elastic import ElasticSolver, poisson_ratio, uniaxial_load
from hpcnet.mechanics.stiffness import rigid_modes, stiffness_matrix
from hpcnet.network import Network


@pytest.mark.parametrize("L", [3, 4, 6, 9, 12, 20, 32])
def test_perfect_lattice_nu_x_is_one_third(L):
    assert poisson_ratio(generate("tri", L, 0)).nu_x == pytest.approx(1 / 3, abs=1e-10)


def test_perfect_lattice_nu_y_below_one_third_and_rising():
    nu_y = [poisson_ratio(generate("tri", L, 0)).nu_y for L in (4, 8, 16, 32)]
    assert all(v < 1 / 3 for v in nu_y)
    assert all(a < b for a, b in zip(nu_y, nu_y[1:], strict=False))
    assert 1 / 3 - nu_y[-1] < 0.5 * (1 / 3 - nu_y[0])


def transformed(net, positions, boundary=None, order=None):
    bonds, boundary = net.bonds, boundary or net.boundary
    if order is not None:  # renumber: new node k is old node order[k]
        inverse = np.argsort(order)
        positions = positions[order]
        bonds = inverse[bonds]
        boundary = {s: inverse[v] for s, v in boundary.items()}
    return Network.from_arrays(positions, bonds, boundary, stiffness=net.stiffness)


@pytest.mark.parametrize("kind", ["tri", "delaunay"])
def test_invariances(kind):
    net = generate(kind, 10, 2, **({"distortion": 0.4} if kind == "tri" else {}))
    ref = poisson_ratio(net)
    moved = poisson_ratio(transformed(net, net.positions + [13.5, -7.25]))
    assert moved.nu == pytest.approx(ref.nu, abs=1e-10)
    assert moved.nu_x == pytest.approx(ref.nu_x, abs=1e-10)
    order = np.random.default_rng(0).permutation(net.n_nodes)
    renumbered = poisson_ratio(transformed(net, net.positions, order=order))
    assert renumbered.nu_x == pytest.approx(ref.nu_x, abs=1e-10)
    assert renumbered.nu_y == pytest.approx(ref.nu_y, abs=1e-10)
    # 90° anticlockwise: (x, y) -> (-y, x); left->bottom, right->top, bottom->right, top->left.
    b = net.boundary
    rotated = transformed(net, net.positions[:, ::-1] * [-1, 1],
                          {"bottom": b["left"], "top": b["right"], "right": b["bottom"],
                           "left": b["top"]})
    rot = poisson_ratio(rotated)
    assert rot.nu == pytest.approx(ref.nu, abs=1e-10)
    assert rot.nu_x == pytest.approx(ref.nu_y, abs=1e-10)
    assert rot.nu_y == pytest.approx(ref.nu_x, abs=1e-10)


def test_response_is_the_minimum_norm_solution():
    net = generate("delaunay", 8, 0)
    K, R = stiffness_matrix(net).toarray(), rigid_modes(net.positions)
    f = uniaxial_load(net, "x")
    f_range = f - R @ (R.T @ f)
    with ElasticSolver(net) as solver:
        u = solver.response("x")
    np.testing.assert_allclose(u, np.linalg.pinv(K) @ f_range, atol=1e-9)
    assert np.abs(R.T @ u).max() < 1e-12


def test_distorted_lattice_label_range():
    """Paper Methods: ν from about 1/3 (r = 0.05) through ~0 (r = 0.45) to below 0 (r = 0.95)."""
    mean = {r: np.mean([poisson_ratio(generate("tri", 12, s, distortion=r)).nu
                        for s in range(4)]) for r in (0.05, 0.45, 0.95)}
    assert mean[0.05] == pytest.approx(1 / 3, abs=0.03)
    assert abs(mean[0.45]) < 0.1
    assert -0.3 < mean[0.95] < -0.05


def dense_extra_zero_modes(net):
    return int(np.sum(np.linalg.eigvalsh(stiffness_matrix(net).toarray()) < 1e-9)) - 3


def test_floppy_dangling_node():
    net = generate("tri", 6, 0, distortion=0.2)
    node = 2 * 6 + 3
    at_node = np.flatnonzero((net.bonds == node).any(axis=1))
    mask = np.ones(net.n_bonds, bool)
    mask[at_node[1:]] = False
    with pytest.raises(FloppyNetworkError, match="1 zero mode") as err:
        poisson_ratio(net.pruned(mask))
    assert err.value.extra_zero_modes == 1 == dense_extra_zero_modes(net.pruned(mask))


def test_floppy_removed_row_of_diagonals():
    net = generate("tri", 6, 0)
    rows = np.round(net.positions[net.bonds, 1] / (np.sqrt(3) / 2)).astype(int)
    cut = (rows.min(axis=1) == 2) & (rows.max(axis=1) == 3)
    with pytest.raises(FloppyNetworkError) as err:
        poisson_ratio(net.pruned(~cut))
    assert err.value.extra_zero_modes == 3 == dense_extra_zero_modes(net.pruned(~cut))


def test_zero_mode_count_matches_dense_on_random_prunings():
    net = generate("tri", 7, 3, distortion=0.3)
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(16):
        mask = rng.random(net.n_bonds) > rng.uniform(0.0, 0.25)
        expected = dense_extra_zero_modes(net.pruned(mask))
        seen.add(expected > 0)
        if expected == 0:
            assert np.isfinite(poisson_ratio(net.pruned(mask)).nu)
        else:
            with pytest.raises(FloppyNetworkError) as err:
                poisson_ratio(net.pruned(mask))
            assert err.value.extra_zero_modes == expected
    assert seen == {True, False}  # both rigid and floppy prunings were exercised


def test_petsc_options_override_the_default_solver():
    net = generate("tri", 12, 4, distortion=0.3)
    ref = poisson_ratio(net)
    opts = PETSc.Options()
    for key, value in {"cgtest_ksp_type": "cg", "cgtest_pc_type": "gamg",
                       "cgtest_ksp_rtol": "1e-13"}.items():
        opts.setValue(key, value)
    try:
        with ElasticSolver(net, prefix="cgtest_") as solver:
            assert solver.ksp.getType() == "cg"
            assert solver.ksp.getPC().getType() == "gamg"
            assert solver.poisson().nu == pytest.approx(ref.nu, abs=1e-8)
    finally:
        for key in ("cgtest_ksp_type", "cgtest_pc_type", "cgtest_ksp_rtol"):
            opts.delValue(key)
