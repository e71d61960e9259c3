"""Datasets for the CNN surrogates: contents, determinism across rank counts, resume, CLI."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from hpcnet.ensemble import layout
from hpcnet.errors import FloppyNetworkError, HpcnetError
from hpcnet.learn import dataset as dsmod
from hpcnet.learn.dataset import DatasetSettings, LearnDataset, build_dataset, sample_network
from hpcnet.learn.render import RenderSettings, render
from hpcnet.mechanics.elastic import poisson_ratio
from hpcnet.mechanics.stiffness import stiffness_matrix
from hpcnet.network import Network
from hpcnet.tools.atomic import part_path
from tests.support.helpers import mpirun, run_cli

SETTINGS = DatasetSettings(kind="tri", size=5, count=8, seed=3, distortion=(0.05, 0.95),
                           images=True, image_distortion=(0.0, 0.45),
                           render=RenderSettings(size=32))


def _arrays(path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as fh:
        return {k: v[()] for k, v in fh["samples"].items()}


def test_samples_hold_the_network_its_matrix_and_its_labels(tmp_path):
    path = tmp_path / "ds.h5"
    report = build_dataset(SETTINGS, path, MPI.COMM_SELF)
    assert report.labelled == 8 and report.floppy == 0 and not part_path(path).exists()
    with LearnDataset(path) as ds:
        assert ds.settings == SETTINGS
        assert ds.matrix_size == 2 * 25
        for i in range(len(ds)):
            net, r = sample_network(SETTINGS, i)
            stored = ds.network(i)
            assert np.array_equal(stored.positions, net.positions)
            assert np.array_equal(stored.bonds, net.bonds)
            for side in net.boundary:
                assert np.array_equal(stored.boundary[side], net.boundary[side])
            assert ds.distortion[i] == r and 0.05 <= r <= 0.95
            assert ds.matrix(i).dtype == np.float32
            assert np.array_equal(ds.matrix(i), stiffness_matrix(net).toarray().astype(np.float32))
            res = poisson_ratio(stored)
            assert (ds.nu[i], ds.nu_x[i], ds.nu_y[i]) == (res.nu, res.nu_x, res.nu_y)
            for name in dsmod.CHECK_FIELDS:  # the material check of every label
                assert ds.check[name][i] == getattr(res, name), name
            assert ds.material[i] == (res.a_min >= 0.5)
            assert ds.has_image[i] == (r <= 0.45)
            if ds.has_image[i]:
                assert np.array_equal(ds.image(i), render(net, SETTINGS.render))
        assert 0 < ds.has_image.sum() < 8  # both cases occur with this seed
        assert np.array_equal(ds.usable(images=True), np.flatnonzero(ds.has_image))


def test_interrupted_build_resumes_to_the_same_file(tmp_path, monkeypatch):
    whole, broken = tmp_path / "whole.h5", tmp_path / "broken.h5"
    build_dataset(SETTINGS, whole, MPI.COMM_SELF)
    real = dsmod._label_and_write
    calls = []

    def fail_on_fourth(*args):
        calls.append(args[2])
        if len(calls) == 4:
            raise RuntimeError("killed")
        return real(*args)

    monkeypatch.setattr(dsmod, "_label_and_write", fail_on_fourth)
    with pytest.raises(RuntimeError, match="killed"):
        build_dataset(SETTINGS, broken, MPI.COMM_SELF)
    assert not broken.exists() and part_path(broken).exists()
    monkeypatch.setattr(dsmod, "_label_and_write", real)
    report = build_dataset(SETTINGS, broken, MPI.COMM_SELF)
    assert (report.resumed, report.labelled) == (3, 5)
    a, b = _arrays(whole), _arrays(broken)
    for key in a:
        assert np.array_equal(a[key], b[key], equal_nan=a[key].dtype.kind == "f"), key
    assert build_dataset(SETTINGS, broken, MPI.COMM_SELF).complete_before


def test_floppy_samples_are_kept_without_labels_and_left_out(tmp_path, monkeypatch):
    import hpcnet.mechanics.elastic

    real = hpcnet.mechanics.elastic.poisson_ratio

    def floppy_for_sample_2(net, comm=None):
        if net.seed == sample_network(SETTINGS, 2)[0].seed:
            raise FloppyNetworkError(1)
        return real(net, comm)

    monkeypatch.setattr(hpcnet.mechanics.elastic, "poisson_ratio", floppy_for_sample_2)
    report = build_dataset(SETTINGS, tmp_path / "ds.h5", MPI.COMM_SELF)
    assert (report.labelled, report.floppy) == (7, 1)
    with LearnDataset(tmp_path / "ds.h5") as ds:
        assert ds.status[2] == -1 and np.isnan(ds.nu[2]) and 2 not in ds.usable()
        assert np.isfinite(np.delete(ds.nu, 2)).all() and len(ds.usable()) == 7


def test_non_material_labels_are_flagged_or_omitted(tmp_path):
    flagged = DatasetSettings(kind="tri", size=5, count=8, seed=3, material_floor=0.8)
    omitted = DatasetSettings(kind="tri", size=5, count=8, seed=3, material_floor=0.8,
                              non_material="omit")
    build_dataset(flagged, tmp_path / "flag.h5", MPI.COMM_SELF)
    report = build_dataset(omitted, tmp_path / "omit.h5", MPI.COMM_SELF)
    with LearnDataset(tmp_path / "flag.h5") as a, LearnDataset(tmp_path / "omit.h5") as b:
        low = a.a_min < 0.8
        assert 0 < low.sum() < 8  # both cases occur with this seed and floor
        assert np.array_equal(a.material, ~low) and len(a.usable()) == 8
        assert report.omitted == low.sum() and report.labelled == 8
        assert np.array_equal(b.status, np.where(low, dsmod.OMITTED, dsmod.LABELLED))
        assert np.array_equal(b.usable(), np.flatnonzero(~low))
        assert np.array_equal(a.nu, b.nu) and np.array_equal(a.a_min, b.a_min)  # labels kept
        assert b.settings.non_material == "omit" and b.settings.material_floor == 0.8
    out = run_cli("dataset", "--kind", "tri", "-L", "5", "-n", "8", "--seed", "3",
                  "--material-floor", "0.8", "--non-material", "omit", "-o",
                  tmp_path / "cli.h5").stdout
    assert f"({low.sum()} non-material omitted)" in out
    with h5py.File(tmp_path / "cli.h5", "r") as fh:
        assert '"non_material": "omit"' in fh.attrs["settings"]
        assert np.array_equal(fh["samples/status"][()], b.status)
    proc = run_cli("dataset", "--kind", "tri", "-L", "5", "-n", "8", "--material-floor", "2",
                   "-o", tmp_path / "x.h5", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_other_settings_on_an_existing_file_are_refused(tmp_path):
    path = tmp_path / "ds.h5"
    build_dataset(SETTINGS, path, MPI.COMM_SELF)
    other = DatasetSettings(kind="tri", size=5, count=9, seed=3)
    with pytest.raises(HpcnetError, match="different dataset"):
        build_dataset(other, path, MPI.COMM_SELF)
    assert build_dataset(other, path, MPI.COMM_SELF, force=True).labelled == 9


@pytest.mark.mpi
def test_dataset_is_identical_on_one_and_two_ranks(tmp_path):
    args = ["-m", "hpcnet", "dataset", "--kind", "tri", "--size", "6", "--count", "10",
            "--seed", "5", "--images", "all", "--image-size", "32"]
    mpirun(1, *args, "-o", tmp_path / "one.h5")
    out = mpirun(2, *args, "-o", tmp_path / "two.h5").stdout
    assert "10 samples labelled" in out and "2 rank(s)" in out
    one, two = _arrays(tmp_path / "one.h5"), _arrays(tmp_path / "two.h5")
    assert set(one) == set(two)
    for key in one:
        assert np.array_equal(one[key], two[key], equal_nan=one[key].dtype.kind == "f"), key
    assert (one["status"] == 1).all() and np.isfinite(one["nu"]).all()
    assert len(np.unique(one["nu"])) == 10 and one["image"].any(axis=(1, 2)).all()


def test_cli_reruns_refusals_and_usage_errors(tmp_path):
    out = tmp_path / "ds.h5"
    base = ["dataset", "--kind", "tri", "-L", "4", "-n", "3", "-o", out]
    assert "3 samples labelled" in run_cli(*base).stdout
    assert "already complete" in run_cli(*base).stdout
    refused = run_cli(*base[:-2], "--seed", "1", "-o", out, check=False)
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    for bad, message in (
        (["--distortion", "0.5"], "not a range"),
        (["--distortion", "0.9:0.1"], "LO must not exceed HI"),
        (["--distortion", "0.2:1.5"], "distortion range"),
    ):
        proc = run_cli(*base[:-2], *bad, "-o", tmp_path / "x.h5", check=False)
        assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("dataset", "--kind", "delaunay", "-L", "4", "-n", "2", "--images", "0:0.4",
                   "-o", tmp_path / "d.h5", check=False)
    assert proc.returncode == 2 and "--images all" in proc.stderr


def test_dataset_from_annealing_outputs(tmp_path):
    files = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for path, seeds in zip(files, ("0", "1-2"), strict=True):
        run_cli("anneal", "--kind", "tri", "--size", 5, "--seeds", seeds, "--t0", 0.05,
                "--alpha", 0.5, "--tf", 0.01, "--lk", 8, "-o", path)
    out = tmp_path / "ds.h5"
    args = ["dataset", "--from-anneal", files[0], "--from-anneal", files[1],
            "--masks", "best,initial", "--images", "all", "--image-size", "32", "-o", out]
    assert "6 samples labelled" in run_cli(*args).stdout  # 3 chains × 2 masks
    expected = []
    for path in files:
        with h5py.File(path, "r") as fh:
            for row in range(len(fh["tasks/status"])):
                net = layout.read_network(fh, row)
                for mask in ("best", "initial"):
                    expected.append(net.pruned(layout.read_mask(fh, mask, row)))
    with LearnDataset(out) as ds:
        assert ds.settings.kind == "tri" and ds.settings.count == 6
        for i, net in enumerate(expected):
            assert np.array_equal(ds.network(i).bonds, net.bonds)
            assert ds.nu[i] == poisson_ratio(net).nu
            assert ds.distortion[i] == net.params["distortion"]
        assert ds.group["n_bonds"][1] == len(expected[1].bonds)  # the initial mask: all bonds
    # a finished dataset reads without its sources; a build checks the chain count
    files[1].rename(tmp_path / "moved.h5")
    with LearnDataset(out) as ds:
        assert np.array_equal(ds.network(5).bonds, expected[5].bonds)
        settings = ds.settings
    files[1].write_bytes(files[0].read_bytes())  # 1 chain where 2 were
    with pytest.raises(HpcnetError, match="count 6 is not the 2 finished chains times 2"):
        build_dataset(settings, tmp_path / "again.h5", MPI.COMM_SELF)
    proc = run_cli("dataset", "--from-anneal", files[0], "--masks", "nope", "-o",
                   tmp_path / "x.h5", check=False)
    assert proc.returncode == 1 and "/masks/nope" in proc.stderr
    proc = run_cli("dataset", "--from-anneal", files[0], "--kind", "tri", "-o",
                   tmp_path / "x.h5", check=False)
    assert proc.returncode == 2 and "leave out --kind" in proc.stderr


def test_render_draws_the_bonds_upright_inside_the_frame():
    positions = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    bonds = np.array([[2, 3]])  # the top edge only
    sides = {"left": [0, 2], "right": [1, 3], "bottom": [0, 1], "top": [2, 3]}
    net = Network.from_arrays(positions, bonds, sides)
    image = render(net, RenderSettings(size=40))
    assert image.shape == (40, 40) and image.dtype == np.uint8
    rows = np.flatnonzero(image.any(axis=1))
    assert rows.max() < 5  # the top edge is drawn in the top rows (y points up)
    assert image[:, 0].max() == 0 and image[:, -1].max() == 0 and image[-1].max() == 0
    assert np.array_equal(image, render(net, RenderSettings(size=40)))
