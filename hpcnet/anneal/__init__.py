"""Pruning one network toward a target ν: the annealing (or greedy) chain and its fast evaluators.

``chain`` runs one chain (``settings``; ``records``: its checkpoint, result and
trajectory fields); ``constraints``
decides which bond toggles are allowed (degree, convex faces); ``bondsystem``,
``factor`` and ``incremental`` evaluate ν of a masked network, incrementally by
low-rank updates of one factorisation or by a fresh solve per proposal; ``margin``
decides the rigidity of such an update by inertia, without a solve.
"""

from hpcnet.tools.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "AnnealSettings": ".settings", "ChainResult": ".records", "ChainState": ".records",
    "StepInfo": ".records", "run_chain": ".chain", "energy": ".chain",
    "Constraints": ".constraints",
    "IncrementalPoisson": ".incremental", "FullPoisson": ".incremental",
})
