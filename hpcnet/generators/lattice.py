"""Triangular lattices, perfect and distorted (paper Methods, Fig. 1b)."""

from __future__ import annotations

import numpy as np

from hpcnet.errors import HpcnetError
from hpcnet.network import Network

ROW_HEIGHT = np.sqrt(3.0) / 2.0


def triangular_lattice(size: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Perfect ``size`` × ``size`` triangular lattice, lattice constant 1.

    Rows are horizontal, odd rows shifted right by 1/2. Node ``(i, j)`` (column
    i, row j) has index ``j * size + i``. Boundary sets: the first and last node
    of each row (left/right), the first and last row (bottom/top).

    Returns positions, bonds and boundary sets.
    """
    L = size
    j, i = np.divmod(np.arange(L * L), L)
    positions = np.column_stack([i + 0.5 * (j % 2), j * ROW_HEIGHT]).astype(np.float64)
    idx = np.arange(L * L).reshape(L, L)  # idx[row, column]
    bonds = [np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()])]  # horizontal
    for row in range(L - 1):
        lower, upper = idx[row], idx[row + 1]
        if row % 2 == 0:  # upper row shifted right: neighbours at columns i-1 and i
            bonds.append(np.column_stack([lower, upper]))
            bonds.append(np.column_stack([lower[1:], upper[:-1]]))
        else:  # this row shifted right: neighbours at columns i and i+1
            bonds.append(np.column_stack([lower, upper]))
            bonds.append(np.column_stack([lower[:-1], upper[1:]]))
    bonds = np.sort(np.concatenate(bonds), axis=1)
    bonds = bonds[np.lexsort((bonds[:, 1], bonds[:, 0]))]
    boundary = {"left": idx[:, 0], "right": idx[:, -1], "bottom": idx[0], "top": idx[-1]}
    return positions, bonds, {k: v.copy() for k, v in boundary.items()}


def tri_network(size: int, seed: int, distortion: float = 0.0) -> Network:
    """Distorted triangular lattice.

    Every node outside the boundary sets moves by ``distortion * (cos θ, sin θ)``
    with θ uniform in [0, 2π); springs are relaxed at the new positions.
    ``distortion`` is in lattice constants; below 0.5 no bonds cross.
    """
    from hpcnet.generators import kind_rng

    if not 0.0 <= distortion < 1.0:
        raise HpcnetError(f"distortion must be in [0, 1), got {distortion}")
    positions, bonds, boundary = triangular_lattice(size)
    rng = kind_rng("tri", seed)
    theta = rng.uniform(0.0, 2.0 * np.pi, size=len(positions))
    inner = np.ones(len(positions), dtype=bool)
    inner[np.concatenate(list(boundary.values()))] = False
    positions[inner] += distortion * np.column_stack([np.cos(theta), np.sin(theta)])[inner]
    return Network.from_arrays(
        positions, bonds, boundary, kind="tri", size=size, seed=seed,
        params={"distortion": float(distortion)},
    )
