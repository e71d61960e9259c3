"""One chain that prunes a network toward a target ν: simulated annealing or greedy.

What a chain optimises (docs/physics.md, "What a chain optimises"): its answer
is the state that *meets the target* (``|ν − ν*| ≤ tol``, ``|ν_x − ν_y| ≤
iso_tol`` and a material response, ``a_min ≥ affine_floor``) with the fewest
bonds removed; failing that, the state of lowest ``E₀ = |ν − ν*| + λ_iso |ν_x −
ν_y|``. Every accepted state keeps ``a_min ≥ affine_floor`` (a chain starting
below the floor accepts only states that do not lower a_min until it is above).

``method="greedy"`` removes, one at a time, the admissible bond whose removal
lowers E₀ most, and stops once the target is met or no removal lowers E₀.

``method="sa"`` starts with that greedy descent (cheap, and its answer becomes
the SA's first candidate, so SA never answers worse than greedy), then
anneals from the greedy answer. Energies are in units of bonds: while no state
meets the target, ``E = E₀/μ`` with μ the median |ΔE₀| of one admissible removal
from the initial network; once one does, ``E = n_removed + w h`` with the hinge
``h = max(0, |ν − ν*| − tol/2) + λ_iso max(0, |ν_x − ν_y| − iso_tol/2)`` and
``w = max(4/tol, 1/μ)`` (every removed bond costs one; leaving the target costs at
least as many bonds as it typically takes to move E₀ that far).
A proposal removes a present bond, re-adds a removed one, or swaps the two,
each with probability 1/3 (``moves > 1``: that many uniformly random toggles).
Metropolis on ΔE at temperature T; ``T_{t+1} = α T_t`` from ``T0`` down to ``Tf``,
``max(lk, lk_per_bond · n_bonds)`` proposals per temperature; the anneal stops
early once FROZEN_STEPS temperatures in a row accepted nothing. Last, from the
answer, removed bonds are re-added one at a time while the target stays met
(a zero-temperature descent in the number of removals; trajectory T = 0). Proposals that
break a constraint (:mod:`hpcnet.anneal.constraints`) or make the network
floppy are rejected without computing ν, and those Metropolis would accept are
then rejected if below the guard (a_min is computed for those only); ν and a_min come from
:class:`~hpcnet.anneal.incremental.IncrementalPoisson` (low-rank updates of one
factorisation) or, for comparison, :class:`FullPoisson`.

A chain records snapshots of its path (:data:`PATH_FIELDS` and the bond mask):
the initial network, each accepted state whose ν has moved by at least
``path_step`` from the last snapshot, and the answer. The path ends at the
answer: snapshots taken after the answer was found are dropped, and the
answer follows the last snapshot taken before it (unless it is that snapshot).

A chain is resumable: ``on_step(info, state)`` receives after every greedy
removal and every temperature step a :class:`ChainState` holding everything
needed to continue, and ``run_chain(..., state=state)`` continues it bit for
bit as if never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict

import numpy as np

from hpcnet.anneal.bondsystem import BondSystem
from hpcnet.anneal.constraints import Constraints
from hpcnet.anneal.incremental import Evaluation, Evaluator, FullPoisson, IncrementalPoisson
from hpcnet.anneal.records import (
    PATH_FIELDS,
    TRAJECTORY_FIELDS,
    ChainResult,
    ChainState,
    StepInfo,
    path_arrays,
)
from hpcnet.anneal.settings import AnnealSettings
from hpcnet.errors import HpcnetError
from hpcnet.network import Network

#: The anneal stops once this many temperatures in a row accepted nothing (it is frozen).
FROZEN_STEPS = 3


def network_fingerprint(net: Network) -> str:
    """SHA-1 of the network's positions, bonds and stiffnesses (checkpoints name their network)."""
    digest = hashlib.sha1()
    for array in (net.positions, net.bonds, net.stiffness):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def energy(nu_x, nu_y, target: float, lambda_iso: float):
    """``E₀ = |ν − ν*| + λ_iso |ν_x − ν_y|`` with ``ν = (ν_x + ν_y)/2``; scalars or arrays."""
    return np.abs(0.5 * (nu_x + nu_y) - target) + lambda_iso * np.abs(nu_x - nu_y)


def metropolis_accept(delta_e: float, temperature: float, rng: np.random.Generator) -> bool:
    """Paper eq. (2): accept when ΔE ≤ 0, else with probability ``exp(−ΔE/T)``.

    A uniform number is drawn only when ΔE > 0.
    """
    if delta_e <= 0.0:
        return True
    return bool(rng.random() < math.exp(-delta_e / temperature))




