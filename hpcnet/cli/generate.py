"""``hpcnet generate``: write one network."""

from __future__ import annotations

import click

from hpcnet.cli.common import describe
from hpcnet.cli.options import FILE, check_output, force_option
from hpcnet.generators import KINDS, generate


@click.command("generate")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="Network kind.")
@click.option("--size", "-L", type=click.IntRange(min=3), required=True,
              help="Linear size L: the network has about L×L nodes.")
@click.option("--seed", type=click.IntRange(min=0), default=0, help="Random seed.")
@click.option("--distortion", type=click.FloatRange(0.0, 1.0, max_open=True), default=None,
              help="tri only: node displacement r in lattice constants  [default: 0]")
@click.option("--packing-fraction", type=float, default=None,
              help="packing only: packing fraction the disks are jammed at "
                   "[default: the generator's, giving z ≈ 5]")
@click.option("-o", "--output", type=FILE, required=True,
              help="Output file (.h5 or .npz).")
@force_option()
def command(kind, size, seed, distortion, packing_fraction, output, force):
    """Generate a tri, delaunay or packing network, deterministic from its options."""
    if distortion is not None and kind != "tri":
        raise click.UsageError("--distortion applies to --kind tri only")
    if packing_fraction is not None and kind != "packing":
        raise click.UsageError("--packing-fraction applies to --kind packing only")
    check_output(output, force)
    net = generate(kind, size, seed, distortion=distortion, packing_fraction=packing_fraction)
    net.save(output)
    click.echo(f"{output}: {describe(net)}")
