"""The tuning path: each chain's snapshots, stored in /path, read back, and `hpcnet path`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hpcnet.anneal.chain import run_chain
from hpcnet.anneal.settings import AnnealSettings
from hpcnet.ensemble.results import EnsembleResults
from hpcnet.errors import HpcnetError
from hpcnet.generators import generate
from hpcnet.mechanics.bond_statistics import bond_statistics
from hpcnet.mechanics.elastic import poisson_ratio
from tests.support.helpers import run_cli
from tests.test_anneal import record_accepts  # noqa: F401  (a fixture)

#: Short chains whose greedy descent misses -0.9, so the anneal adds snapshots too.
SHORT = ["--kinds", "tri,delaunay", "--sizes", "6", "--seeds", "0", "--targets", "-0.9,0.9",
         "--alpha", "0.7", "--lk", "40", "--lk-per-bond", "0"]


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    out = tmp_path_factory.mktemp("path") / "ens.h5"
    run_cli("anneal", *SHORT, "-o", out)
    return out


def test_every_snapshot_equals_a_fresh_solve_of_its_mask(ensemble):
    annealed = 0
    with EnsembleResults(ensemble) as results:
        assert results.has_paths
        for row in results.select():
            path, t = results.path(row), results.tasks
            n = len(path["nu"])
            assert n >= 2 and n == t["n_path"][row]
            assert np.all(np.diff(path["step"]) > 0)
            annealed += int(np.isfinite(path["temperature"]).any())
            for k in range(n):
                net = results.path_network(row, k)
                fresh, sigma2 = poisson_ratio(net), bond_statistics(net).sigma2
                for name, value in (("nu", fresh.nu), ("nu_x", fresh.nu_x),
                                    ("nu_y", fresh.nu_y), ("a_min", fresh.a_min),
                                    ("sigma2", sigma2)):
                    assert path[name][k] == pytest.approx(value, abs=1e-8), (row, k, name)
                assert path["bonds"][k] == net.n_bonds
            # from the initial network to the answer
            assert results.path_mask(row, 0).all()
            assert np.array_equal(results.path_mask(row, -1), results.mask(row, "final"))
            for name in ("nu", "nu_x", "nu_y", "a_min"):
                assert path[name][0] == pytest.approx(t[f"{name}_initial"][row], abs=1e-8)
                assert path[name][-1] == pytest.approx(t[f"{name}_final"][row], abs=1e-8)
            assert path["sigma2"][0] == t["sigma2_initial"][row]
            assert path["sigma2"][-1] == t["sigma2_final"][row]
    assert annealed >= 1  # some path reaches into the anneal phase


def expected_path(accepted, answer_mask, step):
    """Masks and ν of the snapshots the rule takes from the accepted states (initial first)."""
    masks = [m for m, _ in accepted]
    j = next(i for i, m in enumerate(masks) if np.array_equal(m, answer_mask))
    taken = [0]
    for i in range(1, j + 1):
        if abs(accepted[i][1] - accepted[taken[-1]][1]) >= step:
            taken.append(i)
    if taken[-1] != j:
        taken.append(j)
    return taken, j


@pytest.mark.parametrize("kind, target", [("tri", -0.9), ("delaunay", 0.9)])
def test_snapshots_follow_the_accepted_states(record_accepts, kind, target):  # noqa: F811
    net = generate(kind, 8, 1, **({"distortion": 0.3} if kind == "tri" else {}))
    settings = AnnealSettings(target=target, alpha=0.7, lk=40, lk_per_bond=0)
    initial = poisson_ratio(net).nu
    result = run_chain(net, settings, np.random.default_rng(5))
    accepted = [(np.ones(net.n_bonds, bool), initial)] + [(m, ev.nu) for m, ev in record_accepts]
    taken, j = expected_path(accepted, result.best_mask, settings.path_step)
    path = result.path
    assert len(path["nu"]) == len(taken) >= 3
    for k, i in enumerate(taken):
        assert np.array_equal(path["masks"][k], accepted[i][0]), k
        assert path["nu"][k] == pytest.approx(accepted[i][1], abs=1e-10)
    # no jump larger than the step plus the largest change of one accepted proposal
    nus = np.array([nu for _, nu in accepted[: j + 1]])
    bound = settings.path_step + np.abs(np.diff(nus)).max()
    assert np.abs(np.diff(path["nu"])).max() <= bound + 1e-12
    # between snapshots, ν stays within the step of the last one
    for a, b in zip(taken[:-1], taken[1:], strict=True):
        assert np.all(np.abs(nus[a + 1: b] - nus[a]) < settings.path_step)


def test_zero_step_snapshots_every_accepted_state_and_a_negative_step_is_refused():
    net = generate("delaunay", 6, 0)
    result = run_chain(net, AnnealSettings(target=0.9, alpha=0.5, lk=20, path_step=0.0),
                       np.random.default_rng(1))
    assert len(result.path["nu"]) >= 2 and np.all(np.diff(result.path["step"]) > 0)
    with pytest.raises(HpcnetError, match="path_step"):
        AnnealSettings(path_step=-0.1).validate()


def test_cli_lists_and_writes_snapshots(ensemble, tmp_path):
    chain = ["--kind", "tri", "--size", "6", "--seed", "0", "--target", "-0.9"]
    with EnsembleResults(ensemble) as results:
        row = int(results.select(kind="tri", target=-0.9)[0])
        path = results.path(row)
    n = len(path["nu"])
    table = run_cli("path", ensemble, *chain).stdout
    assert f"{n} snapshots" in table and len(table.splitlines()) == n + 2
    data = json.loads(run_cli("path", ensemble, *chain, "--json").stdout)
    assert data["row"] == row and len(data["snapshots"]) == n
    assert [s["nu"] for s in data["snapshots"]] == path["nu"].tolist()
    assert [s["bonds"] for s in data["snapshots"]] == path["bonds"].tolist()
    k = n // 2
    out = tmp_path / "snap.h5"
    run_cli("path", ensemble, *chain, "-o", out, "--snapshot", k)
    solved = json.loads(run_cli("poisson", out, "--json").stdout)
    assert solved["nu"] == pytest.approx(path["nu"][k], abs=1e-8)
    assert solved["bonds"] == path["bonds"][k]
    run_cli("modes", out, "--all", "--json")
    run_cli("bonds", out, "--json")
    run_cli("anneal", "--network", out, "--target", "-0.9", "--t0", "0.05", "--alpha", "0.5",
            "--tf", "0.01", "--lk", "6", "-o", tmp_path / "again.h5")
    again = run_cli("path", ensemble, *chain, "-o", out, "--snapshot", -1, check=False)
    assert again.returncode != 0 and "exists; pass --force" in again.stderr


@pytest.mark.parametrize("args, message", [
    (["--kind", "packing"], "no finished chain with kind packing"),
    (["--kind", "tri"], "2 finished chains"),
    (["--kind", "tri", "--target", "0.9", "-o", "x.h5", "--snapshot", "99"],
     "snapshot 99 out of range"),
    (["--kind", "tri", "--target", "0.9", "-o", "x.h5"], "go together"),
])
def test_cli_user_errors(ensemble, tmp_path, args, message):
    proc = run_cli("path", ensemble, *args, check=False, cwd=tmp_path)
    assert proc.returncode != 0 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.h5").exists()


def test_a_version_1_file_names_its_missing_paths(ensemble_v1):
    with EnsembleResults(ensemble_v1) as results:
        assert not results.has_paths
        with pytest.raises(HpcnetError, match=r"no paths \(layout version 1"):
            results.path(0)
    proc = run_cli("path", ensemble_v1, "--kind", "tri", check=False)
    assert proc.returncode != 0 and "no paths (layout version 1" in proc.stderr


class Stop(Exception):
    pass


def test_a_checkpoint_journaled_without_a_path_runs_the_chain_again(tmp_path):
    from hpcnet.ensemble.journal import JournalWriter, read_journal
    from hpcnet.ensemble.runner import EnsembleSettings, _run_task

    settings = EnsembleSettings(kinds=["tri"], sizes=[6], seeds=[0], targets=[0.9],
                                anneal=AnnealSettings(alpha=0.5, lk=20, lk_per_bond=0))
    task = settings.tasks()[0]
    saved = {}

    def interrupt(info, state):
        if info.step == 2:
            saved["state"] = state
            raise Stop

    chain = AnnealSettings(alpha=0.5, lk=20, lk_per_bond=0, target=0.9)
    with pytest.raises(Stop):
        run_chain(settings.network(task), chain, task.rng(0), on_step=interrupt)
    old = {k: v for k, v in saved["state"].to_dict().items() if not k.startswith("path")}
    records = []
    for name, checkpoint in (("fresh", None), ("old", old)):
        with JournalWriter(tmp_path / name) as journal:
            _run_task(task, settings, checkpoint, journal, lambda: False, None, 1e9)
        records += list(read_journal(tmp_path / name))
    fresh, again = records
    assert fresh["n_path"] >= 2
    for key in fresh:
        if key.startswith(("path_", "mask_", "nu_")):
            assert np.array_equal(fresh[key], again[key], equal_nan=True), key
