"""``hpcnet anneal``: annealing chains over kinds × sizes × seeds × targets, on any number of ranks.

One chain is an ensemble of one task (``--kind tri --size 16 --seed 0
--target -0.9``); ``mpirun -n P hpcnet anneal --kinds ... --sizes ...`` runs
many, sharing them dynamically over the ranks and writing one HDF5 file.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path

import click

from hpcnet.anneal.chain import AnnealSettings

#: AnnealSettings fields that are no option here: the target is per task, and the
#: ensemble checkpoints by time (--checkpoint-seconds).
NOT_OPTIONS = ("target", "checkpoint_every")
#: Help and choices of the AnnealSettings options.
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
    "method": "sa: greedy descent, then simulated annealing toward the fewest removals; "
              "greedy: remove, one at a time, the bond whose removal lowers E₀ most "
              "(Goodrich, Liu & Nagel's pruning), until the target is met.",
    "keep_degree": "Keep every node at ≥ 3 bonds (d + 1).",
    "convex_only": "Refuse removals that create a non-convex (re-entrant) face.",
    "evaluator": "ν of proposals by low-rank (Woodbury) updates of one factorisation, or "
                 "by a full re-solve (slow; for checks and benchmarks).",
    "refactor_every": "Refactorise once the state differs from the factorised one in this "
                      "many bonds.",
}
CHOICES = {"method": ["sa", "greedy"], "evaluator": ["incremental", "full"]}


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
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}") from None
    known = {p.name for p in ctx.command.params}
    defaults = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in known or name in ("config", "resume", "force"):
            raise click.BadParameter(f"{path}: unknown setting '{key}'")
        defaults[name] = ",".join(map(str, value)) if isinstance(value, list) else value
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return path


def _anneal_options(func):
    """One option per AnnealSettings field, with its default and help."""
    hints = typing.get_type_hints(AnnealSettings)
    for f in reversed(dataclasses.fields(AnnealSettings)):
        if f.name in NOT_OPTIONS:
            continue
        flag = "--" + f.name.replace("_", "-")
        help_text = ANNEAL_HELP[f.name]
        default = f.default
        choices = CHOICES.get(f.name)
        if hints[f.name] is bool:
            option = click.option(f"{flag}/--no-{flag[2:]}", f.name, default=default,
                                  help=help_text)
        else:
            kind = click.Choice(choices) if choices else (
                int if hints[f.name] is int else float if default is None else type(default))
            option = click.option(flag, f.name, type=kind, default=default, help=help_text,
                                  show_default=default is not None)
        func = option(func)
    return func


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
@click.option("--base-seed", type=click.IntRange(min=0), default=0,
              help="Base of every chain's random stream (with the task's identity).")
@click.option("--distortion", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.2,
              help="Distortion r of the tri networks.")
@click.option("--packing-fraction", type=float, default=None,
              help="Packing fraction of the packing networks  [default: the generator's]")
@_anneal_options
@click.option("--checkpoint-seconds", type=click.FloatRange(min=0.0), default=60.0,
              help="Journal each running chain's state this often (a kill loses no more).")
@click.option("--resume", is_flag=True,
              help="Continue the run in OUTPUT; without task options, with its stored settings.")
@click.option("--force", is_flag=True, help="Discard an existing OUTPUT and start over.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Ensemble HDF5 file (its journal lives beside it in OUTPUT.journal/).")
@click.pass_context
def command(ctx, kinds, sizes, seeds, targets, direction, base_seed, distortion,
            packing_fraction, checkpoint_seconds, resume, force, output, **anneal):
    """Prune bonds by simulated annealing to reach target Poisson's ratios.

    Every combination of --kinds, --sizes, --seeds and --targets is one task
    (one chain). Under `mpirun -n P` (or `srun`) the ranks share the tasks
    dynamically and write one HDF5 file. Results depend only on the settings:
    any number of ranks gives the same chains. Re-running the same command
    (or `--resume -o OUTPUT`) skips finished tasks; SIGTERM stops at a safe
    point with exit status 75 and a resumable file.
    """
    from hpcnet.cli.common import mpi_world
    from hpcnet.ensemble.runner import (
        EXIT_INTERRUPTED,
        EnsembleSettings,
        run_ensemble,
        stored_settings,
    )
    from hpcnet.ensemble.tasks import parse_floats, parse_ints, parse_kinds
    from hpcnet.errors import HpcnetError
    from hpcnet.tools.petsc_env import petsc_session

    comm = mpi_world()  # first: it decides which h5py to import
    if direction and targets:
        raise click.UsageError("give --direction or --target(s), not both")
    if direction:
        targets = "0.9" if direction == "up" else "-0.9"
    source = ctx.get_parameter_source
    task_options_given = any(
        source(name) not in (click.core.ParameterSource.DEFAULT, None)
        for name in ("kinds", "sizes", "seeds", "targets", "direction"))
    if resume and not task_options_given:
        settings = stored_settings(output)
        if settings is None:
            raise HpcnetError(f"--resume: {output} has no run to resume")
    else:
        settings = EnsembleSettings(
            kinds=parse_kinds(kinds), sizes=parse_ints(sizes, "sizes"),
            seeds=parse_ints(seeds, "seeds"), targets=parse_floats(targets or "-0.9"),
            anneal=AnnealSettings(**anneal), base_seed=base_seed, distortion=distortion,
            packing_fraction=packing_fraction)
        settings.anneal.validate()
        settings.tasks()  # validates sizes and targets
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
