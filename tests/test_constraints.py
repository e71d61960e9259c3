"""Degree and convex-face rules, and an independent checker used by the chain tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from hpcnet.anneal.constraints import Constraints
from hpcnet.errors import HpcnetError
from hpcnet.generators import generate
from hpcnet.network import Network


def triangles(net: Network) -> np.ndarray:
    """The faces of a triangulation: 3-cycles with no node strictly inside."""
    nbrs = [set() for _ in range(net.n_nodes)]
    for i, j in net.bonds:
        nbrs[i].add(j)
        nbrs[j].add(i)
    tris = {tuple(sorted((i, j, k))) for i, j in net.bonds for k in nbrs[i] & nbrs[j]}
    out = []
    p = net.positions
    for t in sorted(tris):
        a, b, c = p[list(t)]
        area = 0.5 * ((b - a)[0] * (c - a)[1] - (b - a)[1] * (c - a)[0])
        if abs(area) < 1e-12:
            continue
        # barycentric test for any other node inside
        T = np.column_stack([b - a, c - a])
        lam = np.linalg.solve(T, (p - a).T).T
        inside = (lam[:, 0] > 1e-9) & (lam[:, 1] > 1e-9) & (lam.sum(axis=1) < 1 - 1e-9)
        if not inside.any():
            out.append(t)
    return np.array(out)


class FaceChecker:
    """Counts inner faces of a pruned triangulation that are not convex.

    Independent of hpcnet.anneal.constraints: faces are unions of the original
    triangles joined across removed bonds (a removed rim bond joins the
    outside); a face is convex iff its area equals its convex hull's.
    """

    def __init__(self, net: Network):
        self.net = net
        self.tris = triangles(net)
        p = net.positions
        a, b, c = (p[self.tris[:, q]] for q in range(3))
        self.areas = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
        index = {tuple(bd): k for k, bd in enumerate(net.bonds.tolist())}
        self.edge_tris: dict[int, list[int]] = {}
        for t, (i, j, k) in enumerate(self.tris.tolist()):
            for u, v in ((i, j), (j, k), (i, k)):
                self.edge_tris.setdefault(index[(min(u, v), max(u, v))], []).append(t)

    def non_convex(self, mask: np.ndarray) -> int:
        outside = len(self.tris)
        parent = list(range(outside + 1))

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for bond in np.flatnonzero(~mask).tolist():
            ts = self.edge_tris.get(bond, [])
            if ts:
                pair = ts if len(ts) == 2 else [ts[0], outside]
                parent[find(pair[0])] = find(pair[1])
        faces: dict[int, list[int]] = {}
        for t in range(outside):
            faces.setdefault(find(t), []).append(t)
        bad = 0
        for root, ts in faces.items():
            if root == find(outside) or len(ts) == 1:
                continue
            hull = ConvexHull(self.net.positions[np.unique(self.tris[ts])]).volume
            bad += not np.isclose(self.areas[ts].sum(), hull, rtol=1e-9, atol=1e-12)
        return bad


def non_convex_faces(net: Network, mask: np.ndarray) -> int:
    return FaceChecker(net).non_convex(mask)


def low_degree_nodes(net: Network, mask: np.ndarray) -> int:
    """Nodes that lost bonds and now have fewer than 3."""
    start = net.degrees()
    now = np.bincount(net.bonds[mask].ravel(), minlength=net.n_nodes)
    return int(np.sum((now < 3) & (now < start)))


def kite() -> Network:
    """A square split by a diagonal, a dart split by its inner diagonal, and a
    triangulated rectangle between them."""
    pos = [[0, 0], [2, 0], [2, 2], [0, 2],  # square 0-1-2-3, diagonal 0-2
           [5, 0], [7, 0], [5.6, 0.6], [5, 2]]  # dart 4-5-6-7, diagonal 4-6 (6 reflex)
    bonds = [[0, 1], [1, 2], [2, 3], [0, 3], [0, 2],
             [4, 5], [5, 6], [6, 7], [4, 7], [4, 6],
             [1, 4], [2, 7], [1, 7]]
    b = {"left": [0, 3], "right": [5], "bottom": [0, 1, 4, 5], "top": [2, 3, 7]}
    return Network.from_arrays(pos, bonds, b)


def test_convex_rule_on_hand_made_faces():
    net = kite()
    c = Constraints(net, keep_degree=False, convex_only=True)
    bond = {tuple(b): k for k, b in enumerate(net.bonds.tolist())}
    mask = np.ones(net.n_bonds, bool)
    assert c.admissible(mask, np.array([bond[(0, 2)]]))  # merges into a convex square
    assert not c.admissible(mask, np.array([bond[(4, 6)]]))  # would leave a reflex corner at 6
    assert non_convex_faces(net, mask) == 0
    dart = mask.copy()
    dart[bond[(4, 6)]] = False
    assert non_convex_faces(net, dart) == 1
    assert c.check_state(dart) == ["1 reflex inner corner(s)"]
    # a rim bond merges its triangle with the outside: no new polygon, allowed
    assert c.admissible(mask, np.array([bond[(0, 1)]]))


def test_degree_rule():
    net = generate("tri", 6, 0, distortion=0.2)
    c = Constraints(net, keep_degree=True, convex_only=False)
    node = 2 * 6 + 2  # interior, and so are its six neighbours
    incident = np.flatnonzero((net.bonds == node).any(axis=1))
    assert len(incident) == 6 and np.all(net.degrees()[net.bonds[incident]] == 6)
    mask = np.ones(net.n_bonds, bool)
    for b in incident[:3]:
        assert c.admissible(mask, np.array([b]))
        mask[b] = False
    assert not any(c.admissible(mask, np.array([b])) for b in incident[3:])
    assert c.admissible(mask, np.array([incident[0], incident[3]]))  # re-add one, remove one
    # a corner node of degree 2 never loses a bond
    corner = np.flatnonzero(net.degrees() == 2)[0]
    for b in np.flatnonzero((net.bonds == corner).any(axis=1)):
        assert not c.admissible(np.ones(net.n_bonds, bool), np.array([b]))


@pytest.mark.parametrize("kind", ["tri", "delaunay"])
def test_random_removals_keep_faces_convex(kind):
    """Whatever sequence of admissible toggles: faces stay convex (independent check)."""
    net = generate(kind, 8, 2, **({"distortion": 0.4} if kind == "tri" else {}))
    c = Constraints(net)
    rng = np.random.default_rng(1)
    mask = np.ones(net.n_bonds, bool)
    for _ in range(600):
        S = rng.choice(net.n_bonds, size=rng.integers(1, 3), replace=False)
        if c.admissible(mask, S):
            mask[S] ^= True
    assert (~mask).sum() > 20
    assert non_convex_faces(net, mask) == 0
    assert low_degree_nodes(net, mask) == 0
    assert c.check_state(mask) == []


@pytest.mark.parametrize("kind", ["tri", "packing"])
def test_removable_follows_toggles_locally(kind):
    """Updating ``removable`` only at the toggled bond's ends (as greedy does) matches a
    full recomputation, and each entry matches ``admissible`` of that single removal."""
    net = generate(kind, 8, 3, **({"distortion": 0.3} if kind == "tri" else {}))
    c = Constraints(net)
    every = np.arange(net.n_bonds)
    rng = np.random.default_rng(4)
    mask = np.ones(net.n_bonds, bool)
    removable = c.removable(mask, every)
    for _ in range(150):
        b = int(rng.integers(net.n_bonds))
        if not c.admissible(mask, np.array([b])):
            continue
        mask[b] ^= True
        near = c.bonds_at(net.bonds[b])
        removable[near] = c.removable(mask, near)
        assert np.array_equal(removable, c.removable(mask, every))
    assert (~mask).sum() > 5 and removable.any() and not removable.all()
    expected = [bool(mask[b]) and c.admissible(mask, np.array([b])) for b in every]
    assert np.array_equal(removable, expected)


def test_crossing_bonds_are_refused_for_convex():
    net = generate("tri", 10, 0, distortion=0.95)
    with pytest.raises(HpcnetError, match="planar"):
        Constraints(net, convex_only=True)
    Constraints(net, convex_only=False)  # the degree rule alone needs no planarity
