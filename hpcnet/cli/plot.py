"""``hpcnet plot``: the paper's figures from hpcnet's outputs, as PNG and PDF.

Every figure is one row of :data:`PLOTS`: its subcommand, default file name,
input, own options and drawing function. ``hpcnet plot NAME`` is built from the
row; ``hpcnet plot all`` draws every row whose input it was given, with the
subcommand's defaults (skipping, with a note, the figures that need tuning paths
when the ensemble file has none).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from hpcnet.cli.options import DIRECTORY, FILE
from hpcnet.ensemble.layout import MASKS
from hpcnet.errors import HpcnetError

#: The argument of each kind of input: ensemble (an `hpcnet anneal` file), source
#: (an ensemble or a network file), runs / run (`hpcnet train` directories), timing.
INPUTS = {
    "ensemble": click.argument("ensemble", type=FILE),
    "source": click.argument("source", type=FILE),
    "runs": click.argument("runs", nargs=-1, required=True, type=DIRECTORY),
    "run": click.argument("run", type=DIRECTORY),
    "timing": click.argument("timing", type=FILE),
}


@dataclass(frozen=True)
class Plot:
    """One figure: ``draw(data, output, **options)`` returns it from the opened input.

    ``output`` is the path without suffix (the mechanism figure writes its survey
    CSV beside it); ``options`` are the click options of the figure's own
    settings; ``auto(data, limit, snapshots)`` gives ``plot all``'s choices where the
    subcommand's defaults do not fit every file; ``paths``: the figure needs the
    chains' tuning paths (``plot all`` skips it on a file without them).
    """

    name: str
    stem: str
    input: str
    draw: Callable
    help: str
    options: tuple = ()
    auto: Callable | None = None
    paths: bool = False


def _kinds(text: str | None) -> list[str] | None:
    return None if text is None else [k.strip() for k in text.split(",") if k.strip()]


def _first_kind(results) -> str:
    """tri when the ensemble has it, else its first kind."""
    kinds = results.values("kind")
    return "tri" if "tri" in kinds else kinds[0]


SELECTION = (
    click.option("--size", "-L", type=int, default=None,
                 help="Size L of the networks shown  [default: the largest in the file]"),
    click.option("--seed", type=int, default=None,
                 help="Seed of the network shown  [default: the smallest seed with both "
                      "directions finished]"),
)
SNAPSHOTS = click.option(
    "--snapshots", type=click.IntRange(min=2), default=None,
    help="Mode survey: at most this many snapshots of each tuning path, spread evenly, first "
         "and last included  [default: all]")
KINDS = click.option("--kinds", default=None, help="Comma-separated kinds, one row or panel "
                     "each  [default: every kind in the file]")


def _networks(results, output, size, seed, kinds):
    from hpcnet.figures.networks import tuning_panels

    return tuning_panels(results, size, seed, _kinds(kinds))


def _trajectory(results, output, size, seed, kinds):
    from hpcnet.figures.trajectory import tuning_curves

    return tuning_curves(results, size, seed, _kinds(kinds))


def _bonds(results, output, kind, size, seed):
    from hpcnet.figures.bonds import bond_scatter

    return bond_scatter(results, kind, size, seed)


def _sigma(results, output):
    from hpcnet.figures.bonds import sigma_collapse

    return sigma_collapse(results)


def _reach(results, output):
    from hpcnet.figures.reach import reach_vs_size

    return reach_vs_size(results)


def _modes(source, output, kind, size, seed, target, mask, k):
    from hpcnet.figures.modes import mode_figure
    from hpcnet.network import Network

    net = source if isinstance(source, Network) else _chain_network(source, kind, size, seed,
                                                                    target, mask)
    return mode_figure(net, k=k)


def _chain_network(results, kind, size, seed, target, mask):
    """One chain's network: the lowest target, then the smallest seed, among those selected."""
    size = max(results.values("size"), default=None) if size is None else size
    rows = results.select(kind=kind, size=size, seed=seed, target=target,
                          method=results.primary_method)
    if not len(rows):
        raise HpcnetError(f"{results.file}: no finished chain of kind {kind}, L={size}"
                          + (f", seed {seed}" if seed is not None else "")
                          + (f", target {target:+g}" if target is not None else ""))
    row = min(rows, key=lambda r: (results.tasks["target"][r], results.tasks["seed"][r]))
    return results.network(int(row), mask)


