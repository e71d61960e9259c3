"""ν of one network: hpcnet against the scripts a user could write instead, side by side.

* ``hpcnet``: :func:`hpcnet.poisson_ratio`, with its rigidity certificate (the
  Cholesky factorisation of the pinned K shifted by the zero-mode threshold).
* ``slepc``: hpcnet with the previous certificate (SLEPc's smallest eigenvalue
  on the factor of K, some 16 solves) and CHOLMOD's own settings, forced by
  ``-mat_cholmod_final_ll 0 -mat_cholmod_supernodal_switch 40``.
* ``bare``: a plain scipy script that certifies nothing: assemble K, pin
  three DOFs, ``scipy.sparse.linalg.splu``, solve the two loads, ν.
* ``cholmod``: the same script with CHOLMOD called directly (scikit-sparse),
  where it is installed.
* ``dense``: the paper-era ``numpy.linalg.solve`` on the pinned matrix (small L).

Times are the best of ``--repeats`` rounds in one process, the contenders
interleaved (in rotating order) so that a busy machine slows them alike; the
ratios are the median over rounds of each round's ratio, which a busy machine
disturbs less than a ratio of bests (dense apart, best of 3, no ratio).
The second table splits hpcnet's time: assembly (K, pinned K, PETSc wrap),
factorisation of the shifted pinned K (which is the certificate: no further
work is spent on it), and the solves (conjugate gradients on that factor, both
loads at once); ``no cert.`` is hpcnet asked not to certify (a plain
factorisation of K and two solves), so the certificate's marginal cost is
``hpcnet − no cert.``.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_poisson.py [--sizes 16,32,64,128]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from petsc4py import PETSc

from hpcnet.generators import generate
from hpcnet.mechanics.elastic import ElasticSolver, poisson_ratio, uniaxial_load
from hpcnet.mechanics.stiffness import (
    pinned_dofs,
    pinned_matrix,
    remove_rigid,
    rigid_modes,
    stiffness_matrix,
    to_petsc,
)
from hpcnet.mechanics.strain import affine_strain, poisson_of_strain

DENSE_MAX_SIZE = 32  # 2N = 2048; L = 64 takes seconds per ν


def bare_stiffness(net) -> sp.csr_matrix:
    """K = Bᵀ diag(k) B assembled the usual scipy way (COO of all bond blocks)."""
    e = net.unit_vectors()
    i, j = net.bonds[:, 0], net.bonds[:, 1]
    dofs = np.column_stack([2 * i, 2 * i + 1, 2 * j, 2 * j + 1])
    b = np.column_stack([-e, e])
    vals = net.stiffness[:, None, None] * b[:, :, None] * b[:, None, :]
    rows = np.repeat(dofs, 4, axis=1).ravel()
    cols = np.tile(dofs, (1, 4)).ravel()
    return sp.coo_matrix((vals.ravel(), (rows, cols)), shape=(net.n_dof, net.n_dof)).tocsr()


def bare_pinned(K: sp.csr_matrix, pinned: np.ndarray) -> sp.csr_matrix:
    """Pinned rows and columns replaced by the identity times the mean diagonal."""
    keep = np.ones(K.shape[0])
    keep[pinned] = 0.0
    D = sp.diags(keep)
    return (D @ K @ D + sp.diags(1.0 - keep) * K.diagonal().mean()).tocsc()


def script_nu(net, factorise) -> float:
    """ν as a plain script gets it: pinned K, one factorisation, two solves, projection."""
    pinned = pinned_dofs(net.positions)
    R = rigid_modes(net.positions)
    solve = factorise(bare_pinned(bare_stiffness(net), pinned))
    nus = []
    for axis in ("x", "y"):
        f = remove_rigid(uniaxial_load(net, axis), R)
        f[pinned] = 0.0
        u = remove_rigid(solve(f), R)
        nus.append(poisson_of_strain(affine_strain(net.positions, u), axis))
    return 0.5 * (nus[0] + nus[1])


def splu_nu(net) -> float:
    return script_nu(net, lambda A: spla.splu(A).solve)


def cholmod_nu(net) -> float:
    from sksparse.cholmod import cholesky

    return script_nu(net, cholesky)


def dense_nu(net) -> float:
    def factorise(A):
        dense = A.toarray()
        return lambda f: np.linalg.solve(dense, f)

    return script_nu(net, factorise)


def slepc_nu(net) -> float:
    """hpcnet with the previous, SLEPc certificate (see the module notes)."""
    opts = PETSc.Options()
    opts.setValue("slepccert_mat_cholmod_final_ll", False)
    opts.setValue("slepccert_mat_cholmod_supernodal_switch", 40)  # CHOLMOD's own default
    with ElasticSolver(net, prefix="slepccert_") as solver:
        return solver.poisson().nu


def no_certificate_nu(net) -> float:
    with ElasticSolver(net, check_rigidity=False) as solver:
        return solver.poisson().nu


def assembly(net) -> None:
    """The assembly part of ElasticSolver: K, pinned K, rigid modes, the PETSc wrap."""
    K = stiffness_matrix(net)
    rigid_modes(net.positions)
    Kp = pinned_matrix(K, pinned_dofs(net.positions))
    to_petsc(Kp, PETSc.COMM_SELF).destroy()


def factorised(net) -> ElasticSolver:
    return ElasticSolver(net)


def cholmod_available() -> bool:
    try:
        import sksparse.cholmod  # noqa: F401
    except ImportError:
        return False
    return True


def timings(contenders: dict, repeats: int) -> tuple[dict, dict]:
    """Each contender's times (one per round) and last value; rounds rotate the order."""
    names = list(contenders)
    times, value = {name: [] for name in names}, {}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            value[name] = contenders[name]()
            times[name].append(time.perf_counter() - t)
    return times, value