def _evaluator(settings: AnnealSettings, system: BondSystem,
               state: ChainState | None) -> Evaluator:
    """The chain's ν evaluator, on the full network or at a checkpoint's state."""
    if settings.evaluator == "full":
        mask = np.ones(system.n_bonds, dtype=bool) if state is None else state.mask
        return FullPoisson(system, mask)
    if state is None:
        return IncrementalPoisson(system, np.ones(system.n_bonds, dtype=bool),
                                  refactor_every=settings.refactor_every)
    return IncrementalPoisson(system, state.mask, base_mask=state.base_mask,
                              lambda_bound=state.lambda_bound,
                              refactor_every=settings.refactor_every)


class _Chain:
    """The running state shared by the greedy and annealing loops."""

    def __init__(self, net: Network, settings: AnnealSettings, rng, state: ChainState | None):
        self.t_start = time.perf_counter()  # wall time counts the set-up too
        self.net = net
        self.s = settings
        self.rng = rng
        self.constraints = Constraints(net, settings.keep_degree, settings.convex_only)
        system = BondSystem(net)
        self.ev = _evaluator(settings, system, state)
        self.temperature = math.nan  # of the anneal step under way
        if state is None:
            cur = self.ev.current
            self.initial = np.array([cur.nu, cur.nu_x, cur.nu_y, cur.a_min])
            self.best_mask = self.ev.mask.copy()
            self.best = np.array([cur.nu, cur.nu_x, cur.nu_y, self.e0(cur), cur.a_min])
            self.step = self.anneal_start = 0
            self.phase, self.mu = "greedy", 0.0
            self.trajectory = {k: [] for k in TRAJECTORY_FIELDS}
            self.n_proposals = self.n_accepted = 0
            self.path = {k: [] for k in (*PATH_FIELDS, "masks")}
            self.snapshot(cur, self.ev.mask)
            self.answer_at, self.answer_step, self.answer_temperature = 1, 0, math.nan
            self.wall_before = 0.0
            self.status = "running"
        else:
            self._check_resumable(state)
            rng.bit_generator.state = json.loads(state.rng_state)
            self.initial = state.initial.copy()
            self.best_mask = state.best_mask.copy()
            self.best = state.best.copy()
            self.step, self.anneal_start = state.step, state.anneal_start
            self.phase, self.mu = state.phase, state.mu
            self.trajectory = {k: list(state.trajectory.get(k, [])) for k in TRAJECTORY_FIELDS}
            self.path = {k: list(v) for k, v in state.path.items()}
            self.answer_at, self.answer_step = state.answer_at, state.answer_step
            self.answer_temperature = state.answer_temperature
            self.n_proposals, self.n_accepted = state.n_proposals, state.n_accepted
            self.wall_before = state.wall_time
            self.status = state.status
        self.e_cur = self.energy(self.ev.current, self.ev.mask)

    def _check_resumable(self, state: ChainState) -> None:
        if state.network != network_fingerprint(self.net):
            raise HpcnetError("checkpoint was made for a different network")
        saved = json.loads(state.settings)
        now = asdict(self.s)
        changed = [k for k in now if k != "checkpoint_every" and saved.get(k) != now[k]]
        if changed:
            raise HpcnetError("checkpoint was made with different settings: "
                              + ", ".join(f"{k} = {saved.get(k)!r} (now {now[k]!r})"
                                          for k in changed))

    # ------------------------------------------------------------ objective
    def e0(self, ev: Evaluation) -> float:
        return float(energy(ev.nu_x, ev.nu_y, self.s.target, self.s.lambda_iso))

    def meets(self, ev: Evaluation) -> bool:
        return self.s.meets_target(ev.nu, ev.nu_x, ev.nu_y, ev.a_min)

    def reached(self) -> bool:
        """Whether the answer so far meets the target."""
        return self.s.meets_target(self.best[0], self.best[1], self.best[2], self.best[4])

    def energy(self, ev: Evaluation, mask: np.ndarray) -> float:
        """The energy the current phase minimises (greedy: E₀; anneal: in bonds)."""
        if self.phase == "greedy":
            return self.e0(ev)
        if not self.reached():
            return self.e0(ev) / self.mu
        removed = self.net.n_bonds - np.count_nonzero(mask)
        return float(removed) + self.hinge_weight() * self.hinge(ev.nu, ev.nu_x, ev.nu_y)

    def hinge(self, nu: float, nu_x: float, nu_y: float) -> float:
        """How far a state is outside the middle half of the target band (0 inside it)."""
        s = self.s
        return max(0.0, abs(nu - s.target) - 0.5 * s.tol) \
            + s.lambda_iso * max(0.0, abs(nu_x - nu_y) - 0.5 * s.iso_tol)

    def hinge_weight(self) -> float:
        """Bonds that one unit of hinge costs once the target is met: ``max(4/tol, 1/μ)``,
        i.e. at least the bonds it typically takes to move E₀ by that much (the unit of
        the energy before the target is met)."""
        return max(4.0 / self.s.tol, 1.0 / self.mu)

    def _rank(self, met: bool, removed: int, e0: float, a_min: float) -> tuple:
        """Sort key of candidate answers: met with fewest removals, then lowest E₀."""
        if met:
            return (0, removed, e0)
        return (1, a_min < self.s.affine_floor, e0)

    def a_threshold(self) -> float:
        """Least a_min a new state needs: the floor, or the current a_min while below it."""
        return min(self.s.affine_floor, self.ev.current.a_min)

    def accept(self, toggles: np.ndarray) -> None:
        cur = self.ev.accept(toggles)
        self.n_accepted += 1
        if abs(cur.nu - self.path["nu"][-1]) >= self.s.path_step:
            self.snapshot(cur, self.ev.mask)
        removed = self.net.n_bonds - int(np.count_nonzero(self.ev.mask))
        e0 = self.e0(cur)
        best_removed = self.net.n_bonds - int(np.count_nonzero(self.best_mask))
        if self._rank(self.meets(cur), removed, e0, cur.a_min) < self._rank(
                self.reached(), best_removed, self.best[3], self.best[4]):
            self.best = np.array([cur.nu, cur.nu_x, cur.nu_y, e0, cur.a_min])
            self.best_mask = self.ev.mask.copy()
            self.answer_at = len(self.path["nu"])
            self.answer_step, self.answer_temperature = self.progress(), self.temperature
        self.e_cur = self.energy(cur, self.ev.mask)  # after the answer: it picks the energy

    def start_anneal(self) -> None:
        if not self.mu > 0:  # nothing was removable (or no removal changes E₀)
            self.mu = self.s.tol
        self.phase, self.anneal_start, self.status = "anneal", self.step, "running"
        if self.reached() and self.best_mask.all():  # the network itself is the answer
            self.status = "done"
        self.e_cur = self.energy(self.ev.current, self.ev.mask)

    # ------------------------------------------------------------ records
    def progress(self) -> int:
        """Where the chain is: greedy removals made, or (anneal) proposals made."""
        return self.n_accepted if self.phase == "greedy" else self.n_proposals

    def snapshot(self, ev: Evaluation, mask: np.ndarray) -> None:
        """Append the current state to the path."""
        for key, value in zip(PATH_FIELDS, (self.progress(), self.temperature, ev.nu, ev.nu_x,
                                            ev.nu_y, ev.a_min, int(mask.sum())), strict=True):
            self.path[key].append(value)
        self.path["masks"].append(mask.copy())

    def _path_to_answer(self) -> dict[str, list]:
        """The snapshots up to the answer, ending with the answer itself."""
        path = {k: list(v[: self.answer_at]) for k, v in self.path.items()}
        if not np.array_equal(path["masks"][-1], self.best_mask):
            b = self.best
            for key, value in zip(PATH_FIELDS, (self.answer_step, self.answer_temperature, b[0],
                                                b[1], b[2], b[4], int(self.best_mask.sum())),
                                  strict=True):
                path[key].append(value)
            path["masks"].append(self.best_mask.copy())
        return path

    def answer_path(self) -> dict:
        """The path from the initial network to the answer (see the module docstring)."""
        return path_arrays(self._path_to_answer())

    def return_to_answer(self) -> None:
        """Move to the answer, the path cut back to end there (the polish starts from it)."""
        back = np.flatnonzero(self.ev.mask != self.best_mask)
        if not len(back):
            return
        self.path = self._path_to_answer()
        self.answer_at = len(self.path["nu"])
        self.ev.jump(self.best_mask)  # rigid and guarded: it was accepted before
        self.n_accepted += 1
        self.e_cur = self.energy(self.ev.current, self.ev.mask)

    def record(self, temperature: float, acceptance: float) -> None:
        cur = self.ev.current
        for key, value in zip(TRAJECTORY_FIELDS,
                              (temperature, cur.nu, cur.nu_x, cur.nu_y,
                               int(self.ev.mask.sum()), acceptance, self.e0(cur), cur.a_min),
                              strict=True):
            self.trajectory[key].append(value)

    def wall_time(self) -> float:
        return self.wall_before + time.perf_counter() - self.t_start

    def state(self) -> ChainState:
        return ChainState(
            settings=self.s.to_json(), network=network_fingerprint(self.net), step=self.step,
            mask=self.ev.mask.copy(), base_mask=self.ev.base_mask.copy(),
            lambda_bound=float(self.ev.lambda_bound), initial=self.initial.copy(),
            best_mask=self.best_mask.copy(), best=self.best.copy(),
            rng_state=json.dumps(self.rng.bit_generator.state), phase=self.phase,
            anneal_start=self.anneal_start, mu=self.mu,
            trajectory=self._trajectory_arrays(), path=path_arrays(self.path),
            answer_at=self.answer_at, answer_step=self.answer_step,
            answer_temperature=self.answer_temperature, n_proposals=self.n_proposals,
            n_accepted=self.n_accepted, wall_time=self.wall_time(), status=self.status)

    def _trajectory_arrays(self) -> dict:
        out = {k: np.asarray(v, dtype=np.float64) for k, v in self.trajectory.items()}
        out["bonds"] = out["bonds"].astype(np.int64)
        return out

    def info(self, n_steps: int, temperature: float, acceptance: float) -> StepInfo:
        cur = self.ev.current
        return StepInfo(self.step, n_steps, temperature, cur.nu, cur.nu_x, cur.nu_y,
                        float(self.best[0]), self.e0(cur), float(self.best[3]),
                        int(self.ev.mask.sum()), acceptance, self.n_proposals)

    def result(self) -> ChainResult:
        b, i = self.best, self.initial
        answer = {"nu": float(b[0]), "nu_x": float(b[1]), "nu_y": float(b[2]),
                  "a_min": float(b[4])}
        return ChainResult(
            initial_mask=np.ones(self.net.n_bonds, dtype=bool), final_mask=self.best_mask.copy(),
            best_mask=self.best_mask.copy(),
            initial_nu=float(i[0]), initial_nu_x=float(i[1]), initial_nu_y=float(i[2]),
            initial_a_min=float(i[3]),
            **{f"final_{k}": v for k, v in answer.items()},
            **{f"best_{k}": v for k, v in answer.items()},
            best_energy=float(b[3]), reached=self.reached(),
            trajectory=self._trajectory_arrays(), path=self.answer_path(),
            n_proposals=self.n_proposals, n_accepted=self.n_accepted,
            wall_time=self.wall_time(), status=self.status)


