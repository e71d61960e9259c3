"""``hpcnet anneal --network FILE``: a network from elsewhere as the tasks of an ensemble."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from hpcnet.ensemble.results import EnsembleResults
from hpcnet.mechanics.elastic import poisson_ratio
from hpcnet.network import Network
from tests.support.helpers import run_cli
from tests.test_ensemble import (
    anneal,
    assert_same_results,
    kill_everything,
    read_all,
    start,
    wait_for_journals,
    wait_for_records,
)

#: Chains long enough (about 1 s each on one rank) to be interrupted part-way.
SCHEDULE = ["--targets", "-0.9,-0.3,0.3,0.9", "--t0", "0.1", "--alpha", "0.85", "--tf", "0.005",
            "--lk", "100", "--checkpoint-seconds", "0.2"]


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    """An 'imported' network file (no generator provenance) with non-unit springs, and the
    ensemble of its chains run on one rank."""
    root = tmp_path_factory.mktemp("network")
    source = root / "source.npz"
    run_cli("generate", "--kind", "delaunay", "-L", 10, "--seed", 5, "-o", source)
    net = Network.load(source)
    stiffness = 1.0 + 0.5 * np.random.default_rng(0).random(net.n_bonds)
    imported = Network.from_arrays(net.positions, net.bonds, net.boundary, stiffness)
    path = root / "imported.h5"
    imported.save(path)
    anneal(0, root / "reference.h5", "--network", path, *SCHEDULE)
    with h5py.File(root / "reference.h5") as fh:
        assert fh["networks/stiffness"].shape == (4, net.n_bonds)
    return {"path": path, "net": imported, "reference": read_all(root / "reference.h5"),
            "file": root / "reference.h5"}


def test_the_network_is_recorded_and_read_back(network):
    with EnsembleResults(network["file"]) as results:
        source = results.settings["network_file"]
        assert source["path"] == str(network["path"].resolve())
        assert len(source["fingerprint"]) == 40
        assert np.all(results.done) and len(results.done) == 4
        assert set(results.tasks["kind"]) == {"imported"}
        for row in range(4):
            original = results.network(row, "initial")
            np.testing.assert_array_equal(original.positions, network["net"].positions)
            np.testing.assert_array_equal(original.bonds, network["net"].bonds)
            np.testing.assert_array_equal(original.stiffness, network["net"].stiffness)
            for side, nodes in network["net"].boundary.items():
                np.testing.assert_array_equal(original.boundary[side], nodes)
            final = poisson_ratio(results.network(row, "final"))
            assert final.nu == pytest.approx(results.tasks["nu_final"][row], abs=1e-8)
            assert final.a_min == pytest.approx(results.tasks["a_min_final"][row], abs=1e-8)
        t = results.tasks
        assert np.all(np.abs(t["nu_final"] - t["target"]) < np.abs(t["nu_initial"] - t["target"]))


@pytest.mark.mpi
def test_same_answer_on_two_ranks(network, tmp_path):
    out = tmp_path / "two.h5"
    anneal(2, out, "--network", network["path"], *SCHEDULE)
    assert_same_results(read_all(out), network["reference"])


@pytest.mark.mpi
def test_killed_run_resumes_bit_identically(network, tmp_path):
    out = tmp_path / "ens.h5"
    proc = start(2, out, "--network", network["path"], *SCHEDULE)
    wait_for_journals(out, 2, proc)
    wait_for_records(out, 3, proc)
    assert proc.poll() is None  # killed part-way
    kill_everything(proc)
    assert (tmp_path / "ens.h5.journal").is_dir()
    anneal(0, out, "--resume")  # the stored settings: the network file by its path
    assert_same_results(read_all(out), network["reference"])


def test_changed_or_misused_network_file_is_a_clean_error(network, tmp_path):
    out, copy = tmp_path / "ens.h5", tmp_path / "net.h5"
    network["net"].save(copy)
    proc = start(1, out, "--network", copy, *SCHEDULE)
    wait_for_journals(out, 1, proc)
    wait_for_records(out, 1, proc)
    kill_everything(proc)
    net = network["net"]
    Network.from_arrays(net.positions, net.bonds, net.boundary, 2 * net.stiffness).save(copy)
    for args, code, message in [
            (["--resume"], 1, "changed since the run started"),
            (["--network", copy, "--kinds", "tri"], 2, "give no --kinds"),
            (["--network", copy, "--distortion", "0.3"], 2, "--distortion"),
            (["--network", tmp_path / "none.h5"], 2, "does not exist")]:
        proc = anneal(0, out, *args, check=False)
        assert proc.returncode == code and message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
