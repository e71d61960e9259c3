"""``hpcnet bonds``: bond-level response statistics of one network (paper Fig. 1i-j)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hpcnet.cli.common import describe, world
from hpcnet.cli.options import FILE, check_output, force_option, json_option
from hpcnet.network import H5_GROUP, Network, require_bonds


@click.command("bonds")
@click.argument("network", type=FILE)
@click.option("-o", "--output", type=FILE, default=None,
              help="Write every bond's point to this HDF5 file (layout below)  [default: none]")
@force_option()
@json_option("Print one JSON object (summary, no per-bond points) instead of a table.")
def command(network, output, force, as_json):
    """Bond elongations of NETWORK under the x- and y-loads, σ² and quadrant shares.

    Each bond is a point (elongation under the x-load / that load's eps_xx,
    elongation under the y-load / its eps_yy). Printed: sigma^2 = mean
    |p - mean p|^2 and how many points lie in each quadrant (I+III: both
    elongations of one sign, as in auxetic networks; II+IV: opposite signs).
    Points with a coordinate within 1e-9 mean bond lengths of zero count as on
    an axis, in no quadrant (a perfect lattice leaves its +-60 degree bonds
    unstretched under the x-load). Runs on every MPI rank given, sharing the
    solves; rank 0 prints and writes. PETSc options: -elastic_*.

    \b
    HDF5 layout of -o (M bonds):
      /          attrs: hpcnet_version, network_file, sigma2, quadrants (I..IV),
                 on_axes, fraction_13, fraction_24, petsc_options (JSON)
      /network   the analysed network (same layout as `generate`)
      /points    (M, 2)  p_b; row b belongs to /network/bonds[b]
    """
    from hpcnet.mechanics.bond_statistics import bond_statistics

    if output is not None:
        check_output(output, force)
    net = require_bonds(Network.load(network), str(network))
    comm = world()
    stats = bond_statistics(net, comm)
    if comm.getRank() != 0:
        return
    if output is not None:
        _write_h5(output, network, net, stats)
    if as_json:
        click.echo(json.dumps({"network": str(network), "kind": net.kind, "size": net.size,
                               "seed": net.seed, "nodes": net.n_nodes, **stats.as_dict()}))
        return
    n = len(stats.points)
    q1, q2, q3, q4 = stats.quadrants
    click.echo(f"{network}: {describe(net)}")
    click.echo(f"  sigma^2 = {stats.sigma2:.6e}   mean point = "
               f"({stats.points[:, 0].mean():+.6f}, {stats.points[:, 1].mean():+.6f})")
    click.echo(f"  quadrants I {q1}, II {q2}, III {q3}, IV {q4}, on an axis {stats.on_axes} "
               f"(of {n} bonds)")
    click.echo(f"  I+III {stats.fraction_13:.4f}   II+IV {stats.fraction_24:.4f}   "
               f"axes {stats.fraction_axes:.4f}")
    if output is not None:
        click.echo(f"  written to {output}")


def _write_h5(path: Path, network: Path, net: Network, stats) -> None:
    from hpcnet import __version__
    from hpcnet.cli.modes import atomic_h5
    from hpcnet.tools.petsc_env import options_snapshot

    with atomic_h5(path) as fh:
        fh.attrs.update({
            "hpcnet_version": __version__, "network_file": str(network),
            "sigma2": stats.sigma2, "quadrants": stats.quadrants, "on_axes": stats.on_axes,
            "fraction_13": stats.fraction_13, "fraction_24": stats.fraction_24,
            "petsc_options": json.dumps(options_snapshot()),
        })
        net.write_h5(fh.create_group(H5_GROUP))
        fh["points"] = stats.points
