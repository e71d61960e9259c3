"""Communicators and "rank 0 decides": the MPI idioms every collective entry point shares.

Public entry points accept an mpi4py communicator, a PETSc one, or ``None``
(``COMM_SELF``) and convert once with :func:`as_mpi` / :func:`as_petsc`.
:func:`root_decides` runs a function on rank 0 and hands its result, or its
exception, to every rank; :func:`together` raises an exception of any rank on
all of them. So no rank waits on a peer that has failed.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Callable, Iterator
from typing import TypeVar

from hpcnet.errors import HpcnetError

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
    where it pickles, else one of its message), so a failed decision never
    leaves the other ranks waiting.
    """
    comm = as_mpi(comm)
    payload = result = None
    if comm.rank == 0:
        try:
            result = (True, decide())
        except Exception as exc:  # handed to every rank below
            result = (False, exc)
        try:
            payload = pickle.dumps(result if result[0] else (False, _portable(result[1])))
        except Exception as exc:  # the decision itself does not pickle: a bug, told to all
            payload = pickle.dumps((False, RuntimeError(f"rank 0's decision cannot be sent: "
                                                        f"{exc}")))
    ok, value = pickle.loads(comm.bcast(payload, root=0))
    if ok:
        return value
    _raise(0, result[1] if comm.rank == 0 else value)


def raise_together(comm, error: BaseException | None) -> None:
    """Collective: when any rank brings an exception, raise one on every rank.

    Every rank calls this with its own exception or ``None``; if any is not
    ``None``, the lowest such rank raises its own and every other rank the
    same exception (or one of its message), so that all of them stop together.
    """
    comm = as_mpi(comm)
    errors = comm.allgather(None if error is None else _portable(error))
    origin = next((rank for rank, e in enumerate(errors) if e is not None), None)
    if origin is not None:
        _raise(origin, error if comm.rank == origin else errors[origin])


@contextlib.contextmanager
def together(comm) -> Iterator[None]:
    """Run the block on every rank; an exception on any rank is raised on all of them after it.

    Collective on ``comm``. A failed rank skips the rest of its block, so
    collective operations inside must fail on every rank alike, or be left
    the same way on every rank (as h5py's collective close is).
    """
    error = None
    try:
        yield
    except Exception as exc:  # raised on every rank below
        error = exc
    raise_together(comm, error)


def origin_rank(exc: BaseException) -> int | None:
    """The rank an exception raised collectively came from (None: raised on this rank alone).

    Every rank of a collective failure holds it; only the origin reports it.
    """
    return getattr(exc, "hpcnet_origin", None)


def _raise(origin: int, exc: BaseException):
    exc.hpcnet_origin = origin
    raise exc


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (to reach other ranks), else an exception of its message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        kind = HpcnetError if isinstance(exc, HpcnetError) else RuntimeError
        return kind(str(exc) if kind is HpcnetError else f"{type(exc).__name__}: {exc}")
