"""Paper Fig. 1b-d and Fig. 2 d-l: one network of each kind, as generated and tuned both ways.

Drawn from an ensemble file (:class:`~hpcnet.ensemble.results.EnsembleResults`): for one
initial network per kind (:meth:`~hpcnet.ensemble.results.EnsembleResults.tuning_pair`),
the middle panel is the network under its ``initial`` mask, the left and right
panels are the chains toward the lowest and highest target under their ``final``
masks, with the bonds those chains removed drawn faint and dashed. Panel titles
give ν from the file's ``nu_initial`` / ``nu_final`` columns and z = 2M/N of the
drawn network.
"""

from __future__ import annotations

import string

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hpcnet.ensemble.results import EnsembleResults
from hpcnet.figures import selection, style
from hpcnet.network import Network

#: Figure width and height per kind (inches).
WIDTH, ROW_HEIGHT = 10.0, 3.4
#: Line widths and colours of kept and removed bonds.
KEPT_COLOR, KEPT_WIDTH, REMOVED_WIDTH = "0.15", 0.9, 0.7


def segments(positions: np.ndarray, bonds: np.ndarray) -> np.ndarray:
    """(M, 2, 2) end points of ``bonds`` (node pairs) at ``positions``."""
    return positions[np.asarray(bonds, dtype=np.int64).reshape(-1, 2)]


def draw_network(ax: Axes, net: Network, removed: np.ndarray | None = None
                 ) -> tuple[LineCollection, LineCollection | None]:
    """Draw ``net``'s bonds as line segments on ``ax``; ``removed`` bonds faint and dashed.

    Parameters
    ----------
    ax : Axes
    net : Network
        The bonds drawn dark.
    removed : (K, 2) int array, optional
        Node pairs (over ``net``'s nodes) of bonds to mark as removed, in
        :data:`hpcnet.figures.style.REMOVED_COLOR`.

    Returns
    -------
    kept, removed : LineCollection
        The collections added (``removed`` is None when not given).
    """
    gone = None
    if removed is not None:
        gone = LineCollection(segments(net.positions, removed), colors=style.REMOVED_COLOR,
                              linewidths=REMOVED_WIDTH, linestyles="--", alpha=0.8,
                              label="removed")
        ax.add_collection(gone)
    kept = LineCollection(segments(net.positions, net.bonds), colors=KEPT_COLOR,
                          linewidths=KEPT_WIDTH, label="kept")
    ax.add_collection(kept)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return kept, gone


def removed_bonds(results: EnsembleResults, row: int) -> np.ndarray:
    """Node pairs of the bonds that task ``row``'s chain removed (initial, not final mask)."""
    gone = results.mask(row, "initial") & ~results.mask(row, "final")
    return results.original(row).bonds[gone]


def tuning_panels(results: EnsembleResults, size: int | None = None, seed: int | None = None,
                  kinds: list[str] | None = None) -> Figure:
    """Fig. 2: per kind (a row), the network tuned down, the original, the network tuned up.

    ``size``, ``seed`` and ``kinds`` choose as in :func:`hpcnet.figures.selection.tuning`.
    """
    kinds, size = selection.tuning(results, size, kinds)
    fig = style.new_figure(WIDTH, ROW_HEIGHT * len(kinds))
    axes = fig.subplots(len(kinds), 3, squeeze=False)
    letters = iter(string.ascii_lowercase[3:])
    for kind, row_axes in zip(kinds, axes, strict=True):
        low, high = results.tuning_pair(kind, size, seed)
        panels = ((low, "final", "nu_final"), (low, "initial", "nu_initial"),
                  (high, "final", "nu_final"))
        for ax, (row, mask, column) in zip(row_axes, panels, strict=True):
            net = results.network(row, mask)
            draw_network(ax, net, removed_bonds(results, row) if mask == "final" else None)
            what = f"original, seed {results.tasks['seed'][row]}" if mask == "initial" else (
                rf"$\nu^*$ = {results.tasks['target'][row]:+g}")
            ax.set_title(f"{next(letters)} {kind} {what}\n"
                         rf"$\nu$ = {results.tasks[column][row]:+.3f}, "
                         f"z = {net.mean_coordination():.2f}", fontsize=9)
    fig.suptitle(f"L = {size}")
    return fig
