"""Normal modes (SLEPc and dense) and the mode decomposition of ν, against dense numpy."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from hpcnet.errors import FloppyNetworkError, HpcnetError
from hpcnet.generators import generate
from hpcnet.mechanics.elastic import poisson_ratio
from hpcnet.mechanics.mechanism import (
    analyse,
    mode_poisson,
    mode_strains,
    modes_for_fraction,
    truncated_poisson,
    two_mode_estimate,
)
from hpcnet.mechanics.modes import all_modes, lowest_modes
from hpcnet.mechanics.stiffness import rigid_modes, stiffness_matrix
from tests.support.helpers import run_cli

NETWORKS = [("tri", {"distortion": 0.3}), ("tri", {"distortion": 0.8}), ("delaunay", {})]


@pytest.fixture(scope="module", params=NETWORKS, ids=lambda p: f"{p[0]}-{p[1]}")
def small(request):
    """A small network and its dense spectrum (rigid modes = the 3 lowest)."""
    kind, options = request.param
    net = generate(kind, 8, 3, **options)
    values, vectors = np.linalg.eigh(stiffness_matrix(net).toarray())
    return net, values, vectors


def floppy_network():
    """A distorted lattice with one node left hanging on a single bond (1 extra zero mode)."""
    net = generate("tri", 6, 0, distortion=0.2)
    node = 14  # interior
    touching = np.flatnonzero((net.bonds == node).any(axis=1))
    keep = np.ones(net.n_bonds, dtype=bool)
    keep[touching[1:]] = False
    return net.pruned(keep)


def assert_same_vectors(a, b, tol):
    """Columns of a and b equal up to the sign of each column."""
    signs = np.sign(np.sum(a * b, axis=0))
    assert np.max(np.abs(a - b * signs)) < tol


def test_lowest_modes_match_dense(small):
    net, values, vectors = small
    k = 20
    modes = lowest_modes(net, k)
    assert modes.k == k and not modes.complete
    assert values[3] > 1e-6  # the network is rigid: exactly 3 zero eigenvalues
    np.testing.assert_allclose(modes.omega2, values[3:3 + k], rtol=1e-8, atol=0)
    assert_same_vectors(modes.vectors, vectors[:, 3:3 + k], 1e-7)
    np.testing.assert_allclose(modes.vectors.T @ modes.vectors, np.eye(k), atol=1e-10)
    assert np.max(np.abs(rigid_modes(net.positions).T @ modes.vectors)) < 1e-10


def test_all_modes_match_dense(small):
    net, values, vectors = small
    modes = all_modes(net)
    n = net.n_dof - 3
    assert modes.k == n and modes.complete
    np.testing.assert_allclose(modes.omega2, values[3:], rtol=1e-8, atol=0)
    np.testing.assert_allclose(modes.vectors.T @ modes.vectors, np.eye(n), atol=1e-10)
    assert np.max(np.abs(rigid_modes(net.positions).T @ modes.vectors)) < 1e-10
    # every non-degenerate eigenvector agrees with numpy's
    gaps = np.diff(values[3:])
    single = np.flatnonzero(np.minimum(np.r_[np.inf, gaps], np.r_[gaps, np.inf]) > 1e-6)
    assert_same_vectors(modes.vectors[:, single], vectors[:, 3 + single], 1e-7)


def test_slepc_finds_the_whole_spectrum_without_rigid_modes():
    net = generate("tri", 5, 1, distortion=0.3)
    full = all_modes(net)
    modes = lowest_modes(net, net.n_dof - 3)
    assert modes.complete
    np.testing.assert_allclose(modes.omega2, full.omega2, rtol=1e-8)


def test_full_spectrum_weights_and_exact_decomposition(small):
    net = small[0]
    _, mech = analyse(net, full=True)
    exact = poisson_ratio(net)
    for load, nu in ((mech.x, exact.nu_x), (mech.y, exact.nu_y)):
        assert abs(load.weights.sum() - 1.0) < 1e-10
        assert abs(load.captured - 1.0) < 1e-10
        assert abs(load.truncated[-1] - nu) < 1e-8
        assert abs(load.nu - nu) < 1e-12
    assert abs(mech.nu - exact.nu) < 1e-12


def test_truncated_decomposition_from_lowest_modes():
    """k lowest modes from SLEPc give the same weights and partial sums as the full spectrum."""
    net = generate("delaunay", 8, 5)
    _, full = analyse(net, full=True)
    _, low = analyse(net, k=30)
    for axis in "xy":
        np.testing.assert_allclose(low[axis].weights, full[axis].weights[:30], atol=1e-10)
        np.testing.assert_allclose(low[axis].truncated, full[axis].truncated[:30], rtol=1e-7)
        assert low[axis].captured < 1.0


def test_dilation_and_shear_modes_have_nu_prime_minus_one_and_plus_one():
    net = generate("delaunay", 7, 2)
    r = net.positions - net.positions.mean(axis=0)
    dilation = r.ravel() / np.linalg.norm(r)
    shear = (r * [1.0, -1.0]).ravel() / np.linalg.norm(r)
    strains = mode_strains(net.positions, np.column_stack([dilation, shear]))
    assert strains[1, 0, 0] == pytest.approx(-strains[1, 1, 1])
    for axis in "xy":
        np.testing.assert_allclose(mode_poisson(strains, axis), [-1.0, 1.0], rtol=1e-12)


def test_two_mode_estimate_and_mode_counts():
    weights = np.array([0.05, 0.6, 0.3, 0.05])
    nu_prime = np.array([7.0, -1.0, 1.0, -7.0])
    value, top2 = two_mode_estimate(weights, nu_prime)
    assert list(top2) == [1, 2]
    assert value == pytest.approx((0.6 * -1.0 + 0.3 * 1.0) / 0.9)
    assert modes_for_fraction(weights, 0.9) == 2
    assert modes_for_fraction(weights, 0.95) == 3
    assert modes_for_fraction(weights[:3] * 0.5, 0.9) is None
    assert modes_for_fraction(weights, 0.9, largest_first=False) == 3
    assert modes_for_fraction(weights, 0.6, largest_first=False) == 2


def test_truncated_poisson_partial_sums():
    coefficients = np.array([1.0, 2.0])
    strains = np.array([[[1.0, 0.0], [0.0, -0.5]], [[0.5, 0.0], [0.0, 1.0]]])
    np.testing.assert_allclose(truncated_poisson(coefficients, strains, "x"),
                               [0.5, -(-0.5 + 2.0) / (1.0 + 1.0)])
    np.testing.assert_allclose(truncated_poisson(coefficients, strains, "y"),
                               [2.0, -(1.0 + 1.0) / (-0.5 + 2.0)])


def test_floppy_network_is_refused():
    net = floppy_network()
    with pytest.raises(FloppyNetworkError, match="1 zero mode"):
        lowest_modes(net, 5)
    with pytest.raises(FloppyNetworkError, match="1 zero mode"):
        all_modes(net)


@pytest.mark.parametrize("k", [0, 2 * 25 - 2])
def test_k_out_of_range(k):
    with pytest.raises(HpcnetError, match="47 non-rigid modes"):
        lowest_modes(generate("tri", 5, 0, distortion=0.2), k)


def test_options_prefix_reaches_slepc():
    from petsc4py import PETSc

    net = generate("tri", 8, 3, distortion=0.3)
    reference = lowest_modes(net, 6)
    options = PETSc.Options()
    settings = {"eps_type": "lobpcg", "eps_smallest_real": None, "st_type": "precond",
                "eps_tol": "1e-9"}
    for name, value in settings.items():
        options[f"test_modes_{name}"] = value
    try:
        modes = lowest_modes(net, 6, prefix="test_modes_")
    finally:
        for name in settings:
            options.delValue(f"test_modes_{name}")
    assert (modes.solver["eps_type"], modes.solver["st_type"]) == ("lobpcg", "precond")
    assert modes.solver["tol"] == 1e-9
    np.testing.assert_allclose(modes.omega2, reference.omega2, rtol=1e-6)


# ------------------------------------------------------------------------------- CLI
def test_cli_modes_writes_the_documented_layout(tmp_path):
    net_file, out = tmp_path / "net.h5", tmp_path / "modes.h5"
    generate("tri", 8, 3, distortion=0.3).save(net_file)
    proc = run_cli("modes", net_file, "-k", "12", "-o", out)
    assert "nu_bar'" in proc.stdout and "captured weight" in proc.stdout
    with h5py.File(out, "r") as fh:
        assert fh.attrs["k"] == 12 and not fh.attrs["complete"]
        assert fh.attrs["hpcnet_version"]
        json.loads(fh.attrs["petsc_options"])
        assert json.loads(fh.attrs["solver"])["method"] == "slepc"
        vectors = fh["modes/vectors"][()]
        omega2 = fh["modes/omega2"][()]
        assert vectors.shape == (12, 128)
        np.testing.assert_allclose(fh["modes/omega"][()] ** 2, omega2, rtol=1e-12)
        for axis in "xy":
            group = fh[f"response/{axis}"]
            u = group["displacement"][()]
            np.testing.assert_allclose(group["coefficients"][()],
                                       vectors @ u / np.linalg.norm(u), atol=1e-12)
            np.testing.assert_allclose(group["weights"][()].sum(), group.attrs["captured"])
            assert len(group["truncated"]) == 12
        assert fh["network/positions"].shape == (64, 2)
    np.testing.assert_allclose(omega2, lowest_modes(generate("tri", 8, 3, distortion=0.3),
                                                    12).omega2, rtol=1e-10)
    assert not list(tmp_path.glob("*.part"))


def test_cli_modes_all_json(tmp_path):
    net_file = tmp_path / "net.npz"
    net = generate("delaunay", 6, 1)
    net.save(net_file)
    out = json.loads(run_cli("modes", net_file, "--all", "--json").stdout)
    assert out["complete"] and out["k"] == net.n_dof - 3
    assert abs(sum(out["x"]["weights"]) - 1.0) < 1e-10
    assert abs(out["truncated"] - poisson_ratio(net).nu) < 1e-8


def test_cli_modes_user_errors(tmp_path):
    good, floppy = tmp_path / "good.h5", tmp_path / "floppy.h5"
    generate("tri", 5, 0, distortion=0.2).save(good)
    floppy_network().save(floppy)
    out = tmp_path / "out.h5"
    proc = run_cli("modes", floppy, "-o", out, check=False)
    assert proc.returncode == 1 and "floppy" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    proc = run_cli("modes", good, "-k", "100", check=False)
    assert proc.returncode == 1 and "47 non-rigid modes" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("modes", good, "--all", "-k", "3", check=False)
    assert proc.returncode == 2 and "--all" in proc.stderr
    proc = run_cli("modes", good, "-o", good, check=False)
    assert proc.returncode == 1 and "--force" in proc.stderr
