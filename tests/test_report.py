"""`hpcnet report`: a crafted ensemble, survey and timing with known values give a known table."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from scipy.stats import spearmanr

from hpcnet.analysis.report import CRITERIA, FIGURES
from hpcnet.analysis.survey import COLUMNS, PATH_COLUMNS, write_csv
from hpcnet.analysis.timing import write_timing
from hpcnet.anneal.settings import METHODS
from hpcnet.ensemble import layout
from hpcnet.ensemble.runner import EnsembleSettings
from hpcnet.generators import KINDS, generate
from tests.support.helpers import run_cli

#: A file of layout version 1 (no a_min, no tuning paths).

#: The tuning paths (ν, σ²) of the finished chains of TASKS. Normalised σ² at ν = −0.5: tri
#: 0.3/1.0 = 0.3 (σ²(0) = 1.0), delaunay 0.7/2.0 = 0.35 (σ²(0) = 2.0); tuned up, tri at
#: ν = 0.6: 2.5/(7/6) = 2.143, the only kind tuned up.
PATHS = [
    {"nu": [0.3, 0.1, -0.1, -0.7], "sigma2": [2.0, 1.5, 0.5, 0.2]},
    {"nu": [0.3, 0.5, 0.9], "sigma2": [1.0, 2.0, 4.0]},
    {"nu": [0.2, -0.2, -0.7], "sigma2": [3.0, 1.0, 0.5]},
]
#: (kind, size, seed, target, status, nu_x_final, nu_y_final, sigma2_initial, sigma2_final)
TASKS = [
    ("tri", 4, 0, -0.9, layout.DONE, -0.93, -0.91, 1.0, 0.2),
    ("tri", 4, 0, 0.9, layout.DONE, 0.87, 0.89, 1.0, 0.5),
    ("delaunay", 4, 0, -0.9, layout.DONE, -0.72, -0.68, 2.0, 2.2),
    ("delaunay", 4, 0, 0.9, layout.FAILED, np.nan, np.nan, np.nan, np.nan),
]


def path_record(path: dict, n_bonds: int) -> dict:
    """The ``path_*`` fields of a record whose path has ν and σ² ``path`` (masks all ones)."""
    count = len(path["nu"])
    nan = np.full(count, np.nan)
    fields = {"nu": path["nu"], "nu_x": path["nu"], "nu_y": path["nu"], "sigma2": path["sigma2"],
              "temperature": nan, "a_min": nan, "step": np.arange(count),
              "bonds": np.full(count, n_bonds)}
    return {"n_path": count, **{f"path_{name}": np.asarray(fields[name]) for name in layout.PATH},
            "path_masks": layout.pack_masks(np.ones((count, n_bonds), bool))}


def write_ensemble(path, settings: EnsembleSettings, rows: list[dict]) -> None:
    """An ensemble file of the current layout whose rows hold ``rows``: each the task's
    identity, status, any task columns and optionally its ``path`` ({"nu": ..., "sigma2": ...};
    default one snapshot, the final state); the masks are all ones."""
    net = generate("tri", 3, 0)
    attrs = {"settings": settings.to_json(), "kinds": list(KINDS), "methods": list(METHODS),
             "complete": True}
    with h5py.File(path, "w") as fh:
        layout.create(fh, len(rows), net.n_nodes, net.n_bonds, 3, attrs, max_path=4)
        t = fh["tasks"]
        for row, values in enumerate(rows):
            values = {"method": "sa", **values}
            t["kind"][row], t["method"][row] = (KINDS.index(values.pop("kind")),
                                                METHODS.index(values.pop("method")))
            for name in ("size", "seed", "target", "status"):
                t[name][row] = values.pop(name)
            if t["status"][row] != layout.DONE:
                t["message"][row] = b"crossing bonds"
                continue
            mask = np.ones(net.n_bonds, np.uint8)
            path = values.pop("path", {"nu": [values.get("nu_final", np.nan)],
                                       "sigma2": [values.get("sigma2_final", np.nan)]})
            layout.write_row(fh, row, {**path_record(path, net.n_bonds),
                "n_nodes": net.n_nodes, "n_bonds": net.n_bonds, "n_steps": 3,
                "positions": net.positions, "bonds": net.bonds,
                "boundary": net.boundary_flags(),
                **{f"mask_{m}": mask for m in layout.MASKS},
                **{f"traj_{name}": np.zeros(3) for name in layout.TRAJECTORY}, **values})


def craft_ensemble(path) -> None:
    """An ensemble file whose task columns hold the values of TASKS (no a_min: absent)."""
    settings = EnsembleSettings(kinds=["tri", "delaunay"], sizes=[4], seeds=[0],
                                targets=[-0.9, 0.9])
    rows = [{"kind": kind, "size": size, "seed": seed, "target": target, "status": status,
             "nu_x_final": nu_x, "nu_y_final": nu_y, "nu_final": (nu_x + nu_y) / 2,
             "sigma2_initial": s2i, "sigma2_final": s2f, "removed_fraction": 0.25}
            for kind, size, seed, target, status, nu_x, nu_y, s2i, s2f in TASKS]
    for row, tuning in zip(rows, PATHS, strict=False):
        row["path"] = tuning
    write_ensemble(path, settings, rows)


def craft_survey(path) -> None:
    """Survey rows with ν̄' = 2ν + 0.1 and ν̂₂ = ν/2 − 0.2 exactly, n90 of 1, 2, 3 and one
    unreached."""
    rows = []
    for i, (nu, n90, f13) in enumerate([(-0.5, 1, 0.8), (0.0, 2, 0.5), (0.5, 3, 0.3),
                                        (0.2, np.nan, 0.4)]):
        row = dict.fromkeys(COLUMNS, 0.0)
        row.update(kind="tri" if i < 3 else "delaunay", size=4, seed=0, task=i,
                   mask="initial" if i == 1 else "final", target=-0.9, nu=nu,
                   two_mode=2 * nu + 0.1, exact_two_mode=nu / 2 - 0.2, n90=n90,
                   top2_weight=0.75, fraction_13=f13)
        rows.append(row)
    write_csv(rows, path)


#: Path-survey rows (task, snapshot, kind, ν, ν̄', ν̂₂, I+III share): ν̄' is 2ν + 0.1 but for
#: tri's outlier at ν = 0.4; ν̂₂ rises with ν but not linearly.
PATH_ROWS = [
    (0, 0, "tri", 0.3, 0.7, 0.3, 0.3), (0, 1, "tri", 0.0, 0.1, 0.05, 0.5),
    (0, 2, "tri", -0.4, -0.7, -0.5, 0.9), (1, 0, "tri", 0.3, 0.7, 0.3, 0.3),
    (1, 1, "tri", 0.4, 5.0, 0.35, 0.25), (1, 2, "tri", 0.8, 1.7, 0.9, 0.2),
    (2, 0, "delaunay", 0.2, 0.5, 0.25, 0.4), (2, 1, "delaunay", -0.1, -0.1, -0.3, 0.6),
    (2, 2, "delaunay", -0.6, -1.1, -0.5, 0.7),
]


def craft_path_survey(path) -> list[dict]:
    rows = []
    for task, snapshot, kind, nu, two_mode, exact, f13 in PATH_ROWS:
        row = dict.fromkeys(PATH_COLUMNS, 0.0)
        row.update(kind=kind, size=4, seed=0, target=-0.9, method="sa", task=task,
                   snapshot=snapshot, nu=nu, two_mode=two_mode, exact_two_mode=exact, n90=2,
                   top2_weight=0.9, fraction_13=f13)
        rows.append(row)
    write_csv(rows, path)
    return rows


def craft_timing(path) -> None:
    meta = {"device": "cpu", "threads": 1, "torch": "x", "batch": 8, "matrix_size": 288,
            "image_size": 128, "distortion": 0.3, "repeats": 1}
    records = [{"L": L, "n_nodes": L * L, "solve_s": solve,
                "matrix_native": None,
                "matrix_fixed": {"single_s": 0.002, "batched_s": 0.001},
                "image": {"single_s": 0.05, "batched_s": 0.02}}
               for L, solve in ((12, 0.002), (32, 0.01))]
    write_timing(path, meta, records)


def table(text: str) -> dict[str, list[str]]:
    """The claims table: topic -> [paper, this run, holds]."""
    rows = {}
    for line in text.split("## The paper's claims")[1].split("\n\n")[1].splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    craft_ensemble(root / "ens.h5")
    craft_survey(root / "survey.csv")
    craft_timing(root / "timing.json")
    return root


def test_report_table_is_computed_from_the_inputs(crafted, tiny_runs, tmp_path):
    figures = tmp_path / "figs"
    figures.mkdir()
    (figures / "networks.png").write_bytes(b"png")
    out = tmp_path / "out" / "REPORT.md"
    run_cli("report", crafted / "ens.h5", "--survey", crafted / "survey.csv",
            "--run", tiny_runs["alexnet"], "--run", tiny_runs["resnet"],
            "--timing", crafted / "timing.json", "--figures", figures, "--title", "crafted",
            "-o", out)
    text = out.read_text()
    rows = table(text)
    tri = rows["tuning range, tri"]
    assert "final ν from -0.920 to +0.880" in tri[1] and "100% of chains" in tri[1]
    assert tri[2] == "yes"
    delaunay = rows["tuning range, delaunay"]
    assert "from -0.700 to -0.700" in delaunay[1] and "0% of chains" in delaunay[1]
    assert delaunay[2] == "no"
    assert rows["same range at every size (Supp. Figs. 2-3)"][1] == (
        "L=4: worst group mean off by 0.200")
    assert rows["isotropic tuned networks (ν_x ≈ ν_y)"][1:] == ["max \\|ν_x − ν_y\\| = 0.0400",
                                                              "yes"]
    sigma = rows["tuning concentrates bond elongations (σ² falls)"]
    assert sigma[1] == "σ²_final/σ²_initial: median 0.500, below 1 in 67% of 3 chains"
    bonds = rows["auxetic networks put bond points in quadrants I and III"]
    assert bonds[1] == "ν < 0: 80% of bond points in I+III (1 networks); ν > 0: 35% (2 networks)"
    modes = rows["one to two low-frequency modes determine ν (Fig. 4c)"]
    assert modes[1].startswith("modes holding 90% of the response: median 2 (range 1-3), "
                               "not within the computed modes for 1; top-2 modes hold 0.75")
    assert modes[2] == "yes"
    linear = rows["ν̄' is linear in ν across kinds (Fig. 4d)"]
    assert linear[1].startswith("ν̄': slope 2.000, intercept +0.100, r = 1.000 (n = 4; "
                                "Spearman ρ = 1.000); tri r = 1.000, ρ = 1.000 (n = 3); chain "
                                "endpoints only (4 networks): no tuning paths surveyed")
    assert linear[2] == "yes (endpoints only)"
    exact = rows["ν̂₂ (exact two-mode) is linear in ν across kinds"]
    assert exact[1].startswith("ν̂₂: slope 0.500, intercept -0.200, r = 1.000 (n = 4; ")
    assert exact[2] == "yes (endpoints only)"
    collapse = rows["normalised σ² collapses across kinds along the tuning (Fig. 1j)"]
    assert collapse[1:] == [
        "tuned down, at ν = -0.5: delaunay 0.350 (1 chains), tri 0.300 (1 chains); spread "
        "0.050 (15% of the mean); tuned up, at ν = +0.6: tri 2.143 (1 chains); spread 0.000 "
        "(0% of the mean)", "yes"]
    test = json.loads((tiny_runs["alexnet"] / "test.json").read_text())
    alexnet = rows[f"CNN R² on the test split, alexnet-matrix ({tiny_runs['alexnet'].name})"]
    assert alexnet[1].startswith(f"R² = {test['test_r2']:.3f}, RMSE {test['test_rmse']:.4f}")
    assert alexnet[1].endswith(f"material labels R² = {test['test_material_r2']:.3f}, RMSE "
                               f"{test['test_material_rmse']:.4f} (n = {test['n_test_material']})")
    assert alexnet[2] == ("yes" if test["test_material_r2"] >= 0.98 else "no")
    speed = rows["matrix CNN predicts faster than image CNN"]
    assert speed[1:] == ["25.0× at N = 1024 (L = 32), batch 1; 20.0× batched", "yes"]
    solve = rows["matrix CNN predicts faster than solving the equilibrium"]
    assert solve[1:] == ["5× at N = 1024 (L = 32), batch 1; 10× batched", "yes"]
    assert "| delaunay | 4 | +0.90 | sa | 0/1 |" in text
    assert "| tri | 4 | -0.90 | sa | 1/1 | -0.920 ± 0.000 |" in text
    caption = dict(FIGURES)["networks"]
    assert f"![{caption}](../figs/networks.png)" in text
    assert "trajectory.png" not in text
    assert f"within {CRITERIA['tolerance']}" in text


def test_report_user_errors(crafted, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    cases = [
        (["report", tmp_path / "none.h5"], "no such ensemble file"),
        (["report", crafted / "ens.h5", "--survey", bad], "not a survey CSV"),
        (["report", crafted / "ens.h5", "--survey", crafted / "survey.csv", "--timing",
          crafted / "survey.csv"], "cannot read JSON"),
        (["report", crafted / "ens.h5", "--survey", crafted / "survey.csv", "--run", tmp_path],
         "not a training run"),
    ]
    for args, message in cases:
        proc = run_cli(*args, "-o", tmp_path / "r.md", check=False)
        assert proc.returncode == 1, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "r.md").exists()


#: (size, target, method, seed, ν, a_min, removed fraction): SA reaches ±0.9 more often than
#: greedy but, at L = 4, -0.9, where greedy reaches it once, removes more; at L = 6, +0.9 no
#: material answer is within 0.05.
METHOD_TASKS = [
    (4, -0.9, "sa", 0, -0.90, 0.8, 0.05), (4, -0.9, "sa", 1, -0.88, 0.7, 0.07),
    (4, -0.9, "greedy", 0, -0.90, 0.3, 0.04), (4, -0.9, "greedy", 1, -0.89, 0.9, 0.03),
    (4, 0.9, "sa", 0, 0.90, 0.6, 0.04), (4, 0.9, "sa", 1, 0.50, 0.9, 0.02),
    (4, 0.9, "greedy", 0, 0.50, 0.8, 0.05), (4, 0.9, "greedy", 1, 0.60, 0.6, 0.06),
    (6, 0.9, "sa", 0, 0.60, 0.8, 0.10), (6, 0.9, "sa", 1, 0.95, 0.4, 0.12),
]


def test_material_and_method_claims(tmp_path):
    settings = EnsembleSettings(kinds=["tri"], sizes=[4, 6], seeds=[0, 1], targets=[-0.9, 0.9],
                                methods=["sa", "greedy"])
    rows = []
    for i, (size, target, method, seed, nu, a_min, removed) in enumerate(METHOD_TASKS):
        rows.append({"kind": "tri", "size": size, "seed": seed, "target": target,
                     "method": method, "status": layout.DONE, "nu_final": nu, "nu_x_final": nu,
                     "nu_y_final": nu, "a_min_final": a_min, "removed_fraction": removed,
                     "nu_boundary_final": nu + (0.2 if i == 7 else 0.01), "dz": -0.5,
                     "nu_initial": 0.3, "nu_boundary_initial": 0.304, "sigma2_initial": 1.0,
                     "sigma2_final": 0.5})
    write_ensemble(tmp_path / "ens.h5", settings, rows)
    craft_survey(tmp_path / "survey.csv")
    out = tmp_path / "REPORT.md"
    run_cli("report", tmp_path / "ens.h5", "--survey", tmp_path / "survey.csv", "-o", out)
    text = out.read_text()
    claims = table(text)
    assert claims["answers are materials (a_min ≥ 0.5; ν_boundary agrees)"][1:] == [
        "greedy: 3/4 (median a_min 0.70, min 0.30); sa: 5/6 (median a_min 0.75, min 0.40); "
        "\\|ν − ν_boundary\\| median 0.010, max 0.200 (initial networks: median 0.004)", "no"]
    assert claims["±0.9 reached by materials (a_min ≥ 0.5)"][1:] == [
        "sa: 2 of 3 kind × size × target groups reached by at least 50% of their chains "
        "(shares 0%-100%); not reachable by materials: tri L=6 +0.9: 0% of 2 reached, "
        "closest material answer ν = +0.600", "no"]
    assert claims["SA beats single-bond pruning (Fig. 1e)"][1:] == [
        "SA reaches at least as often in 2 of 2 kind × size × target groups and removes no "
        "more in 0 of the 1 where greedy reaches the target at all; reached 75% of SA chains "
        "against 25%, median removed 4.5% against 4.5% (SA/greedy 1.00); where SA loses "
        "(SA/greedy): tri L=4 -0.9 (reached 100%/50%, removed 6.0%/3.5%)", "no"]
    # the tuning claims are SA's: its mean ν at L = 4, -0.9 is -0.89 (greedy's -0.895)
    assert "final ν from -0.900 to +0.950 (L = 4, 6)" in claims["tuning range, tri"][1]
    assert "| tri | 4 | -0.90 | 2 / 2 | 100% / 50% | 6.0% / 3.5% | 1.71 |" in text
    assert "| tri | 6 | +0.90 | sa | 2/2 | +0.775 ± 0.175 |" in text


def test_mechanism_verdicts_on_path_snapshots(crafted, tmp_path):
    rows = craft_path_survey(tmp_path / "paths.csv")
    out = tmp_path / "REPORT.md"
    run_cli("report", crafted / "ens.h5", "--survey", tmp_path / "paths.csv", "-o", out)
    claims = table(out.read_text())
    nu = np.array([r["nu"] for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    for column, symbol, topic in (
            ("two_mode", "ν̄'", "ν̄' is linear in ν across kinds (Fig. 4d)"),
            ("exact_two_mode", "ν̂₂", "ν̂₂ (exact two-mode) is linear in ν across kinds")):
        est = np.array([r[column] for r in rows])
        slope, intercept = np.polyfit(nu, est, 1)
        r = np.corrcoef(nu, est)[0, 1]
        per_kind = ", ".join(
            f"{kind} r = {np.corrcoef(nu[kinds == kind], est[kinds == kind])[0, 1]:.3f}, "
            f"ρ = {spearmanr(nu[kinds == kind], est[kinds == kind]).correlation:.3f} "
            f"(n = {np.sum(kinds == kind)})" for kind in ("delaunay", "tri"))
        assert claims[topic][1:] == [
            f"{symbol}: slope {slope:.3f}, intercept {intercept:+.3f}, r = {r:.3f} (n = 9; "
            f"Spearman ρ = {spearmanr(nu, est).correlation:.3f}); {per_kind}; over 9 "
            "snapshots along 3 tuning paths", "yes" if r >= CRITERIA["linear_r"] else "no"]
    # the outlier breaks ν̄' (r = 0.68), not ν̂₂ (r = 0.98)
    assert claims["ν̄' is linear in ν across kinds (Fig. 4d)"][2] == "no"
    assert claims["ν̂₂ (exact two-mode) is linear in ν across kinds"][2] == "yes"
    # the answers are each path's last snapshot: ν = -0.4, 0.8, -0.6
    assert claims["auxetic networks put bond points in quadrants I and III"][1] == (
        "ν < 0: 80% of bond points in I+III (2 networks); ν > 0: 20% (1 networks)")


def test_version_1_file_reports_endpoints_and_skips_paths(tmp_path, ensemble_v1):
    out = tmp_path / "REPORT.md"
    run_cli("report", ensemble_v1, "--limit", 2, "-o", out)
    claims = table(out.read_text())
    assert claims["normalised σ² collapses across kinds along the tuning (Fig. 1j)"][1:] == [
        "needs the chains' tuning paths; this file has none (layout version 1)", "n/a"]
    linear = claims["ν̄' is linear in ν across kinds (Fig. 4d)"]
    assert "chain endpoints only" in linear[1] and linear[2].endswith("(endpoints only)")
    proc = run_cli("plot", "all", "--ensemble", ensemble_v1, "--limit", 2, "--out-dir",
                   tmp_path / "figs")
    assert f"skipped mode-path: {ensemble_v1} has no tuning paths (layout version 1)" in proc.stdout
    assert not (tmp_path / "figs" / "mode_path.png").exists()
    assert (tmp_path / "figs" / "sigma_collapse.png").stat().st_size > 0
    proc = run_cli("plot", "mode-path", ensemble_v1, "-o", tmp_path / "x", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Figs. 4e-f need the chains' tuning paths" in proc.stderr
