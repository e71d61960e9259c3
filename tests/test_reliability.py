"""Reliability: one writer per output, no MPI run hangs, exit statuses, every mistake a clear error.

Each case drives the CLI the way a user would and asserts the outcome (the
kill/SIGTERM/journal-corruption cases live in tests/test_ensemble.py).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from hpcnet.errors import FloppyNetworkError, HpcnetError
from hpcnet.network import Network
from hpcnet.tools.lock import OutputLock, holder, lock_path
from tests.support.helpers import REPO, child_env, mpirun, run_cli

#: Two one-second chains.
TINY = ["--kinds", "tri", "--sizes", "6", "--seeds", "0-1", "--targets", "-0.9",
        "--t0", "0.05", "--alpha", "0.5", "--tf", "0.01", "--lk", "6"]
#: Chains that run for several seconds on one rank (long enough to act on a live run).
LIVE = ["--kinds", "tri,delaunay", "--sizes", "10", "--seeds", "0-3", "--targets", "-0.9,0.9",
        "--t0", "0.1", "--alpha", "0.85", "--tf", "0.005", "--lk", "100",
        "--checkpoint-seconds", "0.2"]


def assert_user_error(proc, *fragments):
    """Non-zero exit, no traceback, each fragment in the message, the message printed once."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("Error:") == 1, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


