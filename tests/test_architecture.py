"""The package's public face: lazy re-exports that resolve, and imports that stay light."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tests.support.helpers import child_env

PACKAGES = ["hpcnet", "hpcnet.mechanics", "hpcnet.anneal", "hpcnet.ensemble", "hpcnet.analysis"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_resolves(name):
    package = importlib.import_module(name)
    assert package.__all__, f"{name} exports nothing"
    for export in package.__all__:
        assert getattr(package, export) is not None
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_public_api_names_the_scripting_entry_points():
    import hpcnet
    from hpcnet.anneal.chain import run_chain
    from hpcnet.network import Network

    assert hpcnet.run_chain is run_chain and hpcnet.Network is Network
    for name in ("generate", "poisson_ratio", "ElasticSolver", "lowest_modes", "AnnealSettings",
                 "run_ensemble", "EnsembleResults"):
        assert name in hpcnet.__all__


def test_importing_packages_imports_no_h5py_petsc_or_mpi():
    code = ("import sys, " + ", ".join(PACKAGES) + "; "
            "print(sorted(m for m in ('h5py', 'petsc4py', 'mpi4py', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"
