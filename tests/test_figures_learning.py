"""Fig. 5b-d: reading training runs and timing files, and the figures drawn from them."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.image import imread

from hpcnet.analysis.timing import load_timing
from hpcnet.analysis.training_runs import load_run
from hpcnet.errors import HpcnetError
from hpcnet.figures import style
from hpcnet.figures.learning import PARITY_SIZE, TRAINING_SIZE, parity, training_curves
from hpcnet.figures.timing import TIMING_SIZE, timing_figure
from tests.support.helpers import REPO, child_env


def read_csv(path) -> dict[str, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def check_saved(fig, size, stem) -> None:
    png, pdf = style.save(fig, stem)
    height, width = imread(png).shape[:2]
    assert (width, height) == (round(size[0] * style.DPI), round(size[1] * style.DPI))
    assert pdf.read_bytes().startswith(b"%PDF")


def unfinished_copy(run_dir, tmp_path, *remove):
    copy = tmp_path / f"{run_dir.name}-copy"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("*.pt"))  # not read here
    for name in remove:
        (copy / name).unlink()
    return copy


# ------------------------------------------------------------------ load_run
@pytest.mark.parametrize("key", ["alexnet", "resnet"])
def test_load_run_reads_the_files(tiny_runs, key):
    run_dir = tiny_runs[key]
    run = load_run(run_dir)
    settings = json.loads((run_dir / "settings.json").read_text())
    split = json.loads((run_dir / "split.json").read_text())
    test = json.loads((run_dir / "test.json").read_text())
    metrics = read_csv(run_dir / "metrics.csv")
    assert run.name == run_dir.name and run.model == settings["settings"]["model"]
    assert run.dataset_size == 30
    assert run.split_counts == {k: len(split[k]) for k in ("train", "val", "test")}
    assert len(run.history) == settings["settings"]["epochs"] == len(metrics["epoch"])
    for column, values in metrics.items():
        np.testing.assert_allclose(run.column(column), values, rtol=1e-12)
    assert run.test == test and run.finished
    assert run.train_seconds == test["train_seconds"]
    pred = read_csv(run_dir / "test_predictions.csv")
    np.testing.assert_array_equal(run.predictions.index, pred["index"].astype(int))
    for column in ("distortion", "nu", "nu_pred"):
        np.testing.assert_array_equal(getattr(run.predictions, column), pred[column])
    assert len(pred["nu"]) == test["n_test"] == run.split_counts["test"]


def test_load_run_of_a_run_still_training(tiny_runs, tmp_path):
    run = load_run(unfinished_copy(tiny_runs["alexnet"], tmp_path, "test.json",
                                   "test_predictions.csv"))
    assert run.test is None and run.predictions is None and not run.finished
    assert run.train_seconds == pytest.approx(sum(h["seconds"] for h in run.history))
    with pytest.raises(HpcnetError, match="no test predictions yet"):
        parity(run)


def test_parity_needs_predictions(tiny_runs, tmp_path):
    run = load_run(unfinished_copy(tiny_runs["alexnet"], tmp_path, "test_predictions.csv"))
    assert run.test is not None and run.predictions is None
    with pytest.raises(HpcnetError, match="test_predictions.csv"):
        parity(run)


def test_not_a_run_directory(tmp_path, tiny_runs):
    with pytest.raises(HpcnetError, match="no such run directory"):
        load_run(tmp_path / "missing")
    with pytest.raises(HpcnetError, match="no settings.json"):
        load_run(tmp_path)
    (tmp_path / "settings.json").write_text('{"format": "something-else"}')
    with pytest.raises(HpcnetError, match="not the settings of an hpcnet training run"):
        load_run(tmp_path)
    broken = unfinished_copy(tiny_runs["alexnet"], tmp_path)
    (broken / "test_predictions.csv").write_text("index,nu\n1,0.2\n")
    with pytest.raises(HpcnetError, match="expected columns index,distortion,nu,nu_pred"):
        load_run(broken)


# ------------------------------------------------------------------ Fig. 5b
def test_training_curves(tiny_runs, tmp_path):
    runs = [load_run(tiny_runs["alexnet"]), load_run(tiny_runs["resnet"])]
    fig = training_curves(runs)
    ax_rmse, ax_r2 = fig.axes
    assert len(fig.axes) == 2
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    assert ax_rmse.get_ylabel() == "RMSE of ν" and ax_r2.get_ylabel() == r"$R^2$"
    assert ax_rmse.get_yscale() == "log"
    for run, (val, train) in zip(runs, np.reshape(ax_rmse.get_lines(), (-1, 2)), strict=True):
        epochs = read_csv(run.path / "metrics.csv")
        np.testing.assert_array_equal(val.get_xdata(), epochs["epoch"])
        np.testing.assert_allclose(val.get_ydata(), epochs["val_rmse"], rtol=1e-12)
        np.testing.assert_allclose(train.get_ydata(), epochs["train_rmse"], rtol=1e-12)
        assert val.get_linestyle() == "-" and train.get_linestyle() == "--"
    for run, line in zip(runs, ax_r2.get_lines(), strict=True):
        np.testing.assert_allclose(line.get_ydata(), read_csv(run.path / "metrics.csv")["val_r2"],
                                   rtol=1e-12)
    legend = [t.get_text() for t in ax_r2.get_legend().get_texts()]
    assert legend == [f"{r.model} ({r.name}), {r.test['train_seconds']:.0f} s" for r in runs]
    check_saved(fig, TRAINING_SIZE, tmp_path / "fig5b")


def test_training_curves_user_errors(tiny_runs, tmp_path):
    with pytest.raises(HpcnetError, match="no training runs"):
        training_curves([])
    fresh = unfinished_copy(tiny_runs["resnet"], tmp_path, "metrics.json", "metrics.csv",
                            "test.json", "test_predictions.csv")
    with pytest.raises(HpcnetError, match="no finished epoch"):
        training_curves([load_run(fresh)])


# ------------------------------------------------------------------ Fig. 5c
def test_parity(tiny_runs, tmp_path):
    run = load_run(tiny_runs["alexnet"])
    pred = read_csv(run.path / "test_predictions.csv")
    fig = parity(run)
    ax, colorbar = fig.axes
    assert ax.get_xlabel() == r"$\nu$ (label)" and ax.get_ylabel() == r"$\nu$ (predicted)"
    assert colorbar.get_ylabel() == "distortion r"
    (points,) = ax.collections
    np.testing.assert_array_equal(points.get_offsets(), np.column_stack([pred["nu"],
                                                                         pred["nu_pred"]]))
    np.testing.assert_array_equal(points.get_array(), pred["distortion"])
    (identity,) = ax.get_lines()
    np.testing.assert_array_equal(identity.get_xdata(), identity.get_ydata())
    assert identity.get_linestyle() == "--" and identity.get_color() == "grey"
    # The title's scores are test.json's, those of the CSV's predictions (training saw the
    # labels as float32, hence agreement to 1e-6 only).
    sse = np.sum((pred["nu_pred"] - pred["nu"]) ** 2)
    r2 = 1 - sse / np.sum((pred["nu"] - pred["nu"].mean()) ** 2)
    assert r2 == pytest.approx(run.test["test_r2"], abs=1e-6)
    assert np.sqrt(sse / len(pred["nu"])) == pytest.approx(run.test["test_rmse"], rel=1e-6)
    title = ax.get_title()
    assert f"$R^2$ = {run.test['test_r2']:.3f}" in title
    assert f"RMSE = {run.test['test_rmse']:.3g}" in title
    check_saved(fig, PARITY_SIZE, tmp_path / "fig5c")


# ------------------------------------------------------------------ Fig. 5d
@pytest.fixture(scope="module")
def timing_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("timing") / "timing.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_learn.py"), "--sizes", "4,6",
         "--repeats", "1", "--batch", "2", "--json", str(path)],
        env=child_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "solve/matrix" in proc.stdout and f"wrote {path}" in proc.stdout
    return path


def test_timing_file(timing_file):
    raw = json.loads(timing_file.read_text())
    timing = load_timing(timing_file)
    assert timing == raw
    meta = timing["metadata"]
    assert (meta["batch"], meta["repeats"], meta["device"]) == (2, 1, "cpu")
    assert [(r["L"], r["n_nodes"]) for r in timing["records"]] == [(4, 16), (6, 36)]
    # 2N = 32 is below AlexNet's minimum side: no native matrix time at L = 4.
    assert timing["records"][0]["matrix_native"] is None
    for rec in timing["records"]:
        times = [rec["solve_s"]] + [rec[name][key] for name in ("matrix_fixed", "lattice", "image")
                                    for key in ("single_s", "batched_s")]
        assert all(0 < t < 60 for t in times)
    assert timing["records"][1]["matrix_native"]["single_s"] > 0


def test_timing_figure(timing_file, tmp_path):
    timing = load_timing(timing_file)
    records = timing["records"]
    fig = timing_figure(timing)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "nodes N" and ax.get_ylabel() == "time per network [ms]"
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["PETSc solve"].get_xdata(), [16, 36])
    np.testing.assert_allclose(lines["PETSc solve"].get_ydata(),
                               [1e3 * r["solve_s"] for r in records])
    fixed_single = lines["matrix CNN (288² input), batch 1"]
    fixed_batched = lines["matrix CNN (288² input), batch 2"]
    assert fixed_single.get_linestyle() == "-" and fixed_batched.get_linestyle() == "--"
    np.testing.assert_allclose(fixed_batched.get_ydata(),
                               [1e3 * r["matrix_fixed"]["batched_s"] for r in records])
    np.testing.assert_allclose(lines["image CNN (128 px, with rendering), batch 1"].get_ydata(),
                               [1e3 * r["image"]["single_s"] for r in records])
    np.testing.assert_allclose(lines["lattice CNN (D on the lattice), batch 1"].get_ydata(),
                               [1e3 * r["lattice"]["single_s"] for r in records])
    native = lines["matrix CNN (native 2N×2N), batch 1"].get_ydata()
    assert np.isnan(native[0]) and native[1] == 1e3 * records[1]["matrix_native"]["single_s"]
    last = records[-1]
    title = ax.get_title()
    for what in ("solve", "image"):
        num = last["solve_s"] if what == "solve" else last["image"]["single_s"]
        num_b = last["solve_s"] if what == "solve" else last["image"]["batched_s"]
        expected = (f"{num / last['matrix_fixed']['single_s']:.3g} | "
                    f"{num_b / last['matrix_fixed']['batched_s']:.3g}")
        assert expected in title
    assert "N = 36" in title
    check_saved(fig, TIMING_SIZE, tmp_path / "fig5d")


def test_timing_files_written_before_the_lattice_model_still_read(timing_file, tmp_path):
    data = json.loads(timing_file.read_text())
    for rec in data["records"]:
        del rec["lattice"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    labels = [line.get_label() for line in timing_figure(load_timing(old)).axes[0].get_lines()]
    assert len(labels) == 7 and not any("lattice" in label for label in labels)
    data["records"][0]["image"] = None  # only the later paths may be absent
    old.write_text(json.dumps(data))
    with pytest.raises(HpcnetError, match=r"records\[0\]\.image missing"):
        load_timing(old)


def test_timing_file_errors(timing_file, tmp_path):
    bad = tmp_path / "bad.json"
    with pytest.raises(HpcnetError, match="no such timing file"):
        load_timing(bad)
    bad.write_text("{not json")
    with pytest.raises(HpcnetError, match="cannot read JSON"):
        load_timing(bad)
    data = json.loads(timing_file.read_text())
    data["records"][1]["image"]["batched_s"] = -1.0
    bad.write_text(json.dumps(data))
    with pytest.raises(HpcnetError, match=r"records\[1\]\.image\.batched_s"):
        load_timing(bad)
    del data["metadata"]["batch"]
    bad.write_text(json.dumps(data))
    with pytest.raises(HpcnetError, match="metadata.batch"):
        load_timing(bad)
    bad.write_text(json.dumps({**data, "format": "x"}))
    with pytest.raises(HpcnetError, match="not an hpcnet timing file"):
        load_timing(bad)
