"""End-to-end CLI: generate, poisson, import; user errors exit 1 without a traceback."""

import json

import numpy as np
import pytest

from hpcnet.generators import generate
from hpcnet.network import Network
from tests.support.helpers import run_cli


def assert_user_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


@pytest.mark.parametrize("kind, extra", [("tri", ["--distortion", "0.3"]), ("delaunay", []),
                                         ("packing", ["--packing-fraction", "0.95"])])
def test_generate_then_poisson(tmp_path, kind, extra):
    out = tmp_path / "net.h5"
    proc = run_cli("generate", "--kind", kind, "--size", 8, "--seed", 3, *extra, "-o", out)
    net = Network.load(out)
    assert f"{net.n_nodes} nodes" in proc.stdout
    options = {"tri": {"distortion": 0.3}, "packing": {"packing_fraction": 0.95}}.get(kind, {})
    expected = generate(kind, 8, 3, **options)
    assert np.array_equal(net.positions, expected.positions)
    result = json.loads(run_cli("poisson", out, "--json").stdout)
    assert result["nu"] == pytest.approx(0.5 * (result["nu_x"] + result["nu_y"]))
    assert result["kind"] == kind and result["nodes"] == net.n_nodes
    table = run_cli("poisson", out).stdout
    assert f"nu   = {result['nu']:+.10f}" in table


def test_petsc_options_pass_through(tmp_path):
    out = tmp_path / "net.h5"
    run_cli("generate", "--kind", "tri", "-L", 10, "--distortion", 0.2, "-o", out)
    direct = json.loads(run_cli("poisson", out, "--json").stdout)
    iterative = json.loads(run_cli("poisson", out, "--json", "-elastic_ksp_type", "cg",
                                   "-elastic_pc_type", "gamg", "-elastic_ksp_rtol", "1e-13").stdout)
    assert iterative["nu"] == pytest.approx(direct["nu"], abs=1e-8)
    bad = run_cli("poisson", out, "-elastic_pc_type", "nosuchpc", check=False)
    assert_user_error(bad, "PETSc failed")


def test_floppy_network_is_refused(tmp_path):
    net = generate("tri", 6, 0)
    mask = np.ones(net.n_bonds, bool)
    mask[np.flatnonzero((net.bonds == 15).any(axis=1))[1:]] = False
    path = tmp_path / "floppy.npz"
    net.pruned(mask).save(path)
    proc = run_cli("poisson", path, check=False)
    assert_user_error(proc, "floppy", "1 zero mode(s) beyond the 3 rigid-body modes")
    assert "nu" not in proc.stdout


def test_import_checks_and_converts(tmp_path):
    net = generate("tri", 5, 0)
    good = tmp_path / "plain.npz"
    np.savez(good, positions=net.positions, bonds=net.bonds[:, ::-1], **net.boundary)
    run_cli("import", good, "-o", tmp_path / "ok.h5")
    assert Network.load(tmp_path / "ok.h5").n_bonds == net.n_bonds
    bad = tmp_path / "bad.npz"
    np.savez(bad, positions=net.positions, bonds=np.vstack([net.bonds, [[2, 2]]]), **net.boundary)
    assert_user_error(run_cli("import", bad, "-o", tmp_path / "x.h5", check=False),
                      "bad.npz", "self bond")
    assert not (tmp_path / "x.h5").exists()


def test_user_errors(tmp_path):
    assert_user_error(run_cli("poisson", tmp_path / "none.h5", check=False), "no such file")
    out = tmp_path / "n.h5"
    run_cli("generate", "--kind", "tri", "-L", 4, "-o", out)
    assert_user_error(run_cli("generate", "--kind", "tri", "-L", 4, "-o", out, check=False),
                      "--force")
    assert_user_error(run_cli("generate", "--kind", "delaunay", "-L", 4, "--distortion", 0.1,
                              "-o", tmp_path / "d.h5", check=False), "--kind tri only")
    assert_user_error(run_cli("generate", "--kind", "tri", "-L", 4, "-o", tmp_path / "n.txt",
                              check=False), "unknown extension")


def test_help_lists_every_command_and_defaults():
    top = run_cli("--help").stdout
    for name in ("generate", "poisson", "import"):
        assert name in top
    assert "[default: 0" in run_cli("generate", "--help").stdout


def test_petsc_options_are_split_from_cli_flags():
    from hpcnet.tools.petsc_env import split_petsc_options

    petsc, rest = split_petsc_options(
        ["-vv", "poisson", "net.h5", "-elastic_ksp_type", "cg", "-k", "20",
         "-elastic_ksp_rtol", "-1e-3", "-log_view", "--json", "-o", "x.h5"])
    assert petsc == ["-elastic_ksp_type", "cg", "-elastic_ksp_rtol", "-1e-3", "-log_view"]
    assert rest == ["-vv", "poisson", "net.h5", "-k", "20", "--json", "-o", "x.h5"]
