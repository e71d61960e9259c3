"""Delaunay-triangulated random networks (paper Methods, Fig. 1c)."""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay, cKDTree

from hpcnet.errors import HpcnetError
from hpcnet.generators.lattice import ROW_HEIGHT
from hpcnet.network import Network

#: Smallest distance between two random points, in lattice constants. It keeps
#: triangles well shaped; random sequential addition reaches it easily (the
#: points cover ~30% of the box, far below the RSA limit of ~55%).
MIN_SEPARATION = 0.6


def _side_points(width: float, height: float) -> dict[str, np.ndarray]:
    """Evenly spaced points (spacing ≈ 1) on each side of the box, corners shared."""
    nx = max(2, int(round(width)) + 1)
    ny = max(2, int(round(height)) + 1)
    xs = np.linspace(0.0, width, nx)
    ys = np.linspace(0.0, height, ny)
    return {
        "bottom": np.column_stack([xs, np.zeros(nx)]),
        "top": np.column_stack([xs, np.full(nx, height)]),
        "left": np.column_stack([np.zeros(ny - 2), ys[1:-1]]),
        "right": np.column_stack([np.full(ny - 2, width), ys[1:-1]]),
    }


def _random_sequential_points(count, width, height, fixed, rng) -> np.ndarray:
    """``count`` uniform points in the box, each at least MIN_SEPARATION from all others.

    Points keep MIN_SEPARATION from the sides too, so that no sliver triangle
    forms against a side.
    """
    d = MIN_SEPARATION
    tree = cKDTree(fixed)
    fresh: list[np.ndarray] = []
    tries = 0
    while len(fresh) < count:
        tries += 1
        if tries > 200 * count + 10_000:
            raise HpcnetError("could not place the random points of the delaunay network")
        p = rng.uniform((d, d), (width - d, height - d))
        if tree.query(p)[0] < d:
            continue
        recent = np.asarray(fresh[len(fresh) - len(fresh) % 256:])  # not yet in the tree
        if len(recent) and np.min(np.hypot(*(recent - p).T)) < d:
            continue
        fresh.append(p)
        if len(fresh) % 256 == 0:
            tree = cKDTree(np.concatenate([fixed, np.asarray(fresh)]))
    return np.asarray(fresh)


def delaunay_network(size: int, seed: int) -> Network:
    """``size**2`` points in the box of the ``size`` × ``size`` triangular lattice.

    Points sit evenly on the four sides (these are the boundary sets) and at
    random inside; the Delaunay triangulation gives the bonds (mean z → 6 in
    the bulk).
    """
    from hpcnet.generators import kind_rng

    width, height = size - 0.5, (size - 1) * ROW_HEIGHT
    sides = _side_points(width, height)
    fixed = np.concatenate([sides[s] for s in ("bottom", "top", "left", "right")])
    inner = size * size - len(fixed)
    if inner < 1:
        raise HpcnetError(f"size {size} is too small for a delaunay network")
    rng = kind_rng("delaunay", seed)
    positions = np.concatenate([fixed, _random_sequential_points(inner, width, height, fixed, rng)])
    tri = Delaunay(positions)
    if len(tri.coplanar):
        raise HpcnetError("Delaunay triangulation dropped points; try another seed")
    simplices = tri.simplices
    edges = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    bonds = np.unique(np.sort(edges, axis=1), axis=0)
    counts = np.cumsum([0] + [len(sides[s]) for s in ("bottom", "top", "left", "right")])
    idx = {s: np.arange(counts[k], counts[k + 1])
           for k, s in enumerate(("bottom", "top", "left", "right"))}
    x = positions[:, 0]
    boundary = {
        "bottom": idx["bottom"], "top": idx["top"],
        "left": np.flatnonzero(x == 0.0), "right": np.flatnonzero(x == width),
    }
    return Network.from_arrays(positions, bonds, boundary, kind="delaunay", size=size,
                               seed=seed, params={"min_separation": MIN_SEPARATION})