def start_anneal(out, *args):
    """A serial ``hpcnet anneal`` in the background (its pid is the writer's pid)."""
    return subprocess.Popen([sys.executable, "-m", "hpcnet", "anneal", *args, "-o", str(out)],
                            env=child_env(), cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_journal_records(out, proc):
    """Block until the run has journalled something (it holds the lock and is working)."""
    journal = out.parent / (out.name + ".journal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.stat().st_size > 0 for p in journal.glob("*.jrnl")):
            return
        time.sleep(0.02)
    raise AssertionError("the run journalled nothing")


def finished_tasks(out):
    with h5py.File(out, "r") as fh:
        return int(fh.attrs["n_done"]), int(fh.attrs["n_tasks"]), bool(fh.attrs["complete"])


# ----------------------------------------------------------------- one writer per output
def test_lock_names_its_holder_and_dies_with_it(tmp_path):
    out = tmp_path / "out.h5"
    code = ("import sys, time; from hpcnet.tools.lock import OutputLock; "
            f"lock = OutputLock({str(out)!r}); lock.acquire(); print('held', flush=True); "
            "time.sleep(600)")
    child = subprocess.Popen([sys.executable, "-c", code], env=child_env(),
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        running = holder(out)
        assert f"pid {child.pid}" in running and "host " in running and "started " in running
        with pytest.raises(HpcnetError, match=f"being written by another run .*pid {child.pid}"):
            OutputLock(out).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert lock_path(out).exists()  # the file is left behind, its lock is not
    assert holder(out) is None
    with OutputLock(out) as lock:
        lock.acquire()
        assert f"pid {os.getpid()}" in holder(out)
    assert holder(out) is None and not lock_path(out).exists()


def test_second_writer_is_refused_and_no_chain_is_lost(tmp_path):
    """The same command twice at once, and `--resume` on a running output: one writer."""
    out = tmp_path / "ens.h5"
    longer = [*LIVE[:5], "0-7", *LIVE[6:]]  # 32 tasks: live through the checks below
    first, second = start_anneal(out, *longer), start_anneal(out, *longer)
    deadline = time.monotonic() + 120
    while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    loser, winner = (first, second) if first.poll() is not None else (second, first)
    err = loser.communicate(timeout=120)[1]
    assert loser.returncode == 1 and "Traceback" not in err
    assert "is being written by another run" in err and f"pid {winner.pid}" in err
    wait_for_journal_records(out, winner)
    resume = run_cli("anneal", "--resume", "-o", out, check=False)
    assert_user_error(resume, "being written by another run", f"pid {winner.pid}")
    stats = run_cli("stats", out).stdout
    assert "still going" in stats and f"pid {winner.pid}" in stats and "resume it" not in stats
    stdout, stderr = winner.communicate(timeout=300)
    assert winner.returncode == 0, stderr
    assert "32 of 32 tasks done" in stdout
    assert finished_tasks(out) == (32, 32, True)
    assert not lock_path(out).exists()


def test_dataset_refuses_an_output_being_written(tmp_path):
    out = tmp_path / "ds.h5"
    with OutputLock(out) as lock:
        lock.acquire()
        proc = run_cli("dataset", "--kind", "tri", "--size", 4, "--count", 2, "-o", out,
                       check=False)
        assert_user_error(proc, "being written by another run", f"pid {os.getpid()}")
    assert not out.exists()


def test_journal_removed_under_a_live_run_is_an_error(tmp_path):
    out = tmp_path / "ens.h5"
    proc = start_anneal(out, *LIVE)
    wait_for_journal_records(out, proc)
    shutil.rmtree(tmp_path / "ens.h5.journal")
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Traceback" not in stderr
    assert "ens.h5.journal was removed while this run wrote to it" in stderr
    assert not out.exists()  # not a file claiming 0 tasks done


def test_a_merge_never_replaces_a_file_with_more_finished_tasks(tmp_path):
    from hpcnet.ensemble.runner import _replace

    out, part = tmp_path / "ens.h5", tmp_path / "ens.h5.part"
    run_cli("anneal", *TINY, "-o", out)
    before = out.read_bytes()
    part.write_bytes(b"a merge of fewer tasks")
    with pytest.raises(HpcnetError, match="holds 2 finished tasks, its journals only 1"):
        _replace(part, out, 1, None)
    assert out.read_bytes() == before


# ----------------------------------------------------------------- collective errors under MPI
@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("damage, message", [
    ("journal_file", "ens.h5.journal is not a journal directory"),
    ("bad_settings", "settings.json: not the settings of an hpcnet run"),
])
def test_planning_error_under_mpirun_ends_with_one_message(tmp_path, ranks, damage, message):
    out = tmp_path / "ens.h5"
    journal = tmp_path / "ens.h5.journal"
    if damage == "journal_file":
        journal.write_text("hi\n")
    else:
        journal.mkdir()
        (journal / "settings.json").write_text("{not json")
    proc = mpirun(ranks, "-m", "hpcnet", "anneal", *TINY, "-o", out, check=False, timeout=120)
    assert_user_error(proc, message)


@pytest.mark.mpi
def test_a_failing_chain_stops_every_rank(tmp_path):
    """PETSc refuses an option inside the chains; a rank without a task must not wait."""
    proc = mpirun(3, "-m", "hpcnet", "anneal", *TINY, "-o", tmp_path / "ens.h5",
                  "-elastic_pc_type", "bogus", check=False, timeout=120)
    assert_user_error(proc, "PETSc failed", "bogus")


# ----------------------------------------------------------------- exit statuses
@pytest.mark.parametrize("ranks", [0, pytest.param(2, marks=pytest.mark.mpi)])
def test_petsc_options_keep_exit_status_0(tmp_path, ranks):
    args = ("anneal", *TINY, "-o", tmp_path / "ens.h5", "-elastic_ksp_type", "preonly",
            "-elastic_bogus_option", "3")
    proc = run_cli(*args) if ranks == 0 else mpirun(ranks, "-m", "hpcnet", *args)
    assert "2 of 2 tasks done, 0 failed" in proc.stdout
    assert proc.stderr.count("-elastic_bogus_option were not used") == 1
    assert "-elastic_ksp_type" not in proc.stderr


def test_dataset_and_poisson_with_petsc_options(tmp_path):
    proc = run_cli("dataset", "--kind", "tri", "--size", 4, "--count", 2, "-o",
                   tmp_path / "ds.h5", "-elastic_ksp_type", "preonly")
    assert "2 samples labelled" in proc.stdout
    run_cli("generate", "--kind", "tri", "--size", 6, "-o", tmp_path / "net.h5")
    proc = run_cli("poisson", tmp_path / "net.h5", "-elastic_ksp_typo", "cg")
    assert "nu   =" in proc.stdout and "-elastic_ksp_typo were not used" in proc.stderr


# ----------------------------------------------------------------- anneal options
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny ensemble."""
    out = tmp_path_factory.mktemp("finished") / "ens.h5"
    run_cli("anneal", *TINY, "-o", out)
    return out


@pytest.mark.parametrize("options, fragments", [
    (["--lk", "30"], ["--lk (the run has 6, you gave 30)"]),
    (["--alpha", "0.4", "--base-seed", "3"],
     ["--alpha (the run has 0.5, you gave 0.4)", "--base-seed (the run has 0, you gave 3)"]),
    (["--targets", "0.9"], ["--targets (the run has [-0.9], you gave [0.9])"]),
])
def test_resume_with_a_changed_setting_is_refused(finished, options, fragments):
    before = finished.stat().st_mtime_ns
    proc = run_cli("anneal", "--resume", *options, "-o", finished, check=False)
    assert_user_error(proc, "--resume", *fragments)
    assert finished.stat().st_mtime_ns == before


def test_resume_with_the_stored_values_is_accepted(finished):
    proc = run_cli("anneal", "--resume", "--lk", "6", "--kinds", "tri", "-o", finished)
    assert "2 of 2 tasks done" in proc.stdout


def test_rerun_with_other_settings_names_them(finished):
    proc = run_cli("anneal", *TINY[:-1], "7", "-o", finished, check=False)
    assert_user_error(proc, "different settings", "anneal.lk: 6 there, 7 here")


def test_resume_and_force_together_are_refused(finished):
    before = finished.stat().st_mtime_ns
    proc = run_cli("anneal", "--resume", "--force", "-o", finished, check=False)
    assert_user_error(proc, "--resume", "--force")
    assert finished.stat().st_mtime_ns == before


def test_empty_targets_and_binary_config(tmp_path):
    proc = run_cli("anneal", *TINY[:6], "--targets", "", "-o", tmp_path / "x.h5", check=False)
    assert_user_error(proc, "no targets given")
    config = tmp_path / "c.toml"
    config.write_bytes(bytes(range(256)))
    proc = run_cli("anneal", "--config", config, "-o", tmp_path / "x.h5", check=False)
    assert_user_error(proc, "cannot read", "as TOML")
    assert not (tmp_path / "x.h5").exists() and not (tmp_path / "x.h5.journal").exists()


# ----------------------------------------------------------------- stats
def damaged_copy(src, dst, how):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as fh:
        if how == "settings":
            fh.attrs["settings"] = "{not json"
        else:
            del fh["tasks/nu_final"]
    return dst


@pytest.mark.parametrize("how, message", [("settings", "attribute 'settings': not the settings"),
                                          ("column", "not a complete hpcnet ensemble file")])
def test_stats_on_a_damaged_file(finished, tmp_path, how, message):
    proc = run_cli("stats", damaged_copy(finished, tmp_path / "d.h5", how), check=False)
    assert_user_error(proc, message)


def test_stats_on_a_damaged_journal_and_csv_in_a_new_folder(finished, tmp_path):
    out = tmp_path / "ens.h5"
    (tmp_path / "ens.h5.journal").mkdir()
    (tmp_path / "ens.h5.journal" / "settings.json").write_text("[1, 2")
    assert_user_error(run_cli("stats", out, check=False), "settings.json: not the settings")
    proc = run_cli("stats", finished, "--csv", tmp_path / "new" / "s.csv")
    assert "2 of 2 tasks done" in proc.stdout and (tmp_path / "new" / "s.csv").is_file()


# ----------------------------------------------------------------- networks
@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """net5.h5, net6.h5 (rigid), bare.npz (no bonds), floppy.npz, fraction.npz (bond 1.6)."""
    root = tmp_path_factory.mktemp("nets")
    for size in (5, 6):
        run_cli("generate", "--kind", "tri", "--size", size, "-o", root / f"net{size}.h5")
    net = Network.load(root / "net5.h5")
    net.pruned(np.zeros(net.n_bonds, bool)).save(root / "bare.npz")
    net.pruned(np.arange(net.n_bonds) % 2 == 0).save(root / "floppy.npz")
    with np.load(root / "bare.npz") as data:
        arrays = dict(data)
    arrays["bonds"] = net.bonds.astype(float)
    arrays["bonds"][3, 1] = 1.6
    arrays["stiffness"] = net.stiffness
    np.savez(root / "fraction.npz", **arrays)
    return root


@pytest.mark.parametrize("command", ["poisson", "modes", "bonds"])
def test_bondless_network_is_floppy(nets, command):
    proc = run_cli(command, nets / "bare.npz", check=False)
    assert_user_error(proc, "bare.npz is floppy", "no Poisson's ratio")


def test_non_integer_bond_indices_are_refused(nets, tmp_path):
    proc = run_cli("import", nets / "fraction.npz", "-o", tmp_path / "x.h5", check=False)
    assert_user_error(proc, "bond indices must be integers: bond(s) 3 hold 1.6")
    with np.load(nets / "fraction.npz") as data:
        arrays = dict(data)
    arrays["bonds"] = Network.load(nets / "net5.h5").bonds.astype(float)  # whole: fine
    np.savez(tmp_path / "whole.npz", **arrays)
    assert Network.load(tmp_path / "whole.npz").bonds.dtype == np.int64


@pytest.mark.parametrize("command", ["generate", "import", "bonds"])
def test_output_into_a_new_folder(nets, tmp_path, command):
    out = tmp_path / "new" / "x.h5"
    args = {"generate": ["--kind", "tri", "--size", 5], "import": [nets / "net5.h5"],
            "bonds": [nets / "net5.h5"]}[command]
    run_cli(command, *args, "-o", out)
    assert h5py.is_hdf5(out)


def test_predict_refuses_floppy_networks_and_mixes_sizes(nets, tmp_path):
    dataset, run = tmp_path / "ds.h5", tmp_path / "run"
    run_cli("dataset", "--kind", "tri", "--size", 5, "--count", 10, "-o", dataset)
    run_cli("train", dataset, "--model", "alexnet-matrix", "--matrix-size", 64, "--epochs", 1,
            "--batch-size", 4, "--device", "cpu", "-o", run)
    proc = run_cli("predict", run, nets / "net5.h5", nets / "bare.npz", check=False)
    assert_user_error(proc, "bare.npz is floppy", "no Poisson's ratio")
    mixed = run_cli("predict", run, nets / "net5.h5", nets / "net6.h5", nets / "net5.h5",
                    "--json").stdout.splitlines()
    from hpcnet.learn.predict import Predictor

    predictor = Predictor(run, "cpu")
    floppy = Network.load(nets / "floppy.npz")
    with pytest.raises(FloppyNetworkError, match="network 1 is floppy"):
        predictor.predict([Network.load(nets / "net5.h5"), floppy])
    one = predictor.predict([Network.load(nets / f"net{s}.h5") for s in (5, 6)], batch_size=1)
    assert [json.loads(line)["nu_pred"] for line in mixed] == pytest.approx(
        [one[0], one[1], one[0]], abs=1e-6)


# ----------------------------------------------------------------- dataset
def test_dataset_never_deletes_its_input(finished, tmp_path):
    ensemble = shutil.copy(finished, tmp_path / "ens.h5")
    before = open(ensemble, "rb").read()
    proc = run_cli("dataset", "--from-anneal", ensemble, "-o", ensemble, "--force",
                   check=False)
    assert_user_error(proc, "is also an input (--from-anneal)")
    assert open(ensemble, "rb").read() == before


@pytest.mark.mpi
def test_collective_helpers_under_mpirun():
    proc = mpirun(3, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  "tests/mpi/test_collective_ranks.py", timeout=120)
    assert proc.stdout.count("3 passed") == 3


@pytest.mark.mpi
def test_an_error_of_one_rank_alone_stops_the_job():
    """Rank 0 waits in a collective call; rank 1 fails on its own: the job ends, not hangs."""
    code = ("from mpi4py import MPI\n"
            "from hpcnet.tools.petsc_env import petsc_session\n"
            "with petsc_session(MPI.COMM_WORLD):\n"
            "    if MPI.COMM_WORLD.rank == 1:\n"
            "        raise ValueError('only rank 1 fails')\n"
            "    MPI.COMM_WORLD.Barrier()\n")
    proc = mpirun(2, "-c", code, check=False, timeout=120)
    assert proc.returncode != 0
    assert "rank 1 failed; stopping every rank" in proc.stderr
    assert "ValueError: only rank 1 fails" in proc.stderr
