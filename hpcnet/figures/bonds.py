"""Paper Fig. 1i-j: how single bonds stretch under the two loads, before and after tuning.

:func:`bond_scatter` (Fig. 1i) solves the x- and y-load responses of one network
of the ensemble file (original, tuned up, tuned down) and plots every bond's
normalised elongations (:mod:`hpcnet.mechanics.bond_statistics`; docs/physics.md,
"Bond-level statistics"). :func:`sigma_collapse` (Fig. 1j) needs no solves: it
reads σ² and ν of every snapshot along each chain's tuning path, normalised as
the paper does (:mod:`hpcnet.analysis.paths`); on a file without paths (layout
version 1) it falls back to the chains' two ends (:func:`sigma_endpoints`), said
so in its title.
"""

from __future__ import annotations

import logging

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hpcnet.ensemble.results import EnsembleResults
from hpcnet.errors import HpcnetError
from hpcnet.figures import selection, style
from hpcnet.mechanics.bond_statistics import BondStatistics, bond_statistics

#: Sizes (inches) of the three stacked scatter panels and of the collapse plot.
SCATTER_SIZE = (3.6, 9.0)
COLLAPSE_SIZE = (5.5, 4.2)
#: Markers of the final states by sign of the target, and of the initial states.
TARGET_MARKERS = {"negative": "v", "positive": "^", "zero": "s"}
SIGN_LABELS = {"negative": r"$\nu^* < 0$", "positive": r"$\nu^* > 0$", "zero": r"$\nu^* = 0$"}
INITIAL_MARKER = "o"
#: Line styles of the chains tuned down and up.
DIRECTION_STYLES = {"down": "-", "up": "--"}

log = logging.getLogger(__name__)


def _sign(target: float) -> str:
    return "negative" if target < 0 else "positive" if target > 0 else "zero"


def pair_statistics(results: EnsembleResults, kind: str = "tri", size: int | None = None,
                    seed: int | None = None) -> list[tuple[str, int, BondStatistics]]:
    """Bond statistics of one network tuned up, as generated, and tuned down.

    Returns ``[(state, row, statistics)]`` for the states "increased" (final mask of
    the highest target), "original" (initial mask) and "decreased" (final mask of
    the lowest target), each solved on ``COMM_SELF``.
    """
    from petsc4py import PETSc

    kind = selection.kinds(results, [kind])[0]
    low, high = results.tuning_pair(kind, selection.size(results, size), seed)
    states = (("increased", high, "final"), ("original", low, "initial"),
              ("decreased", low, "final"))
    return [(state, row, bond_statistics(results.network(row, mask), PETSc.COMM_SELF))
            for state, row, mask in states]


def bond_scatter(results: EnsembleResults, kind: str = "tri", size: int | None = None,
                 seed: int | None = None) -> Figure:
    """Fig. 1i: each bond's elongation under the y-load against that under the x-load.

    Three panels with equal limits: after ν increase (top), original (middle),
    after ν decrease (bottom); titles give ν, σ² and the shares of quadrants I+III
    and II+IV.

    Parameters
    ----------
    results : EnsembleResults
    kind : str
        Network kind (default tri).
    size : int, optional
        Linear size L (default: the largest in the file).
    seed : int, optional
        Initial network (default: the smallest seed tuned both ways).
    """
    stats = pair_statistics(results, kind, size, seed)
    fig = style.new_figure(*SCATTER_SIZE)
    axes = fig.subplots(3, 1)
    reach = max(float(np.abs(s.points).max()) for _, _, s in stats) * 1.08
    for ax, (state, row, st) in zip(axes, stats, strict=True):
        column = "nu_initial" if state == "original" else "nu_final"
        color = {"original": style.kind_color(kind), "increased": style.TARGET_COLORS["positive"],
                 "decreased": style.TARGET_COLORS["negative"]}[state]
        ax.scatter(st.points[:, 0], st.points[:, 1], s=8, color=color, alpha=0.7, lw=0)
        ax.axhline(0.0, color="0.4", lw=0.7)
        ax.axvline(0.0, color="0.4", lw=0.7)
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_aspect("equal")
        ax.set_title(f"i {kind} {state}: " rf"$\nu$ = {results.tasks[column][row]:+.3f}"
                     "\n" rf"$\sigma^2$ = {st.sigma2:.3f}, I+III {st.fraction_13:.0%}, "
                     f"II+IV {st.fraction_24:.0%}", fontsize=9)
        ax.set_xlabel(r"$\delta l_b(x\ \mathrm{load})/\varepsilon_{xx}$")
        ax.set_ylabel(r"$\delta l_b(y\ \mathrm{load})/\varepsilon_{yy}$")
    return fig


