"""The mode mechanism of ν across an ensemble (paper Fig. 4d) and the numbers the report quotes.

For every distinct network state of a finished ensemble (each (kind, size,
seed)'s initial network once, each task's final network) :func:`survey`
computes ν from the elastic solver, the decomposition of both load responses
on the normal modes (:mod:`hpcnet.mechanics.mechanism`) and the bond statistics
(:mod:`hpcnet.mechanics.bond_statistics`), one row each; :func:`linear_fit` fits ν̄' against ν.

Networks are analysed one after the other on ``PETSc.COMM_SELF``. The cost per
network is one sparse factorisation for the two load responses plus the modes:
the full spectrum (dense, ~(2N)³) up to ``full_max_nodes`` nodes, else the
``k`` lowest from SLEPc. ``benchmarks/bench_survey.py`` measures it: with the
full spectrum about 5, 15 and 45 ms per network at L = 8, 12, 16 (64-256
nodes), with 20 SLEPc modes 4-10 ms; a whole-spectrum survey of 10⁴ networks
at L = 16 takes minutes.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hpcnet.ensemble import layout
from hpcnet.ensemble.results import EnsembleResults
from hpcnet.errors import FloppyNetworkError, HpcnetError
from hpcnet.mechanics.mechanism import Mechanism, mechanism, modes_for_fraction
from hpcnet.network import Network
from hpcnet.tools.atomic import atomic_open

log = logging.getLogger(__name__)

#: Full spectrum up to this many nodes by default, else the k lowest modes.
FULL_MAX_NODES = 1024
#: Columns of a survey row, in CSV order. Identification first, then the numbers.
ID_COLUMNS = ("kind", "size", "seed", "target", "mask", "task")
NUMBER_COLUMNS = ("nu", "nu_x", "nu_y", "two_mode", "two_mode_x", "two_mode_y",
                  "exact_two_mode", "exact_two_mode_x", "exact_two_mode_y", "top2_weight",
                  "weight_1", "weight_2", "omega_plus", "omega_minus", "nu_prime_plus",
                  "nu_prime_minus", "n90", "n90_x", "n90_y", "n90low_x", "n90low_y", "sigma2",
                  "fraction_13", "modes", "captured")
COLUMNS = ID_COLUMNS + NUMBER_COLUMNS
_TEXT, _INTEGER = ("kind", "mask"), ("size", "seed", "task")


def _count(count: int | None) -> float:
    return math.nan if count is None else float(count)


def _at(values: np.ndarray, index: int | None) -> float:
    return math.nan if index is None else float(values[index])


def mechanism_numbers(mech: Mechanism, omega: np.ndarray) -> dict:
    """The mechanism's numbers for one network (the keys of :data:`NUMBER_COLUMNS` but σ²).

    ``omega`` are the computed modes' frequencies. ``two_mode*`` is the paper's
    ν̄', ``exact_two_mode*`` the exact two-mode ν̂₂. ``top2_weight`` is the
    weight of the two largest modes, mean over the x and y loads;
    ``weight_1``/``weight_2`` are the two largest mean weights |C_ω|².
    ``omega_plus``/``omega_minus`` and ``nu_prime_plus``/``nu_prime_minus``: ω
    and ν'_x of the heaviest modes with ν' > 0 (ω⁺) and ν' < 0 (ω⁻), NaN when
    no computed mode has that sign. ``n90_x``/``n90_y``: how many modes, largest
    weight first, hold 90% of that response; ``n90`` is the larger of the two
    (enough for both loads).
    ``n90low_*`` count in order of frequency instead (the k a truncation needs).
    Counts are NaN where all computed modes together hold less than 90%.
    ``captured`` is the mean share of the responses the computed modes hold (1
    for the full spectrum).
    """
    loads = (mech.x, mech.y)
    heaviest = np.sort(mech.weights)[::-1]
    peaks = mech.peaks()
    n90 = [_count(modes_for_fraction(load.weights)) for load in loads]
    low = [_count(modes_for_fraction(load.weights, largest_first=False)) for load in loads]
    return {
        "nu": mech.nu, "nu_x": mech.x.nu, "nu_y": mech.y.nu, "two_mode": mech.two_mode,
        "two_mode_x": mech.x.two_mode, "two_mode_y": mech.y.two_mode,
        "exact_two_mode": mech.exact_two_mode, "exact_two_mode_x": mech.x.exact_two_mode,
        "exact_two_mode_y": mech.y.exact_two_mode,
        "top2_weight": float(np.mean([load.weights[load.top2].sum() for load in loads])),
        "weight_1": float(heaviest[0]),
        "weight_2": float(heaviest[1]) if len(heaviest) > 1 else math.nan,
        "omega_plus": _at(omega, peaks[0]), "omega_minus": _at(omega, peaks[1]),
        "nu_prime_plus": _at(mech.x.nu_prime, peaks[0]),
        "nu_prime_minus": _at(mech.x.nu_prime, peaks[1]),
        "n90": max(n90), "n90_x": n90[0], "n90_y": n90[1],
        "n90low_x": low[0], "n90low_y": low[1],
        "modes": float(len(omega)), "captured": 0.5 * (mech.x.captured + mech.y.captured),
    }


def network_row(net: Network, k: int = 20, full: bool | None = None,
                full_max_nodes: int = FULL_MAX_NODES) -> dict:
    """Mechanism numbers and bond statistics of one network (:data:`NUMBER_COLUMNS`).

    ``full``: the whole spectrum (True), the ``k`` lowest modes from SLEPc
    (False), or the whole spectrum up to ``full_max_nodes`` nodes (None). Serial
    on ``COMM_SELF``; raises :class:`~hpcnet.errors.FloppyNetworkError` for a
    floppy network.
    """
    from petsc4py import PETSc

    from hpcnet.mechanics.bond_statistics import bond_points, statistics
    from hpcnet.mechanics.elastic import ElasticSolver
    from hpcnet.mechanics.modes import all_modes, lowest_modes

    comm = PETSc.COMM_SELF
    with ElasticSolver(net, comm) as solver:
        u_x, u_y = solver.response("x"), solver.response("y")
    if full is None:
        full = net.n_nodes <= full_max_nodes
    modes = all_modes(net, comm) if full else lowest_modes(net, min(k, net.n_dof - 3), comm)
    bonds = statistics(net, bond_points(net, u_x, u_y))
    numbers = {**mechanism_numbers(mechanism(net.positions, modes, u_x, u_y), modes.omega),
               "sigma2": bonds.sigma2, "fraction_13": bonds.fraction_13}
    return {column: numbers[column] for column in NUMBER_COLUMNS}


def spread_subset(n: int, limit: int | None) -> np.ndarray:
    """Indices of at most ``limit`` of ``n`` items, evenly spread, first and last included."""
    if limit is None or limit >= n:
        return np.arange(n)
    if limit < 1:
        raise HpcnetError(f"limit = {limit}: ask for at least 1 task")
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def survey(results: EnsembleResults, masks: Sequence[str] = ("initial", "final"),
           limit: int | None = None, k: int = 20, full_max_nodes: int = FULL_MAX_NODES,
           progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """One row (:data:`COLUMNS`) per distinct network state of the finished tasks.

    The initial network of a (kind, size, seed) is shared by its tasks and
    appears once (``target`` NaN, ``task`` its first task's row); every other
    mask gives one row per task. ``limit`` keeps that many finished tasks,
    evenly spread over the file (deterministic). Floppy networks are skipped
    and logged. ``progress(done, total)`` is called after each network.

    Raises
    ------
    HpcnetError
        Unknown mask, no finished task, ``k`` or ``limit`` below 1.
    """
    unknown = [m for m in masks if m not in layout.MASKS]
    if unknown or not masks:
        raise HpcnetError(f"unknown mask(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                          f"choose from {', '.join(layout.MASKS)}")
    if k < 1:
        raise HpcnetError(f"k = {k}: ask for at least 1 mode")
    done = np.flatnonzero(results.done)
    if not len(done):
        raise HpcnetError(f"{results.file}: no finished task to survey")
    tasks = results.tasks
    jobs, seen = [], set()
    for row in done[spread_subset(len(done), limit)]:
        key = (str(tasks["kind"][row]), int(tasks["size"][row]), int(tasks["seed"][row]))
        for mask in masks:
            if mask == "initial":
                if key in seen:
                    continue
                seen.add(key)
            jobs.append((int(row), mask, key))
    rows, floppy = [], 0
    for done_count, (row, mask, (kind, size, seed)) in enumerate(jobs, start=1):
        target = math.nan if mask == "initial" else float(tasks["target"][row])
        try:
            numbers = network_row(results.network(row, mask), k, None, full_max_nodes)
        except FloppyNetworkError as exc:
            floppy += 1
            log.warning("skipped %s network of task %d (%s L=%d seed %d): %s",
                        mask, row, kind, size, seed, exc)
        else:
            rows.append({"kind": kind, "size": size, "seed": seed, "target": target,
                         "mask": mask, "task": row, **numbers})
        if progress is not None:
            progress(done_count, len(jobs))
    if floppy:
        log.warning("%d of %d networks were floppy and skipped", floppy, len(jobs))
    return rows


def linear_fit(nu, estimate) -> dict:
    """Least-squares line ``estimate = slope·ν + intercept`` and Pearson's r.

    Pairs with a NaN or infinite member are left out; ``n`` counts those used.

    Raises
    ------
    HpcnetError
        Fewer than 3 usable pairs, unequal lengths, or ν constant.
    """
    nu, estimate = np.asarray(nu, dtype=float), np.asarray(estimate, dtype=float)
    if nu.shape != estimate.shape or nu.ndim != 1:
        raise HpcnetError(f"linear fit: ν and the estimate must be 1-D of one length "
                          f"(got shapes {nu.shape} and {estimate.shape})")
    usable = np.isfinite(nu) & np.isfinite(estimate)
    nu, estimate = nu[usable], estimate[usable]
    if len(nu) < 3:
        raise HpcnetError(f"linear fit: {len(nu)} usable point(s); at least 3 are needed")
    if np.ptp(nu) == 0.0:
        raise HpcnetError(f"linear fit: all {len(nu)} points have ν = {nu[0]}; nothing to fit")
    slope, intercept = np.polyfit(nu, estimate, 1)
    r = np.corrcoef(nu, estimate)[0, 1] if np.ptp(estimate) > 0.0 else math.nan
    return {"n": len(nu), "slope": float(slope), "intercept": float(intercept), "r": float(r)}


def write_csv(rows: list[dict], path) -> Path:
    """Write survey rows to ``path`` (CSV, :data:`COLUMNS`), via a temporary name."""
    with atomic_open(path, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def read_csv(path) -> list[dict]:
    """Survey rows from a CSV file that :func:`write_csv` wrote."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise HpcnetError(f"{path}: not a survey CSV (missing {', '.join(missing)})")
            return [{c: r[c] if c in _TEXT else int(r[c]) if c in _INTEGER else float(r[c])
                     for c in COLUMNS} for r in reader]
    except FileNotFoundError:
        raise HpcnetError(f"{path}: no such survey CSV file") from None
    except (ValueError, TypeError) as exc:
        raise HpcnetError(f"{path}: malformed survey CSV ({exc})") from None
