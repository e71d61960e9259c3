"""The incremental (Woodbury) evaluator against fresh ElasticSolver solves."""

from __future__ import annotations

import numpy as np
import pytest

from hpcnet.anneal.bondsystem import BondSystem
from hpcnet.anneal.factor import RIGID_MARGIN
from hpcnet.anneal.incremental import FullPoisson, IncrementalPoisson
from hpcnet.anneal.margin import inertia_verdict
from hpcnet.errors import FloppyNetworkError
from hpcnet.generators import generate
from hpcnet.mechanics.elastic import ElasticSolver, poisson_ratio
from hpcnet.mechanics.rigidity import ZERO_TOL


@pytest.fixture(scope="module")
def tri8():
    return generate("tri", 8, 3, distortion=0.3)


def fresh(net, mask):
    """ν from a fresh ElasticSolver, or None if it calls the network floppy."""
    try:
        return poisson_ratio(net.pruned(mask))
    except FloppyNetworkError:
        return None


def smallest_pinned_eigenvalue(system, mask):
    K = system.pinned_matrix(mask).toarray()
    return np.linalg.eigvalsh(K)[0], RIGID_MARGIN * ZERO_TOL * np.mean(K.diagonal())


def test_initial_state_matches_elastic_solver(tri8):
    with IncrementalPoisson(BondSystem(tri8), np.ones(tri8.n_bonds, bool)) as ev:
        ref = poisson_ratio(tri8)
        assert ev.current.nu == pytest.approx(ref.nu, abs=1e-12)
        assert ev.current.nu_x == pytest.approx(ref.nu_x, abs=1e-12)
        assert ev.current.nu_y == pytest.approx(ref.nu_y, abs=1e-12)
        assert ev.current.a_min == pytest.approx(ref.a_min, abs=1e-12)


def test_random_walk_matches_fresh_solves(tri8):
    """Every proposal of a long unconstrained walk (1-3 toggles, adds and removals,
    through several refactorisations and near-floppy states): ν to 1e-8 (relative
    where the walk wanders to |ν| > 1) and both affine fractions to 1e-8, and the
    floppiness verdict agrees with an independent eigenvalue check."""
    system = BondSystem(tri8)
    rng = np.random.default_rng(0)
    ev = IncrementalPoisson(system, np.ones(tri8.n_bonds, bool), refactor_every=8)
    floppy = accepted = 0
    for _ in range(250):
        S = rng.choice(tri8.n_bonds, size=rng.integers(1, 4), replace=False)
        proposed = ev.mask.copy()
        proposed[S] ^= True
        got = ev.evaluate(S)
        lam, threshold = smallest_pinned_eigenvalue(system, proposed)
        if got.floppy:
            floppy += 1
            assert lam <= threshold * 1.001
            continue
        assert lam > threshold * 0.999
        ref = fresh(tri8, proposed)
        assert ref is not None
        for q in ("nu", "nu_x", "nu_y", "affine_x", "affine_y"):
            want = getattr(ref, q)
            assert abs(getattr(got, q) - want) < 1e-8 * max(1.0, abs(want))
        if rng.random() < 0.7:
            now = ev.accept(S)
            accepted += 1
            assert abs(now.nu - ref.nu) < 1e-8 * max(1.0, abs(ref.nu))
            assert abs(now.a_min - ref.a_min) < 1e-8
    ev.destroy()
    assert floppy > 10 and accepted > 50 and ev.n_refactor > 3
    assert ev.n_certified > 10  # the margin was decided by the shifted inertia, not Lanczos


def test_shifted_inertia_verdicts_match_dense_eigenvalues(tri8):
    """The solve-free margin certificate: for states along a walk and shifts on both
    sides of each state's λ_min, every verdict it gives is the dense eigenvalues' one,
    and it decides whenever the shift is a factor of two away from λ_min."""
    system = BondSystem(tri8)
    rng = np.random.default_rng(5)
    ev = IncrementalPoisson(system, np.ones(tri8.n_bonds, bool), refactor_every=8)
    decided = 0
    for _ in range(600):
        S = rng.choice(tri8.n_bonds, size=rng.integers(1, 4), replace=False)
        if ev.evaluate(S).floppy:
            continue
        proposed = ev.mask.copy()
        proposed[S] ^= True
        lam = np.linalg.eigvalsh(system.pinned_matrix(proposed).toarray())[0]
        lam0 = ev._base_lambda_lower()
        pieces = ev._inertia_pieces(proposed)
        if pieces is None:  # only additions to the base: nothing to decide
            assert lam >= lam0
            ev.accept(S)
            continue
        for factor in (0.5, 0.99, 1.01, 2.0):
            shift = factor * lam
            if not shift < lam0:  # the certificate needs K₀ − shift·I ≻ 0
                continue
            verdict = inertia_verdict(*pieces, shift, lam0)
            if verdict is not None:
                assert verdict == (lam > shift)
                decided += 1
            elif factor in (0.5, 2.0) and shift < 0.25 * lam0:
                pytest.fail(f"undecided at {factor} λ_min")
        ev.accept(S)
    ev.destroy()
    assert decided > 100


