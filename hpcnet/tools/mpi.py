"""Communicators and "rank 0 decides": the MPI idioms every collective entry point shares.

Public entry points accept an mpi4py communicator, a PETSc one, or ``None``
(``COMM_SELF``) and convert once with :func:`as_mpi` / :func:`as_petsc`.
:func:`root_decides` runs a function on rank 0 and hands its result, or its
exception, to every rank, so no rank waits on a peer that has failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def as_mpi(comm=None):
    """The mpi4py communicator for ``comm`` (mpi4py, PETSc or ``None`` = COMM_SELF)."""
    from mpi4py import MPI

    if comm is None:
        return MPI.COMM_SELF
    if isinstance(comm, MPI.Comm):
        return comm
    return comm.tompi4py()


def as_petsc(comm=None):
    """The PETSc communicator for ``comm`` (mpi4py, PETSc or ``None`` = COMM_SELF)."""
    from petsc4py import PETSc

    if comm is None:
        return PETSc.COMM_SELF
    if isinstance(comm, PETSc.Comm):
        return comm
    return PETSc.Comm(comm)


def root_decides(comm, decide: Callable[[], T]) -> T:
    """Call ``decide()`` on rank 0 and return its result on every rank. Collective.

    An exception raised on rank 0 is raised on every rank (the same exception
    where it pickles, else a ``RuntimeError`` with its message), so a failed
    decision never leaves the other ranks waiting.
    """
    comm = as_mpi(comm)
    outcome = None
    if comm.rank == 0:
        try:
            outcome = (True, decide())
        except Exception as exc:  # handed to every rank below
            outcome = (False, exc)
    try:
        ok, value = comm.bcast(outcome, root=0)
    except Exception as exc:  # the exception itself did not pickle
        ok, value = False, RuntimeError(f"rank 0 failed: {exc}")
    if ok:
        return value
    if comm.rank == 0:
        raise outcome[1]
    raise value
