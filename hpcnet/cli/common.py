"""Helpers shared by the CLI commands."""

from __future__ import annotations

import os
import sys

from hpcnet.network import Network


def world():
    """MPI COMM_WORLD as a PETSc communicator (the CLI alone picks it)."""
    from petsc4py import PETSc

    return PETSc.COMM_WORLD


def mpi_world():
    """mpi4py's COMM_WORLD, with h5py's MPI build selected when there are several ranks.

    Debian's h5py picks its MPI build at first import only when mpirun's
    variables are set; under srun they are not, so the choice is made here,
    before anything imports h5py.
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.size > 1:
        if "h5py" in sys.modules and not sys.modules["h5py"].get_config().mpi:
            raise RuntimeError("h5py was imported before MPI was set up")
        os.environ.setdefault("H5PY_ALWAYS_USE_MPI", "1")
    return comm


def describe(net: Network) -> str:
    """One line: kind, size, seed, counts, z."""
    origin = f"{net.kind} L={net.size} seed={net.seed}" if net.kind != "imported" else "imported"
    return (f"{origin}: {net.n_nodes} nodes, {net.n_bonds} bonds, "
            f"z = {net.mean_coordination():.3f}")
