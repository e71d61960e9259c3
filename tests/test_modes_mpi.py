"""Normal modes on several MPI ranks: the pytest module under mpirun, and the CLI on 3 ranks."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from hpcnet.generators import generate
from hpcnet.mechanics.modes import lowest_modes
from tests.support.helpers import mpirun

pytestmark = pytest.mark.mpi


def test_modes_on_two_ranks():
    proc = mpirun(2, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "tests/mpi/test_modes_ranks.py")
    assert proc.stdout.count("4 passed") == 2  # on both ranks


def test_cli_modes_on_three_ranks(tmp_path):
    net = generate("tri", 12, 4, distortion=0.3)
    net.save(tmp_path / "net.h5")
    out = tmp_path / "modes.h5"
    proc = mpirun(3, "-m", "hpcnet", "modes", tmp_path / "net.h5", "-k", "10", "-o", out)
    assert proc.stdout.count("written to") == 1  # rank 0 alone prints
    with h5py.File(out, "r") as fh:
        omega2 = fh["modes/omega2"][()]
        assert '"ranks": 3' in fh.attrs["solver"]
    np.testing.assert_allclose(omega2, lowest_modes(net, 10).omega2, rtol=1e-10)
