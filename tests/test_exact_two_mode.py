"""The exact two-mode estimate ν̂₂ against an independent dense computation, and in the survey."""

from __future__ import annotations

import numpy as np
import pytest

from hpcnet.analysis.survey import network_row
from hpcnet.generators import generate
from hpcnet.mechanics.elastic import poisson_ratio, uniaxial_load
from hpcnet.mechanics.mechanism import analyse, exact_two_mode_estimate
from hpcnet.mechanics.stiffness import stiffness_matrix

NETWORKS = [("tri", 7, 1, {"distortion": 0.3}), ("delaunay", 7, 2, {}), ("packing", 8, 4, {})]


def dense_exact_two_mode(net, axis):
    """ν̂₂ from scratch: dense eigenvectors, explicit affine fits, explicit sums."""
    values, vectors = np.linalg.eigh(stiffness_matrix(net).toarray())
    modes = vectors[:, 3:]  # drop the three rigid modes
    u = np.linalg.pinv(stiffness_matrix(net).toarray(), rcond=1e-10,
                       hermitian=True) @ uniaxial_load(net, axis)
    c = modes.T @ (u / np.linalg.norm(u))
    X = net.positions - net.positions.mean(axis=0)
    exx, eyy = [], []
    for i in range(modes.shape[1]):
        phi = modes[:, i].reshape(-1, 2)
        # least squares phi_x ≈ a X + b Y + t: ε_xx = a; phi_y ≈ c X + d Y + s: ε_yy = d
        design = np.column_stack([X, np.ones(len(X))])
        exx.append(np.linalg.lstsq(design, phi[:, 0], rcond=None)[0][0])
        eyy.append(np.linalg.lstsq(design, phi[:, 1], rcond=None)[0][1])
    exx, eyy = np.array(exx), np.array(eyy)
    along, across = (c * exx, c * eyy) if axis == "x" else (c * eyy, c * exx)
    two = np.argsort(np.abs(along))[::-1][:2]
    full = -across.sum() / along.sum()
    return -across[two].sum() / along[two].sum(), set(two.tolist()), full


@pytest.mark.parametrize("kind,size,seed,options", NETWORKS)
def test_exact_two_mode_matches_dense(kind, size, seed, options):
    net = generate(kind, size, seed, **options)
    _, mech = analyse(net, full=True)
    exact = poisson_ratio(net)
    for load, nu in ((mech.x, exact.nu_x), (mech.y, exact.nu_y)):
        value, two, full = dense_exact_two_mode(net, load.axis)
        assert full == pytest.approx(nu, abs=1e-8)  # the decomposition it truncates is exact
        assert set(load.strain_top2.tolist()) == two
        assert load.exact_two_mode == pytest.approx(value, rel=1e-7, abs=1e-9)
    assert mech.exact_two_mode == pytest.approx(0.5 * (mech.x.exact_two_mode
                                                       + mech.y.exact_two_mode))


def test_exact_two_mode_is_nu_when_two_modes_carry_everything():
    coefficients = np.array([0.8, 0.6, 0.0])
    strains = np.array([[[1.0, 0], [0, -0.2]], [[0.3, 0], [0, 0.9]], [[5.0, 0], [0, 5.0]]])
    value, two = exact_two_mode_estimate(coefficients, strains, "x")
    assert sorted(two.tolist()) == [0, 1]
    assert value == pytest.approx(-(0.8 * -0.2 + 0.6 * 0.9) / (0.8 * 1.0 + 0.6 * 0.3))


def test_exact_two_mode_stays_finite_where_a_heavy_mode_has_no_loaded_strain():
    coefficients = np.array([0.9, 0.3, 0.3])  # the heaviest mode has ε_xx = 0
    strains = np.array([[[0.0, 0], [0, 1.0]], [[1.0, 0], [0, -0.5]], [[0.5, 0], [0, 0.2]]])
    value, two = exact_two_mode_estimate(coefficients, strains, "x")
    assert 0 not in two.tolist() and np.isfinite(value)


def test_survey_row_has_both_estimators_weights_and_peaks():
    net = generate("tri", 7, 3, distortion=0.4)
    row = network_row(net, full=True)
    _, mech = analyse(net, full=True)
    assert row["exact_two_mode"] == pytest.approx(mech.exact_two_mode, abs=1e-12)
    assert row["two_mode"] == pytest.approx(mech.two_mode, abs=1e-12)
    weights = np.sort(mech.weights)[::-1]
    assert (row["weight_1"], row["weight_2"]) == pytest.approx((weights[0], weights[1]))
    plus, minus = mech.peaks()
    modes, _ = analyse(net, full=True)
    for index, omega, nu_prime, sign in ((plus, row["omega_plus"], row["nu_prime_plus"], 1),
                                         (minus, row["omega_minus"], row["nu_prime_minus"], -1)):
        if index is None:
            assert np.isnan(omega)
        else:
            assert omega == pytest.approx(modes.omega[index])
            assert np.sign(nu_prime) == sign
