"""Exact augmentation of training inputs: renumbering the nodes in reverse.

ν does not depend on how the nodes are numbered, so the dynamical matrix of the
network renumbered v → N − 1 − v, ``D[p][:, p]`` with ``p = reversed_dofs(N)``,
carries the original's label exactly. On a triangular lattice of even side the
renumbering is the half turn: row and column both reverse, the lattice maps onto
itself, and the lattice layout (:mod:`hpcnet.learn.lattice_input`) sees the
network rotated by 180°. At odd sides the odd rows' shift breaks this
(renumbered bonds fall off the lattice).

Which samples are renumbered depends on (seed, epoch, sample index) only, so
any number of processes, batch shapes or data-loader workers see the same inputs.
"""

from __future__ import annotations

import numpy as np
import torch


def reversed_dofs(n_nodes: int) -> np.ndarray:
    """DOF order of the network renumbered v → N − 1 − v (x, y components kept)."""
    node = n_nodes - 1 - np.arange(n_nodes)
    return np.column_stack([2 * node, 2 * node + 1]).ravel()


def picked(indices, seed: int, epoch: int) -> np.ndarray:
    """Whether each sample index is renumbered in ``epoch`` (probability 1/2 each)."""
    return np.array([np.random.SeedSequence((seed, epoch, int(i))).generate_state(1)[0] & 1
                     for i in indices], dtype=bool)


def reverse_nodes(x: torch.Tensor, indices, seed: int, epoch: int) -> torch.Tensor:
    """Matrices (B, 1, 2N, 2N) with the :func:`picked` ones renumbered in reverse."""
    pick = torch.from_numpy(picked(np.asarray(indices), seed, epoch)).to(x.device)
    if not pick.any():
        return x
    p = torch.from_numpy(reversed_dofs(x.shape[-1] // 2)).to(x.device)
    out = x.clone()
    out[pick] = x[pick][..., p, :][..., p]
    return out
