"""``hpcnet report``: the paper's claims beside what a run measured, as Markdown."""

from __future__ import annotations

import os
from pathlib import Path

import click

from hpcnet.cli.options import DIRECTORY, FILE
from hpcnet.errors import HpcnetError
from hpcnet.tools.atomic import write_text


@click.command("report")
@click.argument("ensemble", type=FILE)
@click.option("--run", "runs", multiple=True, type=DIRECTORY,
              help="A `hpcnet train` run directory (repeat for several; none: no CNN rows).")
@click.option("--timing", type=FILE, default=None,
              help="JSON of `benchmarks/bench_learn.py --json` (none: no speed rows).")
@click.option("--survey", type=FILE, default=None,
              help="Mode-survey CSV written by `hpcnet plot mechanism` or `plot all` "
                   "[default: survey ENSEMBLE now: every snapshot along its tuning paths, or "
                   "its initial and final networks for a file without paths]")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Survey at most this many chains, spread evenly  [default: all]")
@click.option("--snapshots", type=click.IntRange(min=2), default=None,
              help="Survey at most this many snapshots of each tuning path, spread evenly, "
                   "first and last included  [default: all]")
@click.option("--figures", type=DIRECTORY, default=None,
              help="Directory of `hpcnet plot all` output; its PNGs are embedded.")
@click.option("--title", default="", help="Title suffix, e.g. the scale of the run.")
@click.option("-o", "--output", type=FILE,
              default=Path("results/REPORT.md"), help="Markdown file to write (replaced).")
def command(ensemble, runs, timing, survey, limit, snapshots, figures, title, output):
    """Write the reproduction report of ENSEMBLE (and of training runs and timings).

    A table puts every claim of the paper (tuning range per kind and size,
    isotropy, answers that are materials, ±0.9 reached by materials, SA beating
    single-bond pruning, bond statistics, the collapse of the normalised σ²
    along the tuning paths, the two-mode mechanism, the linearity of ν̄' and ν̂₂
    in ν over the path snapshots, CNN R², training and prediction speed) beside
    the value this run measured and a verdict, then the tuning table per kind ×
    size × target × method, SA beside greedy (an ensemble of `anneal --methods
    sa,greedy`) and the figures. Files of layout version 1 (no a_min, no tuning
    paths) give "n/a" where those are needed; their linearity verdicts come from
    the chains' endpoints and are marked so.
    """
    from hpcnet.analysis import report
    from hpcnet.analysis.paths import sigma_curves
    from hpcnet.analysis.survey import read_csv
    from hpcnet.analysis.training_runs import load_run
    from hpcnet.ensemble.results import EnsembleResults

    with EnsembleResults(ensemble) as results:
        tasks, settings = results.tasks, results.settings
        curves = sigma_curves(results) if results.has_paths and results.done.any() else None
        if survey is not None:
            rows = read_csv(survey)
        else:
            rows = survey_with_progress(results, limit, snapshots)
    loaded = [load_run(run) for run in runs]
    timings = None
    if timing is not None:
        from hpcnet.analysis.timing import load_timing

        timings = load_timing(timing)
    shown = {}
    if figures is not None:
        if not figures.is_dir():
            raise HpcnetError(f"--figures {figures}: no such directory")
        for stem, _ in report.FIGURES:
            png = figures / f"{stem}.png"
            if png.is_file():
                shown[stem] = Path(os.path.relpath(png, output.resolve().parent))
    text = report.render(settings, tasks, rows, loaded, timings, shown, title, curves)
    write_text(output, text)
    click.echo(f"wrote {output}")


def survey_with_progress(results, limit: int | None, snapshots: int | None = None) -> list[dict]:
    """The mode survey of ``results`` with a progress bar on stderr: every snapshot along the
    tuning paths of the primary method's chains, or, for a file without paths, the initial
    and final networks; ``snapshots``: at most this many per path."""
    from hpcnet.analysis.survey import path_survey, survey

    with click.progressbar(length=1, label="mode survey", file=click.get_text_stream("stderr"),
                           show_pos=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        if results.has_paths:
            return path_survey(results, limit=limit, snapshots=snapshots, progress=progress)
        return survey(results, limit=limit, progress=progress)
