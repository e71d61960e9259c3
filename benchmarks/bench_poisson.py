"""ν of one network: hpcnet's PETSc path against a dense numpy solve, side by side.

The dense path solves the same pinned equations with ``numpy.linalg.solve``
(the paper-era approach) and projects out the rigid modes, giving the same ν.
Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_poisson.py [--sizes 12,16,...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hpcnet.generators import generate
from hpcnet.mechanics.elastic import poisson_ratio, uniaxial_load
from hpcnet.mechanics.stiffness import (
    pinned_dofs,
    pinned_matrix,
    remove_rigid,
    rigid_modes,
    stiffness_matrix,
)
from hpcnet.mechanics.strain import affine_strain, poisson_of_strain

DENSE_MAX_SIZE = 64  # 2N = 8192: a 0.5 GB dense matrix


def dense_nu(net) -> float:
    pinned = pinned_dofs(net.positions)
    Kp = pinned_matrix(stiffness_matrix(net), pinned).toarray()
    R = rigid_modes(net.positions)
    nus = []
    for axis in ("x", "y"):
        f = remove_rigid(uniaxial_load(net, axis), R)
        f[pinned] = 0.0
        u = remove_rigid(np.linalg.solve(Kp, f), R)
        nus.append(poisson_of_strain(affine_strain(net.positions, u), axis))
    return 0.5 * (nus[0] + nus[1])


def best_of(fn, repeats: int) -> tuple[float, float]:
    times, value = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="12,16,24,32,64,128")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    poisson_ratio(generate("tri", 4, 0))  # PETSc start-up outside the timings
    print(f"{'L':>5} {'dofs':>7} {'petsc [s]':>10} {'dense [s]':>10} {'ratio':>8} {'|dnu|':>9}")
    for L in map(int, args.sizes.split(",")):
        net = generate("tri", L, 0, distortion=0.3)
        t_petsc, res = best_of(lambda net=net: poisson_ratio(net), args.repeats)
        if L <= DENSE_MAX_SIZE:
            t_dense, nu = best_of(lambda net=net: dense_nu(net), 1 if L > 32 else args.repeats)
            print(f"{L:>5} {net.n_dof:>7} {t_petsc:>10.4f} {t_dense:>10.4f} "
                  f"{t_dense / t_petsc:>7.1f}x {abs(nu - res.nu):>9.1e}")
        else:
            print(f"{L:>5} {net.n_dof:>7} {t_petsc:>10.4f} {'(too big)':>10} {'-':>8} {'-':>9}")


if __name__ == "__main__":
    main()
