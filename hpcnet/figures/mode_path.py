"""Paper Figs. 4e-f: the mode weights |C_ω|² at snapshots along one chain tuned down and one up.

Two columns, e (the chain of the lowest target) and f (the highest), from one
initial network (``EnsembleResults.tuning_pair``); each column stacks
:data:`SNAPSHOTS` panels, top to bottom along the chain's path, from the
initial network to the answer, at ν as evenly spaced as the stored snapshots
allow (:func:`spread_snapshots`). Every panel is ``|C_ω|²`` against ω with ω⁺
and ω⁻ marked and labelled with their ν' (:func:`hpcnet.figures.modes.weights_panel`),
from the whole spectrum for small networks (``analysed``). Needs a file with
tuning paths (layout version 2).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hpcnet.errors import HpcnetError
from hpcnet.figures import selection, style
from hpcnet.figures.modes import analysed, weights_panel

#: Panels per column, and the size in inches of one panel.
SNAPSHOTS = 5
PANEL_SIZE = (4.8, 2.2)
#: The x range ends where the weights fall below this share of the largest weight.
VISIBLE_WEIGHT = 1e-3


def spread_snapshots(nu, count: int = SNAPSHOTS) -> list[int]:
    """Indices of at most ``count`` snapshots of a path ``nu``: the first, the last, and
    between them those nearest to evenly spaced ν (each index once)."""
    nu = np.asarray(nu, float)
    if len(nu) <= count:
        return list(range(len(nu)))
    chosen = [0, len(nu) - 1]
    for level in np.linspace(nu[0], nu[-1], count)[1:-1]:
        free = [i for i in range(len(nu)) if i not in chosen]
        chosen.append(min(free, key=lambda i: (abs(nu[i] - level), i)))
    return sorted(chosen)


def mode_path(results, kind: str = "tri", size: int | None = None, seed: int | None = None,
              k: int = 20, count: int = SNAPSHOTS) -> Figure:
    """Figs. 4e (tuned down) and 4f (tuned up) of one initial network of ``results``.

    Parameters
    ----------
    results : EnsembleResults
        An ensemble with tuning paths.
    kind, size, seed
        The initial network (defaults: tri, the largest size, the smallest seed tuned
        both ways).
    k : int
        Lowest modes computed for networks too large for the whole spectrum.
    count : int
        Snapshots per chain (panels per column).

    Raises
    ------
    HpcnetError
        No paths in the file, or no such pair of chains.
    """
    if not results.has_paths:
        raise HpcnetError(f"{results.file}: Figs. 4e-f need the chains' tuning paths; this file "
                          f"has none (layout version {results.version})")
    kind = selection.kinds(results, [kind])[0]
    low, high = results.tuning_pair(kind, selection.size(results, size), seed)
    width, height = PANEL_SIZE
    fig = style.new_figure(2 * width, count * height)
    axes = fig.subplots(count, 2, squeeze=False)
    for column, (letter, row, direction) in enumerate((("e", low, "down"), ("f", high, "up"))):
        path = results.path(row)
        chosen = spread_snapshots(path["nu"], count)
        reach = 0.0
        for ax, snapshot in zip(axes[:, column], chosen, strict=False):
            modes, mech = analysed(results.path_network(row, snapshot), k)
            weights_panel(ax, modes, mech, f"{letter} {kind} tuned {direction}, snapshot "
                          f"{snapshot}: " rf"$\nu$ = {mech.nu:+.3f}")
            ax.set_gid(f"{letter} {snapshot}")
            visible = modes.omega[mech.weights >= VISIBLE_WEIGHT * mech.weights.max()]
            reach = max(reach, float(visible.max()))
        for ax in axes[:len(chosen), column]:
            ax.set_xlim(0.0, 1.1 * reach)
        for ax in axes[len(chosen):, column]:
            ax.set_axis_off()
            ax.set_gid("unused")
    return fig
