"""``hpcnet stats``: per kind × size × target × method statistics of an ensemble."""

from __future__ import annotations

import math
from dataclasses import asdict

import click

from hpcnet.cli.options import FILE


def _fmt(value: float, spec: str, width: int, align: str = ">") -> str:
    """``value`` formatted by ``spec``, aligned in ``width``; '-' when absent (NaN)."""
    return f"{'-' if math.isnan(value) else format(value, spec):{align}{width}}"


@click.command("stats")
@click.argument("ensemble", type=FILE)
@click.option("--csv", "csv_path", type=FILE,
              help="Also write the table to this CSV file.")
@click.option("--compare-csv", type=FILE,
              help="Write the SA-against-greedy table to this CSV file (an ensemble of both "
                   "methods).")
@click.option("--sigma-csv", type=FILE,
              help="Write the pooled σ²-against-ν points (paper Fig. 1j) to this CSV file.")
@click.option("--tolerance", type=click.FloatRange(min=0.0), default=0.05, show_default=True,
              help="A chain reached its target when |ν − ν*| is at most this (and its answer "
                   "is a material).")
@click.option("--affine-floor", type=click.FloatRange(0.0, 1.0), default=None,
              help="An answer is a material when its affine fraction a_min is at least this.  "
                   "[default: the run's --affine-floor, at least 0.5]")
def command(ensemble, csv_path, compare_csv, sigma_csv, tolerance, affine_floor):
    """Statistics of ENSEMBLE (finished, interrupted or still running).

    Per kind × size × target × method: tasks, done, failed, missing; mean ± std
    and extremes of the final ν and of |ν_x − ν_y|; the share of chains that
    reached the target (within --tolerance, as a material); the share of answers
    that are materials (a_min ≥ --affine-floor), their median a_min and median
    |ν − ν_boundary|; the median removed fraction of bonds, the mean coordination
    z and the mean wall time. An ensemble of both methods (`anneal --methods
    sa,greedy`) also gets SA beside greedy per kind × size × target.
    Files of layout version 1 have no a_min: '-' there, and reach counts ν only.
    """
    from hpcnet.ensemble.stats import (
        compare_methods,
        load_tasks,
        material_floor,
        sigma_points,
        summarize,
        write_csv,
    )
    from hpcnet.errors import HpcnetError
    from hpcnet.tools.lock import holder

    settings, columns = load_tasks(ensemble)
    floor = material_floor(asdict(settings.anneal)) if affine_floor is None else affine_floor
    rows = summarize(columns, tolerance, floor)
    click.echo(f"{'kind':<9}{'L':>4}{'target':>8}{'method':>7}{'done':>8}{'nu mean±std':>17}"
               f"{'nu min..max':>17}{'|nux-nuy|':>10}{'reached':>8}{'material':>9}"
               f"{'a_min':>7}{'|nu-nub|':>9}{'removed':>8}{'z':>6}{'time[s]':>9}")
    for r in rows:
        head = (f"{r['kind']:<9}{r['size']:>4}{r['target']:>+8.2f}{r['method']:>7}"
                f"{str(r['done']) + '/' + str(r['tasks']):>8}")
        if math.isnan(r["nu_mean"]):
            click.echo(f"{head}{'(no finished chain)':>34}")
            continue
        click.echo(
            f"{head}{r['nu_mean']:>+10.3f}±{r['nu_std']:<6.3f}"
            f"{r['nu_min']:>+8.3f}..{r['nu_max']:<+7.3f}{r['aniso_mean']:>10.3f}"
            f"{r['reached']:>8.0%}{_fmt(r['material'], '.0%', 9)}"
            f"{_fmt(r['a_min_median'], '.2f', 7)}{_fmt(r['boundary_gap'], '.3f', 9)}"
            f"{r['removed_median']:>8.1%}{r['z']:>6.2f}{r['wall_time']:>9.1f}")
    pairs = compare_methods(rows)
    if pairs:
        click.echo("\nSA against greedy (medians of the removed fraction and a_min; means of z "
                   "and time):")
        click.echo(f"{'kind':<9}{'L':>4}{'target':>8}{'reached sa/gr':>15}"
                   f"{'removed sa/gr':>17}{'ratio':>7}{'z sa/gr':>13}{'a_min sa/gr':>13}"
                   f"{'time sa/gr [s]':>17}")
        for p in pairs:
            click.echo(
                f"{p['kind']:<9}{p['size']:>4}{p['target']:>+8.2f}"
                f"{p['reached_sa']:>8.0%}/{p['reached_greedy']:<6.0%}"
                f"{p['removed_median_sa']:>9.1%}/{p['removed_median_greedy']:<7.1%}"
                f"{_fmt(p['removed_ratio'], '.2f', 7)}"
                f"{p['z_sa']:>7.2f}/{p['z_greedy']:<5.2f}"
                f"{_fmt(p['a_min_median_sa'], '.2f', 7)}/"
                f"{_fmt(p['a_min_median_greedy'], '.2f', 5, '<')}"
                f"{p['wall_time_sa']:>9.2f}/{p['wall_time_greedy']:<7.2f}")
    total = sum(r["tasks"] for r in rows)
    done = sum(r["done"] for r in rows)
    failed = sum(r["failed"] for r in rows)
    missing = total - done - failed
    click.echo(f"{done} of {total} tasks done, {failed} failed, {missing} missing; "
               f"reached: |ν − ν*| ≤ {tolerance:g} and a_min ≥ {floor:g}")
    if any(r["done"] and math.isnan(r["a_min_median"]) for r in rows):
        click.echo("  a_min is absent (a file of layout version 1): reach counts ν only there")
    if failed:
        for kind, size, seed, target, method, msg in zip(
                columns["kind"], columns["size"], columns["seed"], columns["target"],
                columns["method"], columns["message"], strict=True):
            if msg:
                click.echo(f"  failed: {kind} L={size} seed={seed} target={target:+g} {method}: "
                           f"{msg}")
    running = holder(ensemble)
    if running:
        click.echo(f"  the run is still going ({running}): these are its results so far")
    elif missing:
        click.echo(f"  the run is unfinished: resume it with "
                   f"`hpcnet anneal --resume -o {ensemble}`")
    if csv_path:
        write_csv(csv_path, rows)
    if compare_csv:
        if not pairs:
            raise HpcnetError(f"--compare-csv: {ensemble} has no kind × size × target with "
                              f"finished chains of both sa and greedy (`anneal --methods "
                              f"sa,greedy`)")
        write_csv(compare_csv, pairs)
    if sigma_csv:
        write_csv(sigma_csv, sigma_points(columns))
