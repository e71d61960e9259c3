"""``hpcnet path``: one chain's tuning path from an ensemble, listed or as network files."""

from __future__ import annotations

import json
import math

import click

from hpcnet.anneal.settings import METHODS
from hpcnet.cli.options import FILE, check_output, force_option, json_option
from hpcnet.errors import HpcnetError

#: Columns of the table: (path key, header, format).
COLUMNS = (("step", "step", "d"), ("temperature", "T", ".3g"), ("nu", "nu", "+.4f"),
           ("nu_x", "nu_x", "+.4f"), ("nu_y", "nu_y", "+.4f"), ("sigma2", "sigma2", ".4f"),
           ("a_min", "a_min", ".3f"), ("bonds", "bonds", "d"))


def _row(results, kind, size, seed, target, method) -> int:
    """The one finished chain matching the options; HpcnetError if none or several."""
    rows = results.select(kind=kind, size=size, seed=seed, target=target,
                          method=method or results.primary_method)
    if len(rows) == 1:
        return int(rows[0])
    given = ", ".join(f"{name} {value}" for name, value in
                      (("kind", kind), ("size", size), ("seed", seed), ("target", target),
                       ("method", method or results.primary_method)) if value is not None)
    if not len(rows):
        raise HpcnetError(f"{results.file}: no finished chain with {given}")
    t = results.tasks
    found = "; ".join(f"--kind {t['kind'][r]} --size {t['size'][r]} --seed {t['seed'][r]} "
                      f"--target {t['target'][r]:g}" for r in rows[:4])
    more = f" and {len(rows) - 4} more" if len(rows) > 4 else ""
    raise HpcnetError(f"{results.file}: {len(rows)} finished chains with {given}: {found}{more}; "
                      f"give the options that pick one")


def _text(value, spec: str) -> str:
    return "-" if isinstance(value, float) and math.isnan(value) else format(value, spec)


@click.command("path")
@click.argument("ensemble", type=FILE)
@click.option("--kind", default=None, help="Kind of the chain  [default: any]")
@click.option("--size", type=int, default=None, help="Size L of the chain  [default: any]")
@click.option("--seed", type=int, default=None, help="Network seed of the chain  [default: any]")
@click.option("--target", type=float, default=None, help="Target ν* of the chain  [default: any]")
@click.option("--method", type=click.Choice(METHODS), default=None,
              help="Method of the chain  [default: sa when the file has it]")
@json_option("Print the snapshots as one JSON object (NaN as null) instead of a table.")
@click.option("-o", "--output", type=FILE, default=None,
              help="Write snapshot --snapshot as a network file (.h5 or .npz) that `poisson`, "
                   "`modes`, `bonds` and `anneal --network` read.")
@click.option("--snapshot", "k", type=int, default=None,
              help="Snapshot written by -o: 0 is the initial network, -1 the answer.")
@force_option()
def command(ensemble, kind, size, seed, target, method, as_json, output, k, force):
    """List the snapshots of one chain's tuning path in ENSEMBLE, or write one of them.

    The options pick one finished chain (they may be left out when one chain
    fits). A chain records its initial network, each state whose ν moved by
    --path-step (of `hpcnet anneal`) from the last snapshot, and its answer;
    each snapshot has its step (greedy removals, then proposals made), the
    temperature (- in the greedy phase), ν, ν_x, ν_y, σ², a_min and the bonds
    present.
    """
    from hpcnet.ensemble.results import EnsembleResults

    if output is not None and as_json:
        raise click.UsageError("give --json (list) or -o (write a snapshot), not both")
    if (output is None) != (k is None):
        raise click.UsageError("-o and --snapshot go together: -o FILE --snapshot K writes "
                               "snapshot K")
    if output is not None:
        check_output(output, force)
    with EnsembleResults(ensemble) as results:
        results.require_paths()
        row = _row(results, kind, size, seed, target, method)
        path = results.path(row)
        if output is not None:
            net = results.path_network(row, k)
            net.save(output)
            click.echo(f"wrote {output}: snapshot {k % len(path['nu'])} of "
                       f"{len(path['nu'])}, nu = {path['nu'][k]:+.4f}, {net.n_bonds} bonds")
            return
        t = results.tasks
        chain = {"ensemble": str(ensemble), "row": row, "kind": str(t["kind"][row]),
                 "size": int(t["size"][row]), "seed": int(t["seed"][row]),
                 "target": float(t["target"][row]), "method": str(t["method"][row])}
    names = [c[0] for c in COLUMNS]
    if as_json:
        snapshots = [{name: (None if math.isnan(v) else v) if isinstance(v, float) else v
                      for name, v in zip(names, values, strict=True)}
                     for values in zip(*(path[n].tolist() for n in names), strict=True)]
        click.echo(json.dumps({**chain, "snapshots": snapshots}))
        return
    click.echo(f"{ensemble}: {chain['kind']} L={chain['size']} seed={chain['seed']} "
               f"target {chain['target']:+g} ({chain['method']}): {len(path['nu'])} snapshots")
    click.echo("  ".join(f"{h:>9}" for h in ("k", *(c[1] for c in COLUMNS))))
    for i, values in enumerate(zip(*(path[n].tolist() for n in names), strict=True)):
        click.echo("  ".join(f"{v:>9}" for v in
                             (i, *(_text(v, c[2]) for v, c in zip(values, COLUMNS,
                                                                 strict=True)))))