# ------------------------------------------------------------------- greedy phase
def _greedy_step(chain: _Chain, candidates: np.ndarray) -> tuple[np.ndarray | None, float]:
    """The removal among ``candidates`` (the admissible ones) that lowers E₀ most and keeps
    a_min up (None: none does), and the median |ΔE₀| of them (NaN if there are none)."""
    ev = chain.ev
    if not len(candidates):
        return None, float("nan")
    possible, nu_x, nu_y = ev.removal_effects(candidates)
    with np.errstate(invalid="ignore"):
        energies = energy(nu_x, nu_y, chain.s.target, chain.s.lambda_iso)
    energies[~possible | np.isnan(energies)] = np.inf
    finite = energies[np.isfinite(energies)]
    typical = float(np.median(np.abs(finite - chain.e_cur))) if len(finite) else float("nan")
    floor = chain.a_threshold()
    for idx in np.argsort(energies, kind="stable"):
        if not energies[idx] < chain.e_cur:
            break
        chain.n_proposals += 1
        trial = ev.evaluate(candidates[idx:idx + 1])  # certified rigidity, exact ν, a_min
        if not trial.floppy and trial.a_min >= floor and chain.e0(trial) < chain.e_cur:
            return candidates[idx:idx + 1], typical
    return None, typical


