"""Paper Fig. 5d: time per network of a PETSc solve against CNN inference, by network size.

Reads the JSON that ``benchmarks/bench_learn.py --json`` writes (through
:func:`hpcnet.analysis.timing.load_timing`): per lattice size, the solve time and, for
the matrix CNN (fixed-size and native input), the lattice CNN (when timed) and
the image CNN, the time of one
network alone (solid) and per network within a batch (dashed).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hpcnet.analysis.timing import largest_ratios, series
from hpcnet.figures.style import new_figure

#: Figure size in inches.
TIMING_SIZE = (8.0, 4.2)
#: Colour of each timed path.
PATH_COLORS = {"solve": "black", "matrix_fixed": "tab:blue", "matrix_native": "tab:cyan",
               "lattice": "tab:green", "image": "tab:orange"}


def _path_labels(meta: dict) -> dict[str, str]:
    side, px = meta["matrix_size"], meta["image_size"]
    return {"matrix_fixed": f"matrix CNN ({side}² input)",
            "matrix_native": "matrix CNN (native 2N×2N)",
            "lattice": "lattice CNN (D on the lattice)",
            "image": f"image CNN ({px} px, with rendering)"}


def timing_figure(timing: dict) -> Figure:
    """Fig. 5d: ms per network against the node count N (log y), from a timing dict.

    The title gives, at the largest N, the time of the solve and of the image CNN
    divided by the fixed-size matrix CNN's (batch 1 | batched).
    """
    meta = timing["metadata"]
    n_nodes = np.array([r["n_nodes"] for r in timing["records"]], dtype=float)
    fig = new_figure(*TIMING_SIZE)
    ax = fig.subplots()
    ax.plot(n_nodes, 1e3 * np.array(series(timing, "solve")), "s-",
            color=PATH_COLORS["solve"], label="PETSc solve")
    for name, label in _path_labels(meta).items():
        if np.all(np.isnan(series(timing, name))):
            continue  # not timed (a file written before this path)
        for key, style, suffix in (("single_s", "o-", "batch 1"),
                                   ("batched_s", "o--", f"batch {meta['batch']}")):
            ax.plot(n_nodes, 1e3 * np.array(series(timing, name, key)), style,
                    color=PATH_COLORS[name], label=f"{label}, {suffix}")
    ax.set_yscale("log")
    ax.set_xlabel("nodes N")
    ax.set_ylabel("time per network [ms]")
    r = largest_ratios(timing)
    ax.set_title(f"d  N = {r['n_nodes']}, time / matrix CNN's (batch 1 | {meta['batch']}):\n"
                 f"solve {_ratio(r, 'solve')}, image CNN {_ratio(r, 'image')}",
                 fontsize="medium")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0),
              title=f"CNNs on {meta['device']}, {meta['threads']} CPU thread(s)",
              title_fontsize="small")
    return fig


def _ratio(ratios: dict, what: str) -> str:
    """'a | b' for the batch-1 and batched ratios of ``what``."""
    return (f"{ratios[f'{what}_over_matrix_single']:.3g} | "
            f"{ratios[f'{what}_over_matrix_batched']:.3g}")
