"""Shared counters in an MPI window: dynamic task hand-out without a master rank.

Rank 0 hosts a few int64 slots; every rank atomically fetch-and-adds them with
passive-target RMA, so a rank takes its next task the moment it is free and
rank 0 computes chains like everyone else.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI


class SharedCounters:
    """``n`` int64 counters, all zero at start. Collective creation on ``comm``."""

    def __init__(self, comm, n: int):
        self.comm = comm
        itemsize = MPI.INT64_T.Get_size()
        self.win = MPI.Win.Allocate(n * itemsize if comm.rank == 0 else 0, itemsize, comm=comm)
        if comm.rank == 0:
            self.win.Lock(0, MPI.LOCK_EXCLUSIVE)
            np.frombuffer(self.win.tomemory(), dtype=np.int64)[:] = 0
            self.win.Unlock(0)
        comm.Barrier()

    def add(self, slot: int, value: int = 1) -> int:
        """Atomically add ``value`` to counter ``slot``; return its previous value."""
        inc, out = np.array([value], np.int64), np.zeros(1, np.int64)
        self.win.Lock(0, MPI.LOCK_SHARED)
        self.win.Fetch_and_op(inc, out, 0, target_disp=slot, op=MPI.SUM)
        self.win.Unlock(0)
        return int(out[0])

    def read(self, slot: int) -> int:
        return self.add(slot, 0)

    def free(self) -> None:
        self.win.Free()
