"""Run under ``mpirun -n 2`` (tests/test_modes_mpi.py): one eigenproblem shared by all ranks."""

from __future__ import annotations

import numpy as np
from petsc4py import PETSc

from hpcnet.generators import generate
from hpcnet.mechanics.mechanism import analyse
from hpcnet.mechanics.modes import all_modes, lowest_modes

WORLD, SELF = PETSc.COMM_WORLD, PETSc.COMM_SELF


def test_really_several_ranks():
    assert WORLD.getSize() >= 2


def test_shared_eigenproblem_matches_one_rank():
    net = generate("delaunay", 14, 7)
    shared = lowest_modes(net, 16, WORLD)
    alone = lowest_modes(net, 16, SELF)
    assert shared.solver["ranks"] == WORLD.getSize()
    np.testing.assert_allclose(shared.omega2, alone.omega2, rtol=1e-10)
    np.testing.assert_allclose(shared.vectors, alone.vectors, atol=1e-8)  # same signs too
    gathered = WORLD.tompi4py().allgather(shared.omega2)
    for other in gathered:
        np.testing.assert_array_equal(other, shared.omega2)


def test_dense_spectrum_is_broadcast():
    net = generate("tri", 6, 2, distortion=0.4)
    shared = all_modes(net, WORLD)
    alone = all_modes(net, SELF)
    np.testing.assert_allclose(shared.omega2, alone.omega2, rtol=1e-12)
    np.testing.assert_allclose(shared.vectors, alone.vectors, atol=1e-10)


def test_each_rank_analyses_its_own_network_on_comm_self():
    rank = WORLD.getRank()
    net = generate("tri", 7, 10 + rank, distortion=0.5)
    _, mech = analyse(net, comm=SELF, full=True)
    assert abs(mech.x.captured - 1.0) < 1e-10
    assert abs(mech.x.truncated[-1] - mech.x.nu) < 1e-8
    nus = WORLD.tompi4py().allgather(mech.nu)
    assert len(set(nus)) == WORLD.getSize()  # different networks, different answers
