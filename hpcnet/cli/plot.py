"""``hpcnet plot``: the paper's figures from hpcnet's outputs, as PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import click

from hpcnet.errors import HpcnetError

ENSEMBLE = click.Path(dir_okay=False, path_type=Path)
RUN_DIR = click.Path(file_okay=False, path_type=Path)


def _output(default: str):
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
        default=Path("figures") / default,
        help="Output path without suffix: OUTPUT.png and OUTPUT.pdf are written (replacing "
             "existing ones, each through a temporary name).")


def _selection(func):
    func = click.option("--seed", type=int, default=None,
                        help="Seed of the network shown  [default: the smallest seed with both "
                             "directions finished]")(func)
    func = click.option("--size", "-L", type=int, default=None,
                        help="Size L of the networks shown  [default: the largest in the "
                             "file]")(func)
    return func


def _kinds_option(func):
    return click.option("--kinds", default=None,
                        help="Comma-separated kinds, one row or panel each  [default: every "
                             "kind in the file]")(func)


def _kinds(text: str | None) -> list[str] | None:
    return None if text is None else [k.strip() for k in text.split(",") if k.strip()]


def _save(fig, output: Path) -> None:
    from hpcnet.figures.style import save

    for path in save(fig, output, dpi=click.get_current_context().find_root().meta["plot_dpi"]):
        click.echo(f"wrote {path}")


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise HpcnetError("plotting needs matplotlib: `make install` (Debian's "
                          "python3-matplotlib) or `pip install 'hpcnet[plot]'`") from None


@click.group("plot")
@click.option("--dpi", type=click.IntRange(min=10), default=150,
              help="Resolution of the PNG files, dots per inch.")
@click.pass_context
def command(ctx, dpi) -> None:
    """Draw one of the paper's figures from hpcnet's outputs (PNG and PDF).

    ENSEMBLE is an `hpcnet anneal` output file (finished or interrupted: only
    finished chains are drawn), RUN a `hpcnet train` run directory, TIMING the
    JSON of `benchmarks/bench_learn.py --json`. `hpcnet plot all` draws every
    figure whose inputs are given.
    """
    _require_matplotlib()
    ctx.find_root().meta["plot_dpi"] = dpi


@command.command("networks")
@click.argument("ensemble", type=ENSEMBLE)
@_selection
@_kinds_option
@_output("networks")
def networks(ensemble, size, seed, kinds, output):
    """Figure 1b-d, 2: one network per kind tuned down, as generated, tuned up."""
    from hpcnet.ensemble.results import EnsembleResults
    from hpcnet.figures.networks import tuning_panels

    with EnsembleResults(ensemble) as results:
        _save(tuning_panels(results, size, seed, _kinds(kinds)), output)


@command.command("trajectory")
@click.argument("ensemble", type=ENSEMBLE)
@_selection
@_kinds_option
@_output("trajectory")
def trajectory(ensemble, size, seed, kinds, output):
    """Figure 1f-h: ν against annealing step, both directions from one network per kind."""
    from hpcnet.ensemble.results import EnsembleResults
    from hpcnet.figures.trajectory import tuning_curves

    with EnsembleResults(ensemble) as results:
        _save(tuning_curves(results, size, seed, _kinds(kinds)), output)


@command.command("bonds")
@click.argument("ensemble", type=ENSEMBLE)
@click.option("--kind", default="tri", help="Kind of the network shown.")
@_selection
@_output("bond_scatter")
def bonds(ensemble, kind, size, seed, output):
    """Figure 1i: each bond's elongation under x- against y-stretching (solves the network)."""
    from hpcnet.ensemble.results import EnsembleResults
    from hpcnet.figures.bonds import bond_scatter

    with EnsembleResults(ensemble) as results:
        _save(bond_scatter(results, kind, size, seed), output)


@command.command("sigma")
@click.argument("ensemble", type=ENSEMBLE)
@_output("sigma_collapse")
def sigma(ensemble, output):
    """Figure 1j: σ² of the bond points against ν, every finished chain (stored values)."""
    from hpcnet.ensemble.results import EnsembleResults
    from hpcnet.figures.bonds import sigma_collapse

    with EnsembleResults(ensemble) as results:
        _save(sigma_collapse(results), output)


@command.command("reach")
@click.argument("ensemble", type=ENSEMBLE)
@_output("reach")
def reach(ensemble, output):
    """Supplementary Figures 2-3: final ν per target against size L, per kind."""
    from hpcnet.ensemble.results import EnsembleResults
    from hpcnet.figures.reach import reach_vs_size

    with EnsembleResults(ensemble) as results:
        _save(reach_vs_size(results), output)


@command.command("modes")
@click.argument("source", type=ENSEMBLE)
@click.option("--kind", default="tri", help="With an ensemble: kind of the chain shown.")
@_selection
@click.option("--target", type=float, default=None,
              help="With an ensemble: target of the chain shown  [default: the lowest]")
@click.option("--mask", type=click.Choice(["initial", "final", "best"]), default="final",
              help="With an ensemble: which state of the chain.")
@click.option("-k", "k", type=click.IntRange(min=2), default=20,
              help="Lowest modes computed when the network is too large for all of them.")
@_output("modes")
def modes(source, kind, size, seed, target, mask, k, output):
    """Figure 4a-c: the ω⁺ and ω⁻ modes as arrows and the weights |C_ω|² against ω.

    SOURCE is a network file (`hpcnet generate`/`import`) or an ensemble, from
    which one chain's network is taken (--kind, --size, --seed, --target, --mask).
    """
    from hpcnet.figures.modes import mode_figure

    _save(mode_figure(_network(source, kind, size, seed, target, mask), k=k), output)


