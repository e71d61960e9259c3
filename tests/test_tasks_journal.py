"""Task table, random streams, the stored settings, and the crash-safe journal."""

import json

import numpy as np
import pytest

from hpcnet.anneal.settings import AnnealSettings
from hpcnet.ensemble.journal import HEADER, JournalWriter, read_journal
from hpcnet.ensemble.runner import EnsembleSettings
from hpcnet.ensemble.tasks import (
    Task,
    largest_first,
    parse_floats,
    parse_ints,
    parse_kinds,
    task_table,
)
from hpcnet.errors import HpcnetError


def test_settings_json_ignores_unknown_keys():
    """Settings stored by another version (extra keys, here and in anneal) still read back."""
    settings = EnsembleSettings(kinds=["tri"], sizes=[8], seeds=[0, 1], targets=[-0.9],
                                anneal=AnnealSettings(lk=7))
    data = json.loads(settings.to_json())
    data["future_option"] = 1
    data["anneal"]["future_knob"] = "x"
    assert EnsembleSettings.from_json(json.dumps(data)) == settings


def test_parse_ranges_and_lists():
    assert parse_ints("0-3,7,10-11") == [0, 1, 2, 3, 7, 10, 11]
    assert parse_ints("5,5,4") == [5, 4]
    assert parse_floats("-0.9,0.9") == [-0.9, 0.9]
    assert parse_kinds("tri, packing") == ["tri", "packing"]
    for bad, fn in (("3-1", parse_ints), ("a", parse_ints), ("x", parse_floats),
                    ("tri,hex", parse_kinds)):
        with pytest.raises(HpcnetError):
            fn(bad)


def test_task_table_is_the_product_in_order():
    tasks = task_table(["tri", "delaunay"], [8, 12], [0, 1, 2], [-0.9, 0.9])
    assert len(tasks) == 24 and [t.index for t in tasks] == list(range(24))
    assert tasks[0] == Task(0, "tri", 8, 0, -0.9) and tasks[-1] == Task(23, "delaunay", 12, 2, 0.9)
    assert [t.size for t in largest_first(tasks)[:12]] == [12] * 12
    with pytest.raises(HpcnetError, match="outside"):
        task_table(["tri"], [8], [0], [1.5])


def test_random_stream_depends_on_identity_not_index():
    a, b = Task(0, "tri", 8, 3, -0.9), Task(57, "tri", 8, 3, -0.9)
    assert a.rng(1).random() == b.rng(1).random()
    others = [Task(0, "tri", 8, 4, -0.9), Task(0, "tri", 12, 3, -0.9),
              Task(0, "delaunay", 8, 3, -0.9), Task(0, "tri", 8, 3, 0.9)]
    draws = {t.rng(1).random() for t in others} | {a.rng(2).random(), a.rng(1).random()}
    assert len(draws) == 6


def records(n):
    return [{"type": "done", "task": i, "mask": np.arange(i + 3) % 2 == 0, "nu": -0.1 * i}
            for i in range(n)]


def test_journal_round_trip(tmp_path):
    path = tmp_path / "r.jrnl"
    with JournalWriter(path) as journal:
        for rec in records(5):
            journal.append(rec)
    back = list(read_journal(path))
    assert [int(r["task"]) for r in back] == list(range(5))
    assert np.array_equal(back[3]["mask"], records(5)[3]["mask"])
    assert str(back[0]["type"]) == "done" and float(back[4]["nu"]) == pytest.approx(-0.4)


@pytest.mark.parametrize("cut", [1, HEADER.size - 1, HEADER.size + 5, -1])
def test_journal_ignores_a_torn_tail(tmp_path, cut):
    path = tmp_path / "r.jrnl"
    with JournalWriter(path) as journal:
        for rec in records(3):
            journal.append(rec)
    intact = path.read_bytes()
    last_start = _record_starts(intact)[-1]
    torn = intact[: last_start + cut] if cut > 0 else intact[:-1]
    path.write_bytes(torn)
    assert [int(r["task"]) for r in read_journal(path)] == [0, 1]


def _record_starts(data):
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        pos += HEADER.size + HEADER.unpack_from(data, pos)[1]
    return starts


def test_journal_stops_at_a_corrupt_record(tmp_path):
    path = tmp_path / "r.jrnl"
    with JournalWriter(path) as journal:
        for rec in records(3):
            journal.append(rec)
    data = bytearray(path.read_bytes())
    data[_record_starts(bytes(data))[1] + HEADER.size + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    assert [int(r["task"]) for r in read_journal(path)] == [0]