def _run_greedy(chain: _Chain, on_step, n_steps: int) -> None:
    """Greedy descent until the target is met or no removal lowers E₀.

    Sets ``chain.mu``, the median |ΔE₀| of one admissible removal from the
    initial network (the anneal's energy unit).
    """
    if chain.reached():
        chain.status = "early-stop"
    rules = chain.constraints
    removable = rules.removable(chain.ev.mask, np.arange(chain.net.n_bonds))
    while chain.status == "running":
        chosen, typical = _greedy_step(chain, np.flatnonzero(removable))
        if chain.step == 0:
            chain.mu = typical
        if chosen is None:
            chain.status = "done"
        else:
            chain.accept(chosen)
            near = rules.bonds_at(chain.net.bonds[chosen[0]])
            removable[near] = rules.removable(chain.ev.mask, near)
            chain.step += 1
            if chain.reached():
                chain.status = "early-stop"
            chain.record(float("nan"), 1.0)
        if on_step is not None and chosen is not None:
            on_step(chain.info(n_steps, float("nan"), 1.0), chain.state())


# ------------------------------------------------------------------- anneal phase
def _propose(rng: np.random.Generator, mask: np.ndarray, moves: int) -> np.ndarray:
    """Remove, re-add or swap (1/3 each; removal only while nothing is removed), or,
    for ``moves > 1``, that many uniformly random toggles."""
    if moves > 1:
        return rng.choice(len(mask), size=moves, replace=False)
    present = np.flatnonzero(mask)
    absent = np.flatnonzero(~mask)
    kind = 0 if len(absent) == 0 else int(rng.integers(3))
    if kind == 0:
        return present[rng.integers(len(present))][None]
    if kind == 1:
        return absent[rng.integers(len(absent))][None]
    return np.array([present[rng.integers(len(present))], absent[rng.integers(len(absent))]])


