"""``hpcnet anneal`` end to end, checked through the HDF5 it writes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from hpcnet.anneal import TRAJECTORY_FIELDS
from hpcnet.elastic import poisson_ratio
from hpcnet.network import Network
from tests import helpers
from tests.helpers import run_cli

QUICK = ["--alpha", "0.7", "--lk", "150", "--no-progress"]


def read(path):
    with h5py.File(path, "r") as fh:
        out = {name: fh["masks"][name][()] for name in ("initial", "final", "best")}
        out["trajectory"] = {k: fh["trajectory"][k][()] for k in TRAJECTORY_FIELDS}
        out["attrs"] = dict(fh.attrs)
        out["best_attrs"] = dict(fh["best"].attrs)
    return out


def test_anneal_writes_a_complete_result(tmp_path):
    out = tmp_path / "run.h5"
    proc = run_cli("anneal", "--kind", "tri", "--size", 8, "--seed", 0, "--direction", "down",
                   *QUICK, "-o", out)
    assert "bonds removed" in proc.stdout
    data = read(out)
    net = Network.load(out)
    assert data["best"].shape == (net.n_bonds,) and data["initial"].all()
    lengths = {len(v) for v in data["trajectory"].values()}
    assert lengths == {len(data["trajectory"]["T"])} and lengths != {0}
    settings = json.loads(data["attrs"]["settings"])
    assert settings["target"] == -0.9 and settings["lk"] == 150
    assert data["attrs"]["status"] == "done" and data["attrs"]["chain_seed"] == 0
    ref = poisson_ratio(net.pruned(data["best"].astype(bool)))
    assert ref.nu == pytest.approx(data["best_attrs"]["nu"], abs=1e-8)
    assert data["best_attrs"]["nu"] < 0
    assert not (tmp_path / "run.h5.ckpt.npz").exists()
    assert not list(tmp_path.glob("*.part"))


def test_greedy_from_a_network_file(tmp_path):
    net_file = tmp_path / "net.h5"
    run_cli("generate", "--kind", "delaunay", "--size", 7, "--seed", 1, "-o", net_file)
    out = tmp_path / "greedy.h5"
    run_cli("anneal", "--network", net_file, "--method", "greedy", "--target", 0.8,
            "--no-progress", "-o", out)
    data = read(out)
    assert np.all(np.isnan(data["trajectory"]["T"]))
    assert np.all(np.diff(data["trajectory"]["energy"]) < 0)
    assert data["attrs"]["network_source"] == str(net_file)


def test_sigterm_then_resume_matches_an_uninterrupted_run(tmp_path):
    args = ["anneal", "--kind", "delaunay", "--size", 10, "--seed", 3, "--target", 0.9,
            "--lk", 400, "--checkpoint-every", 1, "--no-progress"]
    whole = tmp_path / "whole.h5"
    run_cli(*args, "-o", whole)
    cut = tmp_path / "cut.h5"
    ckpt = tmp_path / "cut.h5.ckpt.npz"
    proc = subprocess.Popen([sys.executable, "-m", "hpcnet", *map(str, args), "-o", str(cut)],
                            env=helpers.test_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 60
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "--resume" in err and "Traceback" not in err
    assert ckpt.exists() and not cut.exists()
    refused = run_cli(*args, "-o", cut, check=False)
    assert refused.returncode == 1 and "--resume" in refused.stderr
    run_cli(*args, "-o", cut, "--resume")
    a, b = read(whole), read(cut)
    for name in ("final", "best"):
        assert np.array_equal(a[name], b[name])
    for key in TRAJECTORY_FIELDS:
        assert np.array_equal(a["trajectory"][key], b["trajectory"][key])
    assert a["attrs"]["n_proposals"] == b["attrs"]["n_proposals"]
    assert not ckpt.exists()


@pytest.mark.parametrize("args, code, message", [
    (["--kind", "tri", "--size", 6, "--t0", "-1"], 1, "t0"),
    (["--kind", "tri", "--size", 6, "--target", 0.5, "--direction", "up"], 2, "not both"),
    (["--size", 6], 2, "--kind"),
    (["--kind", "tri", "--size", 8, "--distortion", 0.95], 1, "planar"),
    (["--kind", "tri", "--size", 6, "--resume"], 1, "no checkpoint"),
])
def test_user_errors_are_clean(tmp_path, args, code, message):
    proc = run_cli("anneal", *args, "-o", tmp_path / "x.h5", check=False)
    assert proc.returncode == code
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.h5").exists()


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "x.h5"
    out.write_text("keep me")
    proc = run_cli("anneal", "--kind", "tri", "--size", 6, "-o", out, check=False)
    assert proc.returncode == 1 and "--force" in proc.stderr
    assert out.read_text() == "keep me"


def test_help_shows_defaults():
    proc = run_cli("anneal", "--help")
    for text in ("--t0", "[default: 0.02]", "--lambda-iso", "--convex / --no-convex", "--resume"):
        assert text in proc.stdout
