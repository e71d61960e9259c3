"""Jammed bidisperse disk packings and their contact networks (paper Methods, Fig. 1d).

``size**2`` disks, half of radius 0.5 and half of radius 0.7 (ratio 1:1.4, so a
small-small contact has the lattice constant 1 of the other kinds), start at
random in a box with hard walls and are jammed by minimising the harmonic
overlap energy

    U = Σ_pairs ½ (1 − d_ij / (R_i + R_j))²  +  Σ_disk-wall ½ (1 − h_i / R_i)²

(overlapping terms only; h_i is the distance from centre i to the wall) with
FIRE (Bitzek et al., PRL 97, 170201, 2006). The network's nodes are the disk
centres and its bonds the disk-disk contacts, after rattlers and every node with
fewer than three bonds are removed, iteratively.

Disks along a flat wall have few disk contacts, so the mean coordination
z = 2M/N grows with size at fixed packing fraction. At the default 0.98 (well
above jamming, φ_J ≈ 0.84) z is about 4.5 at L = 8, 4.9 at L = 16 and 5.1 at
L = 32; at L = 8 it hardly grows with φ any more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from hpcnet.errors import HpcnetError
from hpcnet.network import SIDES, Network

SMALL_RADIUS = 0.5
RADIUS_RATIO = 1.4
ASPECT = np.sqrt(3.0) / 2.0  # box height / width, as for the triangular lattice
DEFAULT_PACKING_FRACTION = 0.98
FORCE_TOL = 1e-12  # jammed when no disk feels a net force above this
CONTACT_TOL = 1e-9  # relative overlap above which two disks (or disk and wall) touch
MAX_STEPS = 100_000
MAX_ATTEMPTS = 20
SKIN = 0.3  # Verlet skin of the neighbour list
# FIRE with the standard parameters of Bitzek et al. (unit masses).
DT0, DT_MAX = 0.05, 0.5  # below the stability limit 2/ω_max of the contact springs
N_MIN, F_INC, F_DEC, ALPHA_START, F_ALPHA = 5, 1.1, 0.5, 0.1, 0.99

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Packing:
    """A disk packing in the box ``[0, width] × [0, height]`` with hard walls.

    Parameters
    ----------
    positions : (N, 2) float64 array
        Disk centres.
    energy, max_force : float
        Overlap energy and largest net force on a disk.
    steps : int
        FIRE steps taken.
    radii : (N,) float64 array
        Disk radii.
    box : (2,) float64 array
        Width and height of the box.
    attempts : int
        Starting configurations jammed to get this one (see :func:`jammed_packing`).
    """

    positions: np.ndarray
    energy: float
    max_force: float
    steps: int
    radii: np.ndarray
    box: np.ndarray
    attempts: int = 1

    def contacts(self) -> np.ndarray:
        """(C, 2) pairs ``i < j`` of touching disks (relative overlap > CONTACT_TOL)."""
        pairs = cKDTree(self.positions).query_pairs(2 * self.radii.max(), output_type="ndarray")
        i, j = pairs.T
        dist = np.linalg.norm(self.positions[j] - self.positions[i], axis=1)
        touching = 1.0 - dist / (self.radii[i] + self.radii[j]) > CONTACT_TOL
        return np.sort(pairs[touching], axis=1)

    def wall_contacts(self) -> dict[str, np.ndarray]:
        """Boolean masks of the disks touching each wall (left, right, bottom, top)."""
        r = self.radii[:, None]
        low = 1.0 - self.positions / r > CONTACT_TOL
        high = 1.0 - (self.box - self.positions) / r > CONTACT_TOL
        return {"left": low[:, 0], "right": high[:, 0], "bottom": low[:, 1], "top": high[:, 1]}

    def backbone(self) -> tuple[np.ndarray, np.ndarray]:
        """The disks left after iteratively removing those with fewer than 3 contacts.

        Returns a boolean mask over the disks and the contacts among the kept
        disks (original indices).
        """
        bonds = self.contacts()
        keep = np.ones(len(self.radii), dtype=bool)
        while True:
            bonds = bonds[keep[bonds].all(axis=1)]
            weak = keep & (np.bincount(bonds.ravel(), minlength=len(keep)) < 3)
            if not weak.any():
                return keep, bonds
            keep &= ~weak


def _incidence(pairs: np.ndarray, n: int) -> sparse.csr_matrix:
    """(P, N) matrix B with B @ pos = pos[j] - pos[i] for each pair (i, j)."""
    rows = np.repeat(np.arange(len(pairs)), 2)
    vals = np.tile([-1.0, 1.0], len(pairs))
    return sparse.csr_matrix((vals, (rows, pairs.ravel())), shape=(len(pairs), n))


def _forces(pos: np.ndarray, radii: np.ndarray, box: np.ndarray,
            candidates: tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray]
            ) -> tuple[np.ndarray, float]:
    """Forces −∇U on the disks and the energy U.

    ``candidates`` describes the pairs that may overlap: their incidence
    matrix B (see :func:`_incidence`), its transpose and their sums of radii.
    """
    incidence, transpose, sigma = candidates
    d = incidence @ pos
    dist = np.sqrt(np.einsum("ij,ij->i", d, d))
    overlap = np.maximum(1.0 - dist / sigma, 0.0)
    f = d * (overlap / (sigma * np.maximum(dist, 1e-300)))[:, None]  # on j, along i->j
    r = radii[:, None]
    low = np.maximum(1.0 - pos / r, 0.0)  # overlap with the left/bottom walls
    high = np.maximum(1.0 - (box - pos) / r, 0.0)  # with the right/top walls
    forces = transpose @ f + (low - high) / r
    energy = 0.5 * (overlap @ overlap + np.sum(low**2) + np.sum(high**2))
    return forces, float(energy)


def _fire(pos: np.ndarray, radii: np.ndarray,
          box: np.ndarray) -> tuple[np.ndarray, float, float, int]:
    """Minimise the overlap energy with FIRE.

    Returns the positions, energy, largest net force and number of steps.
    """
    cutoff = 2 * radii.max() + SKIN
    anchor = pos + np.inf  # forces a neighbour-list build on the first step
    vel = np.zeros_like(pos)
    dt, alpha, n_pos = DT0, ALPHA_START, 0
    for step in range(MAX_STEPS + 1):
        if np.max(np.sum((pos - anchor) ** 2, axis=1)) > (SKIN / 2) ** 2:
            pairs = cKDTree(pos).query_pairs(cutoff, output_type="ndarray")
            incidence = _incidence(pairs, len(pos))
            candidates = (incidence, incidence.T.tocsr(), radii[pairs].sum(axis=1))
            anchor = pos
        forces, energy = _forces(pos, radii, box, candidates)
        max_force = np.sqrt(np.max(np.sum(forces**2, axis=1)))
        if max_force < FORCE_TOL or step == MAX_STEPS:
            return pos, energy, float(max_force), step
        power = np.vdot(forces, vel)
        if power > 0:
            vel = (1 - alpha) * vel + alpha * np.linalg.norm(vel) / np.linalg.norm(forces) * forces
            n_pos += 1
            if n_pos > N_MIN:
                dt, alpha = min(dt * F_INC, DT_MAX), alpha * F_ALPHA
        else:
            vel[:] = 0.0
            dt, alpha, n_pos = dt * F_DEC, ALPHA_START, 0
        vel += dt * forces  # semi-implicit Euler, unit masses
        pos = pos + dt * vel


def jammed_packing(size: int, seed: int,
                   packing_fraction: float = DEFAULT_PACKING_FRACTION) -> Packing:
    """Jam ``size**2`` bidisperse disks at ``packing_fraction`` in a walled box.

    The box has width : height = 1 : √3/2. Starting positions are uniform in
    the box, drawn from the seed's stream; when the backbone of a packing
    touches fewer than four walls (in small packings a wall row can unzip
    when the disks with fewer than three contacts are pruned) the next draw
    from the same stream is jammed instead, up to ``MAX_ATTEMPTS`` times.

    Parameters
    ----------
    size : int
        Linear size L; the packing has L² disks, the first ⌊L²/2⌋ small.
    seed : int
        Seed of the random starting positions.
    packing_fraction : float
        Total disk area over box area, in (0.5, 1).

    Returns
    -------
    Packing

    Raises
    ------
    HpcnetError
        For a bad ``size`` or ``packing_fraction``, or when no attempt gives a
        backbone touching all four walls.
    """
    from hpcnet.generators import kind_rng

    if not 0.5 < packing_fraction < 1.0:
        raise HpcnetError(f"packing_fraction must be in (0.5, 1), got {packing_fraction}")
    if size < 3:
        raise HpcnetError(f"size must be at least 3, got {size}")
    n = size * size
    radii = np.full(n, SMALL_RADIUS)
    radii[n // 2:] *= RADIUS_RATIO
    width = np.sqrt(np.pi * np.sum(radii**2) / packing_fraction / ASPECT)
    box = np.array([width, ASPECT * width])
    rng = kind_rng("packing", seed)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        start = rng.uniform(0.0, 1.0, size=(n, 2)) * box
        packing = Packing(*_fire(start, radii, box), radii=radii, box=box, attempts=attempt)
        if packing.max_force >= FORCE_TOL:
            logger.warning("packing size %d seed %d: FIRE stopped after %d steps at max force "
                           "%.2e", size, seed, packing.steps, packing.max_force)
        keep, _ = packing.backbone()
        if all(np.any(touch & keep) for touch in packing.wall_contacts().values()):
            return packing
    raise HpcnetError(
        f"no packing of size {size} (seed {seed}, packing_fraction {packing_fraction}) in "
        f"{MAX_ATTEMPTS} attempts kept a disk touching every wall after pruning; "
        f"use a larger size"
    )


def packing_network(size: int, seed: int,
                    packing_fraction: float = DEFAULT_PACKING_FRACTION) -> Network:
    """Contact network of a jammed bidisperse packing (kind ``packing``).

    Nodes are the centres of the disks kept by :meth:`Packing.backbone` (in
    their original order), bonds their contacts, with stiffness 1 and rest
    length the centre distance. Each boundary set holds the kept disks that
    touch that wall. Parameters and errors as :func:`jammed_packing`.
    """
    packing = jammed_packing(size, seed, packing_fraction)
    keep, bonds = packing.backbone()
    index = np.cumsum(keep) - 1
    walls = packing.wall_contacts()
    params = {
        "packing_fraction": float(packing_fraction),
        "radius_ratio": RADIUS_RATIO,
        "small_radius": SMALL_RADIUS,
        "n_small": len(packing.radii) // 2,
        "box": [float(x) for x in packing.box],
        "energy": packing.energy,
        "max_force": packing.max_force,
        "fire_steps": packing.steps,
        "attempts": packing.attempts,
        "rattlers_removed": int(np.sum(~keep)),
    }
    return Network.from_arrays(
        packing.positions[keep], index[bonds], {s: index[walls[s] & keep] for s in SIDES},
        kind="packing", size=size, seed=seed, params=params,
    )
