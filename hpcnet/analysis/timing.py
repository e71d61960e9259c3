"""Time per network of a PETSc solve and of CNN inference (paper Fig. 5d): the JSON file.

``benchmarks/bench_learn.py --json PATH`` writes it with :func:`write_timing`;
the figure and the report read it with :func:`load_timing`. Torch-free.

Schema (all times in seconds per network)::

    {
      "format": "hpcnet-timing-1",
      "metadata": {
        "device": "cpu",          # where the CNNs ran
        "threads": 1,             # CPU threads (torch and the solve)
        "torch": "2.5.1",         # torch version
        "batch": 32,              # networks per batch for the batched times
        "matrix_size": 288,       # side of the fixed-size AlexNet input
        "image_size": 128,        # side of the ResNet-50 images, pixels
        "distortion": 0.3,        # distortion r of the tri networks
        "repeats": 5              # timed repetitions (median)
      },
      "records": [                # one per lattice size L, in increasing n_nodes
        {
          "L": 12, "n_nodes": 144,
          "solve_s": 0.0022,                                # PETSc: assembly .. two solves
          "matrix_native": {"single_s": ..., "batched_s": ...},  # AlexNet on 2N × 2N,
                                  #   null where 2N is below AlexNet's minimum side
          "matrix_fixed":  {"single_s": ..., "batched_s": ...},  # AlexNet, resized input
          "lattice":       {"single_s": ..., "batched_s": ...},  # the lattice model (D laid
                                  #   out on the lattice); absent in files written before it
          "image":         {"single_s": ..., "batched_s": ...}   # render + ResNet-50
        }, ...
      ]
    }

``single_s`` is the time of one network alone (batch 1), ``batched_s`` the time
per network within a batch of ``metadata.batch``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from hpcnet.errors import HpcnetError
from hpcnet.tools.atomic import write_text

TIMING_FORMAT = "hpcnet-timing-1"
#: Keys of ``metadata`` and their types.
METADATA_KEYS = {"device": str, "threads": int, "torch": str, "batch": int,
                 "matrix_size": int, "image_size": int, "distortion": float, "repeats": int}
#: The CNN paths timed per record, in plotting order.
CNN_PATHS = ("matrix_fixed", "matrix_native", "lattice", "image")
#: Paths that may be null (input too small for the network).
OPTIONAL_PATHS = ("matrix_native",)
#: Paths that files written before them lack (read as null).
LATER_PATHS = ("lattice",)
TIME_KEYS = ("single_s", "batched_s")


def validate_timing(data, source: str = "timing data") -> dict:
    """Check ``data`` against the schema; return it with records sorted by ``n_nodes``.

    Raises :class:`HpcnetError` naming ``source`` and the first problem found.
    """
    def fail(problem: str):
        raise HpcnetError(f"{source}: {problem}")

    if not isinstance(data, dict) or data.get("format") != TIMING_FORMAT:
        fail(f"not an hpcnet timing file (format {TIMING_FORMAT})")
    meta, records = data.get("metadata"), data.get("records")
    if not isinstance(meta, dict):
        fail("no metadata object")
    for key, kind in METADATA_KEYS.items():
        ok = isinstance(meta.get(key), (int, float) if kind is float else kind)
        if not ok or isinstance(meta.get(key), bool):
            fail(f"metadata.{key} missing or not {kind.__name__}")
    if not isinstance(records, list) or not records:
        fail("no records")
    for i, rec in enumerate(records):
        where = f"records[{i}]"
        if not isinstance(rec, dict):
            fail(f"{where} is not an object")
        for key in ("L", "n_nodes"):
            if not isinstance(rec.get(key), int) or rec[key] < 1:
                fail(f"{where}.{key} missing or not a positive integer")
        _check_time(rec.get("solve_s"), f"{where}.solve_s", fail)
        for name in CNN_PATHS:
            times = rec.get(name)
            if times is None and (name in OPTIONAL_PATHS and name in rec
                                  or name in LATER_PATHS and name not in rec):
                continue
            if not isinstance(times, dict):
                fail(f"{where}.{name} missing")
            for key in TIME_KEYS:
                _check_time(times.get(key), f"{where}.{name}.{key}", fail)
    return {**data, "records": sorted(records, key=lambda r: r["n_nodes"])}


def _check_time(value, where: str, fail) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        fail(f"{where} missing or not a positive number of seconds")


def load_timing(path) -> dict:
    """Read and validate a timing file (schema in the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise HpcnetError(f"{path}: no such timing file")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HpcnetError(f"{path}: cannot read JSON ({exc})") from None
    return validate_timing(data, str(path))


def write_timing(path, metadata: dict, records: list[dict]) -> Path:
    """Validate and write a timing file atomically (temporary name, then rename)."""
    path = Path(path)
    data = validate_timing({"format": TIMING_FORMAT, "metadata": metadata, "records": records})
    return write_text(path, json.dumps(data, indent=1) + "\n")


def series(timing: dict, name: str, key: str = "single_s") -> list[float]:
    """Seconds per network of one path over the records (NaN where a path is null).

    ``name``: ``solve`` or one of :data:`CNN_PATHS`; ``key`` applies to the CNNs.
    """
    if name == "solve":
        return [float(r["solve_s"]) for r in timing["records"]]
    if name not in CNN_PATHS or key not in TIME_KEYS:
        raise HpcnetError(f"unknown timing series {name!r}/{key!r}")
    return [math.nan if r.get(name) is None else float(r[name][key])
            for r in timing["records"]]


def largest_ratios(timing: dict) -> dict:
    """Speed ratios at the largest network, against the fixed-size matrix CNN.

    Returns ``n_nodes``, ``L`` and, for ``single`` (batch 1) and ``batched``,
    ``solve_over_matrix_*`` and ``image_over_matrix_*`` (> 1: the matrix CNN is faster).
    """
    rec = timing["records"][-1]
    out = {"n_nodes": rec["n_nodes"], "L": rec["L"]}
    for mode, key in (("single", "single_s"), ("batched", "batched_s")):
        ref = rec["matrix_fixed"][key]
        out[f"solve_over_matrix_{mode}"] = rec["solve_s"] / ref
        out[f"image_over_matrix_{mode}"] = rec["image"][key] / ref
    return out
