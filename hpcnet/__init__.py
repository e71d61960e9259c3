"""hpcnet: Poisson's ratio of 2D amorphous spring networks at ensemble scale.

The names a script needs are importable from here (lazily: importing
``hpcnet`` imports neither PETSc, MPI nor h5py)::

    from hpcnet import Network, generate, poisson_ratio, lowest_modes
    net = generate("tri", 16, seed=0, distortion=0.3)
    print(poisson_ratio(net).nu)

Subpackages: ``mechanics`` (one network's physics), ``anneal`` (one chain),
``ensemble`` (many chains on MPI ranks), ``analysis`` (survey, timing, report),
``learn`` (CNN surrogates), ``figures``, ``cli``, ``tools``. docs/architecture.md
has the map.
"""

from hpcnet.tools.lazy import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Network": ".network", "generate": ".generators",
    "poisson_ratio": ".mechanics.elastic", "ElasticSolver": ".mechanics.elastic",
    "lowest_modes": ".mechanics.modes",
    "run_chain": ".anneal.chain", "AnnealSettings": ".anneal.settings",
    "run_ensemble": ".ensemble.runner", "EnsembleResults": ".ensemble.results",
})
