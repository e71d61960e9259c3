"""The MPI ensemble: rank-count independence, kill/resume, SIGTERM, corrupted files, stats."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from hpcnet.ensemble.journal import journal_files, read_journal
from hpcnet.ensemble.runner import EXIT_INTERRUPTED
from tests.support.helpers import REPO, child_env, mpirun, run_cli

TINY = ["--kinds", "tri,delaunay,packing", "--sizes", "6", "--seeds", "0-1",
        "--targets", "-0.9,0.9", "--t0", "0.05", "--alpha", "0.5", "--tf", "0.01", "--lk", "6"]
#: Chains long enough (about 8 s in all on one rank) to be interrupted part-way.
LONG = ["--kinds", "tri,delaunay", "--sizes", "10", "--seeds", "0-3", "--targets", "-0.9,0.9",
        "--t0", "0.1", "--alpha", "0.85", "--tf", "0.005", "--lk", "100",
        "--checkpoint-seconds", "0.2"]
IGNORED = {"tasks/wall_time"}  # timings differ from run to run


def read_all(path):
    """Every dataset of an ensemble file, by name."""
    out = {}
    with h5py.File(path, "r") as fh:
        fh.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                      if isinstance(obj, h5py.Dataset) else None)
        out["@complete"] = bool(fh.attrs["complete"])
        out["@settings"] = json.loads(fh.attrs["settings"])
    return out


def assert_same_results(a, b):
    assert set(a) == set(b)
    for name in a:
        if name not in IGNORED:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def anneal(ranks, out, *args, check=True):
    if ranks == 0:  # no mpirun at all
        return run_cli("anneal", *args, "-o", out, check=check)
    return mpirun(ranks, "-m", "hpcnet", "anneal", *args, "-o", out, check=check)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny and long ensembles run uninterrupted on one rank."""
    root = tmp_path_factory.mktemp("reference")
    anneal(0, root / "tiny.h5", *TINY)
    anneal(0, root / "long.h5", *LONG)
    return {"tiny": read_all(root / "tiny.h5"), "long": read_all(root / "long.h5")}


@pytest.mark.mpi
@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_rank_count_independence(tmp_path, reference, ranks):
    out = tmp_path / "ens.h5"
    anneal(ranks, out, *TINY)
    result = read_all(out)
    assert result["@complete"] and np.all(result["tasks/status"] == 2)
    assert len(result["tasks/status"]) == 12
    assert result["path/masks"].shape[:2] == result["path/nu"].shape  # the paths are compared
    assert result["tasks/n_path"].max() > 2
    assert_same_results(result, reference["tiny"])
    assert not (tmp_path / "ens.h5.journal").exists()


def test_rerun_of_a_finished_run_does_nothing(tmp_path, reference):
    out = tmp_path / "ens.h5"
    anneal(0, out, *TINY)
    before = out.stat().st_mtime_ns
    proc = anneal(0, out, *TINY)
    assert "12 of 12 tasks done" in proc.stdout and out.stat().st_mtime_ns == before
    changed = anneal(0, out, *TINY[:-1], "7", check=False)
    assert changed.returncode != 0 and "different settings" in changed.stderr


