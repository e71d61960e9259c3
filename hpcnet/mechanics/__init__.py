"""The physics of one network: stiffness, rigidity, elastic response, ν, normal modes.

``stiffness`` builds K (= the dynamical matrix) and its rigid modes; ``strain`` fits
the affine strain of a displacement field; ``rigidity`` counts extra zero modes;
``elastic`` solves the uniaxial loads with PETSc and gives ν; ``modes`` extracts
low modes with SLEPc; ``mechanism`` decomposes ν over the modes (weights, ν', ν̄',
ν̂₂); ``bond_statistics`` gives the bond-level picture (σ², quadrants). The
conventions are in docs/physics.md.
"""

from hpcnet.tools.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "stiffness_matrix": ".stiffness", "rigid_modes": ".stiffness",
    "affine_strain": ".strain", "poisson_of_strain": ".strain",
    "count_zero_modes": ".rigidity",
    "ElasticSolver": ".elastic", "PoissonResult": ".elastic", "poisson_ratio": ".elastic",
    "uniaxial_load": ".elastic",
    "Modes": ".modes", "lowest_modes": ".modes", "all_modes": ".modes",
    "Mechanism": ".mechanism", "analyse": ".mechanism",
    "BondStatistics": ".bond_statistics", "bond_statistics": ".bond_statistics",
})
