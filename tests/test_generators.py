"""Generators: lattice structure, determinism, distortion, Delaunay quality."""

import numpy as np
import pytest

from hpcnet.errors import HpcnetError
from hpcnet.generators import generate
from hpcnet.generators.delaunay import MIN_SEPARATION


@pytest.mark.parametrize("L", [3, 4, 7, 12])
def test_perfect_lattice_structure(L):
    net = generate("tri", L, 0)
    assert net.n_nodes == L * L
    assert net.n_bonds == (L - 1) * (3 * L - 1)
    np.testing.assert_allclose(net.rest_lengths(), 1.0, atol=1e-12)
    for side in ("left", "right", "bottom", "top"):
        assert len(net.boundary[side]) == L
    assert np.all(net.positions[net.boundary["bottom"], 1] == 0)
    assert net.degrees()[(L // 2) * L + L // 2] == 6  # an inner node


def test_distortion_moves_only_inner_nodes_by_r():
    perfect, net = generate("tri", 8, 0), generate("tri", 8, 3, distortion=0.3)
    moved = np.linalg.norm(net.positions - perfect.positions, axis=1)
    edge = np.zeros(net.n_nodes, bool)
    edge[np.concatenate(list(net.boundary.values()))] = True
    assert np.all(moved[edge] == 0)
    np.testing.assert_allclose(moved[~edge], 0.3, atol=1e-12)
    assert net.params == {"distortion": 0.3}


@pytest.mark.parametrize("kind, opts", [("tri", {"distortion": 0.4}), ("delaunay", {})])
def test_deterministic_from_seed(kind, opts):
    a, b, c = (generate(kind, 10, s, **opts) for s in (5, 5, 6))
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.bonds, b.bonds)
    assert not np.array_equal(a.positions, c.positions)


@pytest.mark.parametrize("L", [8, 16, 24])
def test_delaunay_network(L):
    net = generate("delaunay", L, 1)
    assert net.n_nodes == L * L
    x, y = net.positions.T
    assert np.all(x[net.boundary["left"]] == 0) and np.all(y[net.boundary["bottom"]] == 0)
    assert np.all(x[net.boundary["right"]] == x.max()) and np.all(y[net.boundary["top"]] == y.max())
    assert net.rest_lengths().min() >= MIN_SEPARATION - 1e-12
    inner = np.ones(net.n_nodes, bool)
    inner[np.concatenate(list(net.boundary.values()))] = False
    assert 5.8 < 2 * np.mean(net.degrees()[inner]) / 2 < 6.2  # bulk z of a triangulation
    assert 5.0 < net.mean_coordination() < 6.0


def test_bad_generator_input():
    with pytest.raises(HpcnetError, match="unknown network kind"):
        generate("hexagonal", 8, 0)
    with pytest.raises(HpcnetError, match="at least 3"):
        generate("tri", 2, 0)
    with pytest.raises(HpcnetError, match="distortion"):
        generate("tri", 8, 0, distortion=1.5)
    with pytest.raises(HpcnetError, match="seed"):
        generate("delaunay", 8, -1)
