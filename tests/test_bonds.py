"""Bond-level statistics (docs/physics.md, "Bond-level statistics"; paper Fig. 1i-j)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from hpcnet.generators import generate
from hpcnet.mechanics.bond_statistics import QUADRANTS, bond_points, bond_statistics, statistics
from tests.support.helpers import run_cli


def affine_field(net, A):
    """Interleaved displacement u_i = A r_i."""
    return (net.positions @ np.asarray(A, dtype=float).T).ravel()


def test_affine_fields_give_the_bond_projections():
    """Under u = diag(1, 0) r and u = diag(0, 1) r a bond of length l at angle θ
    elongates by l cos²θ and l sin²θ, and each strain is 1."""
    net = generate("delaunay", 7, 4)
    points = bond_points(net, affine_field(net, [[1, 0], [0, 0]]),
                         affine_field(net, [[0, 0], [0, 1]]))
    d = net.bond_vectors()
    length = np.linalg.norm(d, axis=1)
    np.testing.assert_allclose(points[:, 0], d[:, 0] ** 2 / length, atol=1e-12)
    np.testing.assert_allclose(points[:, 1], d[:, 1] ** 2 / length, atol=1e-12)


def test_points_are_normalised_by_the_strain():
    net = generate("tri", 6, 1, distortion=0.3)
    u_x = affine_field(net, [[1, 0], [0, -0.2]])
    u_y = affine_field(net, [[-0.3, 0], [0, 1]])
    scaled = bond_points(net, 7.0 * u_x, -2.0 * u_y)
    np.testing.assert_allclose(scaled, bond_points(net, u_x, u_y), rtol=1e-12)


def test_statistics_counts_quadrants_axes_and_variance():
    net = generate("tri", 4, 0)  # 33 bonds
    rng = np.random.default_rng(1)
    points = rng.uniform(0.1, 1.0, size=(net.n_bonds, 2))
    signs = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    points *= signs[np.arange(net.n_bonds) % 4]
    points[:3, 0] = 0.0  # three points on the p_y axis (indices 0, 1, 2: quadrants I, II, III)
    points[3, 1] = 1e-13  # round-off level: on the p_x axis
    stats = statistics(net, points)
    expected = np.bincount(np.arange(4, net.n_bonds) % 4, minlength=4)
    np.testing.assert_array_equal(stats.quadrants, expected)
    assert stats.on_axes == 4
    assert stats.fraction_13 + stats.fraction_24 + stats.fraction_axes == pytest.approx(1.0)
    assert stats.sigma2 == pytest.approx(points[:, 0].var() + points[:, 1].var(), rel=1e-12)


def test_perfect_lattice_points_lie_in_quadrants_II_and_IV():
    """ν_x = 1/3 makes the x-response affine: horizontal bonds at p_x = 1 (quadrant IV,
    shortened under the y-load), ±60° bonds exactly unstretched (on the p_y axis)."""
    net = generate("tri", 12, 0)
    stats = bond_statistics(net)
    horizontal = np.abs(net.bond_vectors()[:, 1]) < 1e-12
    np.testing.assert_allclose(stats.points[horizontal, 0], 1.0, atol=1e-10)
    np.testing.assert_allclose(stats.points[~horizontal, 0], 0.0, atol=1e-10)
    assert stats.on_axes == np.sum(~horizontal)
    off_axes = stats.quadrants.sum()
    assert stats.quadrants[[1, 3]].sum() >= 0.98 * off_axes
    assert stats.fraction_13 < 0.02


def test_cli_bonds(tmp_path):
    net_file, out = tmp_path / "net.h5", tmp_path / "bonds.h5"
    net = generate("tri", 8, 2, distortion=0.4)
    net.save(net_file)
    summary = json.loads(run_cli("bonds", net_file, "--json", "-o", out).stdout)
    expected = bond_statistics(net)
    assert summary["sigma2"] == pytest.approx(expected.sigma2, rel=1e-10)
    assert summary["quadrants"] == dict(zip(QUADRANTS, expected.quadrants.tolist(), strict=True))
    with h5py.File(out, "r") as fh:
        np.testing.assert_allclose(fh["points"][()], expected.points, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(fh["network/bonds"][()], net.bonds)
        assert fh.attrs["sigma2"] == pytest.approx(expected.sigma2)
    text = run_cli("bonds", net_file).stdout
    assert "sigma^2" in text and "I+III" in text
    proc = run_cli("bonds", tmp_path / "missing.h5", check=False)
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_annealed_auxetic_network_puts_most_bond_points_in_I_and_III():
    """Paper Fig. 1i: tuning one network to ν* = -0.9 moves the bond points into I and III."""
    from hpcnet.anneal.chain import run_chain
    from hpcnet.anneal.settings import AnnealSettings

    net = generate("tri", 12, 0, distortion=0.2)
    fractions = {}
    for target in (-0.9, 0.9):
        result = run_chain(net, AnnealSettings(target=target), np.random.default_rng(5))
        assert abs(result.final_nu - target) < 0.05
        fractions[target] = bond_statistics(net.pruned(result.final_mask)).fraction_13
    original = bond_statistics(net).fraction_13
    assert fractions[-0.9] > 0.5 > original > fractions[0.9], (fractions, original)
