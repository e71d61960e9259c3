"""Paper Fig. 1f-h: ν along two annealing chains that tune one network both ways.

Drawn from an ensemble file (:class:`~hpcnet.ensemble.results.EnsembleResults`): for one
initial network per kind (:meth:`~hpcnet.ensemble.results.EnsembleResults.tuning_pair`),
ν of the chains toward the lowest and the highest target against the SA step
(one step per temperature; step 0 is the generated network, ``nu_initial``),
ν_x and ν_y faint behind, the targets as dashed lines.
"""

from __future__ import annotations

import string

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hpcnet.ensemble.results import EnsembleResults
from hpcnet.figures import selection, style

#: Figure width per kind and height (inches).
PANEL_WIDTH, HEIGHT = 3.6, 3.2


def chain_curve(results: EnsembleResults, row: int, name: str = "nu") -> np.ndarray:
    """ν (or ``name``: nu_x, nu_y) of task ``row`` at step 0 (as generated) and each temperature."""
    initial = results.tasks[f"{name}_initial"][row]
    return np.concatenate([[initial], results.trajectory(row)[name]])


def tuning_curves(results: EnsembleResults, size: int | None = None, seed: int | None = None,
                  kinds: list[str] | None = None) -> Figure:
    """Fig. 1f-h: one panel per kind, ν against SA step for the chains tuned down and up.

    ``size``, ``seed`` and ``kinds`` choose as in :func:`hpcnet.figures.selection.tuning`.
    """
    kinds, size = selection.tuning(results, size, kinds)
    fig = style.new_figure(PANEL_WIDTH * len(kinds), HEIGHT)
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    for letter, kind, ax in zip(string.ascii_lowercase[5:], kinds, axes, strict=False):
        pair = results.tuning_pair(kind, size, seed)
        for row in pair:
            target = float(results.tasks["target"][row])
            color = selection.target_color(target)
            nu = chain_curve(results, row)
            steps = np.arange(len(nu))
            for name in ("nu_x", "nu_y"):
                ax.plot(steps, chain_curve(results, row, name), color=color, lw=0.7,
                        alpha=0.3, gid=name)
            ax.plot(steps, nu, color=color, lw=1.6, marker=".", gid="nu",
                    label=rf"$\nu^*$ = {target:+g}")
            ax.axhline(target, color=color, ls="--", lw=1.0, gid="target")
        ax.set_title(f"{letter} {kind}, L = {size}, seed {results.tasks['seed'][pair[0]]}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("SA step (temperature)")
        ax.set_ylabel(r"$\nu$")
        ax.legend(fontsize=8, loc="best")
    return fig
