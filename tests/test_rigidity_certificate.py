"""The rigidity certificate (factorisation of Kp − τI) against dense eigenvalues, near τ too."""

import numpy as np
import pytest
from petsc4py import PETSc

import hpcnet.mechanics.elastic as elastic
from hpcnet.errors import FloppyNetworkError
from hpcnet.generators import generate
from hpcnet.mechanics.elastic import ElasticSolver, poisson_ratio, uniaxial_load
from hpcnet.mechanics.rigidity import shift_certifies, zero_threshold
from hpcnet.mechanics.stiffness import pinned_dofs, pinned_matrix, stiffness_matrix
from hpcnet.mechanics.strain import affine_strain, poisson_of_strain
from hpcnet.network import Network


def pinned_spectrum(net):
    """Dense eigenvalues of the pinned K and the zero-mode threshold τ."""
    Kp = pinned_matrix(stiffness_matrix(net), pinned_dofs(net.positions))
    return np.linalg.eigvalsh(Kp.toarray()), zero_threshold(Kp)


def dense_nu(net):
    """ν from the pseudo-inverse of the dense K (the definition)."""
    K = stiffness_matrix(net).toarray()
    K_plus = np.linalg.pinv(K, rcond=1e-13, hermitian=True)
    nus = [poisson_of_strain(affine_strain(net.positions, K_plus @ uniaxial_load(net, a)), a)
           for a in "xy"]
    return 0.5 * (nus[0] + nus[1])


def softened(net, bond, k):
    stiffness = net.stiffness.copy()
    stiffness[bond] = k
    return Network.from_arrays(net.positions, net.bonds, net.boundary, stiffness=stiffness)


def near_threshold(net, bond, factor):
    """``net`` with ``bond`` softened until λ_min(Kp) = factor × τ (bisection on log k)."""
    lo, hi = -14.0, 0.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lam, tau = pinned_spectrum(softened(net, bond, 10.0**mid))
        lo, hi = (mid, hi) if lam[0] < factor * tau else (lo, mid)
    return softened(net, bond, 10.0**hi)


def stiffening_bonds(seed):
    """A floppy pruning of a distorted tri 7 with one extra zero mode, and a bond curing it."""
    net = generate("tri", 7, 3, distortion=0.3)
    rng = np.random.default_rng(seed)
    while True:
        mask = rng.random(net.n_bonds) > 0.12
        lam, tau = pinned_spectrum(net.pruned(mask))
        if np.sum(lam <= tau) != 1:
            continue
        for b in rng.permutation(np.flatnonzero(~mask)):
            trial = mask.copy()
            trial[b] = True
            lam, tau = pinned_spectrum(net.pruned(trial))
            if lam[0] > 1e-4 * tau / 1e-9:  # clearly rigid with the bond at full strength
                return net.pruned(trial), int(np.sum(trial[:b]))


def dangling_node():
    """tri 6 with node 15 held by two bonds only; the second of them is the one to soften."""
    net = generate("tri", 6, 0, distortion=0.2)
    at = np.flatnonzero((net.bonds == 15).any(axis=1))
    mask = np.ones(net.n_bonds, bool)
    mask[at[2:]] = False
    return net.pruned(mask), int(np.sum(mask[:at[1]]))


CASES = {"dangling": dangling_node, "pruned0": lambda: stiffening_bonds(0),
         "pruned1": lambda: stiffening_bonds(1)}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("factor", [0.5, 0.98, 1.02, 2.0])
def test_verdict_at_the_threshold_matches_dense_eigenvalues(case, factor):
    net, bond = CASES[case]()
    net = near_threshold(net, bond, factor)
    lam, tau = pinned_spectrum(net)
    assert lam[0] == pytest.approx(factor * tau, rel=1e-3)
    expected = int(np.sum(lam <= tau))
    assert expected == (1 if factor < 1 else 0)
    if expected:
        with pytest.raises(FloppyNetworkError) as err:
            poisson_ratio(net)
        assert err.value.extra_zero_modes == expected
    else:
        # κ(Kp) ≈ 1e9 here: ν is only as accurate as the conditioning allows
        assert poisson_ratio(net).nu == pytest.approx(dense_nu(net), abs=1e-5)


def test_near_threshold_nu_is_the_direct_solve():
    """CG on the shifted factor gives the unshifted direct solve's ν even at λ_min = 1.02 τ."""
    net = near_threshold(*dangling_node(), 1.02)
    with ElasticSolver(net, check_rigidity=False) as solver:
        direct = solver.poisson()
    certified = poisson_ratio(net)
    assert certified.nu_x == pytest.approx(direct.nu_x, abs=1e-9)
    assert certified.nu_y == pytest.approx(direct.nu_y, abs=1e-9)


def test_slow_cg_falls_back_to_the_unshifted_factor(monkeypatch):
    net = generate("delaunay", 12, 3)
    ref = poisson_ratio(net)
    monkeypatch.setattr(elastic, "CG_MAX_IT", 1)
    with ElasticSolver(net) as solver:
        assert solver._shifted is not None  # certified by the shifted factor
        res = solver.poisson()
        assert solver._shifted is None  # one CG step is not enough: refactorised
    assert res.nu_x == pytest.approx(ref.nu_x, abs=1e-12)
    assert res.nu_y == pytest.approx(ref.nu_y, abs=1e-12)


@pytest.mark.parametrize("setting", [{"mat_cholmod_final_ll": "0"}, {"ksp_type": "cg"},
                                     {"pc_factor_mat_solver_type": "mumps"}])
def test_other_factorisations_use_the_slepc_certificate(setting):
    """Options that leave CHOLMOD LLᵀ keep today's certificate, with the same verdicts."""
    prefix = "othercert_"
    opts = PETSc.Options()
    for key, value in setting.items():
        opts.setValue(prefix + key, value)
    try:
        rigid = generate("tri", 8, 1, distortion=0.3)
        with ElasticSolver(rigid, prefix=prefix) as solver:
            assert not shift_certifies(solver.ksp)
            assert solver.poisson().nu == pytest.approx(poisson_ratio(rigid).nu, abs=1e-10)
        floppy, bond = dangling_node()
        floppy = near_threshold(floppy, bond, 0.5)
        with pytest.raises(FloppyNetworkError) as err:
            ElasticSolver(floppy, prefix=prefix)
        assert err.value.extra_zero_modes == 1
    finally:
        for key in setting:
            opts.delValue(prefix + key)


def test_default_solver_is_certified_by_the_shift():
    with ElasticSolver(generate("tri", 5, 0)) as solver:
        assert shift_certifies(solver.ksp)
        assert solver._shifted is not None


@pytest.mark.parametrize("floppy", [True, False])
def test_rigidity_options_reach_the_eigensolver(floppy):
    """-rigidity_* options reach SLEPc: in the floppy count, and in the SLEPc certificate."""
    net, bond = dangling_node()
    net = near_threshold(net, bond, 0.5) if floppy else net
    keys = {"rigidity_eps_type": "nosuchsolver"}
    if not floppy:  # a rigid network meets SLEPc only without the shifted certificate
        keys["slepcpath_mat_cholmod_final_ll"] = "0"
    opts = PETSc.Options()
    for key, value in keys.items():
        opts.setValue(key, value)
    try:
        with pytest.raises(PETSc.Error):
            ElasticSolver(net, prefix="slepcpath_")
    finally:
        for key in keys:
            opts.delValue(key)
    with ElasticSolver(generate("tri", 5, 0), prefix="slepcpath_") as solver:  # options gone
        assert np.isfinite(solver.poisson().nu)
