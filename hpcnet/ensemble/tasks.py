"""The task table (kinds × sizes × seeds × targets × methods) and each task's random stream."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from hpcnet.anneal.settings import METHODS
from hpcnet.errors import HpcnetError
from hpcnet.generators import KINDS


@dataclass(frozen=True)
class Task:
    """One chain: the network (kind, size, seed; or a network file), the target ν, the method.

    ``fingerprint`` is set for a network read from a file (``hpcnet anneal
    --network``); its kind, size and seed are then the file's provenance.
    """

    index: int
    kind: str
    size: int
    seed: int
    target: float
    method: str = "sa"
    fingerprint: str | None = None

    def rng(self, base_seed: int) -> np.random.Generator:
        """The chain's random stream, a function of (base seed, task identity) alone.

        It does not depend on the task's index or on which rank runs it, so the
        results are the same for any number of ranks and any task list order.
        The network enters as (kind, size, seed), or as its fingerprint for a
        network file. The method enters only when it is not "sa", so an SA task
        keeps the stream it had before the method was part of a task's identity
        (runs of layout version 1 resume and rerun unchanged).
        """
        target = int(round((self.target + 1) * 1e6))
        if self.fingerprint is None:
            key = (KINDS.index(self.kind), self.size, self.seed, target)
        else:
            key = (len(KINDS), int(self.fingerprint[:15], 16), target)
        if self.method != "sa":
            key += (METHODS.index(self.method),)
        return np.random.default_rng(np.random.SeedSequence(entropy=base_seed, spawn_key=key))

    def label(self) -> str:
        return f"{self.kind} L={self.size} seed={self.seed} target={self.target:+g} {self.method}"


def parse_ints(text: str, what: str = "seeds") -> list[int]:
    """'0-3,7,10-11' -> [0, 1, 2, 3, 7, 10, 11] (order kept, duplicates removed)."""
    values: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise HpcnetError(f"bad {what} '{part}': use integers and ranges like 0-99,120")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise HpcnetError(f"bad {what} range '{part}': end below start")
        values.extend(range(lo, hi + 1))
    return list(dict.fromkeys(values))


def parse_floats(text: str, what: str = "targets") -> list[float]:
    """'-0.9,0.9' -> [-0.9, 0.9]."""
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise HpcnetError(f"bad {what} '{text}': use comma-separated numbers") from None
    if not values:
        raise HpcnetError(f"no {what} given")
    return list(dict.fromkeys(values))


def _parse_names(text: str, allowed, what: str) -> list[str]:
    """'a,b' -> ['a', 'b'] (order kept, duplicates removed), each one of ``allowed``."""
    names = [n.strip() for n in str(text).split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise HpcnetError(f"unknown {what}(s) {', '.join(unknown) or '(none)'}: "
                          f"choose from {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def parse_kinds(text: str) -> list[str]:
    """'tri,delaunay' -> ['tri', 'delaunay']."""
    return _parse_names(text, KINDS, "kind")


def parse_methods(text: str) -> list[str]:
    """'sa,greedy' -> ['sa', 'greedy']."""
    return _parse_names(text, METHODS, "method")


def task_table(kinds, sizes, seeds, targets, methods=("sa",),
               fingerprint: str | None = None) -> list[Task]:
    """All tasks, indexed in the order kinds × sizes × seeds × targets × methods.

    ``fingerprint``: the tasks anneal that network file (kinds, sizes and seeds
    are then its provenance, and sizes are not checked).
    """
    for t in targets:
        if not -1.0 <= t <= 1.0:
            raise HpcnetError(f"target {t} outside [-1, 1], the range of ν in 2D")
    for L in sizes if fingerprint is None else ():
        if L < 3:
            raise HpcnetError(f"size {L} below the minimum of 3")
    product = itertools.product(kinds, sizes, seeds, targets, methods)
    return [Task(i, k, int(L), int(s), float(t), m, fingerprint)
            for i, (k, L, s, t, m) in enumerate(product)]


def largest_first(tasks: list[Task]) -> list[Task]:
    """Tasks ordered by decreasing cost (size), so the last tasks handed out are short."""
    return sorted(tasks, key=lambda t: (-t.size, t.index))
