"""Paper Fig. 4d: the two-mode estimates ν̄' and ν̂₂ against ν across an ensemble.

Drawn from the rows of :func:`hpcnet.analysis.survey.path_survey` (every snapshot
along the tuning paths) or :func:`hpcnet.analysis.survey.survey` (the chains'
ends only, for files without paths; the title says so), or from
:func:`hpcnet.analysis.survey.read_csv`. Two panels: the paper's ν̄' and the exact
two-mode ν̂₂, one point per network state coloured by kind, each with the
least-squares line of :func:`hpcnet.analysis.survey.linear_fit` and the identity line.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hpcnet.analysis.survey import is_path_survey, linear_fit
from hpcnet.errors import HpcnetError
from hpcnet.figures import style

#: Figure size in inches (two panels side by side).
FIGSIZE = (10.0, 5.5)
#: The estimators drawn, panel by panel: (survey column, axis label).
ESTIMATORS = (("two_mode", r"paper's $\bar{\nu}'$"), ("exact_two_mode", r"exact $\hat{\nu}_2$"))


def two_mode_scatter(rows: list[dict]) -> Figure:
    """ν̄' (``two_mode``, left) and ν̂₂ (``exact_two_mode``, right) against ν of survey
    ``rows``, with their linear fits.

    Raises
    ------
    HpcnetError
        No rows, or fewer than 3 with finite ν and estimate (nothing to fit).
    """
    if not rows:
        raise HpcnetError("no survey rows to plot (no finished, rigid network in the file?)")
    nu = np.array([row["nu"] for row in rows], dtype=float)
    kinds = np.array([row["kind"] for row in rows])
    source = ("path snapshots" if is_path_survey(rows)
              else "chain endpoints only (no tuning paths)")
    fig = style.new_figure(*FIGSIZE)
    for ax, (column, label) in zip(fig.subplots(1, 2), ESTIMATORS, strict=True):
        estimate = np.array([row[column] for row in rows], dtype=float)
        fit = linear_fit(nu, estimate)
        for kind in sorted(set(kinds.tolist())):
            mine = kinds == kind
            ax.scatter(nu[mine], estimate[mine], s=10, color=style.kind_color(kind),
                       label=kind, zorder=2, gid=kind)
        finite = np.isfinite(nu) & np.isfinite(estimate)
        span = np.array([nu[finite].min(), nu[finite].max()])
        ax.plot(span, fit["slope"] * span + fit["intercept"], "k-", zorder=3, gid="fit",
                label=(f"fit: slope {fit['slope']:.3g}, intercept {fit['intercept']:+.3g}, "
                       f"r = {fit['r']:.3f} (n = {fit['n']})"))
        ax.plot(span, span, color="0.6", linestyle=":", zorder=1, label="identity")
        ax.set_xlabel(r"$\nu$")
        ax.set_ylabel(label)
        ax.set_title(f"d {label}, {source}", fontsize=10)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize="small")
    return fig
