"""``hpcnet poisson``: ν_x, ν_y and ν of one network from a PETSc solve."""

from __future__ import annotations

import json

import click

from hpcnet.cli.common import describe, world
from hpcnet.cli.options import FILE, json_option
from hpcnet.network import Network, require_bonds


@click.command("poisson")
@click.argument("network", type=FILE)
@json_option()
def command(network, as_json):
    """Poisson's ratio of NETWORK (an hpcnet file or a plain HDF5/npz, see `import`).

    Runs on every MPI rank given (`mpirun -n P hpcnet poisson ...` shares one
    solve); rank 0 prints. PETSc options reach the solver under the prefix
    -elastic_ (e.g. -elastic_ksp_type cg -elastic_pc_type gamg).
    """
    from hpcnet.mechanics.elastic import poisson_ratio
    from hpcnet.mechanics.strain import MATERIAL_FLOOR

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
    click.echo(f"  affine fraction a_x = {result.affine_x:.4f}, a_y = {result.affine_y:.4f}, "
               f"a_min = {result.a_min:.4f}"
               + ("" if result.a_min >= MATERIAL_FLOOR else
                  f"  (below {MATERIAL_FLOOR}: a near-mechanism, not a material response)"))
    click.echo(f"  boundary nu = {result.nu_boundary:+.6f} (nu_x {result.nu_boundary_x:+.6f}, "
               f"nu_y {result.nu_boundary_y:+.6f}; from the boundary sets' mean displacements)")
