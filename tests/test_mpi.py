"""MPI layer of the foundation: distributed solves and the CLI under mpirun."""

import json

import pytest

from tests.support.helpers import mpirun, run_cli


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
def test_elastic_module_under_mpirun(ranks):
    proc = mpirun(ranks, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "tests/mpi/test_elastic_ranks.py")
    assert proc.stdout.count("passed") == ranks  # every rank ran and passed


@pytest.mark.mpi
def test_cli_poisson_under_mpirun(tmp_path):
    net = tmp_path / "net.h5"
    run_cli("generate", "--kind", "delaunay", "--size", 10, "--seed", 4, "-o", net)
    serial = json.loads(run_cli("poisson", net, "--json").stdout)
    proc = mpirun(2, "-m", "hpcnet", "poisson", net, "--json")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1  # rank 0 alone prints
    parallel = json.loads(lines[0])
    assert parallel["nu"] == pytest.approx(serial["nu"], abs=1e-10)


@pytest.mark.mpi
def test_shared_counter_under_mpirun():
    proc = mpirun(3, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "tests/mpi/test_counter_ranks.py")
    assert proc.stdout.count("1 passed") == 3
