"""The ensemble's HDF5 layout (version 2), written collectively with h5py ``mpio``.

Two phases (parallel HDF5's rule): every rank creates every group, dataset and
attribute with identical arguments; then each rank writes its own task rows
independently. Shapes are fixed: per-task arrays are padded to the largest
network, trajectory and path (NaN for floats, -1 for node indices and the path's
integers, 0 for masks). Path masks are bits packed along the bond axis
(``np.packbits(..., bitorder="little")``).
Files of version 1 are read too: what they lack reads as absent (NaN).
``docs/ensemble-layout.md`` describes the layout for users of plain h5py.
"""

from __future__ import annotations

import json

import numpy as np

from hpcnet.anneal.records import PATH_FIELDS
from hpcnet.anneal.records import TRAJECTORY_FIELDS as TRAJECTORY  # one dataset per field
from hpcnet.network import boundary_from_flags

LAYOUT_VERSION = 2
#: Versions the readers accept (version 1 lacks the method, the material check and stiffness).
READABLE_VERSIONS = (1, 2)

PENDING, PARTIAL, DONE, FAILED = 0, 1, 2, 3
STATUS_NAMES = {PENDING: "pending", PARTIAL: "partial", DONE: "done", FAILED: "failed"}
MESSAGE_LEN = 256

#: The bond masks stored per task (a chain's initial, final and best states).
MASKS = ("initial", "final", "best")
#: One value per task: name -> dtype. Floats are NaN until the task is done.
TASK_COLUMNS = {
    "kind": "i1", "size": "i4", "seed": "i8", "target": "f8", "method": "i1", "status": "i1",
    "message": f"S{MESSAGE_LEN}",
    **{f"{q}_{state}": "f8" for state in MASKS
       for q in ("nu", "nu_x", "nu_y", "a_min", "nu_boundary", "nu_boundary_x",
                 "nu_boundary_y")},
    "energy_best": "f8", "removed_fraction": "f8", "dz": "f8", "wall_time": "f8",
    "n_proposals": "i8", "acceptance": "f8", "sigma2_initial": "f8", "sigma2_final": "f8",
    "n_nodes": "i4", "n_bonds": "i4", "n_steps": "i4", "n_path": "i4",
}
#: Task columns new in version 2, which a version-1 file lacks.
ADDED_IN_VERSION_2 = ("method", "n_path", *(f"{q}_{state}" for state in MASKS
                                            for q in ("a_min", "nu_boundary", "nu_boundary_x",
                                                      "nu_boundary_y")))
#: The path's datasets (one value per snapshot) and their dtypes; ``path/masks`` besides.
PATH = {**{name: "f8" for name in PATH_FIELDS}, "step": "i8", "bonds": "i4", "sigma2": "f8"}
#: Bit order of the packed path masks.
BIT_ORDER = "little"


def fill_value(dtype: str):
    kind = np.dtype(dtype).kind
    return np.nan if kind == "f" else (b"" if kind == "S" else 0)


def _padding(dtype: str):
    """Padding of the path's rows: NaN, or -1 for integers."""
    return np.nan if np.dtype(dtype).kind == "f" else -1


def packed_width(n_bonds: int) -> int:
    """Bytes of one packed mask over ``n_bonds`` bonds."""
    return (n_bonds + 7) // 8


def pack_masks(masks: np.ndarray) -> np.ndarray:
    """(K, bonds) bool masks -> (K, packed_width(bonds)) uint8."""
    return np.packbits(np.asarray(masks, dtype=bool), axis=1, bitorder=BIT_ORDER)


def unpack_mask(packed: np.ndarray, n_bonds: int) -> np.ndarray:
    """One packed mask -> (n_bonds,) bool."""
    return np.unpackbits(packed, count=n_bonds, bitorder=BIT_ORDER).astype(bool)


def create(fh, n_tasks: int, max_nodes: int, max_bonds: int, max_steps: int,
           attrs: dict, stiffness: bool = False, max_path: int = 1) -> None:
    """Create the whole layout in an open file. Collective: same arguments on every rank.

    ``stiffness``: some network has springs other than 1, so ``networks/stiffness`` is
    stored (absent, every spring is 1). ``max_path``: the most snapshots of one chain.
    """
    t = fh.create_group("tasks")
    for name, dtype in TASK_COLUMNS.items():
        t.create_dataset(name, (n_tasks,), dtype=dtype, fillvalue=fill_value(dtype))
    n = fh.create_group("networks")
    n.create_dataset("positions", (n_tasks, max_nodes, 2), "f8", fillvalue=np.nan)
    n.create_dataset("bonds", (n_tasks, max_bonds, 2), "i4", fillvalue=-1)
    if stiffness:
        n.create_dataset("stiffness", (n_tasks, max_bonds), "f8", fillvalue=np.nan)
    n.create_dataset("boundary", (n_tasks, max_nodes), "u1", fillvalue=0)
    m = fh.create_group("masks")
    for name in MASKS:
        m.create_dataset(name, (n_tasks, max_bonds), "u1", fillvalue=0)
    tr = fh.create_group("trajectory")
    for name in TRAJECTORY:
        tr.create_dataset(name, (n_tasks, max_steps), "f8", fillvalue=np.nan)
    p = fh.create_group("path")
    for name, dtype in PATH.items():
        p.create_dataset(name, (n_tasks, max_path), dtype, fillvalue=_padding(dtype))
    p.create_dataset("masks", (n_tasks, max_path, packed_width(max_bonds)), "u1", fillvalue=0)
    fh.attrs["layout_version"] = LAYOUT_VERSION
    for key, value in attrs.items():
        fh.attrs[key] = value if isinstance(value, (str, bool, int, float)) else json.dumps(value)


