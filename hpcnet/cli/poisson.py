"""``hpcnet poisson``: ν_x, ν_y and ν of one network from a PETSc solve."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hpcnet.cli.common import describe, world
from hpcnet.network import Network, require_bonds


@click.command("poisson")
@click.argument("network", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def command(network, as_json):
    """Poisson's ratio of NETWORK (an hpcnet file or a plain HDF5/npz, see `import`).

    Runs on every MPI rank given (`mpirun -n P hpcnet poisson ...` shares one
    solve); rank 0 prints. PETSc options reach the solver under the prefix
    -elastic_ (e.g. -elastic_ksp_type cg -elastic_pc_type gamg).
    """
    from hpcnet.mechanics.elastic import poisson_ratio

    net = require_bonds(Network.load(network), str(network))
    comm = world()
    result = poisson_ratio(net, comm)
    if comm.getRank() != 0:
        return
    if as_json:
        out = {"network": str(network), "kind": net.kind, "size": net.size, "seed": net.seed,
               "nodes": net.n_nodes, "bonds": net.n_bonds, **result.as_dict()}
        click.echo(json.dumps(out))
        return
    (exx, _), (_, eyy) = result.strain_x
    (fxx, _), (_, fyy) = result.strain_y
    click.echo(f"{network}: {describe(net)}")
    click.echo(f"  nu_x = {result.nu_x:+.10f}   x-load: eps_xx = {exx:.6e}, eps_yy = {eyy:.6e}")
    click.echo(f"  nu_y = {result.nu_y:+.10f}   y-load: eps_xx = {fxx:.6e}, eps_yy = {fyy:.6e}")
    click.echo(f"  nu   = {result.nu:+.10f}")
