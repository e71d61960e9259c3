"""Helpers shared by the CLI commands."""

from __future__ import annotations

from pathlib import Path

import click

from hpcnet.network import Network


def world():
    """MPI COMM_WORLD as a PETSc communicator (the CLI alone picks it)."""
    from petsc4py import PETSc

    return PETSc.COMM_WORLD


def check_output(path: Path, force: bool) -> None:
    """Refuse to overwrite an existing file unless ``--force``."""
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it")


def describe(net: Network) -> str:
    """One line: kind, size, seed, counts, z."""
    origin = f"{net.kind} L={net.size} seed={net.seed}" if net.kind != "imported" else "imported"
    return (f"{origin}: {net.n_nodes} nodes, {net.n_bonds} bonds, "
            f"z = {net.mean_coordination():.3f}")