def test_zero_mode_removal_is_detected_by_chi(tri8):
    """Strip an interior node down to two bonds: removing either creates a zero mode
    (χ_b = 1), which the evaluator rejects and ElasticSolver confirms."""
    system = BondSystem(tri8)
    node = 3 * 8 + 3
    incident = np.flatnonzero((tri8.bonds == node).any(axis=1))
    mask = np.ones(tri8.n_bonds, bool)
    mask[incident[2:]] = False
    with IncrementalPoisson(system, np.ones(tri8.n_bonds, bool)) as ev:
        for b in incident[2:]:
            assert not ev.evaluate([b]).floppy
            ev.accept([b])
        assert np.array_equal(ev.mask, mask)
        for b in incident[:2]:
            assert ev.evaluate([b]).floppy
            lone = mask.copy()
            lone[b] = False
            with pytest.raises(FloppyNetworkError):
                ElasticSolver(tri8.pruned(lone))
        # re-adding a bond is never floppy and brings back the original ν
        ev.accept([incident[2]])
        back = mask.copy()
        back[incident[2]] = True
        assert ev.current.nu == pytest.approx(poisson_ratio(tri8.pruned(back)).nu, abs=1e-9)


def test_full_and_incremental_agree_and_rebase_is_exact(tri8):
    system = BondSystem(tri8)
    rng = np.random.default_rng(5)
    mask = np.ones(tri8.n_bonds, bool)
    inc = IncrementalPoisson(system, mask, refactor_every=4)
    full = FullPoisson(system, mask)
    for _ in range(40):
        S = rng.choice(tri8.n_bonds, size=2, replace=False)
        a, b = inc.evaluate(S), full.evaluate(S)
        assert a.floppy == b.floppy
        if not a.floppy:
            assert abs(a.nu - b.nu) < 1e-9
            assert abs(a.a_min - b.a_min) < 1e-9
            inc.accept(S)
            full.accept(S)
    # a state reached incrementally equals the same state rebuilt from any base, bit for bit
    other = IncrementalPoisson(system, inc.mask, base_mask=inc.base_mask,
                               lambda_bound=inc.lambda_bound, refactor_every=4)
    assert other.current == inc.current
    for ev in (inc, full, other):
        ev.destroy()


def test_floppy_initial_network_is_refused(tri8):
    node = 10
    mask = np.ones(tri8.n_bonds, bool)
    mask[np.flatnonzero((tri8.bonds == node).any(axis=1))[1:]] = False
    with pytest.raises(FloppyNetworkError):
        IncrementalPoisson(BondSystem(tri8), mask)


@pytest.mark.parametrize("evaluator", [IncrementalPoisson, FullPoisson])
def test_jump_across_many_bonds_matches_a_fresh_solve(tri8, evaluator):
    """A return to a state far away (the polish's return to the answer) is exact."""
    net = tri8
    system = BondSystem(net)
    rng = np.random.default_rng(5)
    target = np.ones(net.n_bonds, dtype=bool)
    while True:  # a rigid state some 15% of the bonds away
        trial = target.copy()
        trial[rng.choice(net.n_bonds, size=net.n_bonds // 7, replace=False)] = False
        try:
            fresh = poisson_ratio(net.pruned(trial))
            break
        except FloppyNetworkError:
            continue
    with evaluator(system, np.ones(net.n_bonds, dtype=bool)) as ev:
        moved = ev.jump(trial)
        assert np.array_equal(ev.mask, trial) and not moved.floppy
        assert moved.nu == pytest.approx(fresh.nu, abs=1e-8)
        assert moved.a_min == pytest.approx(fresh.a_min, abs=1e-8)
        step = ev.evaluate(np.array([int(np.flatnonzero(trial)[0])]))  # and it goes on
        assert np.isfinite(step.nu) or step.floppy
