"""Shared fixtures: small outputs of the real pipeline that several test modules read."""

from __future__ import annotations

import os

# One BLAS thread, as the CLI and `make test` run: dense reference computations near the
# floppiness threshold then give the same networks on every machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402

from tests.support.helpers import run_cli  # noqa: E402
from tests.support.layout_v1 import write_version_1  # noqa: E402

#: A tiny ensemble: all three kinds, two sizes, two seeds, tuned both ways with short chains.
TINY_ENSEMBLE = ["--kinds", "tri,delaunay,packing", "--sizes", "6,8", "--seeds", "0-1",
                 "--targets", "-0.5,0.5", "--alpha", "0.7", "--lk", "60"]


@pytest.fixture(scope="session")
def tiny_ensemble(tmp_path_factory):
    """Path of a finished tiny ensemble file (built once per test session)."""
    out = tmp_path_factory.mktemp("ensemble") / "tiny.h5"
    run_cli("anneal", *TINY_ENSEMBLE, "-o", out)
    return out


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """Finished training runs ``{"alexnet": dir, "resnet": dir}`` on a tiny 6×6 tri dataset."""
    root = tmp_path_factory.mktemp("learn-runs")
    dataset = root / "ds.h5"
    run_cli("dataset", "--kind", "tri", "--size", 6, "--count", 30, "--seed", 3,
            "--distortion", "0.05:0.9", "--images", "all", "--image-size", 32, "-o", dataset)
    runs = {"alexnet": root / "alexnet", "resnet": root / "resnet"}
    run_cli("train", dataset, "--model", "alexnet-matrix", "-o", runs["alexnet"],
            "--epochs", 3, "--batch-size", 6, "--lr", "3e-4", "--dropout", 0)
    run_cli("train", dataset, "--model", "resnet50-image", "-o", runs["resnet"],
            "--epochs", 2, "--batch-size", 6)
    return runs


@pytest.fixture(scope="session")
def ensemble_v1(tmp_path_factory):
    """Path of an ensemble file of layout version 1 (6 finished SA tasks)."""
    out = tmp_path_factory.mktemp("v1") / "ensemble-v1.h5"
    write_version_1(out)
    return out
