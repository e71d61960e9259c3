"""Simulated annealing and greedy chains: targets, constraints, determinism, resume."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from hpcnet.anneal.chain import (
    TRAJECTORY_FIELDS,
    AnnealSettings,
    ChainState,
    energy,
    metropolis_accept,
    run_chain,
)
from hpcnet.anneal.incremental import IncrementalPoisson
from hpcnet.errors import FloppyNetworkError, HpcnetError
from hpcnet.generators import generate
from hpcnet.mechanics.elastic import poisson_ratio
from hpcnet.mechanics.rigidity import ZERO_TOL
from hpcnet.mechanics.stiffness import pinned_dofs, pinned_matrix, stiffness_matrix
from tests.test_constraints import FaceChecker, low_degree_nodes


def _nu_pair(result):
    return result.nu_x, result.nu_y


def network(kind: str, size: int, seed: int = 0):
    return generate(kind, size, seed, **({"distortion": 0.3} if kind == "tri" else {}))


@pytest.fixture
def record_accepts(monkeypatch):
    """Every state the chain accepts: (mask, evaluation)."""
    seen = []
    original = IncrementalPoisson.accept

    def accept(self, toggles):
        out = original(self, toggles)
        seen.append((self.mask.copy(), out))
        return out

    monkeypatch.setattr(IncrementalPoisson, "accept", accept)
    return seen


# --------------------------------------------------------------- acceptance rule
@pytest.mark.parametrize("delta_e, temperature", [(0.01, 0.01), (0.05, 0.02), (0.002, 0.01)])
def test_metropolis_statistics_match_boltzmann(delta_e, temperature):
    rng = np.random.default_rng(42)
    n = 40_000
    accepted = sum(metropolis_accept(delta_e, temperature, rng) for _ in range(n))
    p = math.exp(-delta_e / temperature)
    assert abs(accepted / n - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_metropolis_always_accepts_downhill_without_drawing():
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    assert all(metropolis_accept(d, 1e-6, rng) for d in (-1.0, -1e-12, 0.0))
    assert rng.bit_generator.state == before


# --------------------------------------------------------------------- settings
@pytest.mark.parametrize("bad", [
    {"target": 1.5}, {"t0": 0.0}, {"alpha": 1.0}, {"tf": 1.0}, {"lk": 0}, {"moves": 0},
    {"lambda_iso": -1.0}, {"tol": 0.0}, {"method": "anneal"}, {"evaluator": "fast"},
    {"refactor_every": 0}, {"lk": 2.5},
])
def test_bad_settings_name_the_problem(bad):
    name = next(iter(bad))
    with pytest.raises(HpcnetError, match=name):
        AnnealSettings(**bad).validate()


def test_schedule_and_json_round_trip():
    s = AnnealSettings(t0=0.1, alpha=0.5, tf=0.0125)
    assert s.n_steps == 4
    assert [s.temperature(t) for t in range(4)] == [0.1, 0.05, 0.025, 0.0125]
    assert AnnealSettings.from_json(s.to_json()) == s


# ------------------------------------------------------------------ SA reaches ±0.9
@pytest.mark.parametrize("kind", ["tri", "delaunay"])
@pytest.mark.parametrize("target", [-0.9, 0.9])
def test_sa_reaches_target_isotropically_with_constraints(kind, target, record_accepts):
    net = network(kind, 10)
    settings = AnnealSettings(target=target, tol=0.05)
    result = run_chain(net, settings, np.random.default_rng(1))
    assert result.status == "early-stop"
    best = result.best_nu if target < 0 else -result.best_nu
    assert best <= -0.85
    assert abs(result.best_nu_x - result.best_nu_y) < 0.1
    # the best state, checked from scratch
    ref = poisson_ratio(net.pruned(result.best_mask))
    assert ref.nu == pytest.approx(result.best_nu, abs=1e-8)
    # every accepted state obeys every constraint and its ν is exact
    assert len(record_accepts) > 20
    faces = FaceChecker(net)
    pinned = pinned_dofs(net.positions)
    for mask, _ in record_accepts:
        assert low_degree_nodes(net, mask) == 0
        assert faces.non_convex(mask) == 0
        Kp = pinned_matrix(stiffness_matrix(net.pruned(mask)), pinned).toarray()
        assert np.linalg.eigvalsh(Kp)[0] > ZERO_TOL * Kp.diagonal().mean()
    for mask, ev in record_accepts[:: max(1, len(record_accepts) // 25)]:
        ref = poisson_ratio(net.pruned(mask))
        assert abs(ev.nu - ref.nu) < 1e-8
        assert abs(ev.nu_x - ref.nu_x) < 1e-8 and abs(ev.nu_y - ref.nu_y) < 1e-8


def test_whole_chain_matches_fresh_solves(record_accepts):
    """ν of every accepted state of a chain (many refactorisations) against ElasticSolver."""
    net = network("delaunay", 8, seed=4)
    settings = AnnealSettings(target=-0.9, lk=150, alpha=0.8, refactor_every=16)
    run_chain(net, settings, np.random.default_rng(3))
    assert len(record_accepts) > 50
    for mask, ev in record_accepts:
        ref = poisson_ratio(net.pruned(mask))
        assert abs(ev.nu - ref.nu) < 1e-8
        assert abs(ev.nu_x - ref.nu_x) < 1e-8 and abs(ev.nu_y - ref.nu_y) < 1e-8


# ------------------------------------------------------------- determinism, resume
SHORT = AnnealSettings(target=0.9, t0=0.02, alpha=0.7, tf=0.002, lk=120, refactor_every=16)


def assert_same(a, b):
    for name in ("final_mask", "best_mask"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    for name in ("best_nu", "best_nu_x", "best_nu_y", "final_nu", "n_proposals", "n_accepted"):
        assert getattr(a, name) == getattr(b, name)
    for key in TRAJECTORY_FIELDS:
        assert np.array_equal(a.trajectory[key], b.trajectory[key])


def test_same_seed_same_chain_other_seed_other_chain():
    net = network("tri", 8)
    a = run_chain(net, SHORT, np.random.default_rng(7))
    b = run_chain(net, SHORT, np.random.default_rng(7))
    c = run_chain(net, SHORT, np.random.default_rng(8))
    assert_same(a, b)
    assert not np.array_equal(a.trajectory["nu"], c.trajectory["nu"])
    assert len(a.trajectory["T"]) == SHORT.n_steps
    assert all(len(v) == SHORT.n_steps for v in a.trajectory.values())


class Stop(Exception):
    pass


@pytest.mark.parametrize("via", ["npz", "h5"])
def test_resume_is_bit_identical(tmp_path, via):
    net = network("delaunay", 8)
    whole = run_chain(net, SHORT, np.random.default_rng(11))
    saved = {}

    def interrupt(info, state):
        if info.step == 3:
            saved["state"] = state
            raise Stop

    with pytest.raises(Stop):
        run_chain(net, SHORT, np.random.default_rng(11), on_step=interrupt)
    state = saved["state"]
    assert not np.array_equal(state.base_mask, state.mask) or state.step == 3
    if via == "npz":
        state.save(tmp_path / "c.npz")
        state = ChainState.load(tmp_path / "c.npz")
    else:
        with h5py.File(tmp_path / "c.h5", "w") as fh:
            for key, value in saved["state"].to_dict().items():
                fh[key] = value
        with h5py.File(tmp_path / "c.h5", "r") as fh:
            state = ChainState.from_dict(fh)
    resumed = run_chain(net, SHORT, np.random.default_rng(999), state=state)
    assert_same(whole, resumed)


def test_resume_refuses_other_settings_or_network():
    net = network("tri", 8)
    saved = {}
    run_chain(net, SHORT, np.random.default_rng(1),
              on_step=lambda info, st: saved.setdefault("state", st))
    other = AnnealSettings(**{**SHORT.__dict__, "target": -0.9})
    with pytest.raises(HpcnetError, match="target"):
        run_chain(net, other, np.random.default_rng(1), state=saved["state"])
    with pytest.raises(HpcnetError, match="different network"):
        run_chain(network("tri", 8, seed=1), SHORT, np.random.default_rng(1),
                  state=saved["state"])


def test_full_evaluator_walks_the_same_chain():
    net = network("tri", 8)
    a = run_chain(net, SHORT, np.random.default_rng(5))
    b = run_chain(net, AnnealSettings(**{**SHORT.__dict__, "evaluator": "full"}),
                  np.random.default_rng(5))
    assert np.array_equal(a.final_mask, b.final_mask)
    assert np.allclose(a.trajectory["nu"], b.trajectory["nu"], atol=1e-9, rtol=0)


def test_greedy_is_the_same_with_the_full_evaluator():
    net = network("delaunay", 6)
    settings = AnnealSettings(target=0.9, method="greedy")
    a = run_chain(net, settings, np.random.default_rng(0))
    b = run_chain(net, AnnealSettings(**{**settings.__dict__, "evaluator": "full"}),
                  np.random.default_rng(0))
    assert len(a.trajectory["nu"]) > 2
    assert np.array_equal(a.final_mask, b.final_mask)
    assert np.allclose(a.trajectory["nu"], b.trajectory["nu"], atol=1e-9, rtol=0)


def test_floppy_network_is_refused():
    net = network("tri", 6)
    node = 14
    mask = np.ones(net.n_bonds, bool)
    mask[np.flatnonzero((net.bonds == node).any(axis=1))[1:]] = False
    with pytest.raises(FloppyNetworkError):
        run_chain(net.pruned(mask), AnnealSettings(convex_only=False), np.random.default_rng(0))


# ------------------------------------------------------------------------ greedy
def test_greedy_descends_until_no_removal_helps():
    net = network("tri", 6)
    settings = AnnealSettings(target=-0.9, method="greedy")
    result = run_chain(net, settings, np.random.default_rng(0))
    E = result.trajectory["energy"]
    assert result.status == "done" and len(E) > 3
    assert np.all(np.diff(E) < 0)
    assert np.all(np.isnan(result.trajectory["T"]))
    start = energy(*_nu_pair(poisson_ratio(net)), -0.9, 1.0)
    assert E[0] < start
    # no admissible single removal of the final state lowers E (checked from scratch)
    from hpcnet.anneal.constraints import Constraints

    rules = Constraints(net)
    final = result.final_mask
    e_final = energy(*_nu_pair(poisson_ratio(net.pruned(final))), -0.9, 1.0)
    assert e_final == pytest.approx(result.best_energy, abs=1e-9)
    tried = 0
    for b in np.flatnonzero(final):
        if not rules.admissible(final, np.array([b])):
            continue
        trial = final.copy()
        trial[b] = False
        try:
            e = energy(*_nu_pair(poisson_ratio(net.pruned(trial))), -0.9, 1.0)
        except FloppyNetworkError:
            continue
        tried += 1
        assert e >= e_final - 1e-9
    assert tried > 5
