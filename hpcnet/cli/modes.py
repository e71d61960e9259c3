"""``hpcnet modes``: low normal modes and how they make up the load responses (Fig. 4)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
from pathlib import Path

import click
import numpy as np

from hpcnet.cli.common import describe, world
from hpcnet.cli.options import FILE, check_output, force_option, json_option
from hpcnet.network import H5_GROUP, Network, require_bonds
from hpcnet.tools.atomic import atomic_path

log = logging.getLogger("hpcnet")

#: Above this many modes the table shows only the modes of largest weight.
TABLE_ROWS = 20
#: Below this captured weight the computed modes miss part of a response.
CAPTURE_WARNING = 0.9


@click.command("modes")
@click.argument("network", type=FILE)
@click.option("-k", "--k", "k", type=click.IntRange(min=1), default=None,
              help="Number of lowest non-rigid modes to compute with SLEPc  [default: 20]")
@click.option("--all", "full", is_flag=True,
              help="Compute all 2N-3 non-rigid modes with a dense eigensolver instead "
                   "(small networks: memory (2N)^2, time (2N)^3).")
@click.option("-o", "--output", type=FILE, default=None,
              help="Write modes, weights and decompositions to this HDF5 file "
                   "(layout below)  [default: none]")
@force_option()
@json_option("Print one JSON object (no mode vectors) instead of the summary.")
def command(network, k, full, output, force, as_json):
    """Lowest normal modes of NETWORK and the x-/y-load responses on them.

    For each load: the weight |C_i|^2 of every computed mode, the weight they
    capture together (near 1 when k suffices), each mode's nu'_x, nu'_y, the
    two-mode estimate nu-bar' (paper Fig. 4d) and nu_x, nu_y rebuilt from the
    computed modes (exact for --all). Runs on every MPI rank given, sharing one
    eigenproblem; rank 0 prints and writes. SLEPc/PETSc options reach the
    eigensolver under the prefix -modes_ (e.g. -modes_eps_type lobpcg,
    -modes_st_type shift, -modes_eps_tol 1e-8) and the elastic solves under
    -elastic_.

    \b
    HDF5 layout of -o (k modes, N nodes, DOFs interleaved x0, y0, x1, ...):
      /                attrs: hpcnet_version, network_file, k, complete,
                       nu, nu_x, nu_y, two_mode (nu-bar'), truncated,
                       solver (JSON), petsc_options (JSON)
      /network         the analysed network (same layout as `generate`)
      /modes/omega2    (k,)      eigenvalues omega^2 of D = K, ascending
      /modes/omega     (k,)      frequencies
      /modes/vectors   (k, 2N)   row i: orthonormal mode phi_i
      /modes/strain    (k, 2, 2) affine strain of each mode
      /response/{x,y}/displacement  (2N,)  minimum-norm response u
      /response/{x,y}/coefficients  (k,)   C_i = phi_i . u/|u|
      /response/{x,y}/weights       (k,)   |C_i|^2
      /response/{x,y}/nu_prime      (k,)   nu'_x (resp. nu'_y) of each mode
      /response/{x,y}/truncated     (k,)   nu_x (nu_y) from the n lowest modes
      /response/{x,y} attrs: nu, captured, two_mode, top2, exact_two_mode (nu_hat2),
                       strain_top2 (its two modes),
                       modes_for_90 (fewest modes holding 90%; -1 if k too small)
    """
    from hpcnet.mechanics.elastic import ElasticSolver
    from hpcnet.mechanics.mechanism import mechanism
    from hpcnet.mechanics.modes import all_modes, lowest_modes

    if full and k is not None:
        raise click.UsageError("--all computes every mode; drop -k")
    k = 20 if k is None else k
    if output is not None:
        check_output(output, force)
    net = require_bonds(Network.load(network), str(network))
    comm = world()
    log.info("%s: %s", network, describe(net))
    with ElasticSolver(net, comm) as solver:
        u = {axis: solver.response(axis) for axis in ("x", "y")}
    if full:
        log.info("all %d non-rigid modes, dense eigensolver", net.n_dof - 3)
        modes = all_modes(net, comm)
    else:
        log.info("%d lowest modes with SLEPc on %d rank(s)", k, comm.getSize())
        modes = lowest_modes(net, k, comm)
    mech = mechanism(net.positions, modes, u["x"], u["y"])
    if comm.getRank() != 0:
        return
    for load in (mech.x, mech.y):
        if load.captured < CAPTURE_WARNING:
            log.warning("the %d computed modes hold only %.1f%% of the %s-load response; "
                        "raise -k for a faithful decomposition",
                        modes.k, 100 * load.captured, load.axis)
    if output is not None:
        write_h5(output, network, net, modes, mech, u)
    if as_json:
        click.echo(json.dumps(summary(network, net, modes, mech)))
    else:
        _print_summary(network, net, modes, mech)
        if output is not None:
            click.echo(f"  written to {output}")


def _number(value) -> float | None:
    """A float for JSON: inf and nan become None."""
    value = float(value)
    return value if math.isfinite(value) else None


def _numbers(values) -> list:
    return [_number(v) for v in np.asarray(values).ravel()]


def summary(network: Path, net: Network, modes, mech) -> dict:
    """Everything but the vectors, as JSON-ready values."""
    from hpcnet.mechanics.mechanism import modes_for_fraction

    out = {"network": str(network), "kind": net.kind, "size": net.size, "seed": net.seed,
           "nodes": net.n_nodes, "bonds": net.n_bonds, "k": modes.k,
           "complete": modes.complete, "solver": modes.solver,
           "nu": mech.nu, "two_mode": _number(mech.two_mode),
           "exact_two_mode": _number(mech.exact_two_mode),
           "truncated": _number(mech.truncated), "omega": _numbers(modes.omega)}
    for load in (mech.x, mech.y):
        out[load.axis] = {
            "nu": load.nu, "two_mode": _number(load.two_mode), "top2": load.top2.tolist(),
            "exact_two_mode": _number(load.exact_two_mode),
            "strain_top2": load.strain_top2.tolist(),
            "captured": load.captured, "truncated": _number(load.truncated[-1]),
            "modes_for_90": modes_for_fraction(load.weights, 0.9),
            "weights": _numbers(load.weights), "nu_prime": _numbers(load.nu_prime),
        }
    return out


def _print_summary(network: Path, net: Network, modes, mech) -> None:
    shown = np.arange(modes.k)
    if modes.k > TABLE_ROWS:
        heaviest = np.argsort(np.maximum(mech.x.weights, mech.y.weights))[::-1]
        shown = np.sort(heaviest[:TABLE_ROWS])
    what = "all" if modes.complete else f"the {modes.k} lowest"
    click.echo(f"{network}: {describe(net)}")
    click.echo(f"  {what} non-rigid modes ({modes.solver['method']}); "
               + ("every mode shown" if len(shown) == modes.k
                  else f"the {len(shown)} of largest weight shown"))
    click.echo(f"  {'i':>5} {'omega':>12} {'|C_x|^2':>10} {'|C_y|^2':>10} "
               f"{'nu_x_prime':>11} {'nu_y_prime':>11}")
    for i in shown:
        click.echo(f"  {i:5d} {modes.omega[i]:12.6e} {mech.x.weights[i]:10.6f} "
                   f"{mech.y.weights[i]:10.6f} {mech.x.nu_prime[i]:+11.4f} "
                   f"{mech.y.nu_prime[i]:+11.4f}")
    for load in (mech.x, mech.y):
        a = load.axis
        top = ", ".join(str(i) for i in load.top2)
        strain_top = ", ".join(str(i) for i in load.strain_top2)
        click.echo(f"  {a}-load: nu_{a} = {load.nu:+.8f}  captured weight {load.captured:.6f}  "
                   f"top-2 modes {top} -> nu_bar'_{a} = {load.two_mode:+.6f}  "
                   f"top-2 strain modes {strain_top} -> nu_hat2_{a} = "
                   f"{load.exact_two_mode:+.6f}  truncated nu_{a} = {load.truncated[-1]:+.8f}")
    click.echo(f"  nu = {mech.nu:+.8f}   nu_bar' = {mech.two_mode:+.6f}   "
               f"nu_hat2 = {mech.exact_two_mode:+.6f}   truncated nu = {mech.truncated:+.8f}")


@contextlib.contextmanager
def atomic_h5(path: Path):
    """An h5py file open for writing under a temporary name, renamed to ``path`` on success."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as fh:
        yield fh


