"""Ensemble figures (paper Figs. 1b-j, 2, Supplementary 2-3) drawn from a real tiny ensemble."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
from petsc4py import PETSc

from hpcnet.ensemble.results import EnsembleResults
from hpcnet.ensemble.stats import summarize
from hpcnet.errors import HpcnetError
from hpcnet.figures import networks, style
from hpcnet.figures.bonds import bond_scatter, sigma_collapse
from hpcnet.figures.networks import tuning_panels
from hpcnet.figures.reach import reach_vs_size
from hpcnet.figures.trajectory import tuning_curves
from hpcnet.mechanics.bond_statistics import bond_points, statistics
from hpcnet.mechanics.elastic import ElasticSolver
from tests.support.paths import without_paths

KINDS = ["tri", "delaunay", "packing"]


@pytest.fixture(scope="module")
def results(tiny_ensemble):
    with EnsembleResults(tiny_ensemble) as res:
        yield res


def lines(ax, gid):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def test_tuning_panels_draw_the_masks_of_the_pair(results):
    fig = tuning_panels(results)
    axes = np.array(fig.axes).reshape(3, 3)
    for kind, row_axes in zip(KINDS, axes, strict=True):
        low, high = results.tuning_pair(kind, 8)  # default: the largest size
        for ax, row, mask in zip(row_axes, (low, low, high), ("final", "initial", "final"),
                                 strict=True):
            assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
            assert kind in ax.get_title()
            drawn = {c.get_label(): c.get_segments() for c in ax.collections}
            kept = results.mask(row, mask)
            assert len(drawn["kept"]) == kept.sum()
            original = results.original(row)
            expected = original.positions[original.bonds[kept]]
            np.testing.assert_array_equal(np.array(drawn["kept"]), expected)
            column = "nu_final" if mask == "final" else "nu_initial"
            assert f"{results.tasks[column][row]:+.3f}" in ax.get_title()
            if mask == "final":
                gone = results.mask(row, "initial") & ~kept
                assert gone.sum() > 0
                assert len(drawn["removed"]) == gone.sum()
                np.testing.assert_array_equal(np.array(drawn["removed"]),
                                              original.positions[original.bonds[gone]])
            else:
                assert "removed" not in drawn
            assert ax.get_aspect() == 1.0


def test_tuning_panels_selection(results):
    fig = tuning_panels(results, size=6, seed=1, kinds=["packing"])
    assert len(fig.axes) == 3
    low, _ = results.tuning_pair("packing", 6, 1)
    assert len(fig.axes[1].collections[0].get_segments()) == results.mask(low, "initial").sum()
    assert tuple(fig.get_size_inches()) == (networks.WIDTH, networks.ROW_HEIGHT)


def test_tuning_curves_plot_the_trajectories(results):
    fig = tuning_curves(results, size=6, seed=1)
    assert len(fig.axes) == 3
    for kind, ax in zip(KINDS, fig.axes, strict=True):
        assert ax.get_xlabel() == "SA step (temperature)"
        assert ax.get_ylabel() == r"$\nu$"
        assert kind in ax.get_title()
        pair = results.tuning_pair(kind, 6, 1)
        curves, targets = lines(ax, "nu"), lines(ax, "target")
        assert len(curves) == len(targets) == 2
        for row, curve, target in zip(pair, curves, targets, strict=True):
            trajectory = results.trajectory(row)
            expected = [results.tasks["nu_initial"][row], *trajectory["nu"]]
            np.testing.assert_array_equal(curve.get_ydata(), expected)
            np.testing.assert_array_equal(curve.get_xdata(), np.arange(len(expected)))
            assert target.get_ydata()[0] == results.tasks["target"][row]
            assert target.get_linestyle() == "--"
        faint = lines(ax, "nu_x")
        np.testing.assert_array_equal(faint[0].get_ydata()[1:], results.trajectory(pair[0])["nu_x"])


def reference_points(net):
    with ElasticSolver(net, PETSc.COMM_SELF) as solver:
        return bond_points(net, solver.response("x"), solver.response("y"))


def test_bond_scatter_points_and_statistics(results):
    fig = bond_scatter(results, kind="delaunay", size=6)
    assert len(fig.axes) == 3
    low, high = results.tuning_pair("delaunay", 6)
    states = ((high, "final", "sigma2_final"), (low, "initial", "sigma2_initial"),
              (low, "final", "sigma2_final"))
    for ax, (row, mask, column) in zip(fig.axes, states, strict=True):
        net = results.network(row, mask)
        points = reference_points(net)
        np.testing.assert_allclose(ax.collections[0].get_offsets(), points, rtol=1e-12)
        stats = statistics(net, points)
        # the figure's solve agrees with the σ² that hpcnet anneal stored
        np.testing.assert_allclose(stats.sigma2, results.tasks[column][row], rtol=1e-8)
        assert f"{stats.sigma2:.3f}" in ax.get_title()
        assert f"I+III {stats.fraction_13:.0%}" in ax.get_title()
        assert ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_xlim() == fig.axes[0].get_xlim()
        assert ax.get_ylim() == fig.axes[0].get_ylim()
        assert np.abs(points).max() < ax.get_xlim()[1]
    assert [t.split(":")[0] for t in (ax.get_title() for ax in fig.axes)] == [
        "i delaunay increased", "i delaunay original", "i delaunay decreased"]


def test_sigma_collapse_without_paths_points_are_the_columns(results, monkeypatch):
    without_paths(monkeypatch)  # a file of layout version 1: the chains' two ends only
    fig = sigma_collapse(results)
    (ax,) = fig.axes
    assert "endpoints only" in ax.get_title()
    assert ax.get_xlabel() == r"$\nu$"
    assert ax.get_ylabel() == r"$\sigma^2/\sigma^2_0$"
    offsets = {c.get_gid(): c.get_offsets() for c in ax.collections}
    t = results.tasks
    for kind in KINDS:
        mine = (t["kind"] == kind) & results.done
        np.testing.assert_array_equal(offsets[f"{kind} initial"],
                                      np.column_stack([t["nu_initial"][mine],
                                                       np.ones(mine.sum())]))
        for sign, sel in (("negative", t["target"] < 0), ("positive", t["target"] > 0)):
            rows = mine & sel
            np.testing.assert_array_equal(
                offsets[f"{kind} {sign}"],
                np.column_stack([t["nu_final"][rows],
                                 t["sigma2_final"][rows] / t["sigma2_initial"][rows]]))
    assert sum(len(o) for o in offsets.values()) == 2 * results.done.sum()


def test_reach_vs_size_means_are_summarize(results):
    fig = reach_vs_size(results)
    assert len(fig.axes) == 3
    table = summarize(results.tasks, 0.05)
    for kind, ax in zip(KINDS, fig.axes, strict=True):
        assert ax.get_xlabel() == "L (nodes per side)"
        assert ax.get_ylabel() == r"final $\nu$"
        assert ax.get_title() == kind
        means = lines(ax, "mean")
        targets = sorted({r["target"] for r in table if r["kind"] == kind})
        assert len(means) == len(targets) == 2
        for target, line in zip(targets, means, strict=True):
            rows = sorted((r for r in table if r["kind"] == kind and r["target"] == target),
                          key=lambda r: r["size"])
            np.testing.assert_array_equal(line.get_xdata(), [6, 8])
            np.testing.assert_array_equal(line.get_ydata(), [r["nu_mean"] for r in rows])
            (extremes,) = [ln for ln in lines(ax, "range")
                           if np.isin(ln.get_ydata(), [r["nu_min"] for r in rows]).any()]
            np.testing.assert_array_equal(sorted(extremes.get_ydata()),
                                          sorted([r[k] for r in rows
                                                  for k in ("nu_min", "nu_max")]))
        assert sorted(ln.get_ydata()[0] for ln in lines(ax, "target")) == targets


@pytest.mark.parametrize("build", [
    lambda r: tuning_panels(r, kinds=["tri", "packing"]),
    lambda r: tuning_curves(r),
    lambda r: bond_scatter(r, size=6),
    sigma_collapse,
    reach_vs_size,
], ids=["networks", "trajectory", "bond_scatter", "sigma_collapse", "reach"])
def test_saved_images(results, tmp_path, build):
    fig = build(results)
    png, pdf = style.save(fig, tmp_path / "fig")
    width, height = fig.get_size_inches()
    image = matplotlib.image.imread(png)
    assert image.shape[:2] == (round(height * style.DPI), round(width * style.DPI))
    assert image.std() > 0  # not blank
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("call, message", [
    (lambda r: tuning_panels(r, kinds=["tri", "hexagonal"]), "kind hexagonal"),
    (lambda r: tuning_panels(r, size=7), "L=7"),
    (lambda r: tuning_panels(r, seed=9), "seed 9"),
    (lambda r: tuning_panels(r, kinds=[]), "no kinds"),
    (lambda r: tuning_curves(r, kinds=["square"]), "kind square"),
    (lambda r: tuning_curves(r, size=12), "L=12"),
    (lambda r: bond_scatter(r, kind="kagome"), "kind kagome"),
    (lambda r: bond_scatter(r, size=5), "L=5"),
])
def test_bad_selections_name_the_problem(results, call, message):
    with pytest.raises(HpcnetError, match=message):
        call(results)
