"""``hpcnet anneal``: chains over kinds × sizes × seeds × targets × methods, on any number of ranks.

One chain is an ensemble of one task (``--kind tri --size 16 --seed 0
--target -0.9``); ``mpirun -n P hpcnet anneal --kinds ... --sizes ...`` runs
many, sharing them dynamically over the ranks and writing one HDF5 file.
``--network FILE`` anneals a network file instead of generated networks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hpcnet.anneal.settings import EVALUATORS, METHODS, AnnealSettings
from hpcnet.cli.options import EXISTING_FILE, FILE, force_option, settings_options

#: AnnealSettings fields that are no option here: the target and the method are per task
#: (--targets, --methods), and the ensemble checkpoints by time (--checkpoint-seconds).
NOT_OPTIONS = ("target", "method", "checkpoint_every")
#: Help of the AnnealSettings options.
ANNEAL_HELP = {
    "t0": "Initial temperature T0 (energy in bonds; see docs/anneal.md).",
    "alpha": "Cooling rate α: T ← αT after each temperature.",
    "tf": "Final temperature Tf.",
    "lk": "Least number of proposals per temperature (Markov chain length Lk).",
    "lk_per_bond": "Proposals per temperature per bond of the network (when more than --lk).",
    "moves": "1: remove, re-add or swap bonds; more: bonds toggled at random per proposal.",
    "lambda_iso": "Weight λ_iso of |ν_x − ν_y| in the energy E = |ν − ν*| + λ_iso |ν_x − ν_y|.",
    "tol": "The target is met when |ν − ν*| ≤ TOL, |ν_x − ν_y| ≤ --iso-tol and "
           "a_min ≥ --affine-floor.",
    "iso_tol": "Isotropy demanded of a state that meets the target.",
    "affine_floor": "Accept only states whose affine fraction a_min is at least this "
                    "(materials, not mechanisms); 0: no guard.",
    "keep_degree": "Keep every node at ≥ 3 bonds (d + 1).",
    "convex_only": "Refuse removals that create a non-convex (re-entrant) face.",
    "evaluator": "ν of proposals by low-rank (Woodbury) updates of one factorisation, or "
                 "by a full re-solve (slow; for checks and benchmarks).",
    "refactor_every": "Refactorise once the state differs from the factorised one in this "
                      "many bonds.",
    "path_step": "Record a snapshot of the chain's path (`hpcnet path`) each time ν has moved "
                 "this far from the last one; 0: every accepted state.",
}
ANNEAL_TYPES = {"evaluator": click.Choice(EVALUATORS)}


def _config_callback(ctx, param, path):
    """Load a TOML file into click's default map, so that flags override it."""
    if path is None:
        return None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise click.BadParameter(f"cannot read {path} as TOML: {exc}") from None
    known = {p.name for p in ctx.command.params}
    defaults = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known or name in ("config", "resume", "force"):
            raise click.BadParameter(f"{path}: unknown setting '{key}'")
        defaults[name] = ",".join(map(str, value)) if isinstance(value, list) else value
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return path


def _methods_callback(ctx, param, text):
    """Check --methods like a click choice (a usage error, exit status 2)."""
    from hpcnet.ensemble.tasks import parse_methods
    from hpcnet.errors import HpcnetError

    try:
        return parse_methods(text)
    except HpcnetError:
        unknown = next((m for m in str(text).split(",") if m.strip() not in METHODS), text)
        raise click.BadParameter(f"{unknown.strip()!r} is not one of "
                                 f"{', '.join(map(repr, METHODS))}.") from None


def _resumed(ctx, output: Path, given):
    """The stored settings of OUTPUT's run; HpcnetError naming any option given that differs."""
    from hpcnet.ensemble.runner import stored_settings
    from hpcnet.errors import HpcnetError

    stored = stored_settings(output)
    if stored is None:
        raise HpcnetError(f"--resume: {output} has no run to resume")
    named = {name for name in ctx.params
             if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)}
    if "direction" in named:
        named.add("targets")
    changed = [f"--{field.rsplit('.', 1)[-1].replace('_', '-')} (the run has {old}, "
               f"you gave {new})" for field, (old, new) in stored.differences(given).items()
               if field.rsplit(".", 1)[-1] in named]
    if changed:
        raise HpcnetError(f"--resume: {output} was run with other settings: "
                          f"{'; '.join(changed)}. Leave out the changed option(s) to resume, "
                          f"or start a new run with another -o")
    return stored



@click.command("anneal")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), is_eager=True,
              expose_value=False, callback=_config_callback,
              help="TOML file with any of these settings (keys as the long option names); "
                   "options given on the command line override it.")
@click.option("--kinds", "--kind", "kinds", default="tri",
              help="Network kinds, comma-separated: tri, delaunay, packing.")
@click.option("--sizes", "--size", "sizes", default="12", help="Linear sizes L, e.g. 12,16,24.")
@click.option("--seeds", "--seed", "seeds", default="0",
              help="Network seeds: integers and ranges, e.g. 0-99,120.")
@click.option("--targets", "--target", "targets", default=None,
              help="Target Poisson's ratios ν* in [-1, 1], e.g. -0.9,0.9.  [default: -0.9]")
@click.option("--direction", type=click.Choice(["up", "down"]), default=None,
              help="Shorthand: up = --target 0.9, down = --target -0.9.")
