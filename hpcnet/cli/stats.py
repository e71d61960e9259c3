"""``hpcnet stats``: per kind × size × target statistics of an ensemble."""

from __future__ import annotations

import math
from pathlib import Path

import click


@click.command("stats")
@click.argument("ensemble", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the table to this CSV file.")
@click.option("--sigma-csv", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the pooled σ²-against-ν points (paper Fig. 1j) to this CSV file.")
@click.option("--tolerance", type=click.FloatRange(min=0.0), default=0.05,
              help="A chain reached its target when |ν − ν*| is below this.")
def command(ensemble, csv_path, sigma_csv, tolerance):
    """Statistics of ENSEMBLE (finished, interrupted or still running).

    Per kind × size × target: tasks, done, failed, missing; mean ± std and
    extremes of the final ν and of |ν_x − ν_y|; the fraction of chains within
    --tolerance of the target; removed fraction of bonds; Δz; mean wall time.
    """
    from hpcnet.ensemble.stats import load_tasks, sigma_points, summarize, write_csv
    from hpcnet.tools.lock import holder

    settings, columns = load_tasks(ensemble)
    rows = summarize(columns, tolerance)
    header = (f"{'kind':<9}{'L':>4}{'target':>8}{'done':>10}{'nu mean±std':>17}"
              f"{'nu min..max':>17}{'|nux-nuy|':>10}{'reached':>8}{'removed':>8}"
              f"{'dz':>7}{'time[s]':>9}")
    click.echo(header)
    for r in rows:
        counts = f"{r['done']}/{r['tasks']}"
        if math.isnan(r["nu_mean"]):
            click.echo(f"{r['kind']:<9}{r['size']:>4}{r['target']:>+8.2f}{counts:>10}"
                       f"{'(no finished chain)':>34}")
            continue
        click.echo(
            f"{r['kind']:<9}{r['size']:>4}{r['target']:>+8.2f}{counts:>10}"
            f"{r['nu_mean']:>+10.3f}±{r['nu_std']:<6.3f}"
            f"{r['nu_min']:>+8.3f}..{r['nu_max']:<+7.3f}{r['aniso_mean']:>10.3f}"
            f"{r['reached']:>8.0%}{r['removed_fraction']:>8.1%}{r['dz']:>+7.2f}"
            f"{r['wall_time']:>9.1f}")
    total = sum(r["tasks"] for r in rows)
    done = sum(r["done"] for r in rows)
    failed = sum(r["failed"] for r in rows)
    missing = total - done - failed
    click.echo(f"{done} of {total} tasks done, {failed} failed, {missing} missing")
    if failed:
        for kind, size, seed, target, msg in zip(columns["kind"], columns["size"],
                                                 columns["seed"], columns["target"],
                                                 columns["message"], strict=True):
            if msg:
                click.echo(f"  failed: {kind} L={size} seed={seed} target={target:+g}: {msg}")
    running = holder(ensemble)
    if running:
        click.echo(f"  the run is still going ({running}): these are its results so far")
    elif missing:
        click.echo(f"  the run is unfinished: resume it with "
                   f"`hpcnet anneal --resume -o {ensemble}`")
    if csv_path:
        write_csv(csv_path, rows)
    if sigma_csv:
        write_csv(sigma_csv, sigma_points(columns))
