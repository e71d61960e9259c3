"""PETSc/SLEPc start-up and the options database.

The CLI separates PETSc options (single-dash words such as ``-elastic_ksp_type
cg``) from its own and hands them to :func:`init` before anything imports
PETSc. Library users who never call :func:`init` get PETSc initialised with no
options on first use.
"""

from __future__ import annotations

import contextlib
import logging
import re

_PETSC_OPTION = re.compile(r"^-[A-Za-z][A-Za-z0-9]*_\w+$")
_NUMBER = re.compile(r"^-?\d*\.?\d+([eE][-+]?\d+)?$")


def split_petsc_options(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split ``argv`` into (PETSc options with their values, the rest).

    A PETSc option is a single dash followed by a word with an underscore
    (``-log_view``, ``-elastic_pc_type gamg``); the next token is its value
    unless it is itself an option. CLI flags (``-o``, ``-k``, ``-vv``) have
    no underscore and stay with the CLI.
    """
    petsc, rest = [], []
    k = 0
    while k < len(argv):
        tok = argv[k]
        if _PETSC_OPTION.match(tok):
            petsc.append(tok)
            nxt = argv[k + 1] if k + 1 < len(argv) else None
            if nxt is not None and (not nxt.startswith("-") or _NUMBER.match(nxt)):
                petsc.append(nxt)
                k += 1
        else:
            rest.append(tok)
        k += 1
    return petsc, rest


def init(petsc_argv: list[str]) -> None:
    """Initialise PETSc and SLEPc with ``petsc_argv`` (call before importing PETSc).

    MPI is started first, by mpi4py, as on the path without options: PETSc
    finalises MPI only if it started it, and the CLI uses MPI after PETSc's end.
    """
    import slepc4py
    from mpi4py import MPI  # noqa: F401

    slepc4py.init(["hpcnet", *petsc_argv])


def set_default_options(prefix: str, values: dict) -> None:
    """Set each option ``prefix + name`` to its value unless the user already set it."""
    from petsc4py import PETSc

    options = PETSc.Options()
    for name, value in values.items():
        if not options.hasName(prefix + name):
            options.setValue(prefix + name, value)


def options_snapshot() -> dict[str, str]:
    """All options in PETSc's database, for provenance."""
    from petsc4py import PETSc

    return {k: str(v) for k, v in PETSc.Options().getAll().items()}


def unused_options() -> list[str]:
    """Options in PETSc's database that nothing has read so far (misspelt ones, above all)."""
    import ctypes

    import numpy as np
    from petsc4py import PETSc

    if not PETSc.Sys.isInitialized() or PETSc.Sys.isFinalized():
        return []
    try:  # PETSc's own symbols, reached through the module that links them
        lib = ctypes.CDLL(PETSc.__file__)
        left_get, left_restore = lib.PetscOptionsLeftGet, lib.PetscOptionsLeftRestore
    except (OSError, AttributeError):  # a build that hides them: no warning then
        return []
    count = (ctypes.c_int64 if np.dtype(PETSc.IntType).itemsize == 8 else ctypes.c_int32)()
    names, values = ctypes.POINTER(ctypes.c_char_p)(), ctypes.POINTER(ctypes.c_char_p)()
    args = (None, ctypes.byref(count), ctypes.byref(names), ctypes.byref(values))
    if left_get(*args):
        return []
    left = [f"-{names[i].decode()}" for i in range(count.value)]
    left_restore(*args)
    return left


def warn_unused_options(unused: list[str]) -> None:
    """Log a warning naming PETSc options that were never used."""
    if unused:
        logging.getLogger("hpcnet").warning(
            "PETSc option(s) %s were not used: misspelt, or not for this command "
            "(see the prefixes in `hpcnet --help`)", ", ".join(sorted(unused)))


def finalize(comm) -> None:
    """Finalise PETSc on every rank at once. Collective on ``comm``.

    PETSc's finalisation is collective on COMM_WORLD, and left to interpreter
    exit it can run after MPI's on some ranks and before it on others, which
    hangs the job; a command that used PETSc on several ranks calls this last.
    Rank 0 first warns of options no rank used.
    """
    from petsc4py import PETSc

    unused = comm.allgather(set(unused_options()))
    if comm.rank == 0:
        warn_unused_options(list(set.intersection(*unused)))
    PETSc._finalize()


@contextlib.contextmanager
def petsc_session(comm):
    """Start PETSc on every rank of ``comm`` together, and finalise it together on exit.

    Collective on ``comm`` (mpi4py). Commands whose ranks then work independently
    (``anneal``, ``dataset``) wrap their work in this. An exception raised on
    one rank alone (not by :func:`hpcnet.tools.mpi.root_decides` or
    :func:`~hpcnet.tools.mpi.together`) aborts the job after its traceback: the
    other ranks may be waiting for the failed one.
    """
    from petsc4py import PETSc  # noqa: F401  (the import is PETSc's collective start)

    from hpcnet.tools.mpi import origin_rank

    try:
        yield
    except BaseException as exc:
        if comm.size > 1 and origin_rank(exc) is None and not isinstance(exc, SystemExit):
            logging.getLogger("hpcnet").critical("rank %d failed; stopping every rank",
                                                 comm.rank, exc_info=True)
            comm.Abort(1)
        raise
    finally:
        finalize(comm)
