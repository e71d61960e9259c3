"""``hpcnet anneal``: prune one network toward a target Poisson's ratio (one process)."""

from __future__ import annotations

import json
import logging
import math
import signal
import sys
import time
from dataclasses import fields
from pathlib import Path

import click
import numpy as np

from hpcnet import __version__
from hpcnet.anneal import (
    TRAJECTORY_FIELDS,
    AnnealSettings,
    ChainResult,
    ChainState,
    StepInfo,
    network_fingerprint,
    run_chain,
)
from hpcnet.cli.common import check_output, describe
from hpcnet.errors import HpcnetError
from hpcnet.generators import KINDS, generate
from hpcnet.network import Network

log = logging.getLogger("hpcnet")
DEFAULTS = AnnealSettings()
#: Stream of the chain's random numbers: independent of the network generator's.
CHAIN_STREAM = 7


class Interrupted(Exception):
    """SIGTERM arrived; the chain stops at the next temperature step."""


def chain_rng(seed: int) -> np.random.Generator:
    """The chain's generator for ``--chain-seed``."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(CHAIN_STREAM,)))


def checkpoint_path(output: Path) -> Path:
    return output.with_name(output.name + ".ckpt.npz")


class Progress:
    """One refreshed stderr line on a terminal; a log line every 10% otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self.shown = -1

    def __call__(self, info: StepInfo) -> None:
        if not self.enabled:
            return
        temp = "greedy" if math.isnan(info.temperature) else f"T={info.temperature:.2e}"
        line = (f"step {info.step}/{info.n_steps} {temp} nu={info.nu:+.4f} "
                f"(x {info.nu_x:+.3f}, y {info.nu_y:+.3f}) best={info.best_nu:+.4f} "
                f"acc={info.acceptance:.2f} bonds={info.bonds} "
                f"[{time.perf_counter() - self.t0:.0f}s]")
        if self.tty:
            click.echo("\r" + line.ljust(110), nl=False, err=True)
        else:
            decile = int(10 * info.step / max(info.n_steps, 1))
            if decile > self.shown:
                self.shown = decile
                log.info(line)

    def close(self) -> None:
        if self.enabled and self.tty:
            click.echo("", err=True)


def write_result(path: Path, net: Network, settings: AnnealSettings, result: ChainResult,
                 provenance: dict) -> None:
    """The output HDF5 file, written to a temporary name and renamed."""
    import h5py

    from hpcnet.petsc_env import options_snapshot

    tmp = path.with_name(path.name + ".part")
    with h5py.File(tmp, "w") as fh:
        net.write_h5(fh.create_group("network"))
        masks = fh.create_group("masks")
        for name in ("initial", "final", "best"):
            masks.create_dataset(name, data=getattr(result, f"{name}_mask"))
            state = fh.create_group(name)
            state.attrs["bonds"] = int(getattr(result, f"{name}_mask").sum())
            for q in ("nu", "nu_x", "nu_y"):
                state.attrs[q] = getattr(result, f"{name}_{q}")
        fh["best"].attrs["energy"] = result.best_energy
        traj = fh.create_group("trajectory")
        for key in TRAJECTORY_FIELDS:
            traj.create_dataset(key, data=result.trajectory[key])
        fh.attrs.update({
            "status": result.status, "n_proposals": result.n_proposals,
            "n_accepted": result.n_accepted, "wall_time": result.wall_time,
            "settings": settings.to_json(), "hpcnet_version": __version__,
            "petsc_options": json.dumps(options_snapshot()), **provenance,
        })
        for f in fields(settings):
            value = getattr(settings, f.name)
            fh.attrs[f"settings.{f.name}"] = "none" if value is None else value
    tmp.replace(path)


@click.command("anneal")
@click.option("--kind", type=click.Choice(KINDS), help="Generate a network of this kind.")
@click.option("--size", "-L", type=click.IntRange(min=3), help="Linear size L (with --kind).")
@click.option("--seed", type=click.IntRange(min=0), default=0,
              help="Seed of the generated network, and of the chain unless --chain-seed.")
@click.option("--distortion", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.3,
              help="tri only: node displacement in lattice constants.")
@click.option("--network", "network_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Anneal this network file instead of generating one.")
@click.option("--target", type=click.FloatRange(-1.0, 1.0), default=None,
              help=f"Target Poisson's ratio ν*.  [default: {DEFAULTS.target}]")
@click.option("--direction", type=click.Choice(["up", "down"]), default=None,
              help="Shorthand for --target +0.9 (up) or -0.9 (down).")
@click.option("--method", type=click.Choice(["sa", "greedy"]), default=DEFAULTS.method,
              help="Simulated annealing, or greedy pruning (best single removal each step).")
@click.option("--t0", type=float, default=DEFAULTS.t0, help="Initial temperature T0.")
@click.option("--alpha", type=float, default=DEFAULTS.alpha, help="Cooling rate: T ← αT.")
@click.option("--tf", type=float, default=DEFAULTS.tf, help="Final temperature Tf.")
@click.option("--lk", type=int, default=DEFAULTS.lk, help="Proposals per temperature.")
@click.option("--moves", type=int, default=DEFAULTS.moves, help="Bonds toggled per proposal.")
@click.option("--lambda-iso", type=float, default=DEFAULTS.lambda_iso,
              help="Weight of |ν_x − ν_y| in the energy.")
@click.option("--tol", type=float, default=None,
              help="Stop early once |ν − ν*| < TOL and |ν_x − ν_y| < --iso-tol.  [default: off]")
@click.option("--iso-tol", type=float, default=DEFAULTS.iso_tol,
              help="Isotropy demanded by the early stop.")
