"""What reads the tuning paths: the path survey, Figs. 1j, 4d, 4e-f, on stand-in paths of the
tiny ensemble (tests/support/paths.py), and the fallbacks for a file without paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from petsc4py import PETSc

from hpcnet.analysis import paths
from hpcnet.analysis.survey import (
    PATH_COLUMNS,
    answers,
    path_survey,
    read_csv,
    write_csv,
)
from hpcnet.ensemble.results import EnsembleResults
from hpcnet.errors import HpcnetError
from hpcnet.figures import mode_path as mode_path_figure
from hpcnet.figures.bonds import sigma_collapse
from hpcnet.figures.mechanism import two_mode_scatter
from hpcnet.figures.mode_path import mode_path, spread_snapshots
from hpcnet.mechanics.elastic import poisson_ratio
from hpcnet.mechanics.mechanism import analyse
from tests.support import paths as stand_in


@pytest.fixture
def results(tiny_ensemble, monkeypatch):
    stand_in.with_paths(monkeypatch)
    with EnsembleResults(tiny_ensemble) as res:
        yield res


@pytest.fixture
def version1(tiny_ensemble, monkeypatch):
    stand_in.without_paths(monkeypatch)
    with EnsembleResults(tiny_ensemble) as res:
        yield res


def first_crossing(nu, values, level):
    """Reference: walk the path segment by segment."""
    for i in range(len(nu)):
        if nu[i] == level:
            return values[i]
        if i + 1 < len(nu) and min(nu[i], nu[i + 1]) < level < max(nu[i], nu[i + 1]):
            return np.interp(level, sorted([nu[i], nu[i + 1]]),
                             [values[i], values[i + 1]] if nu[i] < nu[i + 1]
                             else [values[i + 1], values[i]])
    return math.nan


def test_at_crossing_hand_values():
    nu, values = [0.3, 0.1, -0.1, -0.4, 0.2], [1.0, 2.0, 4.0, 8.0, 16.0]
    assert paths.at_crossing(nu, values, 0.0) == pytest.approx(3.0)  # halfway from 0.1 to -0.1
    assert paths.at_crossing(nu, values, -0.2) == pytest.approx(4.0 + 4.0 / 3.0)
    assert paths.at_crossing(nu, values, 0.1) == 2.0  # a snapshot on the level
    assert paths.at_crossing(nu, values, 0.25) == pytest.approx(1.25)  # first of two crossings
    assert math.isnan(paths.at_crossing(nu, values, 0.5))
    assert math.isnan(paths.at_crossing([], [], 0.0))


def test_path_survey_rows_are_fresh_solves_of_the_snapshots(results):
    rows = path_survey(results, limit=4)
    chains = sorted({r["task"] for r in rows})
    done = results.select(method=results.primary_method)
    assert len(chains) == 4 and set(chains) <= set(done.tolist())
    assert {0, int(done[-1])} <= set(chains)  # spread evenly: first and last included
    for task in chains:
        path = results.path(task)
        mine = sorted((r for r in rows if r["task"] == task), key=lambda r: r["snapshot"])
        assert [r["snapshot"] for r in mine] == list(range(len(path["nu"])))
        t = results.tasks
        for r in mine:
            assert list(r) == list(PATH_COLUMNS)
            assert (r["kind"], r["size"], r["seed"], r["target"], r["method"]) == (
                t["kind"][task], t["size"][task], t["seed"][task], t["target"][task],
                t["method"][task])
            for q in ("nu", "nu_x", "nu_y", "sigma2"):
                assert r[q] == pytest.approx(path[q][r["snapshot"]], abs=1e-8)
        net = results.path_network(task, mine[1]["snapshot"])
        _, mech = analyse(net, comm=PETSc.COMM_SELF, full=True)
        assert mine[1]["two_mode"] == pytest.approx(mech.two_mode, abs=1e-10)
        assert mine[1]["exact_two_mode"] == pytest.approx(mech.exact_two_mode, abs=1e-10)
        # the last snapshot is the answer
        assert mine[-1]["nu"] == pytest.approx(t["nu_final"][task], abs=1e-8)
    assert sorted(r["task"] for r in answers(rows)) == chains


def test_path_survey_csv_round_trip_and_progress(results, tmp_path):
    calls = []
    rows = path_survey(results, limit=2, progress=lambda done, total: calls.append(total))
    assert calls == [len(rows)] * len(rows)
    write_csv(rows, tmp_path / "p.csv")
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == ",".join(PATH_COLUMNS)
    back = read_csv(tmp_path / "p.csv")
    assert [(r["task"], r["snapshot"], r["method"]) for r in back] == [
        (r["task"], r["snapshot"], r["method"]) for r in rows]
    np.testing.assert_allclose([r["exact_two_mode"] for r in back],
                               [r["exact_two_mode"] for r in rows], rtol=1e-15)


def test_path_survey_snapshots_spread_along_each_path(results):
    rows = path_survey(results, limit=3, snapshots=2)
    tasks = {r["task"] for r in rows}
    expected = {task: sorted({0, len(results.path(task)["nu"]) - 1}) for task in tasks}
    assert len(tasks) == 3
    for task in tasks:
        assert sorted(r["snapshot"] for r in rows if r["task"] == task) == expected[task]
    assert len(rows) == sum(map(len, expected.values()))


def test_path_survey_needs_paths(version1):
    with pytest.raises(HpcnetError, match="no tuning paths in this file"):
        path_survey(version1)


def test_sigma_curves_are_normalised_at_the_first_crossing(results):
    data = paths.sigma_curves(results)
    done = np.flatnonzero(results.done)
    expected, uncrossed = {}, {"down": 0, "up": 0}
    for row in done:
        path = results.path(row)
        down = results.tasks["target"][row] < path["nu"][0]
        ref = first_crossing(path["nu"], path["sigma2"], 0.0 if down else 1 / 3)
        if math.isnan(ref):
            uncrossed["down" if down else "up"] += 1
        else:
            expected[int(row)] = ("down" if down else "up", path["sigma2"] / ref)
    assert data.uncrossed == uncrossed
    assert len(data.curves) + sum(uncrossed.values()) == len(done)
    assert {c.direction for c in data.curves} == {"down", "up"}
    for curve in data.curves:
        direction, ratio = expected[curve.row]
        assert curve.direction == direction
        np.testing.assert_allclose(curve.ratio, ratio, rtol=1e-12)
    fig = sigma_collapse(results)
    (ax,) = fig.axes
    drawn = [line for line in ax.get_lines() if line.get_gid()]
    assert len(drawn) == len(data.curves)
    for line, curve in zip(drawn, data.curves, strict=True):
        assert line.get_gid() == f"{curve.kind} {curve.direction}"
        np.testing.assert_array_equal(line.get_xdata(), results.path(curve.row)["nu"])
        np.testing.assert_allclose(line.get_ydata(), expected[curve.row][1], rtol=1e-12)
    if sum(uncrossed.values()):
        assert f"{sum(uncrossed.values())} chain(s) never crossed" in ax.get_title()


def test_collapse_means_per_kind(results):
    data = paths.sigma_curves(results)
    spread = paths.collapse(data)
    for direction, level in (("down", -0.5), ("up", 0.6)):
        means = {}
        for kind in data.kinds():
            values = [first_crossing(c.nu, c.ratio, level) for c in data.curves
                      if c.kind == kind and c.direction == direction]
            values = [v for v in values if not math.isnan(v)]
            if values:
                means[kind] = np.mean(values)
        assert spread[direction]["means"] == pytest.approx(means, rel=1e-12)
        if means:
            assert spread[direction]["spread"] == pytest.approx(
                max(means.values()) - min(means.values()), rel=1e-12)


def test_sigma_collapse_without_paths_is_the_endpoint_figure(version1):
    fig = sigma_collapse(version1)
    (ax,) = fig.axes
    assert "endpoints only: no tuning paths" in ax.get_title()
    t, done = version1.tasks, version1.done
    offsets = {c.get_gid(): c.get_offsets() for c in ax.collections}
    rows = done & (t["kind"] == "tri") & (t["target"] < 0)
    np.testing.assert_array_equal(offsets["tri negative"], np.column_stack(
        [t["nu_final"][rows], t["sigma2_final"][rows] / t["sigma2_initial"][rows]]))


def test_two_mode_scatter_panels_and_fits(results):
    rows = path_survey(results, limit=6)
    fig = two_mode_scatter(rows)
    assert len(fig.axes) == 2
    nu = np.array([r["nu"] for r in rows])
    for ax, column in zip(fig.axes, ("two_mode", "exact_two_mode"), strict=True):
        est = np.array([r[column] for r in rows])
        points = np.concatenate([c.get_offsets() for c in ax.collections])
        assert len(points) == len(rows)
        np.testing.assert_allclose(sorted(points[:, 1]), sorted(est))
        slope, intercept = np.polyfit(nu, est, 1)
        (fit,) = [line for line in ax.get_lines() if line.get_gid() == "fit"]
        x = fit.get_xdata()
        np.testing.assert_allclose(fit.get_ydata(), slope * x + intercept, rtol=1e-9)
        assert f"r = {np.corrcoef(nu, est)[0, 1]:.3f}" in fit.get_label()
        assert "path snapshots" in ax.get_title()


def test_spread_snapshots():
    nu = [0.3, 0.25, 0.12, 0.0, -0.1, -0.2, -0.35, -0.5]
    assert spread_snapshots(nu, 5) == [0, 2, 4, 6, 7]  # ν nearest 0.3, 0.1, -0.1, -0.3, -0.5
    assert spread_snapshots(nu[:3], 5) == [0, 1, 2]
    assert spread_snapshots([0.3, 0.3, 0.3, 0.3], 3) == [0, 1, 3]


def test_mode_path_panels_are_the_snapshots_weights(results):
    fig = mode_path(results, kind="delaunay", size=6, count=3)
    axes = np.array(fig.axes).reshape(3, 2)
    low, high = results.tuning_pair("delaunay", 6)
    for column, (letter, row) in enumerate((("e", low), ("f", high))):
        path = results.path(row)
        chosen = spread_snapshots(path["nu"], 3)
        for ax, snapshot in zip(axes[:, column], chosen, strict=False):
            assert ax.get_gid() == f"{letter} {snapshot}"
            assert f"snapshot {snapshot}: " in ax.get_title()
            assert f"= {path['nu'][snapshot]:+.3f}" in ax.get_title()
            net = results.path_network(row, snapshot)
            assert poisson_ratio(net).nu == pytest.approx(path["nu"][snapshot], abs=1e-8)
            modes, mech = analyse(net, comm=PETSc.COMM_SELF, full=True)
            stems = ax.containers[0]
            np.testing.assert_allclose(stems.markerline.get_ydata(), mech.weights, atol=1e-12)
            np.testing.assert_allclose(stems.markerline.get_xdata(), modes.omega, rtol=1e-9)
            plus, minus = mech.peaks()
            labels = [line.get_label() for line in ax.get_lines() if line.get_label()[0] == "$"]
            for index, sign in ((plus, "+"), (minus, "-")):
                if index is not None:
                    assert any(label.startswith(rf"$\omega^{sign}$") and
                               f"{mech.x.nu_prime[index]:+.3g}" in label for label in labels)
        for ax in axes[len(chosen):, column]:
            assert ax.get_gid() == "unused" and not ax.axison
    width, height = mode_path_figure.PANEL_SIZE
    assert tuple(fig.get_size_inches()) == pytest.approx((2 * width, 3 * height))


def test_mode_path_needs_paths(version1):
    with pytest.raises(HpcnetError, match="Figs. 4e-f need the chains' tuning paths"):
        mode_path(version1)
