"""Tests of the jammed-packing generator (hpcnet.generators.packing)."""

from __future__ import annotations

import numpy as np
import pytest

from hpcnet.errors import HpcnetError
from hpcnet.generators import generate
from hpcnet.generators.packing import (
    DEFAULT_PACKING_FRACTION,
    FORCE_TOL,
    RADIUS_RATIO,
    SMALL_RADIUS,
    jammed_packing,
    packing_network,
)


@pytest.fixture(scope="module", params=[(8, 0), (9, 5), (12, 1)], ids=lambda p: f"L{p[0]}s{p[1]}")
def built(request):
    """A packing, its backbone mask and the network made from it."""
    size, seed = request.param
    packing = jammed_packing(size, seed)
    keep, _ = packing.backbone()
    return packing, keep, packing_network(size, seed)


def stiffness_matrix(net) -> np.ndarray:
    """Dense K = Σ_b k_b b_b b_bᵀ, DOFs interleaved (x0, y0, x1, y1, ...)."""
    K = np.zeros((net.n_dof, net.n_dof))
    for (i, j), e, k in zip(net.bonds, net.unit_vectors(), net.stiffness, strict=True):
        b = np.zeros(net.n_dof)
        b[2 * i:2 * i + 2], b[2 * j:2 * j + 2] = -e, e
        K += k * np.outer(b, b)
    return K


def test_same_seed_same_network_other_seed_differs():
    a, b, c = packing_network(8, 3), packing_network(8, 3), packing_network(8, 4)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.bonds, b.bonds)
    for side in a.boundary:
        np.testing.assert_array_equal(a.boundary[side], b.boundary[side])
    assert a.params == b.params
    assert a.positions.shape != c.positions.shape or not np.allclose(a.positions, c.positions)


def test_generate_dispatches_to_packing():
    net = generate("packing", 8, 3, packing_fraction=None)
    np.testing.assert_array_equal(net.positions, packing_network(8, 3).positions)
    assert (net.kind, net.size, net.seed) == ("packing", 8, 3)
    assert net.params["packing_fraction"] == DEFAULT_PACKING_FRACTION
    net.metadata()  # params must serialise to JSON


def test_bidisperse_half_and_half(built):
    packing, _, net = built
    n = net.size**2
    radii = packing.radii
    assert len(radii) == n
    assert np.sum(radii == SMALL_RADIUS) == n // 2 == net.params["n_small"]
    assert np.sum(radii == SMALL_RADIUS * RADIUS_RATIO) == n - n // 2
    assert net.params["radius_ratio"] == pytest.approx(1.4)
    assert radii.max() / radii.min() == pytest.approx(1.4)
    area = np.pi * np.sum(radii**2) / np.prod(packing.box)
    assert area == pytest.approx(DEFAULT_PACKING_FRACTION)
    assert packing.box[1] / packing.box[0] == pytest.approx(np.sqrt(3) / 2)


def test_packing_is_at_a_force_minimum(built):
    """Brute-force forces over all pairs, independent of the neighbour list."""
    packing, _, net = built
    pos, r = packing.positions, packing.radii
    d = pos[None, :, :] - pos[:, None, :]  # d[i, j] = r_j - r_i
    dist = np.linalg.norm(d, axis=2)
    sigma = r[:, None] + r[None, :]
    np.fill_diagonal(dist, np.inf)
    overlap = np.maximum(1 - dist / sigma, 0)
    low = np.maximum(1 - pos / r[:, None], 0)  # wall overlaps
    high = np.maximum(1 - (packing.box - pos) / r[:, None], 0)
    forces = -np.sum((overlap / (sigma * dist))[:, :, None] * d, axis=1) + (low - high) / r[:, None]
    assert np.abs(forces).max() < 1e-11
    assert net.params["max_force"] <= FORCE_TOL <= 1e-11
    energy = 0.25 * np.sum(overlap**2) + 0.5 * np.sum(low**2 + high**2)  # pairs counted twice
    assert energy > 0
    assert net.params["energy"] == pytest.approx(energy, rel=1e-10)


def test_bonds_are_contacts_and_nodes_have_three(built):
    packing, keep, net = built
    np.testing.assert_array_equal(net.positions, packing.positions[keep])
    assert net.degrees().min() >= 3
    r = packing.radii[keep]
    lengths = net.rest_lengths()
    assert np.all(lengths < r[net.bonds[:, 0]] + r[net.bonds[:, 1]])
    assert lengths.max() < 2 * SMALL_RADIUS * RADIUS_RATIO
    # every clearly overlapping pair among the kept disks is a bond
    dist = np.linalg.norm(net.positions[:, None] - net.positions[None], axis=2)
    touching = np.argwhere(np.triu(dist < (r[:, None] + r[None]) * (1 - 1e-6), k=1))
    assert {tuple(p) for p in touching} <= {tuple(b) for b in net.bonds}
    assert net.params["rattlers_removed"] == np.sum(~keep) > 0


def test_boundary_sets_touch_their_walls(built):
    packing, keep, net = built
    r, (x, y) = packing.radii[keep], net.positions.T
    width, height = packing.box
    gap = {"left": x, "right": width - x, "bottom": y, "top": height - y}
    for side, h in gap.items():
        members = net.boundary[side]
        assert members.size > 0, side
        assert np.all(h[members] < r[members]), side
        others = np.setdiff1d(np.arange(net.n_nodes), members)
        assert np.all(h[others] >= r[others] * (1 - 1e-6)), side


@pytest.mark.parametrize("size, seed", [(12, 0), (12, 7), (16, 1), (16, 2)])
def test_mean_coordination_at_default(size, seed):
    assert 4.5 <= packing_network(size, seed).mean_coordination() <= 5.5


@pytest.mark.parametrize("size, seed", [(8, 0), (8, 2), (9, 5), (10, 3), (10, 4)])
def test_network_is_rigid(size, seed):
    net = packing_network(size, seed)
    eigenvalues = np.linalg.eigvalsh(stiffness_matrix(net))
    assert np.sum(eigenvalues < 1e-9) == 3


@pytest.mark.parametrize("fraction", [0.3, 0.5, 1.0, 1.2])
def test_bad_packing_fraction(fraction):
    with pytest.raises(HpcnetError, match="packing_fraction"):
        packing_network(8, 0, fraction)


def test_too_small_to_keep_every_wall():
    with pytest.raises(HpcnetError, match="attempts"):
        packing_network(3, 0)