@click.option("--degree/--no-degree", "keep_degree", default=DEFAULTS.keep_degree,
              help="Keep every node at ≥ 3 bonds.")
@click.option("--convex/--no-convex", "convex_only", default=DEFAULTS.convex_only,
              help="Refuse removals that create a reflex (non-convex) inner corner.")
@click.option("--evaluator", type=click.Choice(["incremental", "full"]),
              default=DEFAULTS.evaluator,
              help="ν of proposals by low-rank updates, or by a full re-solve (slow; checks).")
@click.option("--refactor-every", type=int, default=DEFAULTS.refactor_every,
              help="Refactorise after the state drifts this many bonds from the factor.")
@click.option("--checkpoint-every", type=int, default=DEFAULTS.checkpoint_every,
              help="Temperature steps between checkpoints (OUTPUT.ckpt.npz).")
@click.option("--chain-seed", type=click.IntRange(min=0), default=None,
              help="Seed of the chain's random numbers.  [default: --seed]")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output HDF5 file.")
@click.option("--resume", is_flag=True,
              help="Continue from OUTPUT.ckpt.npz (same options as the interrupted run).")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT and discard a checkpoint.")
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr.")
def command(kind, size, seed, distortion, network_file, target, direction, method, t0, alpha,
            tf, lk, moves, lambda_iso, tol, iso_tol, keep_degree, convex_only, evaluator,
            refactor_every, checkpoint_every, chain_seed, output, resume, force, progress):
    """Anneal one network toward a target Poisson's ratio; write OUTPUT (HDF5).

    The network is generated (--kind, --size, --seed, --distortion) or read
    (--network). Energy E = |ν − ν*| + λ_iso |ν_x − ν_y|, Metropolis at
    temperature T, T ← αT from T0 to Tf with LK proposals each. Proposals
    that make the network floppy are always refused.

    OUTPUT holds the network (/network), the initial, final and best bond
    masks (/masks), their ν (/initial, /final, /best attributes), the
    per-temperature trajectory (/trajectory) and the settings and provenance
    (root attributes). A checkpoint OUTPUT.ckpt.npz is kept while running;
    after Ctrl-C or SIGTERM, run the same command with --resume to finish
    with exactly the result of an uninterrupted run.
    """
    net = _network(kind, size, seed, distortion, network_file)
    if target is not None and direction is not None:
        raise click.UsageError("give --target or --direction, not both")
    if direction is not None:
        target = 0.9 if direction == "up" else -0.9
    settings = AnnealSettings(
        target=DEFAULTS.target if target is None else target, t0=t0, alpha=alpha, tf=tf,
        lk=lk, moves=moves, lambda_iso=lambda_iso, tol=tol, iso_tol=iso_tol, method=method,
        keep_degree=keep_degree, convex_only=convex_only, evaluator=evaluator,
        refactor_every=refactor_every, checkpoint_every=checkpoint_every).validate()
    chain_seed = seed if chain_seed is None else chain_seed
    ckpt = checkpoint_path(output)
    state = _resume_state(ckpt, output, resume, force)
    if state is not None and state.network != network_fingerprint(net):
        raise HpcnetError(f"{ckpt} was made for a different network: run the command of "
                          "the interrupted run again, with --resume")
    log.info("%s: %s", "resuming" if state else "annealing", describe(net))
    show = Progress(progress)
    last = {"state": state}

    def on_step(info: StepInfo, chain_state: ChainState) -> None:
        last["state"] = chain_state
        show(info)
        if info.step % settings.checkpoint_every == 0:
            chain_state.save(ckpt)

    def on_term(signum, frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        result = run_chain(net, settings, chain_rng(chain_seed), state=state, on_step=on_step)
    except (KeyboardInterrupt, Interrupted) as exc:
        show.close()
        if last["state"] is not None:
            last["state"].save(ckpt)
            click.echo(f"interrupted; checkpoint {ckpt} (step {last['state'].step}); "
                       "run the same command with --resume to continue", err=True)
        raise SystemExit(130 if isinstance(exc, KeyboardInterrupt) else 143) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    show.close()
    provenance = {"chain_seed": chain_seed, "command": " ".join(sys.argv),
                  "network_source": str(network_file) if network_file else "generated"}
    write_result(output, net, settings, result, provenance)
    ckpt.unlink(missing_ok=True)
    removed = int((~result.best_mask).sum())
    click.echo(f"{output}: {result.status} after {result.n_proposals} proposals "
               f"({result.wall_time:.1f} s); nu {result.initial_nu:+.4f} -> best "
               f"{result.best_nu:+.4f} (x {result.best_nu_x:+.4f}, y {result.best_nu_y:+.4f}), "
               f"{removed} of {net.n_bonds} bonds removed")


def _network(kind, size, seed, distortion, network_file) -> Network:
    if network_file is not None:
        if kind is not None or size is not None:
            raise click.UsageError("give --network or --kind/--size, not both")
        return Network.load(network_file)
    if kind is None or size is None:
        raise click.UsageError("give --kind and --size (or --network FILE)")
    return generate(kind, size, seed, distortion=distortion if kind == "tri" else None)


def _resume_state(ckpt: Path, output: Path, resume: bool, force: bool) -> ChainState | None:
    if resume:
        if not ckpt.exists():
            raise HpcnetError(f"--resume: no checkpoint {ckpt}")
        return ChainState.load(ckpt)
    if ckpt.exists() and not force:
        raise HpcnetError(f"{ckpt} exists (an interrupted run): pass --resume to continue it "
                          "or --force to start over")
    check_output(output, force)
    return None

