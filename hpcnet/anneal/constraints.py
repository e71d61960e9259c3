"""Which bond toggles an annealing chain may make: degree and convex-face rules.

* **Degree** (``keep_degree``): every node keeps at least ``d + 1 = 3`` bonds;
  a node that starts with fewer keeps all of its bonds.
* **Convex faces** (``convex_only``): the network is a planar straight-line
  graph; removing a bond merges the two faces beside it, and the merged face
  gets new corners only at the bond's two ends. A removal is refused when
  either new corner is reflex (> 180°) and belongs to an inner face. In a
  triangulated network (``tri``, ``delaunay``) every face starts convex, so
  every accepted state is made of convex polygons only (the paper's Fig. 1-2,
  and Hagh & Thorpe's rule against re-entrant polygons). In a network whose
  faces are not all convex to begin with (``packing``), the rule means: no
  removal creates or enlarges a reflex corner. Re-adding a removed bond cuts
  a face by a chord and never creates a reflex corner. Corners on the outer
  face (the box's outside) are exempt: removing a bond on the rim merges a
  triangle into the outside and creates no polygon.

Floppiness (always forbidden) is decided by the evaluator, not here.
"""

from __future__ import annotations

import numpy as np

from hpcnet.errors import HpcnetError
from hpcnet.network import Network

MIN_DEGREE = 3
#: A corner counts as reflex when wider than π by more than this (straight corners are convex).
ANGLE_TOL = 1e-9


