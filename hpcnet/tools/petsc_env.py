"""PETSc/SLEPc start-up and the options database.

The CLI separates PETSc options (single-dash words such as ``-elastic_ksp_type
cg``) from its own and hands them to :func:`init` before anything imports
PETSc. Library users who never call :func:`init` get PETSc initialised with no
options on first use.
"""

from __future__ import annotations

import contextlib
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
    """Initialise PETSc and SLEPc with ``petsc_argv`` (call before importing PETSc)."""
    import slepc4py

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


def finalize(comm) -> None:
    """Finalise PETSc on every rank at once. Collective on ``comm``.

    PETSc's finalisation is collective on COMM_WORLD, and left to interpreter
    exit it can run after MPI's on some ranks and before it on others, which
    hangs the job; a command that used PETSc on several ranks calls this last.
    """
    from petsc4py import PETSc

    comm.Barrier()
    PETSc._finalize()


@contextlib.contextmanager
def petsc_session(comm):
    """Start PETSc on every rank of ``comm`` together, and finalise it together on exit.

    Collective on ``comm`` (mpi4py). Commands whose ranks then work independently
    (``anneal``, ``dataset``) wrap their work in this.
    """
    from petsc4py import PETSc  # noqa: F401  (the import is PETSc's collective start)

    try:
        yield
    finally:
        finalize(comm)
