"""`hpcnet plot ...` and `scripts/reproduce.sh`: real outputs in, PNG + PDF of the right size."""

from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pytest

from hpcnet.analysis.report import FIGURES
from hpcnet.analysis.survey import read_csv
from hpcnet.analysis.timing import write_timing
from hpcnet.ensemble.results import EnsembleResults
from hpcnet.figures import (
    bonds,
    learning,
    mechanism,
    mode_path,
    modes,
    networks,
    reach,
    style,
    timing,
)
from hpcnet.figures import trajectory as trajectory_figure
from hpcnet.generators import generate
from tests.support.helpers import REPO, child_env, run_cli

#: Figure size in inches of each figure drawn from the tiny ensemble (3 kinds).
ENSEMBLE_SIZES = {
    "networks": (networks.WIDTH, 3 * networks.ROW_HEIGHT),
    "trajectory": (3 * trajectory_figure.PANEL_WIDTH, trajectory_figure.HEIGHT),
    "bond_scatter": bonds.SCATTER_SIZE,
    "sigma_collapse": bonds.COLLAPSE_SIZE,
    "reach": (3 * reach.PANEL_WIDTH, reach.HEIGHT),
    "modes": modes.FIGSIZE,
    "mechanism": mechanism.FIGSIZE,
    "mode_path": (2 * mode_path.PANEL_SIZE[0], mode_path.SNAPSHOTS * mode_path.PANEL_SIZE[1]),
}
LEARNING_SIZES = {"training": learning.TRAINING_SIZE, "parity": learning.PARITY_SIZE,
                  "timing": timing.TIMING_SIZE}


def png_size(path) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def assert_figure(stem, inches) -> None:
    """STEM.png has the pixel size of ``inches`` at style.DPI; STEM.pdf is a PDF."""
    png, pdf = style.output_paths(stem)
    assert png_size(png) == tuple(round(v * style.DPI) for v in inches)
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 1000
    assert not list(png.parent.glob("*.part"))


@pytest.fixture(scope="module")
def timing_json(tmp_path_factory):
    path = tmp_path_factory.mktemp("timing") / "timing.json"
    meta = {"device": "cpu", "threads": 1, "torch": "x", "batch": 4, "matrix_size": 72,
            "image_size": 32, "distortion": 0.3, "repeats": 1}
    write_timing(path, meta, [
        {"L": L, "n_nodes": L * L, "solve_s": 1e-3 * L, "matrix_native": None,
         "matrix_fixed": {"single_s": 0.01, "batched_s": 0.005},
         "image": {"single_s": 0.02, "batched_s": 0.01}} for L in (6, 8)])
    return path


def test_every_plot_command_writes_png_and_pdf(tiny_ensemble, tiny_runs, timing_json,
                                              tmp_path):
    commands = {
        "networks": ["networks", tiny_ensemble],
        "trajectory": ["trajectory", tiny_ensemble, "--size", 6, "--seed", 1],
        "bond_scatter": ["bonds", tiny_ensemble, "--kind", "delaunay"],
        "sigma_collapse": ["sigma", tiny_ensemble],
        "reach": ["reach", tiny_ensemble],
        "modes": ["modes", tiny_ensemble, "--kind", "packing", "--target", 0.5],
        "mechanism": ["mechanism", tiny_ensemble, "--limit", 6],
        "mode_path": ["mode-path", tiny_ensemble, "--kind", "delaunay", "--size", 6],
        "training": ["training", tiny_runs["alexnet"], tiny_runs["resnet"]],
        "parity": ["parity", tiny_runs["alexnet"]],
        "timing": ["timing", timing_json],
    }
    for stem, args in commands.items():
        proc = run_cli("plot", *args, "-o", tmp_path / stem)
        assert f"wrote {tmp_path / stem}.png" in proc.stdout
        assert_figure(tmp_path / stem, (ENSEMBLE_SIZES | LEARNING_SIZES)[stem])
    rows = read_csv(tmp_path / "mechanism.csv")  # every snapshot of 6 chains, spread evenly
    with EnsembleResults(tiny_ensemble) as results:
        done = results.select(method=results.primary_method)
        chains = done[np.unique(np.linspace(0, len(done) - 1, 6).round().astype(int))]
        assert sorted((r["task"], r["snapshot"]) for r in rows) == [
            (row, k) for row in chains for k in range(len(results.path(row)["nu"]))]
        for r in rows:  # fresh solves of the snapshots agree with the stored path
            stored = results.path(r["task"])
            for q in ("nu", "sigma2"):
                assert r[q] == pytest.approx(stored[q][r["snapshot"]], abs=1e-8)


def test_modes_of_a_network_file_at_another_resolution(tmp_path):
    generate("tri", 5, 2, distortion=0.3).save(tmp_path / "net.h5")
    run_cli("plot", "--dpi", 50, "modes", tmp_path / "net.h5", "-o", tmp_path / "m")
    assert png_size(tmp_path / "m.png") == tuple(round(v * 50) for v in modes.FIGSIZE)


def test_plot_user_errors_are_clean(tiny_ensemble, tiny_runs, tmp_path):
    cases = [
        (["networks", tmp_path / "missing.h5"], "no such ensemble file"),
        (["networks", tiny_ensemble, "--kinds", "hexagon"], "hexagon"),
        (["trajectory", tiny_ensemble, "--size", 7], "L=7"),
        (["modes", tiny_ensemble, "--kind", "tri", "--size", 6, "--target", 0.3],
         "no finished chain"),
        (["training", tmp_path], "not a training run directory"),
        (["timing", tiny_ensemble], "cannot read JSON"),
    ]
    for args, message in cases:
        proc = run_cli("plot", *args, "-o", tmp_path / "x", check=False)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert not list(tmp_path.glob("x.*"))
    proc = run_cli("plot", "all", "--out-dir", tmp_path, check=False)
    assert proc.returncode == 2 and "at least one of --ensemble" in proc.stderr


def test_reproduce_script_runs_every_stage_and_resumes(tmp_path):
    out = tmp_path / "tiny"
    script = REPO / "scripts" / "reproduce.sh"
    env = child_env(RANKS="2", HPCNET_PYTHON=sys.executable)
    # OUTDIR relative to the caller's directory (the script itself runs in the project root)
    proc = subprocess.run([script, "tiny", "tiny"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for k in range(1, 9):
        assert f"== [{k}/8]" in proc.stdout
    report = (out / "REPORT.md").read_text()
    assert report.startswith("# Reproduction report: tiny scale")
    assert "| tuning range, packing |" in report and "| CNN R² on the test split" in report
    assert "| CNN R² on the test split, lattice-matrix (lattice) |" in report
    for stem, caption in FIGURES:
        assert_figure(out / "figures" / stem, (ENSEMBLE_SIZES | LEARNING_SIZES)[stem])
        assert f"![{caption}](figures/{stem}.png)" in report
    again = subprocess.run([script, "tiny", out], env=env, capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"{out / 'ensemble.h5'}: 24 of 24 tasks done" in again.stdout
    assert again.stdout.count("exists (delete it to rebuild)") == 2
    assert again.stdout.count("is finished (delete it to retrain)") == 3  # 2 matrix CNNs, 1 image
    bad = subprocess.run([script, "huge"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown scale 'huge'" in bad.stderr
