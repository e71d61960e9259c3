"""Training, DDP and prediction of the CNN surrogates, end to end on CPU."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from mpi4py import MPI

from hpcnet.analysis.training_runs import load_run
from hpcnet.errors import HpcnetError
from hpcnet.generators.lattice import tri_network
from hpcnet.learn.dataset import DatasetSettings, LearnDataset, build_dataset
from hpcnet.learn.models import InputSpec, Surrogate, input_spec
from hpcnet.learn.predict import Predictor
from hpcnet.learn.render import RenderSettings
from hpcnet.learn.run_dir import TrainSettings
from hpcnet.learn.train import load_checkpoint, train
from hpcnet.network import Network
from tests.support import ddp_worker, helpers
from tests.support.helpers import run_cli


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """30 tri networks of 6×6 nodes (72×72 matrices) with 32-pixel images.

    A material floor of 0.8 makes some labels non-material at this size.
    """
    path = tmp_path_factory.mktemp("learn") / "ds.h5"
    settings = DatasetSettings(kind="tri", size=6, count=30, seed=11, images=True,
                               render=RenderSettings(size=32), material_floor=0.8)
    build_dataset(settings, path, MPI.COMM_SELF)
    return path


def _train_args(dataset, run, *extra):
    return ["train", dataset, "--model", "alexnet-matrix", "-o", run, "--batch-size", "6",
            "--lr", "3e-4", "--dropout", "0", *extra]


def _history(run):
    return json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def alexnet_run(dataset, tmp_path_factory):
    """Two epochs of alexnet-matrix on one process, through the CLI."""
    run = tmp_path_factory.mktemp("runs") / "alexnet"
    assert "test RMSE" in run_cli(*_train_args(dataset, run, "--epochs", "2")).stdout
    return run


def test_alexnet_trains_resumes_and_predicts(dataset, alexnet_run, tmp_path):
    run = alexnet_run
    history = _history(run)
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    with open(run / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["val_rmse"]) for r in rows] == [h["val_rmse"] for h in history]

    info = json.loads((run / "settings.json").read_text())
    assert info["input"] == {"model": "alexnet-matrix", "source_side": 72, "side": 72}
    assert info["settings"]["matrix_size"] is None
    split = json.loads((run / "split.json").read_text())
    parts = [set(split[k]) for k in ("train", "val", "test")]
    assert [len(p) for p in parts] == [18, 6, 6]
    assert set.union(*parts) == set(range(30)) and sum(map(len, parts)) == 30

    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 2
    best = load_checkpoint(run / "best.pt")
    model = Surrogate(InputSpec(**best["input"]), dropout=0.0)
    model.load_state_dict(best["model"])

    # test.json holds the Methods' RMSE and R² of the predictions it lists
    result = json.loads((run / "test.json").read_text())
    with open(run / "test_predictions.csv") as fh:
        table = [(int(r["index"]), float(r["nu"]), float(r["nu_pred"]))
                 for r in csv.DictReader(fh)]
    assert sorted(i for i, _, _ in table) == sorted(split["test"])
    nu = np.array([t[1] for t in table])
    pred = np.array([t[2] for t in table])
    assert result["test_rmse"] == pytest.approx(np.sqrt(np.mean((pred - nu) ** 2)), rel=1e-6)
    r2 = 1 - np.sum((pred - nu) ** 2) / np.sum((nu.mean() - nu) ** 2)
    assert result["test_r2"] == pytest.approx(r2, rel=1e-6, abs=1e-9)
    # ... and on the material labels alone (a_min >= the dataset's floor), and by band
    with LearnDataset(dataset) as ds:
        idx = np.array([t[0] for t in table])
        mat, r = ds.a_min[idx] >= 0.8, ds.distortion[idx]
    assert 0 < mat.sum() < len(mat)
    err = (pred - nu)[mat]
    assert result["n_test_material"] == mat.sum()
    assert result["test_material_rmse"] == pytest.approx(np.sqrt(np.mean(err ** 2)), rel=1e-6)
    assert result["test_material_r2"] == pytest.approx(
        1 - np.sum(err ** 2) / np.sum((nu[mat] - nu[mat].mean()) ** 2), rel=1e-6, abs=1e-9)
    bands = result["test_bands"]
    assert sum(b["all"]["n"] for b in bands) == len(nu)
    assert bands[0]["material"]["n"] == np.sum(mat & (r <= bands[0]["hi"]))

    # predict reads network files and gives the test predictions of the same networks
    files = []
    with LearnDataset(dataset) as ds:
        for index, _, _ in table[:3]:
            files.append(tmp_path / f"net{index}.h5")
            ds.network(index).save(files[-1])
    lines = run_cli("predict", run, *files, "--json", "--batch-size", "2").stdout.splitlines()
    got = [json.loads(line)["nu_pred"] for line in lines]
    assert got == pytest.approx([t[2] for t in table[:3]], abs=1e-5)
    assert [json.loads(line)["outside_training"] for line in lines] == [[], [], []]

    # rerunning with more epochs resumes after epoch 3
    # rerunning with more epochs resumes after epoch 2; other settings are refused
    run_cli(*_train_args(dataset, run, "--epochs", "3"))
    resumed = _history(run)
    assert [h["epoch"] for h in resumed] == [1, 2, 3] and resumed[:2] == history
    refused = run_cli(*_train_args(dataset, run, "--epochs", "3", "--seed", "1"), check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_material_training_and_the_training_domain(dataset, tmp_path):
    run = tmp_path / "mat"
    run_cli(*_train_args(dataset, run, "--epochs", "1", "--labels", "material"))
    split = json.loads((run / "split.json").read_text())
    with LearnDataset(dataset) as ds:
        material = ds.material
        net = ds.network(int(split["test"][0]))
        low = next(i for i in range(len(ds)) if not material[i])
        stored_low = ds.network(low), float(ds.a_min[low])
    assert all(material[i] for k in ("train", "val") for i in split[k])
    assert len(split["test"]) == 6 and not all(material[i] for i in split["test"])
    result = json.loads((run / "test.json").read_text())
    assert result["labels"] == "material"
    scores = load_run(run).test_scores()  # the run directory's reader agrees with test.json
    assert scores["material"]["r2"] == pytest.approx(result["test_material_r2"], rel=1e-5)
    assert scores["all"]["rmse"] == pytest.approx(result["test_rmse"], rel=1e-5)
    def flat(bands):
        return [b[g][k] for b in bands for g in ("all", "material") for k in ("n", "rmse", "r2")]

    assert flat(scores["bands"]) == pytest.approx(flat(result["test_bands"]), rel=1e-5,
                                                 nan_ok=True)

    predictor = Predictor(run, "cpu")
    lo, hi = predictor.train_domain["nu"]
    assert predictor.outside_training(net, (lo + hi) / 2) == []
    reasons = predictor.outside_training(net, hi + 0.1, a_min=0.1)
    assert len(reasons) == 2 and "outside the training labels' range" in reasons[0]
    assert "below the material floor 0.8" in reasons[1]
    pruned = Network.from_arrays(net.positions, net.bonds[2:], net.boundary,
                                 net.stiffness[2:], kind="tri", size=6, params=net.params)
    assert predictor.outside_training(pruned, (lo + hi) / 2) == [
        "2 bonds removed from the lattice, trained on whole lattices"]
    other = Network.from_arrays(net.positions, net.bonds, net.boundary, net.stiffness,
                                kind="delaunay", size=7, params={"distortion": 0.99})
    reasons = predictor.outside_training(other, (lo + hi) / 2)
    assert [r.split(" ")[0] for r in reasons] == ["kind", "size", "distortion"]
    path = tmp_path / "low.h5"
    stored_low[0].save(path)
    line = json.loads(run_cli("predict", run, path, "--json", "--check-material").stdout)
    assert line["a_min"] == pytest.approx(stored_low[1], rel=1e-9)
    assert any("material floor" in r for r in line["outside_training"])
    assert "outside training:" in run_cli("predict", run, path, "--check-material").stdout


def test_resnet_trains_on_images_and_predicts(dataset, tmp_path):
    run = tmp_path / "img"
    run_cli("train", dataset, "--model", "resnet50-image", "-o", run, "--epochs", "1",
            "--batch-size", "6")
    info = json.loads((run / "settings.json").read_text())
    assert info["input"] == {"model": "resnet50-image", "source_side": 32, "side": 32}
    assert np.isfinite(json.loads((run / "test.json").read_text())["test_rmse"])
    with LearnDataset(dataset) as ds:
        ds.network(0).save(tmp_path / "n0.h5")
    line = run_cli("predict", run, tmp_path / "n0.h5", "--json").stdout
    assert np.isfinite(json.loads(line)["nu_pred"])


def test_lattice_model_trains_with_its_recipe_resumes_and_predicts(dataset, tmp_path):
    run = tmp_path / "lattice"
    args = ["train", dataset, "--model", "lattice-matrix", "-o", run, "--batch-size", "6"]
    run_cli(*args, "--epochs", "4")
    info = json.loads((run / "settings.json").read_text())
    assert info["input"] == {"model": "lattice-matrix", "source_side": 72, "side": 6}
    recipe = {k: info["settings"][k] for k in ("lr", "schedule", "augment")}
    assert recipe == {"lr": 2e-3, "schedule": "one-cycle", "augment": "reverse-nodes"}
    history = _history(run)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["lr"] < history[0]["lr"] / 10  # one cycle: annealed by the last step
    best = load_checkpoint(run / "best.pt")
    assert float(best["model"]["input_scale"]) > 0  # fitted on the training inputs

    # under one cycle the epochs are fixed; an interrupted run resumes (same command)
    refused = run_cli(*args, "--epochs", "5", check=False)
    assert refused.returncode == 1 and "one-cycle" in refused.stderr
    (run / "test.json").unlink()
    run_cli(*args, "--epochs", "4")
    assert _history(run) == history and (run / "test.json").exists()

    with open(run / "test_predictions.csv") as fh:
        first = next(csv.DictReader(fh))
    with LearnDataset(dataset) as ds:
        net = ds.network(int(first["index"]))
    net.save(tmp_path / "net.h5")
    line = json.loads(run_cli("predict", run, tmp_path / "net.h5", "--json").stdout)
    assert line["nu_pred"] == pytest.approx(float(first["nu_pred"]), abs=1e-5)
    far = np.array([[0, 35]])  # opposite corners: not a lattice bond
    off = Network.from_arrays(net.positions, np.concatenate([net.bonds, far]), net.boundary,
                              kind="tri", size=6)
    off.save(tmp_path / "off.h5")
    proc = run_cli("predict", run, tmp_path / "off.h5", check=False)
    assert proc.returncode == 1 and "1 of this network's bonds are not bonds" in proc.stderr
    tri_network(8, seed=1, distortion=0.2).save(tmp_path / "big.h5")
    proc = run_cli("predict", run, tmp_path / "big.h5", check=False)
    assert proc.returncode == 1 and "reads 6×6 triangular lattices" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_interrupted_lattice_run_resumes_to_the_uninterrupted_one(dataset, tmp_path,
                                                                      monkeypatch):
    """Killed after epoch 2's checkpoint, the rerun ends where one run of 4 epochs does
    (one-cycle schedule, seeded renumbering, batch-norm statistics all restored)."""
    import hpcnet.learn.train as training

    settings = TrainSettings(model="lattice-matrix", dataset=str(dataset), epochs=4,
                             batch_size=6)
    whole = train(settings, tmp_path / "whole")
    save = training._save_epoch

    def save_then_die(run_dir, settings, spec, data, core, optimizer, scheduler, scaler,
                      state, improved):
        save(run_dir, settings, spec, data, core, optimizer, scheduler, scaler, state, improved)
        if state["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(training, "_save_epoch", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(settings, tmp_path / "cut")
    monkeypatch.setattr(training, "_save_epoch", save)
    resumed = train(settings, tmp_path / "cut")
    first, second = _history(tmp_path / "whole"), _history(tmp_path / "cut")
    for key in ("train_loss", "val_rmse", "lr"):
        assert [h[key] for h in second] == [h[key] for h in first], key
    assert resumed["test_rmse"] == whole["test_rmse"]


def test_user_errors_are_clean(dataset, tmp_path):
    odd_side, delaunay = tmp_path / "odd.h5", tmp_path / "delaunay.h5"
    build_dataset(DatasetSettings(kind="tri", size=5, count=10, seed=1), odd_side,
                  MPI.COMM_SELF)
    build_dataset(DatasetSettings(kind="delaunay", size=6, count=10, seed=1, distortion=None),
                  delaunay, MPI.COMM_SELF)

    def settings(**kw):
        return TrainSettings(**{"model": "alexnet-matrix", "dataset": str(dataset), **kw})

    for bad, message in (
        (settings(dataset=str(tmp_path / "missing.h5")), "no such dataset"),
        (settings(matrix_size=40), "at least 63"),
        (settings(batch_size=64), "fewer than one batch"),
        (settings(model="lattice-matrix", matrix_size=96), "applies to alexnet-matrix only"),
        (settings(model="resnet50-image", augment="reverse-nodes"), "no node numbers"),
        (settings(model="lattice-matrix", dataset=str(odd_side)), "even side"),
        (settings(model="lattice-matrix", dataset=str(delaunay)), "not delaunay networks"),
    ):
        with pytest.raises(HpcnetError, match=message):
            train(bad, tmp_path / "r")
    proc = run_cli("predict", tmp_path / "nothing", dataset, check=False)
    assert proc.returncode == 1 and "no trained model" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_launch_environment_is_read_from_torchrun_srun_or_mpirun():
    from hpcnet.learn.distributed import launch_env

    torchrun = {"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}
    srun = {"SLURM_PROCID": "5", "SLURM_STEP_NUM_TASKS": "6", "SLURM_LOCALID": "2"}
    mpirun = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
              "OMPI_COMM_WORLD_LOCAL_RANK": "1"}
    assert launch_env({}) == (0, 1, 0)
    assert launch_env(torchrun) == (3, 8, 1)
    assert launch_env({**srun, **torchrun}) == (3, 8, 1)  # srun starting torchrun
    assert launch_env(srun) == (5, 6, 2)
    assert launch_env({"SLURM_PROCID": "0", "SLURM_NTASKS": "4"}) == (0, 1, 0)  # batch script
    assert launch_env(mpirun) == (1, 2, 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("model", ["alexnet-matrix", "lattice-matrix"])
def test_two_gloo_processes_take_the_single_process_steps(dataset, tmp_path, model):
    """DDP over 2 processes, each with half of every global batch, equals 1 process
    (the lattice model with its augmentation and per-step schedule)."""
    for world in (1, 2):
        mp.spawn(ddp_worker.sgd_epoch, nprocs=world, join=True,
                 args=(world, str(dataset), _free_port(), str(tmp_path / f"w{world}.pt"),
                       model))
    one, two = (torch.load(tmp_path / f"w{w}.pt", weights_only=True) for w in (1, 2))
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-6)
    torch.manual_seed(0)
    start = Surrogate(input_spec(model, 72, None), dropout=0.0).state_dict()
    start = {k: v for k, v in start.items() if k != "input_scale"}
    moved = max((one["state"][k] - start[k]).abs().max().item() for k in start)
    assert moved > 1e-4  # the steps changed the weights far beyond the tolerance
    for key, value in one["state"].items():
        assert torch.allclose(two["state"][key], value, rtol=0, atol=1e-6), key


def test_torchrun_training_matches_one_process(dataset, alexnet_run, tmp_path):
    """2 gloo processes under torchrun: same batches and first epoch as one process."""
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
           "2", "-m", "hpcnet", *map(str, _train_args(dataset, run, "--epochs", "1"))]
    proc = subprocess.run(cmd, env=helpers.child_env(), capture_output=True, text=True,
                          timeout=300, cwd=helpers.REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("test RMSE") == 1  # rank 0 alone reports
    assert json.loads((run / "settings.json").read_text())["launch"]["world_size"] == 2
    assert (run / "split.json").read_text() == (alexnet_run / "split.json").read_text()
    one, two = _history(alexnet_run)[0], _history(run)[0]
    assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-4)
    assert two["val_rmse"] == pytest.approx(one["val_rmse"], rel=1e-3)
