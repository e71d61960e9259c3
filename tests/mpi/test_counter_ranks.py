"""Run under mpirun: the shared counter hands out every index exactly once."""

from mpi4py import MPI

from hpcnet.ensemble.counter import SharedCounters


def test_every_index_taken_exactly_once():
    comm = MPI.COMM_WORLD
    assert comm.size > 1
    counters = SharedCounters(comm, 2)
    taken = []
    while (k := counters.add(0)) < 200:
        taken.append(k)
        counters.add(1, 2)
    everyone = sorted(sum(comm.allgather(taken), []))
    comm.Barrier()
    assert everyone == list(range(200))
    assert counters.read(1) == 400
    counters.free()