def split(net, repeats: int) -> dict:
    """hpcnet's time by phase (best of ``repeats`` each)."""
    best = dict.fromkeys(("assembly", "init", "solves"), np.inf)
    for _ in range(repeats):
        t = time.perf_counter()
        assembly(net)
        best["assembly"] = min(best["assembly"], time.perf_counter() - t)
        t = time.perf_counter()
        solver = factorised(net)
        best["init"] = min(best["init"], time.perf_counter() - t)
        t = time.perf_counter()
        solver.poisson()
        best["solves"] = min(best["solves"], time.perf_counter() - t)
        solver.destroy()
    return {"assembly": best["assembly"], "factor+cert": best["init"] - best["assembly"],
            "solves": best["solves"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="16,32,64,128",
                        help="comma-separated L (default: 16,32,64,128)")
    parser.add_argument("--repeats", type=int, default=9,
                        help="rounds per size (default: 9)")
    parser.add_argument("--distortion", type=float, default=0.3,
                        help="tri lattice distortion (default: 0.3)")
    args = parser.parse_args()
    poisson_ratio(generate("tri", 4, 0))  # PETSc start-up outside the timings
    sizes = [int(s) for s in args.sizes.split(",")]
    have_cholmod = cholmod_available()
    if not have_cholmod:
        print("(scikit-sparse is not installed: no direct-CHOLMOD column)")
    head = (f"{'L':>4} {'dofs':>6} {'hpcnet':>9} {'slepc':>9} {'bare':>9} {'cholmod':>9} "
            f"{'dense':>9} {'bare/hpc':>8} {'chol/hpc':>8} {'slepc/hpc':>9} {'max|dnu|':>9}")
    print("time per ν [s] (best of the rounds); ratios: median over rounds\n" + head)
    splits = {}
    for L in sizes:
        net = generate("tri", L, 0, distortion=args.distortion)
        contenders = {"hpcnet": lambda net=net: poisson_ratio(net).nu,
                      "slepc": lambda net=net: slepc_nu(net),
                      "bare": lambda net=net: splu_nu(net)}
        if have_cholmod:
            contenders["cholmod"] = lambda net=net: cholmod_nu(net)
        times, nu = timings(contenders, args.repeats)
        if L <= DENSE_MAX_SIZE:  # apart: its large arrays would slow the others' next run
            dense_times, nu_dense = timings({"dense": lambda net=net: dense_nu(net)}, 3)
            times, nu = {**times, **dense_times}, {**nu, **nu_dense}
        dnu = max(abs(v - nu["hpcnet"]) for v in nu.values())

        def cell(name, times=times):
            return f"{min(times[name]):>9.4f}" if name in times else f"{'-':>9}"

        def ratio(name, width, times=times):
            """Median over rounds of this round's time over hpcnet's (robust to load)."""
            if name not in times:
                return f"{'-':>{width}}"
            paired = np.median(np.divide(times[name], times["hpcnet"]))
            return f"{paired:>{width - 1}.2f}x"

        print(f"{L:>4} {net.n_dof:>6} {cell('hpcnet')} {cell('slepc')} {cell('bare')} "
              f"{cell('cholmod')} {cell('dense')} {ratio('bare', 8)} {ratio('cholmod', 8)} "
              f"{ratio('slepc', 9)} {dnu:>9.1e}", flush=True)
        nocert, _ = timings({"no cert.": lambda net=net: no_certificate_nu(net)}, args.repeats)
        splits[L] = {**split(net, args.repeats), "no cert.": min(nocert["no cert."])}
    print("\nhpcnet's time by phase [s] (best of each)")
    print(f"{'L':>4} {'assembly':>9} {'factor+cert':>11} {'solves':>9} {'no cert.':>9}")
    for L, s in splits.items():
        print(f"{L:>4} {s['assembly']:>9.4f} {s['factor+cert']:>11.4f} {s['solves']:>9.4f} "
              f"{s['no cert.']:>9.4f}")


if __name__ == "__main__":
    main()
