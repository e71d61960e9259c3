"""Run under mpirun: one network's solve distributed over COMM_WORLD."""

import numpy as np
import pytest
from petsc4py import PETSc

from hpcnet.errors import FloppyNetworkError
from hpcnet.generators import generate
from hpcnet.mechanics.elastic import poisson_ratio

COMM = PETSc.COMM_WORLD


def test_really_parallel():
    assert COMM.getSize() > 1


@pytest.mark.parametrize("kind", ["tri", "delaunay"])
def test_distributed_solve_equals_serial(kind):
    net = generate(kind, 12, 1, **({"distortion": 0.5} if kind == "tri" else {}))
    par, ser = poisson_ratio(net, COMM), poisson_ratio(net, PETSc.COMM_SELF)
    assert par.nu_x == pytest.approx(ser.nu_x, abs=1e-10)
    assert par.nu_y == pytest.approx(ser.nu_y, abs=1e-10)


def test_distributed_floppiness_check():
    net = generate("tri", 6, 0)
    mask = np.ones(net.n_bonds, bool)
    mask[np.flatnonzero((net.bonds == 15).any(axis=1))[1:]] = False
    with pytest.raises(FloppyNetworkError) as err:
        poisson_ratio(net.pruned(mask), COMM)
    assert err.value.extra_zero_modes == 1
