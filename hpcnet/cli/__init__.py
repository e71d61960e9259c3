"""The ``hpcnet`` command line: a click group, one module per command.

PETSc options (single-dash words such as ``-elastic_ksp_type cg``) are split
off before click parses the rest and go to PETSc's options database.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import traceback

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread per MPI rank

import click  # noqa: E402

from hpcnet import __version__  # noqa: E402
from hpcnet.errors import HpcnetError  # noqa: E402
from hpcnet.tools.log import setup_logging  # noqa: E402
from hpcnet.tools.mpi import origin_rank  # noqa: E402
from hpcnet.tools.petsc_env import (  # noqa: E402
    init,
    split_petsc_options,
    unused_options,
    warn_unused_options,
)


class HpcnetGroup(click.Group):
    """Turns user errors (HpcnetError, PETSc errors from bad options) into clean exits.

    An error raised on every MPI rank together is reported by the rank it came
    from alone; all of them exit non-zero once it is printed.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            origin = origin_rank(exc)
            if origin is None:
                raise _user_error(exc) from None
            error = _user_error(exc)
            world = sys.modules["mpi4py.MPI"].COMM_WORLD
            if world.rank == origin:
                if isinstance(error, click.ClickException):
                    error.show()
                else:
                    traceback.print_exception(error)
            sys.stderr.flush()
            world.Barrier()  # mpirun stops every rank once one exits non-zero: print first
            ctx.exit(getattr(error, "exit_code", 1))


def _user_error(exc: Exception) -> Exception:
    """A ClickException (clean message, status 1) for user errors; ``exc`` itself otherwise."""
    if isinstance(exc, HpcnetError):
        return click.ClickException(str(exc))
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is not None and isinstance(exc, petsc.Error):
        return click.ClickException(f"PETSc failed: {exc}")
    return exc


@click.group(cls=HpcnetGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                 "show_default": True})
@click.version_option(__version__, prog_name="hpcnet")
@click.option("-v", "--verbose", count=True, help="More log output (-vv: every MPI rank).")
def cli(verbose: int) -> None:
    """Poisson's ratio of 2D amorphous spring networks: generate, solve, anneal, learn, plot.

    PETSc/SLEPc options pass through to the solvers, each under its prefix:
    -elastic_* (equilibrium solves), -rigidity_* (floppiness check),
    -modes_* (normal modes). Example: hpcnet poisson net.h5 -elastic_ksp_type cg
    -elastic_pc_type gamg.
    """
    setup_logging(verbose)


def _register() -> None:
    from hpcnet.cli import (
        anneal,
        bonds,
        dataset,
        generate,
        importnet,
        modes,
        path,
        plot,
        poisson,
        predict,
        report,
        stats,
        train,
    )

    for module in (generate, importnet, poisson, modes, bonds, anneal, stats, path, dataset,
                   train, predict, plot, report):
        cli.add_command(module.command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``hpcnet`` console script and ``python -m hpcnet``."""
    faulthandler.register(signal.SIGUSR2, all_threads=True)  # `kill -USR2` dumps stacks
    argv = sys.argv[1:] if argv is None else list(argv)
    petsc_argv, rest = split_petsc_options(argv)
    if not petsc_argv:
        cli.main(args=rest, prog_name="hpcnet")
        return
    init(petsc_argv)
    try:
        cli.main(args=rest, prog_name="hpcnet")
    finally:  # (commands that finalise PETSc themselves have warned already)
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            warn_unused_options(unused_options())
