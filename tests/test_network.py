"""Network: normalisation, validation with named defects, file round trips."""

import re

import h5py
import numpy as np
import pytest

from hpcnet.errors import NetworkFormatError
from hpcnet.generators.lattice import triangular_lattice
from hpcnet.network import SIDES, Network


def lattice(L=4):
    pos, bonds, boundary = triangular_lattice(L)
    return pos, bonds, boundary


def test_from_arrays_flips_reversed_bonds_and_defaults_stiffness():
    pos, bonds, boundary = lattice()
    net = Network.from_arrays(pos, bonds[:, ::-1], boundary)
    assert np.all(net.bonds[:, 0] < net.bonds[:, 1])
    assert np.array_equal(net.bonds, bonds)
    assert np.all(net.stiffness == 1.0)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p, b, s: (p, np.vstack([b, [[0, 99]]]), s), "outside"),
        (lambda p, b, s: (p, np.vstack([b, [[3, 3]]]), s), "self bond"),
        (lambda p, b, s: (p, np.vstack([b, b[:2, ::-1]]), s), "2 duplicate bond"),
        (lambda p, b, s: (np.where(np.arange(len(p))[:, None] == 5, np.nan, p), b, s),
         "non-finite coordinates at node(s) 5"),
        (lambda p, b, s: (p, b, {k: v for k, v in s.items() if k != "top"}), "missing boundary"),
        (lambda p, b, s: (p, b, {**s, "left": np.array([], int)}), "'left' is empty"),
        (lambda p, b, s: (p, b, {**s, "right": np.array([100])}), "'right' references"),
        (lambda p, b, s: (p[:, :1], b, s), "shape (N, 2)"),
    ],
)
def test_validation_names_each_defect(mutate, message):
    pos, bonds, boundary = mutate(*lattice())
    with pytest.raises(NetworkFormatError, match=re.escape(message)):
        Network.from_arrays(pos, bonds, boundary)


def test_zero_length_bond_rejected():
    pos, bonds, boundary = lattice()
    pos[1] = pos[0]
    with pytest.raises(NetworkFormatError, match="zero-length"):
        Network.from_arrays(pos, bonds, boundary)


def test_nonpositive_stiffness_rejected():
    pos, bonds, boundary = lattice()
    k = np.ones(len(bonds))
    k[3] = 0
    with pytest.raises(NetworkFormatError, match="positive"):
        Network.from_arrays(pos, bonds, boundary, stiffness=k)


@pytest.mark.parametrize("suffix", [".h5", ".npz"])
def test_save_load_round_trip(tmp_path, suffix):
    pos, bonds, boundary = lattice(5)
    k = np.linspace(0.5, 2.0, len(bonds))
    net = Network.from_arrays(pos, bonds, boundary, stiffness=k, kind="tri", size=5, seed=7,
                              params={"distortion": 0.25})
    path = tmp_path / f"net{suffix}"
    net.save(path)
    back = Network.load(path)
    assert np.array_equal(back.positions, net.positions)
    assert np.array_equal(back.bonds, net.bonds)
    assert np.array_equal(back.stiffness, k)
    for side in SIDES:
        assert np.array_equal(back.boundary[side], net.boundary[side])
    assert (back.kind, back.size, back.seed, back.params) == ("tri", 5, 7, {"distortion": 0.25})
    assert not list(tmp_path.glob("*.part"))


def test_load_plain_hdf5_with_boundary_group(tmp_path):
    pos, bonds, boundary = lattice()
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as fh:
        fh["positions"] = pos
        fh["bonds"] = bonds
        for side in SIDES:
            fh[f"boundary/{side}"] = boundary[side]
    net = Network.load(path)
    assert net.kind == "imported" and net.n_bonds == len(bonds)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(NetworkFormatError, match="no such file"):
        Network.load(tmp_path / "missing.h5")
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    with pytest.raises(NetworkFormatError, match="bad.h5: cannot read"):
        Network.load(bad)
    npz = tmp_path / "nobonds.npz"
    np.savez(npz, positions=np.zeros((3, 2)))
    with pytest.raises(NetworkFormatError, match="no 'bonds' array"):
        Network.load(npz)


def test_pruned_keeps_nodes_and_selects_bonds():
    net = Network.from_arrays(*lattice())
    mask = np.arange(net.n_bonds) % 2 == 0
    sub = net.pruned(mask)
    assert sub.n_nodes == net.n_nodes
    assert np.array_equal(sub.bonds, net.bonds[mask])
    assert sub.mean_coordination() == pytest.approx(2 * mask.sum() / net.n_nodes)
