"""The Slurm job templates in jobs/ on a real one-node Slurm cluster started by the tests.

Needs root and Debian's slurmctld, slurmd and slurm-client (`make system-deps`); see
tests/support/slurm_cluster.py. Jobs run this checkout's code (PYTHONPATH) with the Python running
the tests (HPCNET_PYTHON), in the test's temporary folder (--chdir).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from tests.support.helpers import REPO, run_cli
from tests.support.slurm_cluster import SlurmCluster

JOBS = REPO / "jobs"
PYTHON = sys.executable
TEMPLATES = ("anneal.sbatch", "stats.sbatch", "dataset.sbatch", "train.sbatch", "pipeline.sh",
             "reproduce.sbatch")
ONE_NODE_TWO_TASKS = ("-N", "1", "-n", "2", "--ntasks-per-node=2", "--time=30")
# Two tasks (one kind, one size, one seed, two targets), very short annealing.
TINY_ENSEMBLE = {"ANNEAL_KINDS": "tri", "ANNEAL_SIZES": "6", "ANNEAL_SEEDS": "0",
                 "ANNEAL_TARGETS": "-0.9,0.9",
                 "ANNEAL_OPTIONS": "--t0 0.05 --alpha 0.5 --tf 0.01 --lk 5"}
# Four tasks; chains of 7 temperatures x LK proposals, LK growing until a SIGTERM catches
# the ensemble while it runs (how fast a chain runs is the runner's business, not this test's).
REQUEUE_ENSEMBLE = {"ANNEAL_KINDS": "tri", "ANNEAL_SIZES": "6", "ANNEAL_SEEDS": "0-1",
                    "ANNEAL_TARGETS": "-0.9,0.9"}
REQUEUE_CHAIN = "--t0 0.05 --alpha 0.7 --tf 0.005 --lk {lk}"
REQUEUE_LK = (20, 200, 2000)


@pytest.fixture(scope="module")
def cluster():
    with SlurmCluster() as running:
        yield running


def submit(cluster: SlurmCluster, workdir: Path, script: str | Path, *options: str,
           **export: str) -> int:
    """sbatch SCRIPT (a template name or a path) in WORKDIR, output in WORKDIR/%x-%j.out."""
    path = JOBS / script if isinstance(script, str) else script
    return cluster.sbatch(f"--chdir={workdir}", f"--output={workdir}/%x-%j.out", *options, path,
                          export={"HPCNET_PYTHON": PYTHON, **export})


def read_ensemble(path: Path) -> tuple[list[int], bool]:
    """Per-task status and the `complete` attribute of an ensemble file."""
    with h5py.File(path, "r") as f:
        return f["tasks/status"][:].tolist(), bool(f.attrs["complete"])


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_is_valid_bash_headed_by_its_launch_command(name):
    path = JOBS / name
    assert subprocess.run(["bash", "-n", path], capture_output=True).returncode == 0
    header = path.read_text().split("\nset -euo pipefail")[0]
    launch = header.split("# Launch")[1].splitlines()[1]
    assert f"jobs/{name}" in launch
    code = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not any("python3" in line for line in code)  # the project's Python, never a bare one


def test_srun_pmix_runs_the_project_python_on_two_ranks(cluster, tmp_path):
    net = tmp_path / "net.h5"
    run_cli("generate", "--kind", "tri", "--size", 6, "--seed", 0, "--distortion", 0.3,
            "-o", net)
    serial = json.loads(run_cli("poisson", net, "--json").stdout)
    script = tmp_path / "poisson.sbatch"
    script.write_text(
        "#!/bin/bash\nset -euo pipefail\n"
        'srun --mpi=pmix -n 2 "$HPCNET_PYTHON" -c "import sys; from mpi4py import MPI; '
        "c = MPI.COMM_WORLD; print('rank', c.rank, 'of', c.size, sys.executable)\"\n"
        f'srun --mpi=pmix -n 2 "$HPCNET_PYTHON" -m hpcnet poisson {net} --json\n')
    info = cluster.wait(submit(cluster, tmp_path, script, *ONE_NODE_TWO_TASKS))
    log = cluster.job_output(info)
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", log
    for rank in (0, 1):  # one MPI world of two ranks through PMIx, not two singletons
        assert f"rank {rank} of 2 {PYTHON}" in log, log
    results = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert len(results) == 1, log  # rank 0 alone prints
    assert results[0]["nu"] == pytest.approx(serial["nu"], abs=1e-10)


def test_anneal_template_then_dependent_stats_job(cluster, tmp_path):
    ensemble, table = tmp_path / "results" / "ensemble.h5", tmp_path / "stats.csv"
    anneal = submit(cluster, tmp_path, "anneal.sbatch", *ONE_NODE_TWO_TASKS,
                    ANNEAL_OUTPUT=str(ensemble), **TINY_ENSEMBLE)
    stats = submit(cluster, tmp_path, "stats.sbatch", f"--dependency=afterok:{anneal}",
                   "--kill-on-invalid-dep=yes", STATS_INPUT=str(ensemble), STATS_CSV=str(table))
    waiting = cluster.job(stats)  # while the ensemble job is still queued or running

    done = cluster.wait(anneal)
    assert done["JobState"] == "COMPLETED" and done["ExitCode"] == "0:0", cluster.job_output(done)
    status, complete = read_ensemble(ensemble)
    assert status == [2, 2] and complete
    assert (waiting["JobState"], waiting["Reason"]) == ("PENDING", "Dependency")
    after = cluster.wait(stats)
    assert after["JobState"] == "COMPLETED", cluster.job_output(after)
    assert after["StartTime"] >= done["EndTime"]  # ISO times: string order is time order
    assert len(table.read_text().splitlines()) >= 2  # a header and rows


def test_anneal_requeues_itself_after_sigterm_and_resumes(cluster, tmp_path):
    for lk in REQUEUE_LK:
        results = tmp_path / f"lk{lk}"
        ensemble = results / "ensemble.h5"
        job = submit(cluster, tmp_path, "anneal.sbatch", *ONE_NODE_TWO_TASKS,
                     ANNEAL_OUTPUT=str(ensemble), ANNEAL_OPTIONS=REQUEUE_CHAIN.format(lk=lk),
                     **REQUEUE_ENSEMBLE)
        # Once both ranks have opened their journals (docs/ensemble-layout.md) they handle
        # SIGTERM: send it to the job steps as Slurm does before the time limit
        # (--signal=TERM@300).
        deadline = time.monotonic() + 60
        while len(list(results.glob("ensemble.h5.journal/*.jrnl"))) < 2:
            info = cluster.job(job)
            assert info["JobState"] in ("PENDING", "RUNNING"), cluster.job_output(info)
            assert time.monotonic() < deadline, cluster.job_output(info)
            time.sleep(0.05)
        cluster.run("scancel", "--signal=TERM", job)
        info = cluster.wait(job)
        if not (info["JobState"] == "COMPLETED" and info["Restarts"] == "0"):
            break  # the signal caught the ensemble: check what followed
    log = cluster.job_output(info)
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", log
    assert info["Restarts"] == "1", log  # stopped with 75, requeued once, then finished
    assert "requeueing job" in log and "(restart 1)" in log and "--resume" in log, log
    status, complete = read_ensemble(ensemble)
    assert status == [2] * 4 and complete


def test_pipeline_submits_the_chain(cluster, tmp_path):
    stages = dict(
        ANNEAL_SBATCH="-N 1 --ntasks-per-node=2", DATASET_SBATCH="-N 1 --ntasks-per-node=2",
        TRAIN_SBATCH="-N 1 --cpus-per-task=1", HPCNET_PYTHON=PYTHON)
    proc = cluster.run(JOBS / "pipeline.sh", "--hold", f"--chdir={tmp_path}",
                       f"--output={tmp_path}/%x-%j.out", env=dict(cluster.env, **stages))
    ids = dict(line.split() for line in proc.stdout.splitlines())
    assert list(ids) == ["anneal", "stats", "dataset", "train"], proc.stdout
    jobs = {stage: cluster.job(int(job_id)) for stage, job_id in ids.items()}
    try:
        for stage, info in jobs.items():
            assert info["JobName"] == f"hpcnet-{stage}"
            assert info["Command"] == str(JOBS / f"{stage}.sbatch")
            assert info["JobState"] == "PENDING" and info["Reason"] == "JobHeldUser"
        assert jobs["anneal"]["Dependency"] == jobs["dataset"]["Dependency"] == "(null)"
        assert jobs["stats"]["Dependency"].startswith(f"afterok:{ids['anneal']}(")
        assert jobs["train"]["Dependency"].startswith(f"afterok:{ids['dataset']}(")
    finally:
        cluster.run("scancel", *ids.values())


def test_reproduce_job_runs_the_whole_tiny_study(cluster, tmp_path):
    out = tmp_path / "tiny"
    # Submitted from the project root, as its header says: the job finds scripts/ there.
    job = cluster.sbatch(f"--chdir={tmp_path}", f"--output={tmp_path}/%x-%j.out",
                         *ONE_NODE_TWO_TASKS, JOBS / "reproduce.sbatch", cwd=REPO,
                         export={"HPCNET_PYTHON": PYTHON, "REPRODUCE_SCALE": "tiny",
                                 "REPRODUCE_OUTPUT": str(out)})
    info = cluster.wait(job, timeout=900)
    log = cluster.job_output(info)
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", log
    assert "on 2 rank(s)" in log  # the MPI stages ran on the allocation's two tasks via srun
    assert "1 process(es) on cpu" in log  # torchrun: one process per node without GPUs
    report = (out / "REPORT.md").read_text()
    assert "| tuning range, tri |" in report and "| CNN R² on the test split" in report
