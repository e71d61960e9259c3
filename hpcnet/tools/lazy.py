"""Lazy re-exports: a package names its public API without importing heavy modules.

A package ``__init__`` calls :func:`lazy_exports` with ``{name: submodule}``; the
submodule is imported only when the name is first used. This keeps ``import
hpcnet.ensemble`` from importing mpi4py, h5py or petsc4py (the CLI's choice of
h5py's MPI build depends on what was imported first).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable, list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` re-exporting ``exports``.

    ``exports`` maps each public name to the module (relative to ``package``,
    e.g. ``".chain"``) that defines it.
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
