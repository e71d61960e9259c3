"""``hpcnet anneal`` for one chain, end to end, checked through the HDF5 it writes."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from hpcnet.generators import generate
from hpcnet.mechanics.elastic import poisson_ratio
from tests.support.helpers import run_cli

QUICK = ["--alpha", "0.7", "--lk", "150"]


def read(path):
    with h5py.File(path, "r") as fh:
        n_bonds, n_steps = int(fh["tasks/n_bonds"][0]), int(fh["tasks/n_steps"][0])
        out = {name: fh["masks"][name][0, :n_bonds].astype(bool)
               for name in ("initial", "final", "best")}
        out["trajectory"] = {k: fh["trajectory"][k][0] for k in fh["trajectory"]}
        out["n_steps"] = n_steps
        out["tasks"] = {k: fh["tasks"][k][0] for k in fh["tasks"]}
        out["settings"] = json.loads(fh.attrs["settings"])
    return out


def test_one_chain_writes_a_complete_result(tmp_path):
    out = tmp_path / "run.h5"
    proc = run_cli("anneal", "--kind", "tri", "--size", 8, "--seed", 0, "--direction", "down",
                   *QUICK, "-o", out)
    assert "1 of 1 tasks done" in proc.stdout
    data = read(out)
    net = generate("tri", 8, 0, distortion=data["settings"]["distortion"])
    assert data["initial"].all() and len(data["initial"]) == net.n_bonds
    steps = data["n_steps"]
    greedy = int(np.sum(np.isnan(data["trajectory"]["T"][:steps])))  # SA's greedy descent
    assert 0 < greedy < steps and np.isnan(data["trajectory"]["T"][:greedy]).all()
    for name, values in data["trajectory"].items():
        start = greedy if name == "T" else 0
        assert not np.isnan(values[start:steps]).any() and np.isnan(values[steps:]).all()
    assert data["settings"]["targets"] == [-0.9] and data["settings"]["anneal"]["lk"] == 150
    assert data["tasks"]["status"] == 2
    best = poisson_ratio(net.pruned(data["best"]))
    assert best.nu == pytest.approx(data["tasks"]["nu_best"], abs=1e-8)
    assert best.nu_x == pytest.approx(data["tasks"]["nu_x_best"], abs=1e-8)
    assert data["tasks"]["nu_best"] < 0
    final = poisson_ratio(net.pruned(data["final"]))
    assert final.nu == pytest.approx(data["tasks"]["nu_final"], abs=1e-8)
    assert data["tasks"]["removed_fraction"] == pytest.approx(1 - data["final"].mean())
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "run.h5.journal").exists()


def test_greedy_chain(tmp_path):
    out = tmp_path / "greedy.h5"
    run_cli("anneal", "--kind", "delaunay", "--size", 7, "--seed", 1, "--method", "greedy",
            "--target", 0.8, "-o", out)
    data = read(out)
    energy = data["trajectory"]["energy"][: data["n_steps"]]
    assert len(energy) > 1 and np.all(np.diff(energy) < 0)  # every removal lowered E
    assert data["tasks"]["nu_final"] > data["tasks"]["nu_initial"]


@pytest.mark.parametrize("args, code, message", [
    (["--kind", "tri", "--size", 6, "--t0", "-1"], 1, "t0"),
    (["--kind", "tri", "--size", 6, "--target", 0.5, "--direction", "up"], 2, "not both"),
    (["--kind", "tri", "--size", 6, "--method", "anneal"], 2, "'anneal' is not one of"),
])
def test_user_errors_are_clean(tmp_path, args, code, message):
    proc = run_cli("anneal", *args, "-o", tmp_path / "x.h5", check=False)
    assert proc.returncode == code
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.h5").exists()


def test_a_failing_task_is_recorded_and_reported(tmp_path):
    """Bonds cross at r = 0.95, so convex-only pruning cannot run: the task fails, named."""
    out = tmp_path / "x.h5"
    proc = run_cli("anneal", "--kind", "tri", "--size", 8, "--distortion", 0.95, *QUICK,
                   "-o", out, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "1 task(s) failed" in proc.stderr and "planar" in proc.stderr
    data = read(out)
    assert data["tasks"]["status"] == 3 and b"planar" in data["tasks"]["message"]


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "x.h5"
    out.write_text("keep me")
    proc = run_cli("anneal", "--kind", "tri", "--size", 6, "-o", out, check=False)
    assert proc.returncode == 1 and "--force" in proc.stderr
    assert out.read_text() == "keep me"


def test_help_shows_defaults():
    proc = run_cli("anneal", "--help")
    for text in ("--t0", "[default: 0.02]", "--lambda-iso", "--convex-only / --no-convex-only",
                 "--resume", "--kinds, --kind", "--checkpoint-seconds"):
        assert text in proc.stdout
