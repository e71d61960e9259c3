"""Run under mpirun: an exception of one rank reaches every rank, marked with its origin."""

import pytest
from mpi4py import MPI

from hpcnet.errors import FloppyNetworkError, HpcnetError
from hpcnet.tools.mpi import origin_rank, raise_together, root_decides, together


def test_root_decides_hands_rank_0s_exception_to_all():
    comm = MPI.COMM_WORLD
    assert comm.size > 1
    with pytest.raises(HpcnetError, match="bad plan") as info:
        root_decides(comm, lambda: (_ for _ in ()).throw(HpcnetError("bad plan")))
    assert origin_rank(info.value) == 0
    assert root_decides(comm, lambda: comm.rank + 41) == 41  # rank 0's value everywhere


def test_together_raises_the_lowest_failing_rank_everywhere():
    comm = MPI.COMM_WORLD
    with pytest.raises(HpcnetError, match="rank 1 failed") as info:
        with together(comm):
            if comm.rank >= 1:
                raise HpcnetError(f"rank {comm.rank} failed")
    assert origin_rank(info.value) == 1
    raise_together(comm, None)  # nobody failed: returns on every rank


def test_an_exception_that_does_not_unpickle_still_arrives():
    comm = MPI.COMM_WORLD
    error = FloppyNetworkError(4) if comm.rank == comm.size - 1 else None
    with pytest.raises(HpcnetError, match="4 zero mode") as info:
        raise_together(comm, error)
    assert origin_rank(info.value) == comm.size - 1
    assert (info.value is error) == (comm.rank == comm.size - 1)
