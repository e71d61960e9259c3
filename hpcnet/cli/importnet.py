"""``hpcnet import``: check a network made elsewhere and store it in hpcnet's format."""

from __future__ import annotations

import click

from hpcnet.cli.common import describe
from hpcnet.cli.options import FILE, check_output, force_option
from hpcnet.network import Network


@click.command("import")
@click.argument("source", type=FILE)
@click.option("-o", "--output", type=FILE, required=True,
              help="Output file (.h5 or .npz).")
@force_option()
def command(source, output, force):
    """Read SOURCE (HDF5 or npz with positions, bonds, left/right/bottom/top), check it, save it.

    SOURCE holds `positions` (N×2), `bonds` (M×2 node indices) and the boundary
    sets `left`, `right`, `bottom`, `top` (at the top level or in a group
    `boundary`); `stiffness` (M) is optional (default 1). Every defect
    (indices out of range, self or duplicate bonds, non-finite coordinates,
    empty boundary sets) is reported by name.
    """
    check_output(output, force)
    net = Network.load(source)
    net.save(output)
    click.echo(f"{output}: {describe(net)}")