def _network(source: Path, kind, size, seed, target, mask):
    """A network file as is, or one chain's network from an ensemble file."""
    from hpcnet.ensemble.results import EnsembleResults, is_ensemble_file
    from hpcnet.network import Network

    if not is_ensemble_file(source):
        return Network.load(source)
    with EnsembleResults(source) as results:
        size = max(results.values("size"), default=None) if size is None else size
        rows = results.select(kind=kind, size=size, seed=seed, target=target,
                              method=results.primary_method)
        if not len(rows):
            raise HpcnetError(f"{source}: no finished chain of kind {kind}, L={size}"
                              + (f", seed {seed}" if seed is not None else "")
                              + (f", target {target:+g}" if target is not None else ""))
        row = min(rows, key=lambda r: (results.tasks["target"][r], results.tasks["seed"][r]))
        return results.network(int(row), mask)


@command.command("mechanism")
@click.argument("ensemble", type=ENSEMBLE)
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Survey at most this many chains, spread evenly  [default: all]")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the survey rows here (`hpcnet report --survey` "
                                 "reads them)  [default: OUTPUT.csv]")
@_output("mechanism")
def mechanism(ensemble, limit, csv_path, output):
    """Figure 4d: the two-mode estimate ν̄' against ν, initial and final networks of ENSEMBLE."""
    from hpcnet.ensemble.results import EnsembleResults

    with EnsembleResults(ensemble) as results:
        _save_mechanism(results, limit, csv_path or output.with_suffix(".csv"), output)


def _save_mechanism(results, limit, csv_path: Path, output: Path) -> None:
    """The mode survey of an open ensemble as CSV, and Fig. 4d from it."""
    from hpcnet.analysis.survey import write_csv
    from hpcnet.cli.report import survey_with_progress
    from hpcnet.figures.mechanism import two_mode_scatter

    rows = survey_with_progress(results, limit)
    write_csv(rows, csv_path)
    click.echo(f"wrote {csv_path}")
    _save(two_mode_scatter(rows), output)


@command.command("training")
@click.argument("runs", nargs=-1, required=True, type=RUN_DIR)
@_output("training")
def training(runs, output):
    """Figure 5b: validation RMSE and R² against epoch of one or more training RUNS."""
    from hpcnet.analysis.training_runs import load_run
    from hpcnet.figures.learning import training_curves

    _save(training_curves([load_run(run) for run in runs]), output)


@command.command("parity")
@click.argument("run", type=RUN_DIR)
@_output("parity")
def parity(run, output):
    """Figure 5c: predicted against true ν on the test split of a finished RUN."""
    from hpcnet.analysis.training_runs import load_run
    from hpcnet.figures.learning import parity as parity_figure

    _save(parity_figure(load_run(run)), output)


@command.command("timing")
@click.argument("timing", type=click.Path(dir_okay=False, path_type=Path))
@_output("timing")
def timing(timing, output):
    """Figure 5d: time per network of the PETSc solve and the CNNs against N."""
    from hpcnet.analysis.timing import load_timing
    from hpcnet.figures.timing import timing_figure

    _save(timing_figure(load_timing(timing)), output)


@command.command("all")
@click.option("--ensemble", type=ENSEMBLE, default=None, help="`hpcnet anneal` output.")
@click.option("--run", "runs", multiple=True, type=RUN_DIR,
              help="Training run directory (repeat; the matrix run's test split is the "
                   "parity plot).")
@click.option("--timing", "timing_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="JSON of `benchmarks/bench_learn.py --json`.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Mode survey: at most this many chains  [default: all]")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("figures"), help="Directory of the figures (NAME.png, NAME.pdf).")
def plot_all(ensemble, runs, timing_path, limit, out_dir):
    """Every figure whose inputs are given, into --out-dir (plus the survey's mechanism.csv)."""
    from hpcnet.analysis.timing import load_timing
    from hpcnet.analysis.training_runs import load_run
    from hpcnet.ensemble.results import EnsembleResults
    from hpcnet.figures import bonds as bond_figures
    from hpcnet.figures.learning import parity as parity_figure
    from hpcnet.figures.learning import training_curves
    from hpcnet.figures.modes import mode_figure
    from hpcnet.figures.networks import tuning_panels
    from hpcnet.figures.reach import reach_vs_size
    from hpcnet.figures.timing import timing_figure
    from hpcnet.figures.trajectory import tuning_curves

    if ensemble is None and not runs and timing_path is None:
        raise click.UsageError("give at least one of --ensemble, --run, --timing")
    if ensemble is not None:
        with EnsembleResults(ensemble) as results:
            _save(tuning_panels(results), out_dir / "networks")  # first: names an empty file
            kind = "tri" if "tri" in results.values("kind") else results.values("kind")[0]
            _save(tuning_curves(results), out_dir / "trajectory")
            _save(bond_figures.bond_scatter(results, kind), out_dir / "bond_scatter")
            _save(bond_figures.sigma_collapse(results), out_dir / "sigma_collapse")
            _save(reach_vs_size(results), out_dir / "reach")
            low = results.tuning_pair(kind, max(results.values("size")))[0]
            _save(mode_figure(results.network(low, "final")), out_dir / "modes")
            _save_mechanism(results, limit, out_dir / "mechanism.csv", out_dir / "mechanism")
    if runs:
        loaded = [load_run(run) for run in runs]
        _save(training_curves(loaded), out_dir / "training")
        finished = [r for r in loaded if r.predictions is not None]
        if finished:
            matrix = [r for r in finished if r.model.endswith("matrix")]
            _save(parity_figure((matrix or finished)[0]), out_dir / "parity")
    if timing_path is not None:
        _save(timing_figure(load_timing(timing_path)), out_dir / "timing")
