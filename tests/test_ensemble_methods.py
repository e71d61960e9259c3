"""Ensembles of both methods, the material check of every stored state, and layout version 1."""

from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest

from hpcnet.ensemble import layout
from hpcnet.ensemble.results import EnsembleResults
from hpcnet.ensemble.tasks import Task
from hpcnet.mechanics.elastic import poisson_ratio
from tests.support.helpers import run_cli
from tests.test_ensemble import read_all

TASKS = ["--kinds", "tri,packing", "--sizes", "6", "--seeds", "0-1", "--targets", "-0.6,0.6",
         "--alpha", "0.6", "--lk", "30"]
#: A file written by layout version 1 (hpcnet at commit da97b0f): `hpcnet anneal --kinds
#: tri,delaunay,packing --sizes 6 --seeds 0 --targets=-0.5,0.5 --alpha 0.7 --lk 60`.


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """One ensemble of SA and greedy chains, and one of the SA chains alone."""
    root = tmp_path_factory.mktemp("methods")
    run_cli("anneal", *TASKS, "--methods", "sa,greedy", "-o", root / "both.h5")
    run_cli("anneal", *TASKS, "-o", root / "sa.h5")
    return root


def test_sa_stream_is_unchanged_and_greedy_has_its_own():
    """An SA task draws the stream it drew before the method was part of its identity."""
    old = np.random.default_rng(np.random.SeedSequence(entropy=7, spawn_key=(1, 12, 3, 100000)))
    sa = Task(0, "delaunay", 12, 3, -0.9).rng(7)
    greedy = Task(0, "delaunay", 12, 3, -0.9, "greedy").rng(7)
    expected = old.random(5)
    np.testing.assert_array_equal(sa.random(5), expected)
    assert not np.array_equal(greedy.random(5), expected)


def test_method_is_part_of_the_task_and_leaves_sa_chains_unchanged(both):
    data, alone = read_all(both / "both.h5"), read_all(both / "sa.h5")
    with h5py.File(both / "both.h5") as fh:
        assert fh.attrs["layout_version"] == 2
        methods = json.loads(fh.attrs["methods"])
    assert len(data["tasks/status"]) == 2 * len(alone["tasks/status"]) == 16
    assert "networks/stiffness" not in data  # generated networks: every spring is 1
    assert np.all(data["tasks/status"] == layout.DONE)
    names = np.array(methods)[data["tasks/method"]]
    np.testing.assert_array_equal(names, ["sa", "greedy"] * 8)  # methods vary fastest
    sa = names == "sa"
    for name, values in alone.items():  # the SA rows are the SA-only run's rows
        if name.startswith("tasks/") and name not in ("tasks/wall_time", "tasks/method"):
            np.testing.assert_array_equal(data[name][sa], values, err_msg=name)
    np.testing.assert_array_equal(data["masks/final"][sa], alone["masks/final"])
    # greedy removes bonds one at a time and never adds one back: its trajectory of bonds
    for bonds in data["trajectory/bonds"][~sa]:
        assert np.all(np.diff(bonds[np.isfinite(bonds)]) == -1)


def test_stored_material_check_equals_fresh_solves(both):
    with EnsembleResults(both / "both.h5") as results:
        t = results.tasks
        for row in range(len(t["status"])):
            for state in layout.MASKS:
                fresh = poisson_ratio(results.network(row, state))
                for q in ("nu", "a_min", "nu_boundary", "nu_boundary_x", "nu_boundary_y"):
                    assert t[f"{q}_{state}"][row] == pytest.approx(getattr(fresh, q), abs=1e-8)
        assert 0 < t["a_min_initial"].min() and t["a_min_final"].max() <= 1


def test_stats_put_the_methods_side_by_side(both, tmp_path):
    proc = run_cli("stats", both / "both.h5", "--csv", tmp_path / "s.csv",
                   "--compare-csv", tmp_path / "c.csv", "--affine-floor", "0.3")
    assert "SA against greedy" in proc.stdout and "a_min ≥ 0.3" in proc.stdout
    with open(tmp_path / "s.csv") as fh:
        rows = list(csv.DictReader(fh))
    with open(tmp_path / "c.csv") as fh:
        pairs = list(csv.DictReader(fh))
    assert [r["method"] for r in rows] == ["sa", "greedy"] * 4
    assert len(pairs) == 4
    data = read_all(both / "both.h5")
    greedy = np.array(["sa", "greedy"])[data["tasks/method"]] == "greedy"
    for pair in pairs:
        sel = (greedy & (data["tasks/kind"] == ["tri", "delaunay", "packing"].index(pair["kind"]))
               & (data["tasks/target"] == float(pair["target"])))
        nu, a_min = data["tasks/nu_final"][sel], data["tasks/a_min_final"][sel]
        reached = np.mean((np.abs(nu - float(pair["target"])) <= 0.05) & (a_min >= 0.3))
        assert float(pair["reached_greedy"]) == pytest.approx(reached)
        assert float(pair["removed_median_greedy"]) == pytest.approx(
            np.median(data["tasks/removed_fraction"][sel]))
        assert float(pair["a_min_median_greedy"]) == pytest.approx(np.median(a_min))
        assert float(pair["removed_ratio"]) == pytest.approx(
            float(pair["removed_median_sa"]) / float(pair["removed_median_greedy"]))
    alone = run_cli("stats", both / "sa.h5", "--compare-csv", tmp_path / "x.csv", check=False)
    assert alone.returncode == 1 and "both sa and greedy" in alone.stderr
    assert not (tmp_path / "x.csv").exists()


def test_report_compares_the_methods(both, tmp_path):
    out = tmp_path / "REPORT.md"
    run_cli("report", both / "both.h5", "--limit", 2, "-o", out)
    text = out.read_text()
    assert "## SA beside greedy" in text
    assert "| SA beats single-bond pruning (Fig. 1e) |" in text
    assert "| answers are materials (a_min ≥ 0.5; ν_boundary agrees) |" in text
    assert "methods sa, greedy" in text


def test_version_1_file_is_read_with_absent_columns(tmp_path, ensemble_v1):
    with h5py.File(ensemble_v1) as fh:
        assert fh.attrs["layout_version"] == 1 and "method" not in fh["tasks"]
    with EnsembleResults(ensemble_v1) as results:
        assert results.version == 1 and results.settings["methods"] == ["sa"]
        assert set(results.tasks["method"]) == {"sa"}
        assert np.isnan(results.tasks["a_min_final"]).all()
        row = int(results.select(kind="tri")[0])
        fresh = poisson_ratio(results.network(row, "final"))
        assert fresh.nu == pytest.approx(results.tasks["nu_final"][row], abs=1e-8)
    stats = run_cli("stats", ensemble_v1).stdout
    assert "6 of 6 tasks done" in stats and "a_min is absent" in stats
    tri = next(line for line in stats.splitlines() if line.startswith("tri") and "-0.50" in line)
    assert " sa " in tri and "      -      " in tri  # a_min and |ν − ν_b| shown absent
    report = tmp_path / "REPORT.md"
    run_cli("report", ensemble_v1, "--limit", 2, "-o", report)
    text = report.read_text()
    assert "no a_min in this file (layout version 1) | n/a |" in text
    run_cli("plot", "all", "--ensemble", ensemble_v1, "--limit", 2, "--out-dir", tmp_path / "figs")
    for stem in ("networks", "trajectory", "bond_scatter", "sigma_collapse", "reach", "modes",
                 "mechanism"):
        assert (tmp_path / "figs" / f"{stem}.png").stat().st_size > 0, stem