def write_h5(path: Path, network: Path, net: Network, modes, mech, u: dict) -> None:
    """Write the layout documented in ``hpcnet modes --help`` (serial; rank 0)."""
    from hpcnet import __version__
    from hpcnet.mechanics.mechanism import modes_for_fraction
    from hpcnet.tools.petsc_env import options_snapshot

    with atomic_h5(path) as fh:
        fh.attrs.update({
            "hpcnet_version": __version__, "network_file": str(network), "k": modes.k,
            "complete": modes.complete, "nu": mech.nu, "nu_x": mech.x.nu, "nu_y": mech.y.nu,
            "two_mode": mech.two_mode, "exact_two_mode": mech.exact_two_mode,
            "truncated": mech.truncated,
            "solver": json.dumps(modes.solver), "petsc_options": json.dumps(options_snapshot()),
        })
        net.write_h5(fh.create_group(H5_GROUP))
        group = fh.create_group("modes")
        group["omega2"] = modes.omega2
        group["omega"] = modes.omega
        group["vectors"] = modes.vectors.T
        group["strain"] = mech.strains
        for load in (mech.x, mech.y):
            group = fh.create_group(f"response/{load.axis}")
            group["displacement"] = u[load.axis]
            group["coefficients"] = load.coefficients
            group["weights"] = load.weights
            group["nu_prime"] = load.nu_prime
            group["truncated"] = load.truncated
            needed = modes_for_fraction(load.weights, 0.9)
            group.attrs.update({"nu": load.nu, "captured": load.captured,
                                "two_mode": load.two_mode, "top2": load.top2,
                                "exact_two_mode": load.exact_two_mode,
                                "strain_top2": load.strain_top2,
                                "modes_for_90": -1 if needed is None else needed})
