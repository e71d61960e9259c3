"""What an ensemble figure draws: the kinds and size asked for, checked against the file.

Every ensemble figure (:mod:`~hpcnet.figures.networks`, :mod:`~hpcnet.figures.trajectory`,
:mod:`~hpcnet.figures.bonds`, :mod:`~hpcnet.figures.reach`) picks its data here, so a kind
or size that the file does not hold fails the same way everywhere: with an
:class:`~hpcnet.errors.HpcnetError` naming it and what the file does hold.
"""

from __future__ import annotations

from hpcnet.ensemble.results import EnsembleResults
from hpcnet.errors import HpcnetError
from hpcnet.figures import style

#: The paper's order of the network kinds (Figs. 1 and 2); other kinds follow by name.
KIND_ORDER = tuple(style.KIND_COLORS)


def _listing(values) -> str:
    return ", ".join(str(v) for v in values) or "none"


def kinds(results: EnsembleResults, wanted: list[str] | None = None) -> list[str]:
    """The kinds to draw: ``wanted`` (checked), else every kind with finished chains.

    The default is in the paper's order tri, delaunay, packing.
    """
    present = results.values("kind")
    if not present:
        raise HpcnetError(f"{results.file}: no finished chains to plot")
    if wanted is None:
        return sorted(present, key=lambda k: (KIND_ORDER.index(k) if k in KIND_ORDER
                                              else len(KIND_ORDER), k))
    if not wanted:
        raise HpcnetError("no kinds selected")
    missing = [k for k in wanted if k not in present]
    if missing:
        raise HpcnetError(f"{results.file}: no finished chains of kind {_listing(missing)} "
                          f"(the file has {_listing(present)})")
    return list(wanted)


def size(results: EnsembleResults, wanted: int | None = None) -> int:
    """The linear size to draw: ``wanted`` (checked), else the largest with finished chains."""
    present = results.values("size")
    if not present:
        raise HpcnetError(f"{results.file}: no finished chains to plot")
    if wanted is None:
        return int(present[-1])
    if wanted not in present:
        raise HpcnetError(f"{results.file}: no finished chains of size L={wanted} "
                          f"(the file has L = {_listing(present)})")
    return int(wanted)


def tuning(results: EnsembleResults, size_wanted: int | None = None,
           kinds_wanted: list[str] | None = None) -> tuple[list[str], int]:
    """Kinds and size of a tuning figure (Figs. 1f-h, 2): one network per kind tuned both ways.

    Parameters
    ----------
    results : EnsembleResults
    size_wanted : int, optional
        Linear size L (default: the largest in the file).
    kinds_wanted : list of str, optional
        Rows or panels (default: every kind in the file, tri, delaunay, packing).

    The seed of each network is chosen by
    :meth:`~hpcnet.ensemble.results.EnsembleResults.tuning_pair` (default: the
    smallest seed tuned both ways).
    """
    return kinds(results, kinds_wanted), size(results, size_wanted)


def target_color(target: float) -> str:
    """Colour of a tuning direction: ν decreased (target < 0), increased (> 0), or 0 (grey)."""
    if target < 0:
        return style.TARGET_COLORS["negative"]
    if target > 0:
        return style.TARGET_COLORS["positive"]
    return "tab:gray"