def start(ranks, out, *args):
    cmd = ["mpirun", "-n", str(ranks), "--oversubscribe", sys.executable, "-m", "hpcnet",
           "anneal", *args, "-o", str(out)]
    return subprocess.Popen(cmd, env=child_env(),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def ranks_of(mpirun_pid):
    """The rank processes mpirun started (its children)."""
    out = subprocess.run(["pgrep", "-P", str(mpirun_pid)], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def wait_for_journals(out, ranks, proc):
    """Block until every rank has opened its journal (start-up is over)."""
    journal = out.parent / (out.name + ".journal")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        opened = {p.name.split("-")[0] for p in journal.glob("*.jrnl")}
        if len(list(journal.glob(f"{max(opened, default='')}-*.jrnl"))) >= ranks:
            return
        time.sleep(0.02)


def records(out):
    """Intact journal records written so far (finished chains and checkpoints)."""
    journal = out.parent / (out.name + ".journal")
    return sum(1 for path in journal_files(journal) for _ in read_journal(path))


def wait_for_records(out, count, proc):
    """Block until the journals hold ``count`` records (or the run ends)."""
    deadline = time.monotonic() + 60
    while records(out) < count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def kill_everything(proc):
    """SIGKILL mpirun and its ranks (the ranks have their own process groups)."""
    for pid in ranks_of(proc.pid) + [proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.communicate()


@pytest.mark.mpi
def test_sigkill_at_random_moments_then_resume(tmp_path, reference):
    """Kill the whole job at random moments of its work (journal appends, chains, the
    final HDF5 merge), then resume: every task once, results equal to a clean run."""
    out = tmp_path / "ens.h5"
    rng = np.random.default_rng(12)
    kills = 0
    for new_records in rng.integers(1, 4, size=3):
        proc = start(2, out, *LONG)
        wait_for_journals(out, 2, proc)
        wait_for_records(out, records(out) + new_records, proc)
        if proc.poll() is None:
            kill_everything(proc)
            kills += 1
        else:
            proc.communicate()
    assert kills == 3  # the run really was killed part-way each time
    anneal(2, out, *LONG)
    assert_same_results(read_all(out), reference["long"])
    assert not (tmp_path / "ens.h5.journal").exists()
    assert not (tmp_path / "ens.h5.part").exists()


def test_unreadable_file_from_a_killed_write_is_rebuilt(tmp_path, reference):
    """A kill during the collective HDF5 write leaves OUTPUT.part (or, on a file system
    without atomic rename, a damaged OUTPUT): the journals rebuild it."""
    out = tmp_path / "ens.h5"
    proc = start(1, out, *LONG)
    wait_for_journals(out, 1, proc)
    wait_for_records(out, 2, proc)
    kill_everything(proc)
    assert (tmp_path / "ens.h5.journal").is_dir()
    out.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4096))  # damaged file
    (tmp_path / "ens.h5.part").write_bytes(os.urandom(1000))  # torn temp file
    journal = sorted((tmp_path / "ens.h5.journal").glob("*.jrnl"))[-1]
    with open(journal, "ab") as fh:
        fh.write(b"HPCJ\x10\x00")  # a torn record header
    anneal(0, out, *LONG)
    assert_same_results(read_all(out), reference["long"])


@pytest.mark.mpi
def test_sigterm_stops_cleanly_and_resumes(tmp_path, reference):
    """SIGTERM to every rank, as Slurm sends it at the time limit or on preemption."""
    out = tmp_path / "ens.h5"
    proc = start(2, out, *LONG)
    wait_for_journals(out, 2, proc)  # both ranks are past start-up: handlers installed
    wait_for_records(out, 1, proc)
    ranks = ranks_of(proc.pid)
    assert len(ranks) == 2
    for pid in ranks:
        os.kill(pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    assert "resume with `hpcnet anneal --resume" in stderr
    partial = read_all(out)  # readable, and says what is missing
    assert not partial["@complete"]
    assert np.any(partial["tasks/status"] != 2)
    stats = run_cli("stats", out).stdout
    assert "missing" in stats and "resume it" in stats
    anneal(0, out, "--resume")  # the stored settings, no options repeated
    assert_same_results(read_all(out), reference["long"])


def test_stats_table_and_csv(tmp_path, reference):
    out = tmp_path / "ens.h5"
    anneal(0, out, *TINY)
    proc = run_cli("stats", out, "--csv", tmp_path / "s.csv", "--sigma-csv", tmp_path / "p.csv")
    assert "12 of 12 tasks done, 0 failed, 0 missing" in proc.stdout
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert len(lines) == 1 + 6  # header + kinds × sizes × targets
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    row = next(r for r in rows if r["kind"] == "tri" and float(r["target"]) == -0.9)
    data = reference["tiny"]
    sel = (data["tasks/kind"] == 0) & (data["tasks/target"] == -0.9)
    assert float(row["nu_mean"]) == pytest.approx(data["tasks/nu_final"][sel].mean())
    assert int(row["done"]) == 2
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 1 + 2 * 12


def test_user_errors(tmp_path):
    for args, message in [(["--targets", "2"], "outside [-1, 1]"),
                          (["--kinds", "hex"], "unknown kind"),
                          (["--seeds", "5-1"], "end below start"),
                          (["--resume"], "no run to resume")]:
        proc = run_cli("anneal", *args, "-o", tmp_path / "x.h5", check=False)
        assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr
    config = tmp_path / "c.toml"
    config.write_text('kinds = ["tri"]\nbogus = 1\n')
    proc = run_cli("anneal", "--config", config, "-o", tmp_path / "x.h5", check=False)
    assert proc.returncode != 0 and "unknown setting 'bogus'" in proc.stderr


def test_config_file_with_flag_override(tmp_path, reference):
    config = tmp_path / "run.toml"
    config.write_text('kinds = ["tri", "delaunay", "packing"]\nsizes = [6]\nseeds = "0-1"\n'
                      'targets = [-0.9, 0.9]\nt0 = 0.05\nalpha = 0.5\ntf = 0.01\nlk = 99\n')
    out = tmp_path / "ens.h5"
    run_cli("anneal", "--config", config, "--lk", "6", "-o", out)
    assert_same_results(read_all(out), reference["tiny"])


@pytest.mark.mpi
def test_more_ranks_than_tasks(tmp_path):
    two = ["--kinds", "tri", "--sizes", "6", "--seeds", "0", "--targets", "-0.9,0.9",
           "--t0", "0.05", "--alpha", "0.5", "--tf", "0.01", "--lk", "6"]
    anneal(0, tmp_path / "one.h5", *two)
    anneal(3, tmp_path / "three.h5", *two)
    assert_same_results(read_all(tmp_path / "three.h5"), read_all(tmp_path / "one.h5"))
