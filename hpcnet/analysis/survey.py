"""The mode mechanism of ν across an ensemble (paper Fig. 4d) and the numbers the report quotes.

For every distinct network state of a finished ensemble (each (kind, size,
seed)'s initial network once, each task's final network) :func:`survey`
computes ν from the elastic solver, the decomposition of both load responses
on the normal modes (:mod:`hpcnet.mechanics.mechanism`) and the bond statistics
(:mod:`hpcnet.mechanics.bond_statistics`), one row each; :func:`path_survey`
does the same for every snapshot along the chains' tuning paths (files with
paths, layout version 2); :func:`linear_fit` fits ν̄' against ν.

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
#: Columns of a path-survey row: the snapshot's identity (``snapshot`` counts along the
#: chain's path from 0, the initial network), then the numbers.
PATH_ID_COLUMNS = ("kind", "size", "seed", "target", "method", "task", "snapshot")
PATH_COLUMNS = PATH_ID_COLUMNS + NUMBER_COLUMNS
_TEXT, _INTEGER = ("kind", "mask", "method"), ("size", "seed", "task", "snapshot")


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
    tasks = results.tasks
    jobs, seen = [], set()
    for row in _finished(results, limit):
        key = (str(tasks["kind"][row]), int(tasks["size"][row]), int(tasks["seed"][row]))
        for mask in masks:
            if mask == "initial":
                if key in seen:
                    continue
                seen.add(key)
            target = math.nan if mask == "initial" else float(tasks["target"][row])
            identity = dict(zip(ID_COLUMNS, (*key, target, mask, row), strict=True))
            jobs.append((identity, lambda row=row, mask=mask: results.network(row, mask)))
    return _run(jobs, k, full_max_nodes, progress)


def path_survey(results: EnsembleResults, limit: int | None = None,
                snapshots: int | None = None, method: str | None = None, k: int = 20,
                full_max_nodes: int = FULL_MAX_NODES,
                progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """One row (:data:`PATH_COLUMNS`) per snapshot along the tuning path of each finished chain.

    The chains are those of ``method`` (default: the file's primary method, SA when
    it has it); ``limit`` keeps that many of them, evenly spread over the file, and
    ``snapshots`` that many snapshots of each path, evenly spread along it (None:
    all). Snapshot 0 is the initial network, the last one the chain's answer; both
    are always kept. Floppy networks are skipped and logged; ``progress(done,
    total)`` after each network.

    Raises
    ------
    HpcnetError
        The file stores no paths (layout version 1), no finished chain of ``method``,
        ``k``, ``limit`` or ``snapshots`` below 1.
    """
    if not results.has_paths:
        raise HpcnetError(f"{results.file}: no tuning paths in this file (layout version "
                          f"{results.version}); the path survey needs an ensemble written with "
                          "paths (layout version 2)")
    if k < 1:
        raise HpcnetError(f"k = {k}: ask for at least 1 mode")
    method = method or results.primary_method
    tasks = results.tasks
    jobs = []
    for row in _finished(results, limit, method):
        head = (str(tasks["kind"][row]), int(tasks["size"][row]), int(tasks["seed"][row]),
                float(tasks["target"][row]), method, row)
        for snapshot in spread_subset(len(results.path(row)["nu"]), snapshots).tolist():
            identity = dict(zip(PATH_ID_COLUMNS, (*head, snapshot), strict=True))
            jobs.append((identity, lambda row=row, snapshot=snapshot:
                         results.path_network(row, snapshot)))
    return _run(jobs, k, full_max_nodes, progress)


def _finished(results: EnsembleResults, limit: int | None,
              method: str | None = None) -> list[int]:
    """Rows of the finished tasks (of ``method``), at most ``limit`` spread evenly."""
    done = np.flatnonzero(results.done) if method is None else results.select(method=method)
    if not len(done):
        raise HpcnetError(f"{results.file}: no finished task"
                          + (f" of method {method}" if method else "") + " to survey")
    return [int(row) for row in done[spread_subset(len(done), limit)]]


def _run(jobs: list[tuple[dict, Callable[[], Network]]], k: int, full_max_nodes: int,
         progress: Callable[[int, int], None] | None) -> list[dict]:
    """``identity | network_row(network())`` of each job; floppy networks skipped, logged."""
    rows, floppy = [], 0
    for done_count, (identity, network) in enumerate(jobs, start=1):
        try:
            numbers = network_row(network(), k, None, full_max_nodes)
        except FloppyNetworkError as exc:
            floppy += 1
            log.warning("skipped a floppy network (%s): %s",
                        ", ".join(f"{key} {value}" for key, value in identity.items()), exc)
        else:
            rows.append({**identity, **numbers})
        if progress is not None:
            progress(done_count, len(jobs))
    if floppy:
        log.warning("%d of %d networks were floppy and skipped", floppy, len(jobs))
    return rows


def is_path_survey(rows: list[dict]) -> bool:
    """True when ``rows`` come from :func:`path_survey` (snapshots of tuning paths)."""
    return bool(rows) and "snapshot" in rows[0]


def answers(rows: list[dict]) -> list[dict]:
    """The rows of the chains' answers: mask "final", or each path's last snapshot."""
    if not is_path_survey(rows):
        return [r for r in rows if r["mask"] == "final"]
    last = {}
    for r in rows:
        if r["task"] not in last or r["snapshot"] > last[r["task"]]["snapshot"]:
            last[r["task"]] = r
    return list(last.values())


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
    """Write survey rows to ``path`` (CSV: :data:`PATH_COLUMNS` for a path survey, else
    :data:`COLUMNS`), via a temporary name."""
    columns = PATH_COLUMNS if is_path_survey(rows) else COLUMNS
    with atomic_open(path, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def read_csv(path) -> list[dict]:
    """Survey rows (of :func:`survey` or :func:`path_survey`) from a CSV file that
    :func:`write_csv` wrote."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or ()
            columns = PATH_COLUMNS if "snapshot" in fields else COLUMNS
            missing = [c for c in columns if c not in fields]
            if missing:
                raise HpcnetError(f"{path}: not a survey CSV (missing {', '.join(missing)})")
            return [{c: r[c] if c in _TEXT else int(r[c]) if c in _INTEGER else float(r[c])
                     for c in columns} for r in reader]
    except FileNotFoundError:
        raise HpcnetError(f"{path}: no such survey CSV file") from None
    except (ValueError, TypeError) as exc:
        raise HpcnetError(f"{path}: malformed survey CSV ({exc})") from None
