"""The mode mechanism across an ensemble (hpcnet.analysis.survey) on the tiny real ensemble."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from petsc4py import PETSc

from hpcnet.analysis.survey import COLUMNS, linear_fit, network_row, read_csv, survey, write_csv
from hpcnet.ensemble.results import EnsembleResults
from hpcnet.errors import HpcnetError
from hpcnet.mechanics.bond_statistics import bond_statistics
from hpcnet.mechanics.elastic import ElasticSolver
from hpcnet.mechanics.mechanism import analyse, modes_for_fraction


@pytest.fixture(scope="module")
def surveyed(tiny_ensemble):
    calls = []
    with EnsembleResults(tiny_ensemble) as results:
        rows = survey(results, progress=lambda done, total: calls.append((done, total)))
        yield results, rows, calls


def test_one_row_per_distinct_network_state(surveyed):
    results, rows, calls = surveyed
    done = np.flatnonzero(results.done)
    keys = {(results.tasks["kind"][r], results.tasks["size"][r], results.tasks["seed"][r])
            for r in done}
    initial = [r for r in rows if r["mask"] == "initial"]
    final = [r for r in rows if r["mask"] == "final"]
    assert len(initial) == len(keys)  # shared by both targets: once each
    assert len({(r["kind"], r["size"], r["seed"]) for r in initial}) == len(keys)
    assert all(math.isnan(r["target"]) for r in initial)
    assert sorted(r["task"] for r in final) == done.tolist()
    assert calls == [(i, len(rows)) for i in range(1, len(rows) + 1)]
    assert all(list(r) == list(COLUMNS) for r in rows)


def test_rows_match_task_columns_and_a_fresh_solve(surveyed):
    results, rows, _ = surveyed
    t = results.tasks
    for row in rows:
        task, state = row["task"], row["mask"]
        assert (row["kind"], row["size"], row["seed"]) == (t["kind"][task], t["size"][task],
                                                           t["seed"][task])
        if state == "final":
            assert row["target"] == t["target"][task]
        for q in ("nu", "nu_x", "nu_y"):
            assert row[q] == pytest.approx(t[f"{q}_{state}"][task], abs=1e-8)
        assert row["sigma2"] == pytest.approx(t[f"sigma2_{state}"][task], rel=1e-8)
    for row in rows[::7]:
        net = results.network(row["task"], row["mask"])
        with ElasticSolver(net, PETSc.COMM_SELF) as solver:
            fresh = solver.poisson()
        assert row["nu"] == pytest.approx(fresh.nu, abs=1e-8)
        assert row["nu_x"] == pytest.approx(fresh.nu_x, abs=1e-8)
        assert row["fraction_13"] == pytest.approx(bond_statistics(net).fraction_13, abs=1e-12)


def test_initial_network_is_shared_by_both_targets(surveyed):
    results, _, _ = surveyed
    low, high = results.tuning_pair("delaunay", 8)
    a, b = results.network(low, "initial"), results.network(high, "initial")
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.bonds, b.bonds)


def test_mechanism_numbers_equal_analyse(surveyed):
    results, rows, _ = surveyed
    for row in rows[::5]:
        net = results.network(row["task"], row["mask"])
        modes, mech = analyse(net, comm=PETSc.COMM_SELF, full=True)
        assert row["two_mode"] == pytest.approx(mech.two_mode, abs=1e-10)
        assert row["modes"] == modes.k == net.n_dof - 3
        assert row["captured"] == pytest.approx(1.0, abs=1e-10)
        top2 = np.mean([load.weights[load.top2].sum() for load in (mech.x, mech.y)])
        assert row["top2_weight"] == pytest.approx(top2, abs=1e-12)
        n90 = [modes_for_fraction(mech.x.weights), modes_for_fraction(mech.y.weights)]
        assert (row["n90_x"], row["n90_y"], row["n90"]) == (*n90, max(n90))


def test_lowest_modes_above_full_max_nodes(surveyed):
    results, rows, _ = surveyed
    row = rows[1]
    net = results.network(row["task"], row["mask"])
    lowest = network_row(net, k=12, full_max_nodes=net.n_nodes - 1)
    assert lowest["modes"] == 12 and lowest["captured"] < 1.0
    assert lowest["nu"] == pytest.approx(row["nu"], abs=1e-12)
    modes, mech = analyse(net, k=12, comm=PETSc.COMM_SELF)
    assert lowest["two_mode"] == pytest.approx(mech.two_mode, abs=1e-8)


def test_limit_spreads_tasks_evenly(tiny_ensemble):
    with EnsembleResults(tiny_ensemble) as results:
        rows = survey(results, masks=("final",), limit=3)
        done = np.flatnonzero(results.done)
        spread = np.linspace(0, len(done) - 1, 3).round().astype(int)
        assert [r["task"] for r in rows] == done[spread].tolist()
        assert rows[0]["task"] == done[0] and rows[-1]["task"] == done[-1]
        with pytest.raises(HpcnetError, match="unknown mask"):
            survey(results, masks=("latest",))
        with pytest.raises(HpcnetError, match="at least 1 task"):
            survey(results, limit=0)
        with pytest.raises(HpcnetError, match="at least 1 mode"):
            survey(results, k=0)


def test_linear_fit_against_numpy():
    nu = np.array([-0.4, -0.1, 0.2, 0.5])
    exact = linear_fit(nu, 2.0 * nu - 0.3)
    assert exact["n"] == 4 and exact["r"] == pytest.approx(1.0)
    assert exact["slope"] == pytest.approx(2.0) and exact["intercept"] == pytest.approx(-0.3)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=20), rng.normal(size=20)
    y[3], x[7] = np.nan, np.inf
    fit = linear_fit(x, y)
    ok = np.isfinite(x) & np.isfinite(y)
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    assert fit["n"] == 18
    assert (fit["slope"], fit["intercept"]) == pytest.approx((slope, intercept))
    assert fit["r"] == pytest.approx(np.corrcoef(x[ok], y[ok])[0, 1])
    with pytest.raises(HpcnetError, match="2 usable point"):
        linear_fit([0.1, 0.2, np.nan], [1.0, 2.0, 3.0])
    with pytest.raises(HpcnetError, match="nothing to fit"):
        linear_fit([0.1, 0.1, 0.1], [1.0, 2.0, 3.0])
    with pytest.raises(HpcnetError, match="one length"):
        linear_fit([0.1, 0.2, 0.3], [1.0, 2.0])


def test_csv_round_trip(surveyed, tmp_path):
    _, rows, _ = surveyed
    path = write_csv(rows, tmp_path / "sub" / "rows.csv")
    back = read_csv(path)
    assert len(back) == len(rows) and not list(tmp_path.glob("sub/*.part"))
    for a, b in zip(rows, back, strict=True):
        for column in COLUMNS:
            assert (a[column] == b[column]) or (math.isnan(a[column]) and math.isnan(b[column]))
    with pytest.raises(HpcnetError, match="no such survey CSV"):
        read_csv(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(HpcnetError, match="not a survey CSV"):
        read_csv(tmp_path / "bad.csv")


def test_floppy_networks_are_skipped_and_logged(tiny_ensemble, monkeypatch, caplog):
    with EnsembleResults(tiny_ensemble) as results:
        done = np.flatnonzero(results.done)
        network = results.network

        def floppy_first(row, mask="final"):
            net = network(row, mask)
            if row != done[0] or mask != "final":
                return net
            node = int(np.argmax(net.degrees()))  # leave it hanging on one bond
            keep = np.ones(net.n_bonds, dtype=bool)
            keep[np.flatnonzero((net.bonds == node).any(axis=1))[1:]] = False
            return net.pruned(keep)

        monkeypatch.setattr(results, "network", floppy_first)
        monkeypatch.setattr(logging.getLogger("hpcnet"), "propagate", True)  # reach caplog
        with caplog.at_level("WARNING", logger="hpcnet"):
            rows = survey(results, masks=("final",), limit=4)
    assert [r["task"] for r in rows] == done[np.linspace(0, len(done) - 1, 4).round()
                                             .astype(int)][1:].tolist()
    assert "floppy" in caplog.text and "1 of 4 networks were floppy" in caplog.text
