"""The spring network: positions, bonds, stiffnesses, boundary sets, metadata.

A :class:`Network` is an immutable-by-convention value. Rest lengths are the
lengths at the stored positions (relaxed springs, no prestress), and degrees of
freedom are interleaved ``(x0, y0, x1, y1, ...)`` (docs/physics.md, "Network").

Files: HDF5 (``.h5``/``.hdf5``, the network in group ``/network`` or at the
root of a plain file) and NumPy ``.npz``. Both accept the boundary sets either
as top-level arrays ``left``/``right``/``bottom``/``top`` or inside a group
``boundary``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hpcnet import __version__
from hpcnet.errors import FloppyNetworkError, NetworkFormatError
from hpcnet.tools.atomic import atomic_path

SIDES = ("left", "right", "bottom", "top")
#: Bit of each boundary set in a node's flag byte (ensemble and dataset files store
#: the four sets as one byte per node): left 1, right 2, bottom 4, top 8.
BOUNDARY_BITS = {side: 1 << k for k, side in enumerate(SIDES)}
H5_GROUP = "network"


def boundary_from_flags(flags: np.ndarray) -> dict[str, np.ndarray]:
    """The four boundary sets from per-node flag bytes (:data:`BOUNDARY_BITS`)."""
    return {side: np.flatnonzero(flags & bit) for side, bit in BOUNDARY_BITS.items()}


@dataclass(eq=False)
class Network:
    """A 2D central-force spring network.

    Parameters
    ----------
    positions : (N, 2) float64 array
        Node coordinates; also the rest configuration.
    bonds : (M, 2) int64 array
        Node pairs ``(i, j)`` with ``i < j``.
    stiffness : (M,) float64 array
        Spring constants ``k_b``.
    boundary : dict
        The node index arrays of the four sides: ``left``, ``right``, ``bottom``, ``top``.
    kind, size, seed, params
        Provenance: generator kind, linear size L, seed and generator options.
    """

    positions: np.ndarray
    bonds: np.ndarray
    stiffness: np.ndarray
    boundary: dict[str, np.ndarray]
    kind: str = "imported"
    size: int = 0
    seed: int = -1
    params: dict = field(default_factory=dict)

    @classmethod
    def from_arrays(cls, positions, bonds, boundary, stiffness=None, **meta) -> Network:
        """Build a network from raw arrays, normalising and validating them.

        Bonds given as ``(j, i)`` are flipped to ``(i, j)``; every other defect
        raises :class:`NetworkFormatError` naming it.
        """
        try:
            positions = np.array(positions, dtype=np.float64)
            bonds = _node_indices(bonds)
        except (TypeError, ValueError) as exc:
            raise NetworkFormatError(f"positions/bonds are not numeric arrays: {exc}") from None
        if positions.ndim != 2 or positions.shape[1] != 2 or len(positions) == 0:
            raise NetworkFormatError(f"positions must have shape (N, 2), got {positions.shape}")
        if bonds.ndim != 2 or bonds.shape[1] != 2:
            raise NetworkFormatError(f"bonds must have shape (M, 2), got {bonds.shape}")
        bonds = np.sort(bonds, axis=1)
        if stiffness is None:
            stiffness = np.ones(len(bonds))
        stiffness = np.array(stiffness, dtype=np.float64).reshape(-1)
        missing = [s for s in SIDES if s not in boundary]
        if missing:
            raise NetworkFormatError(f"missing boundary set(s): {', '.join(missing)}")
        sets = {s: np.unique(np.asarray(boundary[s], dtype=np.int64).reshape(-1)) for s in SIDES}
        net = cls(positions, bonds, stiffness, sets, **meta)
        net.validate()
        return net

    # ------------------------------------------------------------------ shape
    @property
    def n_nodes(self) -> int:
        return len(self.positions)

    @property
    def n_bonds(self) -> int:
        return len(self.bonds)

    @property
    def n_dof(self) -> int:
        return 2 * len(self.positions)

    def bond_vectors(self) -> np.ndarray:
        """(M, 2) vectors from node i to node j of each bond."""
        return self.positions[self.bonds[:, 1]] - self.positions[self.bonds[:, 0]]

    def rest_lengths(self) -> np.ndarray:
        return np.linalg.norm(self.bond_vectors(), axis=1)

    def unit_vectors(self) -> np.ndarray:
        """(M, 2) unit vectors e_b from i to j."""
        d = self.bond_vectors()
        return d / np.linalg.norm(d, axis=1)[:, None]

    def degrees(self) -> np.ndarray:
        """Number of bonds at each node."""
        return np.bincount(self.bonds.ravel(), minlength=self.n_nodes)

    def mean_coordination(self) -> float:
        """z = 2 M / N."""
        return 2.0 * self.n_bonds / self.n_nodes

    def boundary_flags(self) -> np.ndarray:
        """(N,) uint8: each node's boundary sets as bits (:data:`BOUNDARY_BITS`)."""
        flags = np.zeros(self.n_nodes, np.uint8)
        for side, bit in BOUNDARY_BITS.items():
            flags[self.boundary[side]] |= bit
        return flags

    def pruned(self, mask: np.ndarray) -> Network:
        """The same nodes with only the bonds where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.n_bonds,):
            raise ValueError(f"mask has shape {mask.shape}, expected ({self.n_bonds},)")
        return Network(
            self.positions, self.bonds[mask], self.stiffness[mask], self.boundary,
            self.kind, self.size, self.seed, dict(self.params),
        )

    # ------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise :class:`NetworkFormatError` naming the first defect found."""
        n = self.n_nodes
        if not np.all(np.isfinite(self.positions)):
            bad = np.flatnonzero(~np.all(np.isfinite(self.positions), axis=1))
            raise NetworkFormatError(f"non-finite coordinates at node(s) {_head(bad)}")
        b = self.bonds
        if len(b) and (b.min() < 0 or b.max() >= n):
            bad = np.flatnonzero((b < 0).any(axis=1) | (b >= n).any(axis=1))
            raise NetworkFormatError(
                f"bond(s) {_head(bad)} reference nodes outside 0..{n - 1}"
            )
        if np.any(b[:, 0] == b[:, 1]):
            bad = np.flatnonzero(b[:, 0] == b[:, 1])
            raise NetworkFormatError(f"self bond(s) (i == j) at bond index {_head(bad)}")
        if len(b):
            _, first, counts = np.unique(b, axis=0, return_index=True, return_counts=True)
            if np.any(counts > 1):
                dup = b[first[counts > 1][0]]
                raise NetworkFormatError(
                    f"{int(np.sum(counts - 1))} duplicate bond(s), e.g. between nodes "
                    f"{dup[0]} and {dup[1]}"
                )
            short = self.rest_lengths() <= 1e-12 * max(1.0, np.ptp(self.positions))
            if np.any(short):
                raise NetworkFormatError(
                    f"zero-length bond(s) at bond index {_head(np.flatnonzero(short))}"
                )
        k = self.stiffness
        if k.shape != (len(b),):
            raise NetworkFormatError(f"stiffness has {k.size} entries for {len(b)} bonds")
        if not np.all(np.isfinite(k)) or np.any(k <= 0):
            raise NetworkFormatError("stiffnesses must be finite and positive")
        for side in SIDES:
            s = self.boundary[side]
            if s.size == 0:
                raise NetworkFormatError(f"boundary set '{side}' is empty")
            if s.min() < 0 or s.max() >= n:
                raise NetworkFormatError(
                    f"boundary set '{side}' references nodes outside 0..{n - 1}"
                )

    # -------------------------------------------------------------------- I/O
    def write_h5(self, group) -> None:
        """Write into an open h5py group (serial use; see hpcnet.ensemble.layout for MPI)."""
        group.create_dataset("positions", data=self.positions)
        group.create_dataset("bonds", data=self.bonds)
        group.create_dataset("stiffness", data=self.stiffness)
        bnd = group.create_group("boundary")
        for side in SIDES:
            bnd.create_dataset(side, data=self.boundary[side])
        group.attrs.update(self.metadata())

    def metadata(self) -> dict:
        """Provenance attributes stored with the network."""
        return {
            "kind": self.kind, "size": self.size, "seed": self.seed,
            "params": json.dumps(self.params, sort_keys=True),
            "hpcnet_version": __version__,
        }

    @classmethod
    def read_h5(cls, group) -> Network:
        """Read from an h5py group written by :meth:`write_h5` or a plain file."""
        arrays = {}
        for name in ("positions", "bonds", "stiffness"):
            if name in group:
                arrays[name] = group[name][()]
        bgroup = group["boundary"] if "boundary" in group else group
        arrays["boundary"] = {s: bgroup[s][()] for s in SIDES if s in bgroup}
        return cls._from_mapping(arrays, dict(group.attrs))

    def save(self, path) -> None:
        """Write to ``.h5``/``.hdf5`` (group ``/network``) or ``.npz``; atomically."""
        path = Path(path)
        if path.suffix not in (".npz", ".h5", ".hdf5"):
            raise NetworkFormatError(f"{path}: unknown extension (use .h5, .hdf5 or .npz)")
        with atomic_path(path) as tmp:
            if path.suffix == ".npz":
                with open(tmp, "wb") as fh:
                    np.savez(
                        fh, positions=self.positions, bonds=self.bonds, stiffness=self.stiffness,
                        **{s: self.boundary[s] for s in SIDES},
                        metadata=json.dumps(self.metadata()),
                    )
            else:
                import h5py

                with h5py.File(tmp, "w") as fh:
                    self.write_h5(fh.create_group(H5_GROUP))

    @classmethod
    def load(cls, path) -> Network:
        """Read and validate a network file (HDF5 or npz)."""
        path = Path(path)
        if not path.is_file():
            raise NetworkFormatError(f"{path}: no such file")
        try:
            if path.suffix == ".npz":
                with np.load(path, allow_pickle=False) as data:
                    arrays = {k: data[k] for k in data.files}
                meta = json.loads(str(arrays.pop("metadata", "{}")))
                arrays["boundary"] = {s: arrays.pop(s) for s in SIDES if s in arrays}
                return cls._from_mapping(arrays, meta)
            import h5py

            with h5py.File(path, "r") as fh:
                group = fh[H5_GROUP] if H5_GROUP in fh else fh
                return cls.read_h5(group)
        except NetworkFormatError as exc:
            raise NetworkFormatError(f"{path}: {exc}") from None
        except (OSError, ValueError, KeyError) as exc:
            raise NetworkFormatError(f"{path}: cannot read network: {exc}") from None

    @classmethod
    def _from_mapping(cls, arrays: dict, meta: dict) -> Network:
        for name in ("positions", "bonds"):
            if name not in arrays:
                raise NetworkFormatError(f"no '{name}' array")
        params = meta.get("params", "{}")
        return cls.from_arrays(
            arrays["positions"], arrays["bonds"], arrays["boundary"], arrays.get("stiffness"),
            kind=str(meta.get("kind", "imported")), size=int(meta.get("size", 0)),
            seed=int(meta.get("seed", -1)),
            params=json.loads(params) if isinstance(params, str) else dict(params),
        )


