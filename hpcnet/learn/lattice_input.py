"""The dynamical matrix of a triangular-lattice network laid out on its lattice.

D = K couples node v to its lattice neighbour u by the 2 × 2 block
``K[v, u] = −k n nᵀ`` (n: the bond's unit vector, k: its stiffness); every other
off-diagonal block is zero, and the diagonal blocks are minus the sums of a
node's off-diagonal ones. :func:`bond_block_index` says where each bond block
goes on an image of the lattice: channel ``3·d + c`` at the pixel (row, column)
of node v holds component c ∈ (xx, xy, yy) of ``−K[v, u]`` for the neighbour u
in lattice direction d (angle d·60°); slots without a neighbour (edges of the
lattice, removed bonds) read zero. The picture holds all of D (the diagonal
follows from the rest), its neighbours are the lattice's, and a 3 × 3
convolution sees a node's whole environment.
"""

from __future__ import annotations

import numpy as np

from hpcnet.generators.lattice import ROW_HEIGHT, triangular_lattice

#: Lattice directions (0°, 60°, ..., 300°) × block components (xx, xy, yy).
DIRECTIONS = 6
COMPONENTS = ((0, 0), (0, 1), (1, 1))
CHANNELS = DIRECTIONS * len(COMPONENTS)
#: Marks a slot without a bond in :func:`bond_block_index`.
NO_BOND = -1


def bond_block_index(size: int) -> np.ndarray:
    """(CHANNELS, size, size) flat indices into a (2N)² matrix, or NO_BOND.

    Slot ``[3·d + c, row, column]`` is entry ``(2v + a, 2u + b)`` of D, with v the
    node at (row, column) of the ``size`` × ``size`` triangular lattice (node
    index ``row·size + column``, as generated), u its neighbour in direction d and
    (a, b) = COMPONENTS[c].
    """
    positions, bonds, _ = triangular_lattice(size)
    n_dof = 2 * len(positions)
    row = np.rint(positions[:, 1] / ROW_HEIGHT).astype(np.int64)
    col = np.rint(positions[:, 0] - 0.5 * (row % 2)).astype(np.int64)
    ends = np.concatenate([bonds, bonds[:, ::-1]])
    v, u = ends[:, 0], ends[:, 1]
    step = positions[u] - positions[v]
    angle = np.mod(np.arctan2(step[:, 1], step[:, 0]), 2 * np.pi)
    direction = np.rint(angle / (np.pi / 3)).astype(np.int64) % DIRECTIONS
    index = np.full((CHANNELS, size, size), NO_BOND, dtype=np.int64)
    for c, (a, b) in enumerate(COMPONENTS):
        index[len(COMPONENTS) * direction + c, row[v], col[v]] = (2 * v + a) * n_dof + 2 * u + b
    return index


def lattice_bonds(size: int) -> set[tuple[int, int]]:
    """The bonds (i < j) of the perfect ``size`` × ``size`` lattice: what the layout can hold."""
    return set(map(tuple, triangular_lattice(size)[1].tolist()))