def _mode_path(results, output, kind, size, seed, k):
    from hpcnet.figures.mode_path import mode_path

    return mode_path(results, kind, size, seed, k)


def _mechanism(results, output, limit, snapshots, csv_path):
    from hpcnet.analysis.survey import write_csv
    from hpcnet.cli.report import survey_with_progress
    from hpcnet.figures.mechanism import two_mode_scatter

    rows = survey_with_progress(results, limit, snapshots)
    csv_path = csv_path or output.with_suffix(".csv")
    write_csv(rows, csv_path)
    click.echo(f"wrote {csv_path}")
    return two_mode_scatter(rows)


def _training(runs, output):
    from hpcnet.figures.learning import training_curves

    return training_curves(runs)


def _parity(run, output):
    from hpcnet.figures.learning import parity

    return parity(run)


def _timing(timing, output):
    from hpcnet.figures.timing import timing_figure

    return timing_figure(timing)


#: Every figure, in the order ``plot all`` draws them (networks first: it names an
#: ensemble without finished chains).
PLOTS = (
    Plot("networks", "networks", "ensemble", _networks,
         "Figure 1b-d, 2: one network per kind tuned down, as generated, tuned up.",
         (*SELECTION, KINDS)),
    Plot("trajectory", "trajectory", "ensemble", _trajectory,
         "Figure 1f-h: ν against annealing step, both directions from one network per kind.",
         (*SELECTION, KINDS)),
    Plot("bonds", "bond_scatter", "ensemble", _bonds,
         "Figure 1i: each bond's elongation under x- against y-stretching (solves the "
         "network).",
         (click.option("--kind", default="tri", help="Kind of the network shown."),
          *SELECTION),
         auto=lambda results, limit, snapshots: {"kind": _first_kind(results)}),
    Plot("sigma", "sigma_collapse", "ensemble", _sigma,
         "Figure 1j: σ² of the bond points against ν along every finished chain's path "
         "(stored values), normalised at ν = 0 (tuned down) and ν = 1/3 (tuned up) where the "
         "path crosses them; chains that never cross are left out and counted in the title. "
         "On a file without paths (layout version 1): σ² of each chain's answer relative to "
         "its initial network, said so in the title."),
    Plot("reach", "reach", "ensemble", _reach,
         "Supplementary Figures 2-3: final ν per target against size L, per kind."),
    Plot("modes", "modes", "source", _modes,
         "Figure 4a-c: the ω⁺ and ω⁻ modes as arrows and the weights |C_ω|² against ω.\n\n"
         "SOURCE is a network file (`hpcnet generate`/`import`) or an ensemble, from which "
         "one chain's network is taken (--kind, --size, --seed, --target, --mask).",
         (click.option("--kind", default="tri",
                       help="With an ensemble: kind of the chain shown."),
          *SELECTION,
          click.option("--target", type=float, default=None,
                       help="With an ensemble: target of the chain shown  [default: the "
                            "lowest]"),
          click.option("--mask", type=click.Choice(MASKS), default="final",
                       help="With an ensemble: which state of the chain."),
          click.option("-k", "k", type=click.IntRange(min=2), default=20,
                       help="Lowest modes computed when the network is too large for all "
                            "of them.")),
         auto=lambda results, limit, snapshots: {"kind": _first_kind(results)}),
    Plot("mode-path", "mode_path", "ensemble", _mode_path,
         "Figures 4e-f: the mode weights |C_ω|² against ω at five snapshots along one chain "
         "tuned down (e) and one tuned up (f) from the same network, ω⁺ and ω⁻ marked with "
         "their ν' (needs tuning paths).",
         (click.option("--kind", default="tri", help="Kind of the network shown."),
          *SELECTION,
          click.option("-k", "k", type=click.IntRange(min=2), default=20,
                       help="Lowest modes computed when a network is too large for all "
                            "of them.")),
         auto=lambda results, limit, snapshots: {"kind": _first_kind(results)}, paths=True),
    Plot("mechanism", "mechanism", "ensemble", _mechanism,
         "Figure 4d: the paper's two-mode estimate ν̄' and the exact two-mode ν̂₂ against ν, "
         "every snapshot along the tuning paths of ENSEMBLE's chains (of the primary method); "
         "on a file without paths, the chains' initial and final networks (said so in the "
         "titles).",
         (click.option("--limit", type=click.IntRange(min=1), default=None,
                       help="Survey at most this many chains, spread evenly  [default: all]"),
          SNAPSHOTS,
          click.option("--csv", "csv_path", type=FILE, default=None,
                       help="Also write the survey rows here (`hpcnet report --survey` reads "
                            "them)  [default: OUTPUT.csv]")),
         auto=lambda results, limit, snapshots: {"limit": limit, "snapshots": snapshots}),
    Plot("training", "training", "runs", _training,
         "Figure 5b: validation RMSE and R² against epoch of one or more training RUNS."),
    Plot("parity", "parity", "run", _parity,
         "Figure 5c: predicted against true ν on the test split of a finished RUN."),
    Plot("timing", "timing", "timing", _timing,
         "Figure 5d: time per network of the PETSc solve and the CNNs against N."),
)