@click.option("--methods", "--method", "methods", default="sa", show_default=True,
              callback=_methods_callback,
              help="Methods, comma-separated; each is a task of its own, so `sa,greedy` "
                   "compares them in one file (`hpcnet stats`, `hpcnet report`). sa: simulated "
                   "annealing; greedy: remove, one at a time, the bond whose removal lowers E "
                   "most (Goodrich, Liu & Nagel's pruning).")
@click.option("--network", "network", type=EXISTING_FILE, default=None,
              help="Anneal this network file (`hpcnet generate`, `hpcnet import`) instead of "
                   "generated networks: one task per target and method, recorded with the "
                   "file's path and fingerprint; not with --kinds, --sizes, --seeds, "
                   "--distortion or --packing-fraction.")
@click.option("--base-seed", type=click.IntRange(min=0), default=0,
              help="Base of every chain's random stream (with the task's identity).")
@click.option("--distortion", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.2,
              help="Distortion r of the tri networks.")
@click.option("--packing-fraction", type=float, default=None,
              help="Packing fraction of the packing networks  [default: the generator's]")
@settings_options(AnnealSettings, ANNEAL_HELP, ANNEAL_TYPES, skip=NOT_OPTIONS)
@click.option("--checkpoint-seconds", type=click.FloatRange(min=0.0), default=60.0,
              help="Journal each running chain's state this often (a kill loses no more).")
@click.option("--resume", is_flag=True,
              help="Continue the run in OUTPUT with its stored settings (options given must agree "
                   "with them).")
@force_option("Discard an existing OUTPUT and start over.")
@click.option("-o", "--output", type=FILE, required=True,
              help="Ensemble HDF5 file (its journal lives beside it in OUTPUT.journal/).")
@click.pass_context
def command(ctx, kinds, sizes, seeds, targets, direction, methods, network, base_seed,
            distortion, packing_fraction, checkpoint_seconds, resume, force, output, **anneal):
    """Prune bonds by simulated annealing (or greedily) to reach target Poisson's ratios.

    Every combination of --kinds, --sizes, --seeds, --targets and --methods is
    one task (one chain); with --network FILE, every combination of --targets
    and --methods on that network. Under `mpirun -n P` (or `srun`) the ranks
    share the tasks dynamically and write one HDF5 file. Results depend only on
    the settings: any number of ranks gives the same chains. Re-running the
    same command (or `--resume -o OUTPUT`) skips finished tasks; SIGTERM stops
    at a safe point with exit status 75 and a resumable file.
    """
    from hpcnet.cli.common import mpi_world
    from hpcnet.ensemble.runner import EXIT_INTERRUPTED, EnsembleSettings, run_ensemble
    from hpcnet.ensemble.tasks import parse_floats, parse_ints, parse_kinds
    from hpcnet.tools.mpi import root_decides
    from hpcnet.tools.petsc_env import petsc_session

    comm = mpi_world()  # first: it decides which h5py to import

    def given(name):
        return ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)

    def decide():  # on rank 0 alone, so that a mistake is reported once
        nonlocal targets
        if resume and force:
            raise click.UsageError("--resume continues the run in OUTPUT, --force discards "
                                   "it: give one of them")
        if direction and targets is not None:
            raise click.UsageError("give --direction or --target(s), not both")
        if direction:
            targets = "0.9" if direction == "up" else "-0.9"
        generated = ("kinds", "sizes", "seeds", "distortion", "packing_fraction")
        if network is not None and any(given(name) for name in generated):
            raise click.UsageError("--network anneals one network file: give no --kinds, "
                                   "--sizes, --seeds, --distortion or --packing-fraction with it")
        common = {"targets": parse_floats("-0.9" if targets is None else targets),
                  "methods": methods, "anneal": AnnealSettings(**anneal), "base_seed": base_seed,
                  "distortion": distortion, "packing_fraction": packing_fraction}
        if network is not None:
            settings = EnsembleSettings.for_network(network, **common)
        else:
            settings = EnsembleSettings(kinds=parse_kinds(kinds), sizes=parse_ints(sizes, "sizes"),
                                        seeds=parse_ints(seeds, "seeds"), **common)
        settings.anneal.validate()
        settings.tasks()  # validates sizes and targets
        return _resumed(ctx, output, settings) if resume else settings

    settings = root_decides(comm, decide)
    with petsc_session(comm):
        outcome = run_ensemble(settings, output, comm, force=force,
                               checkpoint_seconds=checkpoint_seconds)
    if comm.rank == 0:
        click.echo(f"{output}: {outcome.done} of {outcome.total} tasks done, "
                   f"{outcome.failed} failed")
        if outcome.io_seconds > 0:  # tasks ran (not a finished run re-run)
            click.echo(f"wall time {outcome.wall_seconds:.1f} s on {comm.size} rank(s), of which "
                       f"HDF5/journal I/O {outcome.io_seconds:.2f} s "
                       f"({outcome.io_seconds / outcome.wall_seconds:.1%})")
    if outcome.failed and comm.rank == 0:
        raise click.ClickException(
            f"{outcome.failed} task(s) failed: {outcome.first_failure}; the other results are "
            f"in {output} (`hpcnet stats {output}` lists the failures)")
    if outcome.interrupted and not outcome.complete:
        if comm.rank == 0:
            click.echo(f"interrupted: resume with `hpcnet anneal --resume -o {output}` "
                       f"(under mpirun/srun as before)", err=True)
        sys.exit(EXIT_INTERRUPTED)
