"""Logging set-up: one format carrying the MPI rank; ranks > 0 quiet by default."""

from __future__ import annotations

import logging
import os


def mpi_rank_size() -> tuple[int, int]:
    """Rank and size from the launcher's environment, without importing MPI."""
    for rank_var, size_var in (
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),  # mpirun (OpenMPI)
        ("SLURM_PROCID", "SLURM_NTASKS"),  # srun
        ("PMI_RANK", "PMI_SIZE"),  # MPICH's hydra
        ("RANK", "WORLD_SIZE"),  # torchrun
    ):
        if rank_var in os.environ and size_var in os.environ:
            return int(os.environ[rank_var]), int(os.environ[size_var])
    return 0, 1


def setup_logging(verbose: int = 0, rank: int | None = None, size: int | None = None) -> None:
    """Configure the ``hpcnet`` logger.

    Rank 0 logs at INFO (DEBUG with ``verbose``); other ranks at WARNING
    unless ``verbose >= 2``, so that 64 ranks do not print 64 copies.
    """
    env_rank, env_size = mpi_rank_size()
    rank = env_rank if rank is None else rank
    size = env_size if size is None else size
    level = logging.DEBUG if verbose else logging.INFO
    if rank > 0 and verbose < 2:
        level = logging.WARNING
    prefix = f"[{rank}/{size}] " if size > 1 else ""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(f"%(asctime)s {prefix}%(levelname)s %(message)s",
                                           datefmt="%H:%M:%S"))
    logger = logging.getLogger("hpcnet")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
