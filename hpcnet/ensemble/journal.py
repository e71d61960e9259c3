"""Append-only journals: the crash-safe record of an ensemble's progress.

Each rank appends records (a dict of arrays, saved as npz bytes) to its own
file, each framed by a magic word, its length and a CRC32, and fsyncs after
every record. A process killed mid-write leaves at most a torn last record,
which the reader detects and ignores. The ensemble's HDF5 file is rebuilt from
the journals, so a killed parallel HDF5 write never loses data.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

MAGIC = b"HPCJ"
HEADER = struct.Struct("<4sQI")  # magic, payload length, crc32


def encode(record: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in record.items()})
    payload = buf.getvalue()
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


class JournalWriter:
    """Appends records to one journal file; durable once :meth:`append` returns."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fh = open(self.path, "ab")
        self.seconds = 0.0  # time spent appending, for the I/O share

    def append(self, record: dict) -> None:
        start = time.perf_counter()
        self._fh.write(encode(record))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.seconds += time.perf_counter() - start

    def intact(self) -> bool:
        """Whether the file is still the one at :attr:`path` (not removed under the writer)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self._fh.fileno())
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_journal(path: Path) -> Iterator[dict]:
    """The intact records of one journal, in order; stops at a torn or corrupt tail."""
    data = Path(path).read_bytes()
    pos = 0
    while pos + HEADER.size <= len(data):
        magic, length, crc = HEADER.unpack_from(data, pos)
        payload = data[pos + HEADER.size: pos + HEADER.size + length]
        if magic != MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
            return
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            yield {k: npz[k] for k in npz.files}
        pos += HEADER.size + length


def journal_files(directory: Path) -> list[Path]:
    return sorted(Path(directory).glob("*.jrnl"))


def scan(paths) -> tuple[dict[int, dict], dict[int, dict]]:
    """Records of the journals ``paths`` by task index: (finished, checkpoints).

    ``finished`` holds each task's done or failed record; ``checkpoints`` the
    latest checkpoint of each task not finished in these journals.
    """
    finished: dict[int, dict] = {}
    checkpoints: dict[int, dict] = {}
    for path in paths:
        for record in read_journal(path):
            index = int(record["task"])
            if str(record["type"]) == "checkpoint":
                checkpoints[index] = record
            else:
                finished[index] = record
    return finished, {i: r for i, r in checkpoints.items() if i not in finished}