def _node_indices(bonds) -> np.ndarray:
    """``bonds`` as int64; NetworkFormatError for indices that are not whole numbers."""
    raw = np.asarray(bonds)
    if raw.dtype.kind not in "iuf":
        raise NetworkFormatError(f"bond indices must be integers, got {raw.dtype} values")
    if raw.dtype.kind == "f":
        whole = np.isfinite(raw) & (raw == np.round(raw))
        if not np.all(whole):
            rows = np.flatnonzero(~whole.reshape(len(raw), -1).all(axis=1)) if raw.ndim else [0]
            raise NetworkFormatError(f"bond indices must be integers: bond(s) {_head(rows)} "
                                     f"hold {raw[~whole].ravel()[0]:g}")
    return raw.astype(np.int64)


def require_bonds(net: Network, what: str = "network") -> Network:
    """``net``, or FloppyNetworkError if it has no bonds (K = 0, no solver can factorise it)."""
    if net.n_bonds == 0:
        raise FloppyNetworkError(net.n_dof - 3, what)
    return net


def _head(indices, limit: int = 5) -> str:
    """'3, 7, 9' or '3, 7, 9, ... (12 in all)'."""
    indices = list(map(int, indices))
    text = ", ".join(map(str, indices[:limit]))
    return text + (f", ... ({len(indices)} in all)" if len(indices) > limit else "")
