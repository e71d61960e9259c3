"""The material-response check: affine fraction and boundary ν against dense computations."""

from __future__ import annotations

import numpy as np
import pytest

from hpcnet.generators import generate
from hpcnet.mechanics.elastic import poisson_ratio, uniaxial_load
from hpcnet.mechanics.stiffness import stiffness_matrix
from hpcnet.mechanics.strain import affine_fraction, boundary_strain
from tests.support.helpers import run_cli


def dense_response(net, axis):
    """u = K⁺ f by a dense pseudo-inverse (rigid modes are K's null space)."""
    K = stiffness_matrix(net).toarray()
    return np.linalg.pinv(K, rcond=1e-10, hermitian=True) @ uniaxial_load(net, axis)


def dense_affine_fraction(positions, u):
    """1 − residual/total of an explicit least-squares fit u_i ≈ A r_i + t (6 unknowns)."""
    n = len(positions)
    design = np.zeros((2 * n, 6))
    design[0::2, 0:2] = positions
    design[0::2, 4] = 1
    design[1::2, 2:4] = positions
    design[1::2, 5] = 1
    coef, *_ = np.linalg.lstsq(design, u, rcond=None)
    U = u.reshape(n, 2)
    return 1 - np.sum((u - design @ coef) ** 2) / np.sum((U - U.mean(axis=0)) ** 2)


def dense_boundary_nu(net, u_x, u_y):
    def strains(u):
        U = u.reshape(-1, 2)
        b, r = net.boundary, net.positions
        exx = (U[b["right"], 0].mean() - U[b["left"], 0].mean()) / (
            r[b["right"], 0].mean() - r[b["left"], 0].mean())
        eyy = (U[b["top"], 1].mean() - U[b["bottom"], 1].mean()) / (
            r[b["top"], 1].mean() - r[b["bottom"], 1].mean())
        return exx, eyy

    (exx, eyy), (fxx, fyy) = strains(u_x), strains(u_y)
    return -eyy / exx, -fxx / fyy


@pytest.mark.parametrize("kind,size,seed", [("tri", 6, 0), ("delaunay", 7, 1), ("packing", 8, 2)])
def test_affine_fraction_and_boundary_nu_match_dense(kind, size, seed):
    net = generate(kind, size, seed)
    result = poisson_ratio(net)
    u_x, u_y = dense_response(net, "x"), dense_response(net, "y")
    a = [dense_affine_fraction(net.positions, u) for u in (u_x, u_y)]
    np.testing.assert_allclose([result.affine_x, result.affine_y], a, atol=1e-8)
    assert result.a_min == min(result.affine_x, result.affine_y)
    bx, by = dense_boundary_nu(net, u_x, u_y)
    np.testing.assert_allclose([result.nu_boundary_x, result.nu_boundary_y], [bx, by], atol=1e-8)
    assert result.nu_boundary == pytest.approx(0.5 * (bx + by), abs=1e-8)


def test_affine_field_has_fraction_one_and_boundary_strain_exact():
    net = generate("delaunay", 6, 3)
    X = net.positions
    A = np.array([[0.02, 0.005], [-0.003, -0.01]])
    u = (X @ A.T + np.array([0.1, -0.2])).ravel()
    assert affine_fraction(X, u) == pytest.approx(1.0, abs=1e-12)
    eps = boundary_strain(X, net.boundary, u)
    np.testing.assert_allclose(np.diag(eps), np.diag(A), atol=1e-12)


def test_localised_field_has_small_fraction():
    net = generate("tri", 8, 0, distortion=0.2)
    u = np.zeros(net.n_dof)
    u[2 * net.boundary["left"][0]] = 1.0  # one node moves: nothing affine about it
    assert affine_fraction(net.positions, u) < 0.1


def test_poisson_prints_and_json_carry_the_check(tmp_path):
    import json

    net = generate("tri", 8, 1, distortion=0.3)
    net.save(tmp_path / "net.h5")
    text = run_cli("poisson", tmp_path / "net.h5").stdout
    assert "a_min" in text and "boundary nu" in text
    data = json.loads(run_cli("poisson", tmp_path / "net.h5", "--json").stdout)
    fresh = poisson_ratio(net)
    assert data["a_min"] == pytest.approx(fresh.a_min, abs=1e-12)
    assert data["nu_boundary"] == pytest.approx(fresh.nu_boundary, abs=1e-12)
