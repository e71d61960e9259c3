"""Network generators, deterministic from (kind, size, seed, options).

Each kind lives in its own module and returns a :class:`~hpcnet.network.Network`
with the four boundary sets filled in.
"""

from __future__ import annotations

import numpy as np

from hpcnet.errors import HpcnetError
from hpcnet.network import Network

KINDS = ("tri", "delaunay", "packing")


def kind_rng(kind: str, seed: int, *stream: int) -> np.random.Generator:
    """A random generator private to (kind, seed, stream...).

    Different kinds with the same seed get independent streams.
    """
    if seed < 0:
        raise HpcnetError(f"seed must be a non-negative integer, got {seed}")
    key = (KINDS.index(kind), *stream)
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=key))


def generate(kind: str, size: int, seed: int, **options) -> Network:
    """Generate one network of ``kind`` with linear size ``size`` (``size**2`` nodes).

    Options: ``distortion`` (tri), ``packing_fraction`` (packing). Options set to
    ``None`` take the kind's default.
    """
    options = {k: v for k, v in options.items() if v is not None}
    if kind not in KINDS:
        raise HpcnetError(f"unknown network kind '{kind}' (choose from {', '.join(KINDS)})")
    if size < 3:
        raise HpcnetError(f"size must be at least 3, got {size}")
    if kind == "tri":
        from hpcnet.generators.lattice import tri_network

        return tri_network(size, seed, **options)
    if kind == "delaunay":
        from hpcnet.generators.delaunay import delaunay_network

        return delaunay_network(size, seed, **options)
    from hpcnet.generators.packing import packing_network

    return packing_network(size, seed, **options)
