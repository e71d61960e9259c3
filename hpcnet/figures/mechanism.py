"""Paper Fig. 4d: the two-mode estimate ν̄' against ν across an ensemble.

Drawn from the rows of :func:`hpcnet.analysis.survey.survey` (or
:func:`hpcnet.analysis.survey.read_csv`): one point per network state, coloured by kind,
with the least-squares line of :func:`hpcnet.analysis.survey.linear_fit` and the
identity line for reference.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hpcnet.analysis.survey import linear_fit
from hpcnet.errors import HpcnetError
from hpcnet.figures import style

#: Figure size in inches.
FIGSIZE = (5.5, 5.5)


def two_mode_scatter(rows: list[dict]) -> Figure:
    """ν̄' (``two_mode``) against ν (``nu``) of survey ``rows``, with the linear fit.

    Raises
    ------
    HpcnetError
        No rows, or fewer than 3 with finite ν and ν̄' (nothing to fit).
    """
    if not rows:
        raise HpcnetError("no survey rows to plot (no finished, rigid network in the file?)")
    nu = np.array([row["nu"] for row in rows], dtype=float)
    estimate = np.array([row["two_mode"] for row in rows], dtype=float)
    fit = linear_fit(nu, estimate)
    fig = style.new_figure(*FIGSIZE)
    ax = fig.subplots()
    kinds = np.array([row["kind"] for row in rows])
    for kind in sorted(set(kinds.tolist())):
        mine = kinds == kind
        ax.scatter(nu[mine], estimate[mine], s=14, color=style.kind_color(kind), label=kind,
                   zorder=2)
    finite = np.isfinite(nu) & np.isfinite(estimate)
    span = np.array([nu[finite].min(), nu[finite].max()])
    ax.plot(span, fit["slope"] * span + fit["intercept"], "k-", zorder=3,
            label=(f"fit: slope {fit['slope']:.3g}, intercept {fit['intercept']:+.3g}, "
                   f"r = {fit['r']:.3f} (n = {fit['n']})"))
    ax.plot(span, span, color="0.6", linestyle=":", zorder=1, label=r"$\bar{\nu}' = \nu$")
    ax.set_xlabel(r"$\nu$")
    ax.set_ylabel(r"$\bar{\nu}'$")
    ax.set_title("d")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize="small")
    return fig