def write_row(fh, row: int, record: dict) -> None:
    """Write one finished task's record (see :mod:`hpcnet.ensemble.runner`) into row ``row``.

    Independent I/O: each rank calls it for its own rows only.
    """
    t = fh["tasks"]
    for name in TASK_COLUMNS:
        if name in record and name != "status":
            value = record[name]
            t[name][row] = str(value)[:MESSAGE_LEN].encode() if name == "message" else value
    n_nodes, n_bonds = len(record["positions"]), len(record["bonds"])
    fh["networks/positions"][row, :n_nodes] = record["positions"]
    fh["networks/bonds"][row, :n_bonds] = record["bonds"]
    if "stiffness" in fh["networks"] and "stiffness" in record:  # not in version-1 journals
        fh["networks/stiffness"][row, :n_bonds] = record["stiffness"]
    fh["networks/boundary"][row, :n_nodes] = record["boundary"]
    for name in MASKS:
        fh[f"masks/{name}"][row, :n_bonds] = record[f"mask_{name}"]
    steps = len(record["traj_T"])
    for name in TRAJECTORY:
        fh[f"trajectory/{name}"][row, :steps] = record[f"traj_{name}"]
    if "n_path" not in record:  # journaled before chains recorded their path: none
        return
    snapshots = int(record["n_path"])
    for name in PATH:
        fh[f"path/{name}"][row, :snapshots] = record[f"path_{name}"]
    fh["path/masks"][row, :snapshots, : packed_width(n_bonds)] = record["path_masks"]


def names(fh, what: str) -> list[str]:
    """Code -> name of the ``kinds`` or ``methods`` of an open file.

    A version-1 file has no ``methods``: all its tasks ran the settings' one method.
    """
    if what == "methods" and what not in fh.attrs:
        return [json.loads(fh.attrs["settings"])["anneal"]["method"]]
    return json.loads(fh.attrs[what])


def read_tasks(fh) -> dict[str, np.ndarray]:
    """All per-task columns of an open file, ``kind`` and ``method`` decoded to names.

    Columns a version-1 file lacks are filled as for a task not done (NaN); any
    other missing column raises KeyError.
    """
    t = fh["tasks"]
    n_tasks = len(t["status"])
    out = {name: np.full(n_tasks, fill_value(dtype), dtype)
           if name in ADDED_IN_VERSION_2 and name not in t else t[name][()]
           for name, dtype in TASK_COLUMNS.items()}
    for column, what in (("kind", "kinds"), ("method", "methods")):
        decoded = names(fh, what)
        out[column] = np.array([decoded[code] for code in out[column]])
    out["message"] = np.array([m.decode() for m in out["message"]])
    return out


def read_network(fh, row: int):
    """Task ``row``'s original network, rebuilt from the file (an hpcnet Network)."""
    from hpcnet.network import Network

    settings = json.loads(fh.attrs["settings"])
    n_nodes, n_bonds = int(fh["tasks/n_nodes"][row]), int(fh["tasks/n_bonds"][row])
    flags = fh["networks/boundary"][row, :n_nodes]
    kind = names(fh, "kinds")[int(fh["tasks/kind"][row])]
    source = settings.get("network_file")
    if source is not None:
        params = source["params"]
    else:
        params = {"distortion": settings["distortion"]} if kind == "tri" else {}
    stiffness = None  # not stored (or a row journaled by version 1): unit springs
    if "stiffness" in fh["networks"] and not np.isnan(fh["networks/stiffness"][row, 0]):
        stiffness = fh["networks/stiffness"][row, :n_bonds]
    return Network.from_arrays(
        fh["networks/positions"][row, :n_nodes], fh["networks/bonds"][row, :n_bonds],
        boundary_from_flags(flags),
        stiffness, kind=kind, size=int(fh["tasks/size"][row]), seed=int(fh["tasks/seed"][row]),
        params=params)


def read_mask(fh, name: str, row: int) -> np.ndarray:
    """Bond mask ``name`` (initial, final, best) of task ``row``, as booleans."""
    return fh[f"masks/{name}"][row, : int(fh["tasks/n_bonds"][row])].astype(bool)