def _run_anneal(chain: _Chain, on_step) -> None:
    s = chain.s
    n_steps = chain.anneal_start + s.n_steps
    lk = s.proposals_per_temperature(chain.net.n_bonds)
    while chain.phase == "anneal":
        T = chain.temperature = s.temperature(chain.step - chain.anneal_start)
        accepted = 0
        for _ in range(lk):
            S = _propose(chain.rng, chain.ev.mask, s.moves)
            chain.n_proposals += 1
            if not chain.constraints.admissible(chain.ev.mask, S):
                continue
            ev = chain.ev.evaluate(S, affine=False)  # the guard only for what Metropolis takes
            if ev.floppy:
                continue
            mask = chain.ev.mask.copy()
            mask[S] ^= True
            if metropolis_accept(chain.energy(ev, mask) - chain.e_cur, T, chain.rng) \
                    and chain.ev.with_affine(ev).a_min >= chain.a_threshold():
                chain.accept(S)
                accepted += 1
        chain.record(T, accepted / lk)
        chain.step += 1
        recent = chain.trajectory["acceptance"][-FROZEN_STEPS:]
        frozen = chain.step - chain.anneal_start >= FROZEN_STEPS and not any(recent)
        if chain.step >= n_steps or frozen:
            chain.phase = "polish"
        if on_step is not None:
            on_step(chain.info(n_steps, T, accepted / lk), chain.state())


def _run_polish(chain: _Chain, on_step) -> None:
    """From the answer, re-add removed bonds (in index order, pass after pass) while the
    state still meets the target: a zero-temperature descent in the number of removals."""
    ev = chain.ev
    chain.temperature = 0.0
    if chain.reached():
        chain.return_to_answer()
    changed = chain.reached()
    while changed:
        changed = False
        for b in np.flatnonzero(~ev.mask).tolist():
            chain.n_proposals += 1
            trial = ev.evaluate(np.array([b]))
            if not trial.floppy and chain.meets(trial):
                chain.accept(np.array([b]))
                chain.step += 1
                chain.record(0.0, 1.0)
                changed = True
                if on_step is not None:
                    on_step(chain.info(chain.step + 1, 0.0, 1.0), chain.state())
    chain.status = "done"


def run_chain(net: Network, settings: AnnealSettings, rng: np.random.Generator, *,
              state: ChainState | None = None,
              on_step: Callable[[StepInfo, ChainState], None] | None = None) -> ChainResult:
    """Run (or resume) one chain on ``net``; serial, PETSc objects on ``COMM_SELF``.

    Parameters
    ----------
    net : Network
        The initial network (every bond present). Must be rigid.
    settings : AnnealSettings
    rng : numpy.random.Generator
        The chain's only source of randomness; its state is saved in checkpoints.
    state : ChainState, optional
        A checkpoint from ``on_step`` to resume from (same network and settings).
    on_step : callable, optional
        ``on_step(info, state)`` after each greedy removal and each temperature
        step; it may raise to stop the chain, e.g. on SIGTERM.

    Returns
    -------
    ChainResult
    """
    settings.validate()
    chain = _Chain(net, settings, rng, state)
    try:
        if chain.phase == "greedy":
            if chain.status == "running":
                _run_greedy(chain, on_step, net.n_bonds + settings.n_steps)
            if settings.method == "sa":
                chain.start_anneal()
        if chain.phase == "anneal" and chain.status == "running":
            _run_anneal(chain, on_step)
        if chain.phase == "polish" and chain.status == "running":
            _run_polish(chain, on_step)
        return chain.result()
    finally:
        chain.ev.destroy()
