"""Fig. 4a-c (figures.modes) and Fig. 4d (figures.mechanism) from the tiny ensemble."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread
from matplotlib.quiver import Quiver
from petsc4py import PETSc

from hpcnet.analysis.survey import linear_fit, survey
from hpcnet.ensemble.results import EnsembleResults
from hpcnet.errors import HpcnetError
from hpcnet.figures import mechanism as fig_mechanism
from hpcnet.figures import modes as fig_modes
from hpcnet.figures import style
from hpcnet.mechanics.elastic import ElasticSolver
from hpcnet.mechanics.mechanism import analyse, mechanism


@pytest.fixture(scope="module")
def tuned(tiny_ensemble):
    """The delaunay L=8 network tuned toward the lowest target, its full spectrum, mechanism."""
    with EnsembleResults(tiny_ensemble) as results:
        net = results.network(results.tuning_pair("delaunay", 8)[0], "final")
    modes, mech = analyse(net, comm=PETSc.COMM_SELF, full=True)
    return net, modes, mech


def check_saved(fig, stem, figsize):
    png, pdf = style.save(fig, stem)
    assert imread(png).shape[:2] == (round(figsize[1] * style.DPI),
                                      round(figsize[0] * style.DPI))
    assert pdf.read_bytes().startswith(b"%PDF")


def test_mode_panels(tuned, tmp_path):
    net, modes, mech = tuned
    fig = fig_modes.mode_panels(net, modes, mech)
    a, b, c = fig.axes
    assert len(fig.axes) == 3
    for ax in (a, b):
        assert (ax.get_xlabel(), ax.get_ylabel()) == (r"$x$", r"$y$")
    assert (c.get_xlabel(), c.get_ylabel()) == (r"$\omega$", r"$|C_\omega|^2$")
    weights = 0.5 * (mech.x.weights + mech.y.weights)
    nu_prime = mech.x.nu_prime
    assert np.all(np.sign(mech.y.nu_prime) == np.sign(nu_prime))
    plus = int(np.flatnonzero(nu_prime > 0)[np.argmax(weights[nu_prime > 0])])
    minus = int(np.flatnonzero(nu_prime < 0)[np.argmax(weights[nu_prime < 0])])
    assert mech.peaks() == (plus, minus)

    def label(index):
        return (rf"$\nu'_x$ = {nu_prime[index]:+.3g}, "
                rf"$\nu'_y$ = {mech.y.nu_prime[index]:+.3g}")

    for ax, index in ((a, plus), (b, minus)):
        (arrows,) = [q for q in ax.collections if isinstance(q, Quiver)]
        assert np.allclose(arrows.U, modes.vectors[0::2, index])
        assert np.allclose(arrows.V, modes.vectors[1::2, index])
        assert np.allclose(arrows.X, net.positions[:, 0])
        assert np.allclose(arrows.Y, net.positions[:, 1])
        assert ax.get_title().endswith(label(index))
    stems = c.containers[0]
    assert np.allclose(stems.markerline.get_xdata(), modes.omega)
    assert np.allclose(stems.markerline.get_ydata(), weights)
    marks = {line.get_label(): (line.get_xdata()[0], line.get_ydata()[0]) for line in c.lines
             if line.get_label().startswith(r"$\omega")}
    assert marks[rf"$\omega^+$: {label(plus)}"] == (modes.omega[plus], weights[plus])
    assert marks[rf"$\omega^-$: {label(minus)}"] == (modes.omega[minus], weights[minus])
    assert f"{mech.nu:+.3f}" in c.get_title() and f"{mech.two_mode:+.3f}" in c.get_title()
    check_saved(fig, tmp_path / "fig4abc", fig_modes.FIGSIZE)


def test_missing_sign_is_stated(tuned):
    net, modes, mech = tuned
    only_minus = np.flatnonzero(mech.x.nu_prime < 0)
    sub = replace(modes, omega2=modes.omega2[only_minus], vectors=modes.vectors[:, only_minus],
                  complete=False)
    with ElasticSolver(net, PETSc.COMM_SELF) as solver:
        part = mechanism(net.positions, sub, solver.response("x"), solver.response("y"))
    fig = fig_modes.mode_panels(net, sub, part)
    a, b, _ = fig.axes
    assert "none" in a.get_title() and not [q for q in a.collections if isinstance(q, Quiver)]
    assert "no computed mode has ν' > 0" in [t.get_text() for t in a.texts]
    assert [q for q in b.collections if isinstance(q, Quiver)]


def test_mode_figure_computes_lowest_modes(tuned):
    net, _, _ = tuned
    fig = fig_modes.mode_figure(net, k=8, full=False)
    assert len(fig.axes[2].containers[0].markerline.get_xdata()) == 8


def test_mode_panels_refuses_foreign_modes(tuned, tiny_ensemble):
    net, modes, mech = tuned
    with EnsembleResults(tiny_ensemble) as results:
        other = results.network(results.tuning_pair("tri", 6)[0], "final")
    with pytest.raises(HpcnetError, match="another network"):
        fig_modes.mode_panels(other, modes, mech)
    fewer = replace(modes, omega2=modes.omega2[:5], vectors=modes.vectors[:, :5])
    with pytest.raises(HpcnetError, match="other modes"):
        fig_modes.mode_panels(net, fewer, mech)


def test_two_mode_scatter(tiny_ensemble, tmp_path):
    with EnsembleResults(tiny_ensemble) as results:
        rows = survey(results, limit=8)
    fig = fig_mechanism.two_mode_scatter(rows)
    assert len(fig.axes) == 2
    for ax, column, label in zip(fig.axes, ("two_mode", "exact_two_mode"),
                                 (r"paper's $\bar{\nu}'$", r"exact $\hat{\nu}_2$"), strict=True):
        assert (ax.get_xlabel(), ax.get_ylabel()) == (r"$\nu$", label)
        assert "chain endpoints only" in ax.get_title()  # survey rows, not path snapshots
        for points in ax.collections:
            kind = points.get_label()
            mine = [r for r in rows if r["kind"] == kind]
            assert np.allclose(points.get_offsets(), [[r["nu"], r[column]] for r in mine])
            assert np.allclose(points.get_facecolor()[0][:3], to_rgb(style.kind_color(kind)))
        assert sorted(p.get_label() for p in ax.collections) == sorted({r["kind"] for r in rows})
        fit = linear_fit([r["nu"] for r in rows], [r[column] for r in rows])
        fit_line, identity = ax.lines
        x, y = fit_line.get_xdata(), fit_line.get_ydata()
        assert np.allclose(y, fit["slope"] * x + fit["intercept"])
        assert f"r = {fit['r']:.3f}" in fit_line.get_label()
        assert np.allclose(identity.get_xdata(), identity.get_ydata())
    check_saved(fig, tmp_path / "fig4d", fig_mechanism.FIGSIZE)
    with pytest.raises(HpcnetError, match="no survey rows"):
        fig_mechanism.two_mode_scatter([])
    with pytest.raises(HpcnetError, match="at least 3"):
        fig_mechanism.two_mode_scatter(rows[:2])
