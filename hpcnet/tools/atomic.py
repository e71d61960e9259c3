"""All-or-nothing file writes: write under ``NAME.part``, then rename over ``NAME``.

A reader (or a job killed mid-write) never sees a half-written file: the final
name appears only once its content is complete and on disk. On failure the
temporary file is removed and the error propagates; an existing file at the
final name is left as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def part_path(path) -> Path:
    """Where ``path`` is written until it is complete: ``path`` + ``.part``."""
    path = Path(path)
    return path.with_name(path.name + ".part")


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through (for writers that take a path).

    The parent directory is created; on success the temporary file is synced
    and renamed to ``path``; on any error it is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", **kwargs):
    """``open(path, mode)`` through :func:`atomic_path` (``mode`` "w" or "wb")."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)
