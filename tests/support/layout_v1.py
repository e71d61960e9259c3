"""A file of ensemble layout version 1, made from today's code by taking away what version 2 added.

Version 2 added the task columns of ``ADDED_IN_VERSION_2`` (``method``, ``a_min_*``, …),
the ``/path`` group, ``trajectory/a_min``, ``networks/stiffness`` and the
``methods`` attribute; version-1 settings name one method, in their anneal part.
"""

from __future__ import annotations

import json

import h5py

from hpcnet.ensemble.layout import ADDED_IN_VERSION_2
from tests.support.helpers import run_cli

#: The run the file holds: 3 kinds × L = 6 × seed 0 × targets ±0.5 (6 tasks), SA.
RUN = ["--kinds", "tri,delaunay,packing", "--sizes", "6", "--seeds", "0",
       "--targets", "-0.5,0.5", "--alpha", "0.7", "--lk", "60"]


def write_version_1(path) -> None:
    """Anneal :data:`RUN` into ``path``, then rewrite it as layout version 1."""
    run_cli("anneal", *RUN, "-o", path)
    with h5py.File(path, "r+") as fh:
        for name in ADDED_IN_VERSION_2:
            del fh["tasks"][name]
        for name in ("path", "trajectory/a_min", "networks/stiffness"):
            if name in fh:
                del fh[name]
        del fh.attrs["methods"]
        settings = json.loads(fh.attrs["settings"])
        settings["anneal"]["method"] = settings.pop("methods")[0]
        settings.pop("network_file", None)
        fh.attrs["settings"] = json.dumps(settings)
        fh.attrs["layout_version"] = 1
