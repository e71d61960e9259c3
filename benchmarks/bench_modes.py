"""Lowest normal modes: SLEPc (hpcnet.mechanics.modes.lowest_modes) against dense numpy.linalg.eigh.

Side by side on the same stiffness matrix, one BLAS thread, one MPI rank:
SLEPc's k lowest non-rigid modes (shift-and-invert, rigid modes deflated,
including assembly and factorisation) against the full dense spectrum of K
(numpy.linalg.eigh, the baseline, run where it fits: L <= --dense-max) and,
for reference, scipy.sparse.linalg.eigsh in shift-invert mode. Each time is
the best of --repeat runs (dense: one run). The lowest k eigenvalues of the
methods are checked to agree.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_modes.py [--sizes 32 64 128] [-k 20]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

from hpcnet.generators import generate  # noqa: E402
from hpcnet.mechanics.modes import lowest_modes  # noqa: E402
from hpcnet.mechanics.stiffness import stiffness_matrix  # noqa: E402


def best_of(repeat: int, fn):
    """(smallest wall time, last result) of ``repeat`` calls."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def dense_lowest(net, k: int) -> np.ndarray:
    """The k lowest non-rigid eigenvalues from the full dense spectrum of K."""
    return np.linalg.eigh(stiffness_matrix(net).toarray())[0][3:3 + k]


def scipy_lowest(net, k: int) -> np.ndarray:
    """The k lowest non-rigid eigenvalues from scipy's ARPACK in shift-invert mode."""
    K = stiffness_matrix(net).tocsc()
    sigma = -1e-6 * K.diagonal().mean()
    values = spla.eigsh(K, k=k + 3, sigma=sigma, which="LM", return_eigenvectors=False)
    return np.sort(values)[3:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("-k", type=int, default=20, help="modes to compute (default 20)")
    parser.add_argument("--kind", default="tri", choices=["tri", "delaunay"])
    parser.add_argument("--dense-max", type=int, default=64,
                        help="largest L for the dense baseline (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per sparse method")
    args = parser.parse_args()

    what = "tri networks, distortion 0.3" if args.kind == "tri" else "delaunay networks"
    print(f"{what}, k = {args.k}, 1 rank, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"{'L':>5} {'2N':>7} {'SLEPc [s]':>10} {'eigh [s]':>10} {'eigh/SLEPc':>11} "
          f"{'eigsh [s]':>10} {'eigsh/SLEPc':>12} {'max rel diff':>13}")
    for L in args.sizes:
        options = {"distortion": 0.3} if args.kind == "tri" else {}
        net = generate(args.kind, L, 0, **options)
        t_slepc, modes = best_of(args.repeat, lambda net=net: lowest_modes(net, args.k))
        t_eigsh, reference = best_of(args.repeat, lambda net=net: scipy_lowest(net, args.k))
        dense = "-"
        ratio = "-"
        if L <= args.dense_max:
            t_dense, reference = best_of(1, lambda net=net: dense_lowest(net, args.k))
            dense, ratio = f"{t_dense:10.3f}", f"{t_dense / t_slepc:10.1f}x"
        diff = np.max(np.abs(modes.omega2 - reference) / reference)
        print(f"{L:5d} {net.n_dof:7d} {t_slepc:10.3f} {dense:>10} {ratio:>11} "
              f"{t_eigsh:10.3f} {t_eigsh / t_slepc:11.1f}x {diff:13.1e}", flush=True)


if __name__ == "__main__":
    main()
