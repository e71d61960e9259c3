"""The lattice layout of the dynamical matrix, and the node renumbering that augments it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hpcnet.generators.lattice import tri_network
from hpcnet.learn import augment
from hpcnet.learn.dataset import dense_matrix
from hpcnet.learn.lattice_input import CHANNELS, DIRECTIONS
from hpcnet.learn.models import Surrogate, input_spec
from hpcnet.mechanics.elastic import poisson_ratio
from hpcnet.network import Network

L = 6


def layout(net: Network) -> np.ndarray:
    """The (18, L, L) input the lattice model's convolutions read, for ``net``."""
    model = Surrogate(input_spec("lattice-matrix", net.n_dof, None))
    d = torch.from_numpy(dense_matrix(net))[None, None]
    return model.prepare(d)[0].numpy().astype(np.float64)


def half_turn(net: Network) -> Network:
    """``net`` rotated by 180° about its bounding box's centre, node v renumbered N − 1 − v."""
    new = net.n_nodes - 1 - np.arange(net.n_nodes)  # an involution: old → new and back
    positions = net.positions.max(0) + net.positions.min(0) - net.positions[new]
    swap = {"left": "right", "right": "left", "bottom": "top", "top": "bottom"}
    return Network.from_arrays(positions, np.sort(new[net.bonds], axis=1),
                               {swap[k]: np.sort(new[v]) for k, v in net.boundary.items()},
                               net.stiffness, kind=net.kind, size=net.size)


def test_the_layout_holds_every_bond_block_of_d_in_its_direction():
    net = tri_network(L, seed=3, distortion=0.3)
    grid, d = layout(net), dense_matrix(net).astype(np.float64)
    blocks = grid.reshape(DIRECTIONS, 3, L, L)
    # each node's six neighbour blocks sum to its diagonal block (K_vv = −Σ_u K_vu): all there
    node_sums = blocks.sum(axis=0).reshape(3, L * L)
    for c, (a, b) in enumerate(((0, 0), (0, 1), (1, 1))):
        np.testing.assert_allclose(node_sums[c], np.diag(d[a::2, b::2]), rtol=1e-5, atol=1e-6)

    perfect = layout(tri_network(L, seed=3))
    k = perfect[0::3] + perfect[2::3]  # trace k of each block k n nᵀ, zero where no bond
    assert np.count_nonzero(k) == 2 * net.n_bonds
    for direction in range(DIRECTIONS):
        c, s = np.cos(direction * np.pi / 3), np.sin(direction * np.pi / 3)
        present = k[direction] > 0
        got = perfect[3 * direction:3 * direction + 3][:, present] / k[direction][present]
        expect = np.array([[c * c], [c * s], [s * s]]) * np.ones(got.shape[1])
        np.testing.assert_allclose(got, expect, atol=1e-6)
    # a node's right-hand neighbour (direction 0) is the next node of its row
    assert not k[0][:, -1].any() and k[0][:, :-1].all()

    pruned = Network.from_arrays(net.positions, net.bonds[1:], net.boundary,
                                 net.stiffness[1:], kind="tri", size=L)
    changed = np.argwhere(layout(pruned) != grid)
    assert len(np.unique(changed[:, 1:], axis=0)) == 2  # the removed bond's two ends
    assert np.all(layout(pruned)[tuple(changed.T)] == 0)


def test_reverse_nodes_is_the_half_turn_and_keeps_every_label():
    net = tri_network(L, seed=4, distortion=0.4)
    turned = half_turn(net)
    p = augment.reversed_dofs(net.n_nodes)
    d = dense_matrix(net)
    np.testing.assert_allclose(dense_matrix(turned), d[np.ix_(p, p)], rtol=0, atol=1e-6)
    before, after = poisson_ratio(net), poisson_ratio(turned)
    assert (after.nu_x, after.nu_y) == pytest.approx((before.nu_x, before.nu_y), abs=1e-10)
    # the lattice model sees the network turned: rows and columns reversed, direction d → d + 3
    turn = [3 * ((c // 3 + 3) % DIRECTIONS) + c % 3 for c in range(CHANNELS)]
    np.testing.assert_allclose(layout(turned), layout(net)[turn][:, ::-1, ::-1], atol=1e-6)


def test_renumbering_is_seeded_per_sample_and_epoch():
    indices = np.arange(400)
    picks = augment.picked(indices, seed=0, epoch=1)
    assert 150 < picks.sum() < 250
    halves = np.concatenate([augment.picked(indices[:123], 0, 1),
                             augment.picked(indices[123:], 0, 1)])
    assert np.array_equal(halves, picks)  # independent of how samples are batched
    assert not np.array_equal(augment.picked(indices, 0, 2), picks)
    assert not np.array_equal(augment.picked(indices, 1, 1), picks)

    nets = [tri_network(L, seed=s, distortion=0.2) for s in range(4)]
    x = torch.from_numpy(np.stack([dense_matrix(n) for n in nets]))[:, None]
    idx = np.array([5, 6, 7, 8])
    assert 0 < augment.picked(idx, 0, 2).sum() < 4  # both branches below
    out = augment.reverse_nodes(x, idx, 0, 2)
    p = augment.reversed_dofs(L * L)
    for k, pick in enumerate(augment.picked(idx, 0, 2)):
        expect = x[k, 0][p][:, p] if pick else x[k, 0]
        assert torch.equal(out[k, 0], expect)
