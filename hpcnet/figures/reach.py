"""Supplementary Figs. 2-3: how far the chains tune ν, against system size.

Drawn from an ensemble file's per-task columns through
:func:`hpcnet.ensemble.stats.summarize` (the numbers ``hpcnet stats`` prints): per kind,
size and target, the mean final ν of the finished chains with its standard
deviation, and their min..max as a faint band, the targets dashed.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hpcnet.ensemble.results import EnsembleResults
from hpcnet.ensemble.stats import summarize
from hpcnet.figures import selection, style

#: Figure width per kind and height (inches).
PANEL_WIDTH, HEIGHT = 3.6, 3.4
#: |ν − target| counted as reached by summarize; only its ν statistics are drawn here.
TOLERANCE = 0.05


def reach_rows(results: EnsembleResults) -> list[dict]:
    """:func:`~hpcnet.ensemble.stats.summarize` rows of groups with a finished chain,
    of the file's primary method (SA when it has SA chains)."""
    return [row for row in summarize(results.tasks, TOLERANCE)
            if row["done"] > 0 and row["method"] == results.primary_method]


def reach_vs_size(results: EnsembleResults) -> Figure:
    """Final ν against L, one panel per kind, one series per target.

    Markers with error bars: mean ± standard deviation over the finished chains;
    band and short ticks: their minimum and maximum.
    """
    kinds = selection.kinds(results)
    rows = reach_rows(results)
    fig = style.new_figure(PANEL_WIDTH * len(kinds), HEIGHT)
    axes = fig.subplots(1, len(kinds), squeeze=False, sharey=True)[0]
    for kind, ax in zip(kinds, axes, strict=True):
        mine = [r for r in rows if r["kind"] == kind]
        for target in sorted({r["target"] for r in mine}):
            series = sorted((r for r in mine if r["target"] == target), key=lambda r: r["size"])
            size, mean, std, low, high = (np.array([r[k] for r in series]) for k in
                                          ("size", "nu_mean", "nu_std", "nu_min", "nu_max"))
            color = selection.target_color(target)
            ax.fill_between(size, low, high, color=color, alpha=0.15, lw=0)
            ax.plot(np.r_[size, size], np.r_[low, high], ls="", marker="_", ms=10,
                    color=color, alpha=0.6, gid="range")
            bars = ax.errorbar(size, mean, yerr=std, marker="o", capsize=3, color=color,
                               label=rf"$\nu^*$ = {target:+g}")
            bars.lines[0].set_gid("mean")
            ax.axhline(target, color=color, ls="--", lw=1.0, gid="target")
        ax.set_xticks(sorted({r["size"] for r in mine}))
        ax.set_title(kind)
        ax.set_xlabel("L (nodes per side)")
        ax.set_ylabel(r"final $\nu$")
        ax.legend(fontsize=8)
    return fig