def _open(kind: str, value):
    """A context manager that yields the opened input of ``kind`` given on the command line."""
    from hpcnet.ensemble.results import EnsembleResults, is_ensemble_file

    if kind == "ensemble" or (kind == "source" and is_ensemble_file(value)):
        return EnsembleResults(value)
    if kind == "source":
        from hpcnet.network import Network

        return contextlib.nullcontext(Network.load(value))
    if kind == "timing":
        from hpcnet.analysis.timing import load_timing

        return contextlib.nullcontext(load_timing(value))
    from hpcnet.analysis.training_runs import load_run

    return contextlib.nullcontext([load_run(v) for v in value] if kind == "runs"
                                  else load_run(value))


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


def _subcommand(plot: Plot) -> click.Command:
    """``hpcnet plot NAME``: the input argument, the figure's options, and -o."""
    argument = INPUTS[plot.input]

    def callback(output, **options):
        with _open(plot.input, options.pop(plot.input)) as data:
            _save(plot.draw(data, output, **options), output)

    output = click.option(
        "-o", "--output", type=FILE, default=Path("figures") / plot.stem,
        help="Output path without suffix: OUTPUT.png and OUTPUT.pdf are written (replacing "
             "existing ones, each through a temporary name).")
    for decorator in reversed((argument, *plot.options, output)):
        callback = decorator(callback)
    return click.command(plot.name, help=plot.help)(callback)


for _plot in PLOTS:
    command.add_command(_subcommand(_plot))


@command.command("all")
@click.option("--ensemble", type=FILE, default=None, help="`hpcnet anneal` output.")
@click.option("--run", "runs", multiple=True, type=DIRECTORY,
              help="Training run directory (repeat; the matrix run's test split is the "
                   "parity plot).")
@click.option("--timing", "timing_path", type=FILE,
              default=None, help="JSON of `benchmarks/bench_learn.py --json`.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Mode survey: at most this many chains  [default: all]")
@SNAPSHOTS
@click.option("--out-dir", type=DIRECTORY,
              default=Path("figures"), help="Directory of the figures (NAME.png, NAME.pdf).")
def plot_all(ensemble, runs, timing_path, limit, snapshots, out_dir):
    """Every figure whose inputs are given, into --out-dir (plus the survey's mechanism.csv)."""
    if ensemble is None and not runs and timing_path is None:
        raise click.UsageError("give at least one of --ensemble, --run, --timing")
    with contextlib.ExitStack() as stack:
        data = {}
        if ensemble is not None:
            data["ensemble"] = data["source"] = stack.enter_context(_open("ensemble", ensemble))
        if runs:
            data["runs"] = stack.enter_context(_open("runs", runs))
            finished = [r for r in data["runs"] if r.predictions is not None]
            matrix = [r for r in finished if r.model.endswith("matrix")]
            data["run"] = (matrix or finished or [None])[0]
        if timing_path is not None:
            data["timing"] = stack.enter_context(_open("timing", timing_path))
        for plot in PLOTS:
            source = data.get(plot.input)
            if source is None:
                continue
            if plot.paths and not source.has_paths:
                click.echo(f"skipped {plot.name}: {ensemble} has no tuning paths (layout "
                           f"version {source.version})")
                continue
            options = {p.name: p.default for p in command.commands[plot.name].params
                       if isinstance(p, click.Option) and p.name != "output"}
            options.update(plot.auto(source, limit, snapshots) if plot.auto else {})
            _save(plot.draw(source, out_dir / plot.stem, **options), out_dir / plot.stem)