def sigma_ratios(results: EnsembleResults) -> dict[str, np.ndarray]:
    """Per finished chain: kind, target, ν_initial, ν_final and σ²_final/σ²_initial."""
    done = results.done
    if not done.any():
        raise HpcnetError(f"{results.file}: no finished chains to plot")
    tasks = results.tasks
    return {"kind": tasks["kind"][done], "target": tasks["target"][done],
            "nu_initial": tasks["nu_initial"][done], "nu_final": tasks["nu_final"][done],
            "ratio": tasks["sigma2_final"][done] / tasks["sigma2_initial"][done]}


def sigma_collapse(results: EnsembleResults) -> Figure:
    """Fig. 1j: σ² against ν along every finished chain's path, all kinds on one plot.

    Chains tuned down are normalised by their σ² at ν = 0, chains tuned up by
    their σ² at ν = 1/3, read at the path's first crossing
    (:func:`hpcnet.analysis.paths.sigma_curves`); one line per chain, coloured by
    kind, solid down and dashed up. Chains that never cross their reference are
    left out, counted in the title and logged. A file without paths gets
    :func:`sigma_endpoints`.
    """
    from hpcnet.analysis.paths import REFERENCES, sigma_curves

    if not results.has_paths:
        return sigma_endpoints(results)
    data = sigma_curves(results)
    fig = style.new_figure(*COLLAPSE_SIZE)
    ax = fig.subplots()
    for curve in data.curves:
        ax.plot(curve.nu, curve.ratio, DIRECTION_STYLES[curve.direction], lw=1.0, alpha=0.8,
                color=style.kind_color(curve.kind), gid=f"{curve.kind} {curve.direction}")
    for level in REFERENCES.values():
        ax.axvline(level, color="0.6", lw=0.7, ls=":")
    ax.axhline(1.0, color="0.6", lw=0.7, ls=":")
    handles = [Line2D([], [], color=style.kind_color(k), label=k) for k in data.kinds()]
    handles += [Line2D([], [], color="0.3", ls=DIRECTION_STYLES["down"],
                       label=r"tuned down, $\sigma^2/\sigma^2(\nu=0)$"),
                Line2D([], [], color="0.3", ls=DIRECTION_STYLES["up"],
                       label=r"tuned up, $\sigma^2/\sigma^2(\nu=1/3)$")]
    ax.legend(handles=handles, fontsize=8)
    left_out = sum(data.uncrossed.values())
    title = r"j bond-level variance along the tuning paths"
    if left_out:
        title += (f"\n{left_out} chain(s) never crossed their reference ν, left out "
                  f"({data.uncrossed['down']} down, {data.uncrossed['up']} up)")
        log.warning("Fig. 1j: %d chains tuned down never crossed ν = 0 and %d tuned up never "
                    "crossed ν = 1/3; left out", data.uncrossed["down"], data.uncrossed["up"])
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(r"$\nu$")
    ax.set_ylabel(r"$\sigma^2/\sigma^2_{\mathrm{ref}}$")
    return fig


def sigma_endpoints(results: EnsembleResults) -> Figure:
    """Fig. 1j from the chains' two ends only: σ² of every finished chain's final network,
    relative to its initial one, against ν (files without paths).

    Each chain gives a point (ν_final, σ²_final/σ²_initial), marked by the sign of
    its target, and its initial network the point (ν_initial, 1); colours are the
    network kinds. Unlike the paper, which renormalised σ² to 1 at ν = 0 (ν-decrease
    branch) or ν = 1/3 (ν-increase branch), it normalises by the chain's own initial
    network: the file stores σ² at the chain's two ends only, as the title says.
    """
    data = sigma_ratios(results)
    fig = style.new_figure(*COLLAPSE_SIZE)
    ax = fig.subplots()
    signs = np.array([_sign(t) for t in data["target"]])
    for kind in selection.kinds(results):
        mine = data["kind"] == kind
        color = style.kind_color(kind)
        ax.scatter(data["nu_initial"][mine], np.ones(mine.sum()), color=color,
                   marker=INITIAL_MARKER, facecolors="none", gid=f"{kind} initial")
        for sign, marker in TARGET_MARKERS.items():
            sel = mine & (signs == sign)
            if sel.any():
                ax.scatter(data["nu_final"][sel], data["ratio"][sel], color=color,
                           marker=marker, gid=f"{kind} {sign}")
    handles = [Line2D([], [], ls="", marker="s", color=style.kind_color(k), label=k)
               for k in selection.kinds(results)]
    handles += [Line2D([], [], ls="", marker=INITIAL_MARKER, mfc="none", color="0.3",
                       label="initial")]
    handles += [Line2D([], [], ls="", marker=marker, color="0.3",
                       label=f"final, {SIGN_LABELS[sign]}")
                for sign, marker in TARGET_MARKERS.items() if (signs == sign).any()]
    ax.legend(handles=handles, fontsize=8)
    ax.set_title("j bond-level variance against $\\nu$\nendpoints only: no tuning paths in "
                 f"this file (layout version {results.version})", fontsize=9)
    ax.set_xlabel(r"$\nu$")
    ax.set_ylabel(r"$\sigma^2/\sigma^2_0$")
    return fig