class Constraints:
    """The degree and convex-face rules for one network.

    Parameters
    ----------
    net : Network
    keep_degree : bool
        Keep every node at ≥ 3 bonds.
    convex_only : bool
        Refuse removals that create a reflex inner corner. Needs a planar
        network (no crossing bonds); raises HpcnetError otherwise.
    """

    def __init__(self, net: Network, keep_degree: bool = True, convex_only: bool = True):
        self.keep_degree = keep_degree
        self.convex_only = convex_only
        self.bonds = net.bonds
        self.initial_degree = net.degrees()
        self._build_rings(net)
        if convex_only:
            self._mark_outer_corners(net)

    # ------------------------------------------------------------ structure
    def _build_rings(self, net: Network) -> None:
        """Per node: incident bonds sorted counter-clockwise, and sector widths."""
        n = net.n_nodes
        d = net.bond_vectors()
        ends = np.concatenate([net.bonds[:, 0], net.bonds[:, 1]])
        bond_ids = np.tile(np.arange(net.n_bonds), 2)
        angles = np.concatenate([np.arctan2(d[:, 1], d[:, 0]), np.arctan2(-d[:, 1], -d[:, 0])])
        others = np.concatenate([net.bonds[:, 1], net.bonds[:, 0]])
        order = np.lexsort((angles, ends))
        starts = np.searchsorted(ends[order], np.arange(n + 1))
        a = angles[order]
        nxt = np.arange(len(order)) + 1  # the next bond counter-clockwise, cyclically
        last = starts[1:][np.diff(starts) > 0] - 1
        nxt[last] = starts[:-1][np.diff(starts) > 0]
        width = np.mod(a[nxt] - a, 2 * np.pi)
        width[nxt == np.arange(len(order))] = 2 * np.pi  # a node with a single bond
        self.ring = [bond_ids[order[starts[v]:starts[v + 1]]] for v in range(n)]
        self.ring_nodes = [others[order[starts[v]:starts[v + 1]]] for v in range(n)]
        self.width = [width[starts[v]:starts[v + 1]] for v in range(n)]
        # position of each bond in the ring of each of its ends
        self.position = {}
        for v in range(n):
            for p, b in enumerate(self.ring[v].tolist()):
                self.position[(v, b)] = p

    def _mark_outer_corners(self, net: Network) -> None:
        """Find the faces by walking half-edges; mark the outer face's sectors."""
        n = net.n_nodes
        self.outer = [np.zeros(len(r), dtype=bool) for r in self.ring]
        seen = [np.zeros(len(r), dtype=bool) for r in self.ring]  # sector (v, p) visited
        where = {}
        for v in range(n):
            for p, u in enumerate(self.ring_nodes[v].tolist()):
                where[(v, u)] = p
        faces = []
        for v0 in range(n):
            for p0 in range(len(self.ring[v0])):
                if seen[v0][p0]:
                    continue
                corners = []
                v, p = v0, p0
                while not seen[v][p]:
                    seen[v][p] = True
                    corners.append((v, p))
                    # sector p at v runs ccw from ring[p] (where the face leaves v)
                    # to ring[p+1] (where it arrived)
                    u = int(self.ring_nodes[v][p])
                    v, p = u, (where[(u, v)] - 1) % len(self.ring[u])
                faces.append(corners)
        pos = net.positions
        areas = []
        for corners in faces:
            xy = pos[[c[0] for c in corners]]
            x, y = xy[:, 0], xy[:, 1]
            areas.append(0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
        areas = np.asarray(areas)
        outer = np.flatnonzero(areas < 0)
        euler = n - net.n_bonds + len(faces)
        inner_sum = areas[areas > 0].sum()
        if (len(outer) != 1 or euler != 2
                or not np.isclose(inner_sum, -areas[outer].sum(), rtol=1e-9)):
            raise HpcnetError(
                "the convex-faces constraint needs a planar network (bonds that do not cross, "
                "one connected piece); this one is not: use --no-convex")
        for v, p in faces[int(outer[0])]:
            self.outer[v][p] = True

    # --------------------------------------------------------------- checks
    def admissible(self, mask: np.ndarray, toggles: np.ndarray) -> bool:
        """Whether flipping ``toggles`` in the current ``mask`` obeys every rule."""
        toggles = np.asarray(toggles)
        if len(toggles) == 1:  # the common case, without copying the mask
            b = int(toggles[0])
            return not mask[b] or self._removable(mask, b, mask)
        removed = [b for b in toggles.tolist() if mask[b]]
        if not removed:
            return True
        new = mask.copy()
        new[toggles] ^= True
        return all(self._removable(new, b, mask) for b in removed)

    def removable(self, mask: np.ndarray, bonds: np.ndarray) -> np.ndarray:
        """For each of ``bonds``: present in ``mask``, and removing it alone obeys every rule."""
        return np.array([bool(mask[b]) and self._removable(mask, b, mask)
                         for b in np.asarray(bonds).tolist()], dtype=bool)

    def bonds_at(self, nodes) -> np.ndarray:
        """The bonds incident to ``nodes``: those whose :meth:`removable` a toggle between
        two of them can change (the rules look at a removed bond's two ends only)."""
        return np.unique(np.concatenate([self.ring[v] for v in np.asarray(nodes).tolist()]))

    def _removable(self, new: np.ndarray, b: int, mask: np.ndarray) -> bool:
        """Whether bond ``b``'s ends obey the rules once it is gone.

        ``new`` is the proposed mask, or the current one (with ``b`` still
        present) for a single removal; ``b`` counts as absent either way.
        """
        for v in self.bonds[b].tolist():
            ring = self.ring[v]
            if self.keep_degree and (
                    self.initial_degree[v] < MIN_DEGREE + 1
                    or np.count_nonzero(new[ring]) - bool(new[b]) < MIN_DEGREE):
                return False
            if self.convex_only and self._reflex_corner(new, v, self.position[(v, b)]):
                return False
        return True

    def _reflex_corner(self, mask: np.ndarray, v: int, p: int) -> bool:
        """Whether the corner at ``v`` holding the bond at ring position ``p``, once
        that bond is gone, is an inner corner wider than π."""
        present = mask[self.ring[v]]
        present[p] = False
        if not present.any():
            return True
        d = len(present)
        a = p - 1
        while not present[a % d]:
            a -= 1
        c = p + 1
        while not present[c % d]:
            c += 1
        return self._is_reflex(v, np.arange(a, c) % d)

    def _is_reflex(self, v: int, sectors: np.ndarray) -> bool:
        """Whether the corner made of ``sectors`` at ``v`` is inner and wider than π."""
        return (not self.outer[v][sectors].any()) and \
            self.width[v][sectors].sum() > np.pi + ANGLE_TOL

    def check_state(self, mask: np.ndarray) -> list[str]:
        """Every rule the state ``mask`` breaks (empty when it obeys them all)."""
        problems = []
        degree = np.bincount(self.bonds[mask].ravel(), minlength=len(self.ring))
        if self.keep_degree:
            low = np.flatnonzero((degree < MIN_DEGREE) & (degree < self.initial_degree))
            if len(low):
                problems.append(f"{len(low)} node(s) lost bonds below degree {MIN_DEGREE}")
        if self.convex_only:
            reflex = 0
            for v, ring in enumerate(self.ring):
                present = np.flatnonzero(mask[ring])
                d = len(ring)
                for a, c in zip(present, np.roll(present, -1), strict=True):
                    c = c if c > a else c + d  # one present bond: the full circle
                    reflex += self._is_reflex(v, np.arange(a, c) % d)
            if reflex:
                problems.append(f"{reflex} reflex inner corner(s)")
        return problems
