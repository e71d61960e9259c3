"""`hpcnet report`: a crafted ensemble, survey and timing with known values give a known table."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from hpcnet.analysis.report import CRITERIA, FIGURES
from hpcnet.analysis.survey import COLUMNS, write_csv
from hpcnet.analysis.timing import write_timing
from hpcnet.anneal.chain import METHODS
from hpcnet.ensemble import layout
from hpcnet.ensemble.runner import EnsembleSettings
from hpcnet.generators import KINDS, generate
from tests.support.helpers import run_cli

#: (kind, size, seed, target, status, nu_x_final, nu_y_final, sigma2_initial, sigma2_final)
TASKS = [
    ("tri", 4, 0, -0.9, layout.DONE, -0.93, -0.91, 1.0, 0.2),
    ("tri", 4, 0, 0.9, layout.DONE, 0.87, 0.89, 1.0, 0.5),
    ("delaunay", 4, 0, -0.9, layout.DONE, -0.72, -0.68, 2.0, 2.2),
    ("delaunay", 4, 0, 0.9, layout.FAILED, np.nan, np.nan, np.nan, np.nan),
]


def write_ensemble(path, settings: EnsembleSettings, rows: list[dict]) -> None:
    """An ensemble file of the current layout whose rows hold ``rows``: each the task's
    identity, status and any task columns (the masks are all ones)."""
    net = generate("tri", 3, 0)
    attrs = {"settings": settings.to_json(), "kinds": list(KINDS), "methods": list(METHODS),
             "complete": True}
    with h5py.File(path, "w") as fh:
        layout.create(fh, len(rows), net.n_nodes, net.n_bonds, 3, attrs)
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
            layout.write_row(fh, row, {
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
    write_ensemble(path, settings, rows)


def craft_survey(path) -> None:
    """Survey rows with ν̄' = 2ν + 0.1 exactly, n90 of 1, 2, 3 and one unreached."""
    rows = []
    for i, (nu, n90, f13) in enumerate([(-0.5, 1, 0.8), (0.0, 2, 0.5), (0.5, 3, 0.3),
                                        (0.2, np.nan, 0.4)]):
        row = dict.fromkeys(COLUMNS, 0.0)
        row.update(kind="tri" if i < 3 else "delaunay", size=4, seed=0, task=i,
                   mask="initial" if i == 1 else "final", target=-0.9, nu=nu,
                   two_mode=2 * nu + 0.1, n90=n90, top2_weight=0.75, fraction_13=f13)
        rows.append(row)
    write_csv(rows, path)


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
    assert linear[1].startswith("slope 2.000, intercept +0.100, r = 1.000 (n = 4; "
                                "Spearman ρ = 1.000)")
    assert linear[2] == "yes"
    test = json.loads((tiny_runs["alexnet"] / "test.json").read_text())
    alexnet = rows[f"CNN R² on the test split, alexnet-matrix ({tiny_runs['alexnet'].name})"]
    assert alexnet[1].startswith(f"R² = {test['test_r2']:.3f}, RMSE {test['test_rmse']:.4f}")
    assert alexnet[2] == ("yes" if test["test_r2"] >= 0.98 else "no")
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
#: greedy but removes more at L = 4, -0.9; at L = 6, +0.9 no material answer is within 0.05.
METHOD_TASKS = [
    (4, -0.9, "sa", 0, -0.90, 0.8, 0.05), (4, -0.9, "sa", 1, -0.88, 0.7, 0.07),
    (4, -0.9, "greedy", 0, -0.90, 0.3, 0.04), (4, -0.9, "greedy", 1, -0.70, 0.9, 0.03),
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
        "more in 1; reached 75% of SA chains against 0%, median removed 4.5% against 4.5% "
        "(SA/greedy 1.00); where SA loses (SA/greedy): tri L=4 -0.9 (reached 100%/0%, "
        "removed 6.0%/3.5%)", "no"]
    # the tuning claims are SA's: its mean ν at L = 4, -0.9 is -0.89 (greedy's -0.80)
    assert "final ν from -0.900 to +0.950 (L = 4, 6)" in claims["tuning range, tri"][1]
    assert "| tri | 4 | -0.90 | 2 / 2 | 100% / 0% | 6.0% / 3.5% | 1.71 |" in text
    assert "| tri | 6 | +0.90 | sa | 2/2 | +0.775 ± 0.175 |" in text
