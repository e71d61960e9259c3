"""Labelled network datasets for the CNN surrogates, built in parallel into one HDF5 file.

Sample ``i`` is a function of (settings, i) alone: its network seed and its
distortion come from ``SeedSequence(seed, spawn_key=(i,))``, so the file's
contents do not depend on the number of ranks that built it. Ranks take samples
round-robin, label them with a PETSc solve on ``COMM_SELF`` (ν, ν_x, ν_y) and
write their own rows independently; a per-sample ``status`` is written last, so
an interrupted build resumes where it stopped.

Every label comes with its material check (docs/physics.md, "Material
response"): the affine fractions of the two responses, their minimum
``a_min`` and the boundary Poisson's ratios. A label is *material* when
``a_min >= material_floor``; ``non_material='omit'`` gives the others status
-2 (labels kept, left out of training), ``'flag'`` keeps them usable.

Layout (every array has one row per sample; ``N`` nodes, ``M = 3N`` bond slots)::

    /samples/status      (n,)        int8     0 pending, 1 labelled, -1 floppy (no ν),
                                              -2 labelled but omitted (non-material)
    /samples/nu, nu_x, nu_y (n,)     float64  Poisson's ratios (NaN unless labelled)
    /samples/a_min, affine_x, affine_y (n,) float64  affine fractions (NaN unless labelled)
    /samples/nu_boundary, nu_boundary_x, nu_boundary_y (n,) float64  boundary ν
    /samples/distortion  (n,)        float64  r of a tri network (NaN for other kinds)
    /samples/net_seed    (n,)        int64    seed of the generator
    /samples/matrix      (n, 2N, 2N) float32  dynamical matrix D = K (unit masses),
                                              node order as generated, DOFs (x0, y0, x1, ...)
    /samples/positions   (n, N, 2)   float64
    /samples/bonds       (n, M, 2)   int32    rows past n_bonds are -1
    /samples/n_bonds     (n,)        int32
    /samples/stiffness   (n, M)      float64  rows past n_bonds are 0
    /samples/boundary    (n, N)      uint8    bit mask: 1 left, 2 right, 4 bottom, 8 top
    /samples/has_image   (n,)        uint8    1 where an image was rendered
    /samples/image       (n, P, P)   uint8    (only when images were asked for)

Root attributes: ``settings`` (JSON of :class:`DatasetSettings`), ``format``,
``hpcnet_version``, ``petsc_options``.

Datasets drawn from annealing outputs (``anneal_files``, ensemble files of
``hpcnet anneal``, docs/ensemble-layout.md) take every finished chain of each
file in turn, its original network pruned by each of the bond masks asked for
(``initial``, ``final``, ``best``), and label them afresh: sample ``i`` is
finished chain ``i // len(masks)`` (see :func:`annealed_sources`), mask
``i % len(masks)``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hpcnet import __version__
from hpcnet.ensemble import layout
from hpcnet.errors import FloppyNetworkError, HpcnetError
from hpcnet.learn.render import RenderSettings, render
from hpcnet.mechanics.strain import MATERIAL_FLOOR
from hpcnet.network import Network, boundary_from_flags
from hpcnet.tools.atomic import part_path
from hpcnet.tools.lock import OutputLock
from hpcnet.tools.mpi import root_decides, together

log = logging.getLogger("hpcnet")

FORMAT = "hpcnet-dataset-2"
#: Earlier formats still read (their labels have no material check: a_min etc. are NaN).
OLD_FORMATS = ("hpcnet-dataset-1",)
GROUP = "samples"
PENDING, LABELLED, FLOPPY, OMITTED = 0, 1, -1, -2
#: Per-label material check, stored beside ν (PoissonResult fields).
CHECK_FIELDS = ("a_min", "affine_x", "affine_y", "nu_boundary", "nu_boundary_x",
                "nu_boundary_y")
#: What a build does with non-material labels.
NON_MATERIAL = ("flag", "omit")
PROGRESS_EVERY_S = 10.0


@dataclass(frozen=True)
class DatasetSettings:
    """Everything that determines a dataset's contents.

    Attributes
    ----------
    kind, size : str, int
        Network kind and linear size L.
    count : int
        Number of samples.
    seed : int
        Base seed; sample i's seeds derive from (seed, i).
    distortion : (float, float) or None
        tri only: the range r is drawn from, uniformly.
    images : bool
        Whether images are rendered.
    image_distortion : (float, float) or None
        With images: render only samples whose r lies in this range (None: all).
    render : RenderSettings
        How images are drawn.
    anneal_files : tuple of str
        Annealing outputs the networks come from (instead of a generator).
    anneal_masks : tuple of str
        The masks taken from each annealing output.
    material_floor : float
        Labels with a_min below it are non-material.
    non_material : str
        'flag' keeps non-material labels usable, 'omit' leaves them out (status -2).
    """

    kind: str
    size: int
    count: int
    seed: int = 0
    distortion: tuple[float, float] | None = (0.05, 0.95)
    images: bool = False
    image_distortion: tuple[float, float] | None = None
    render: RenderSettings = field(default_factory=RenderSettings)
    anneal_files: tuple[str, ...] = ()
    anneal_masks: tuple[str, ...] = ("best",)
    material_floor: float = MATERIAL_FLOOR
    non_material: str = "flag"

    def __post_init__(self):
        if self.count < 1:
            raise HpcnetError(f"count must be at least 1, got {self.count}")
        if self.non_material not in NON_MATERIAL:
            raise HpcnetError(f"non_material must be one of {', '.join(NON_MATERIAL)}")
        if not 0.0 <= self.material_floor <= 1.0:
            raise HpcnetError(f"material floor {self.material_floor} must lie in [0, 1]")
        if self.anneal_files:
            if self.distortion is not None or self.image_distortion is not None:
                raise HpcnetError("distortion ranges do not apply to annealing outputs")
        elif self.kind == "tri":
            if self.distortion is None:
                raise HpcnetError("tri datasets need a distortion range")
            _check_range(self.distortion, "distortion", upper=1.0)
        elif self.distortion is not None:
            raise HpcnetError("a distortion range applies to tri networks only")
        if self.image_distortion is not None:
            if self.kind != "tri":
                raise HpcnetError("images selected by distortion apply to tri networks only")
            _check_range(self.image_distortion, "image distortion", upper=math.inf)

    def as_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DatasetSettings:
        d = json.loads(text)
        for key in ("distortion", "image_distortion", "anneal_files", "anneal_masks"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        d["render"] = RenderSettings(**d["render"])
        return cls(**d)

    def wants_image(self, distortion: float) -> bool:
        if not self.images:
            return False
        if self.image_distortion is None:
            return True
        lo, hi = self.image_distortion
        return lo <= distortion <= hi


def _check_range(rng: tuple[float, float], what: str, upper: float) -> None:
    lo, hi = rng
    if not (0.0 <= lo <= hi < upper):
        raise HpcnetError(f"{what} range {lo}:{hi} must satisfy 0 <= LO <= HI < {upper:g}")


# ------------------------------------------------------------------ samples
def sample_network(settings: DatasetSettings, index: int) -> tuple[Network, float]:
    """Sample ``index``'s network and its distortion (NaN for kinds without one)."""
    from hpcnet.generators import generate

    if settings.anneal_files:
        masks = settings.anneal_masks
        path, row = annealed_sources(settings.anneal_files)[index // len(masks)]
        return annealed_network(path, row, masks[index % len(masks)])

    ss = np.random.SeedSequence(entropy=settings.seed, spawn_key=(index,))
    net_seed_ss, distortion_ss = ss.spawn(2)
    net_seed = int(net_seed_ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
    if settings.distortion is None:
        return generate(settings.kind, settings.size, net_seed), math.nan
    lo, hi = settings.distortion
    r = float(lo + (hi - lo) * np.random.default_rng(distortion_ss).random())
    return generate(settings.kind, settings.size, net_seed, distortion=r), r


def annealed_sources(files) -> list[tuple[str, int]]:
    """(file, task row) of every finished chain in the ensemble files, in order."""
    import h5py

    sources = []
    for path in files:
        try:
            with h5py.File(path, "r") as fh:
                done = np.flatnonzero(fh["tasks/status"][()] == layout.DONE)
        except (OSError, KeyError):
            raise HpcnetError(f"{path}: not an `hpcnet anneal` ensemble file") from None
        sources.extend((str(path), int(row)) for row in done)
    if not sources:
        raise HpcnetError("the annealing files hold no finished chain")
    return sources


def annealed_network(path, row: int, mask: str) -> tuple[Network, float]:
    """Task ``row``'s original network in an ensemble file, pruned by its mask ``mask``."""
    import h5py

    with h5py.File(path, "r") as fh:
        if f"masks/{mask}" not in fh:
            raise HpcnetError(f"{path}: no bond mask /masks/{mask} (choose from "
                              f"{', '.join(layout.MASKS)})")
        net = layout.read_network(fh, row)
        keep = layout.read_mask(fh, mask, row)
    return net.pruned(keep), float(net.params.get("distortion", math.nan))


def dense_matrix(net: Network) -> np.ndarray:
    """The dynamical matrix D = K (unit masses) as a dense float32 (2N, 2N) array."""
    from hpcnet.mechanics.stiffness import stiffness_matrix

    return stiffness_matrix(net).toarray().astype(np.float32)


# ------------------------------------------------------------------- layout
def _create_layout(fh, settings: DatasetSettings, n_nodes: int) -> None:
    """Create every dataset and attribute (collective: identical arguments on all ranks)."""
    import h5py

    from hpcnet.tools.petsc_env import options_snapshot

    n, m = settings.count, 3 * n_nodes
    g = fh.create_group(GROUP)
    lazy = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    lazy.set_fill_time(h5py.h5d.FILL_TIME_NEVER)  # big arrays: every row is written
    g.create_dataset("status", (n,), np.int8, fillvalue=PENDING)
    for name in ("nu", "nu_x", "nu_y", *CHECK_FIELDS, "distortion"):
        g.create_dataset(name, (n,), np.float64, fillvalue=np.nan)
    g.create_dataset("net_seed", (n,), np.int64, fillvalue=-1)
    g.create_dataset("n_bonds", (n,), np.int32, fillvalue=0)
    g.create_dataset("has_image", (n,), np.uint8, fillvalue=0)
    g.create_dataset("matrix", (n, 2 * n_nodes, 2 * n_nodes), np.float32, dcpl=lazy)
    g.create_dataset("positions", (n, n_nodes, 2), np.float64, dcpl=lazy)
    g.create_dataset("bonds", (n, m, 2), np.int32, dcpl=lazy)
    g.create_dataset("stiffness", (n, m), np.float64, dcpl=lazy)
    g.create_dataset("boundary", (n, n_nodes), np.uint8, dcpl=lazy)
    if settings.images:
        p = settings.render.size
        g.create_dataset("image", (n, p, p), np.uint8, dcpl=lazy)
    fh.attrs["format"] = FORMAT
    fh.attrs["settings"] = settings.to_json()
    fh.attrs["hpcnet_version"] = __version__
    fh.attrs["petsc_options"] = json.dumps(options_snapshot(), sort_keys=True)


def _label_and_write(g, settings: DatasetSettings, index: int, n_nodes: int) -> int:
    """Build, label and write sample ``index`` (independent I/O); return its status."""
    from petsc4py import PETSc

    from hpcnet.mechanics.elastic import poisson_ratio

    net, r = sample_network(settings, index)
    if net.n_nodes != n_nodes:
        raise HpcnetError(f"sample {index} has {net.n_nodes} nodes, the dataset {n_nodes}: "
                          f"a dataset needs networks of one node count")
    m = g["stiffness"].shape[1]
    if net.n_bonds > m:
        raise HpcnetError(f"sample {index} has {net.n_bonds} bonds, more than 3N = {m}")
    try:
        res = poisson_ratio(net, PETSc.COMM_SELF)
        status = LABELLED
        if settings.non_material == "omit" and res.a_min < settings.material_floor:
            status = OMITTED
        for name in ("nu", "nu_x", "nu_y", *CHECK_FIELDS):
            g[name][index] = getattr(res, name)
    except FloppyNetworkError:
        status = FLOPPY
    bonds = np.full((m, 2), -1, dtype=np.int32)
    bonds[: net.n_bonds] = net.bonds
    stiffness = np.zeros(m)
    stiffness[: net.n_bonds] = net.stiffness
    g["distortion"][index] = r
    g["net_seed"][index] = net.seed
    g["n_bonds"][index] = net.n_bonds
    g["matrix"][index] = dense_matrix(net)
    g["positions"][index] = net.positions
    g["bonds"][index] = bonds
    g["stiffness"][index] = stiffness
    g["boundary"][index] = net.boundary_flags()
    if settings.wants_image(r):
        g["image"][index] = render(net, settings.render)
        g["has_image"][index] = 1
    g["status"][index] = status  # last: the sample counts as done once this lands
    return status


# -------------------------------------------------------------------- build
@dataclass
class BuildReport:
    """What a build did: samples labelled now (omitted ones included), floppy, omitted, done."""

    path: Path
    labelled: int = 0
    floppy: int = 0
    omitted: int = 0
    resumed: int = 0
    complete_before: bool = False


def _stored_settings(path: Path) -> str | None:
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            return str(fh.attrs["settings"])
    except (OSError, KeyError):
        return None


def _decide(settings: DatasetSettings, path: Path, force: bool, lock: OutputLock) -> str:
    """Rank 0: lock the output; 'done', 'resume' or 'fresh' (HpcnetError if none fits)."""
    if any(Path(f).resolve() == path.resolve() for f in settings.anneal_files):
        raise HpcnetError(f"{path} is also an input (--from-anneal): write the dataset "
                          f"elsewhere")
    lock.acquire()
    try:
        action, message = _decide_or_raise(settings, path, force)
    except OSError as exc:
        raise HpcnetError(f"{path}: {exc}") from None
    if action == "error":
        raise HpcnetError(message)
    return action


def _decide_or_raise(settings: DatasetSettings, path: Path, force: bool) -> tuple[str, str]:
    part = part_path(path)
    if force:  # PATH itself stays until the new dataset replaces it, complete
        part.unlink(missing_ok=True)
        return "fresh", ""
    if path.exists():
        if _stored_settings(path) == settings.to_json():
            return "done", ""
        return "error", (f"{path} exists and holds a different dataset; "
                         f"pass --force to replace it")
    if part.exists():
        stored = _stored_settings(part)
        if stored == settings.to_json():
            return "resume", ""
        return "error", (f"{part} is an unfinished dataset with other settings "
                         f"({stored}); pass --force to start over")
    return "fresh", ""


def _check_h5py(comm) -> None:
    import h5py

    if comm.size > 1 and not h5py.get_config().mpi:
        raise HpcnetError("h5py runs without MPI: run one rank, or set H5PY_ALWAYS_USE_MPI=1 "
                          "(Debian's h5py picks its MPI build by itself only under mpirun)")


def _open(path: Path, mode: str, comm):
    import h5py

    if comm.size > 1:
        return h5py.File(path, mode, driver="mpio", comm=comm)
    return h5py.File(path, mode)


def build_dataset(settings: DatasetSettings, path, comm, force: bool = False) -> BuildReport:
    """Build (or resume, or find complete) the dataset at ``path``. Collective on ``comm``.

    ``comm`` is an mpi4py communicator. The file is written as ``PATH.part`` and
    renamed to ``PATH`` when every sample is done.
    """
    path = Path(path)
    with OutputLock(path) as lock:  # held by rank 0 for the build
        return _build(settings, path, comm, force, lock)


def _build(settings: DatasetSettings, path: Path, comm, force: bool,
           lock: OutputLock) -> BuildReport:
    part = part_path(path)
    action = root_decides(comm, lambda: _decide(settings, path, force, lock))
    report = BuildReport(path)
    if action == "done":
        report.complete_before = True
        return report
    with together(comm):
        _check_h5py(comm)
        _check_anneal_count(settings)
        n_nodes = sample_network(settings, 0)[0].n_nodes
    with _open(part, "w" if action == "fresh" else "r+", comm) as fh:
        if action == "fresh":
            _create_layout(fh, settings, n_nodes)
            fh.flush()
        g = fh[GROUP]
        status = g["status"][()]
        report.resumed = int(np.count_nonzero(status != PENDING))
        mine = [i for i in range(comm.rank, settings.count, comm.size) if status[i] == PENDING]
        counts = _run_samples(g, settings, mine, n_nodes, comm)
    report.labelled, report.floppy, report.omitted = (int(c) for c in comm.allreduce(counts))
    root_decides(comm, lambda: os.replace(part, path))
    return report


def _check_anneal_count(settings: DatasetSettings) -> None:
    """A dataset from annealing outputs holds one sample per finished chain and mask.

    Checked when building only: a finished dataset reads without its sources.
    """
    if not settings.anneal_files:
        return
    chains = len(annealed_sources(settings.anneal_files))
    if settings.count != chains * len(settings.anneal_masks):
        raise HpcnetError(f"count {settings.count} is not the {chains} finished chains times "
                          f"{len(settings.anneal_masks)} mask(s)")


def _run_samples(g, settings, mine: list[int], n_nodes: int, comm) -> np.ndarray:
    """Label this rank's pending samples; return (labelled, floppy, omitted) counts."""
    counts = np.zeros(3, dtype=np.int64)
    last = time.monotonic()
    try:
        for k, index in enumerate(mine, 1):
            status = _label_and_write(g, settings, index, n_nodes)
            counts[0] += status != FLOPPY
            counts[1] += status == FLOPPY
            counts[2] += status == OMITTED
            if time.monotonic() - last > PROGRESS_EVERY_S:
                last = time.monotonic()
                log.info("dataset: %d/%d of this rank's samples (%.0f%%)",
                         k, len(mine), 100.0 * k / len(mine))
    except BaseException:
        if comm.size > 1:  # the other ranks wait in collective calls: stop them all
            log.exception("dataset: rank %d failed; aborting (rerun to resume)", comm.rank)
            comm.Abort(1)
        raise
    return counts


# ------------------------------------------------------------------ reading
class LearnDataset:
    """Read access to a dataset file (serial). Use as a context manager.

    Parameters
    ----------
    path : path
        A complete dataset written by :func:`build_dataset`.
    """

    def __init__(self, path):
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            hint = " (its build is unfinished)" if part_path(self.path).exists() else ""
            raise HpcnetError(f"{self.path}: no such dataset{hint}")
        try:
            self._fh = h5py.File(self.path, "r")
        except OSError as exc:
            raise HpcnetError(f"{self.path}: not an HDF5 file: {exc}") from None
        if self._fh.attrs.get("format") not in (FORMAT, *OLD_FORMATS):
            self._fh.close()
            raise HpcnetError(f"{self.path}: not an hpcnet dataset (no format '{FORMAT}')")
        self.settings = DatasetSettings.from_json(self._fh.attrs["settings"])
        g = self._fh[GROUP]
        self.group = g
        self.status = g["status"][()]
        self.nu = g["nu"][()]
        self.nu_x = g["nu_x"][()]
        self.nu_y = g["nu_y"][()]
        self.check = {name: g[name][()] if name in g else np.full(len(self.status), np.nan)
                      for name in CHECK_FIELDS}
        self.distortion = g["distortion"][()]
        self.has_image = g["has_image"][()].astype(bool)

    def __len__(self) -> int:
        return len(self.status)

    @property
    def matrix_size(self) -> int:
        """2N, the side of the dynamical matrices."""
        return int(self.group["matrix"].shape[1])

    @property
    def a_min(self) -> np.ndarray:
        return self.check["a_min"]

    @property
    def material(self) -> np.ndarray:
        """Whether each label is a material's (a_min >= the floor; False if unknown)."""
        with np.errstate(invalid="ignore"):
            return self.a_min >= self.settings.material_floor

    def usable(self, images: bool = False) -> np.ndarray:
        """Indices of labelled, not omitted samples (with an image, if ``images``)."""
        ok = self.status == LABELLED
        if images:
            ok &= self.has_image
        return np.flatnonzero(ok)

    def matrix(self, index: int) -> np.ndarray:
        return self.group["matrix"][index]

    def image(self, index: int) -> np.ndarray:
        if not self.has_image[index]:
            raise HpcnetError(f"{self.path}: sample {index} has no image")
        return self.group["image"][index]

    def network(self, index: int) -> Network:
        """Sample ``index``'s network, rebuilt from its stored arrays."""
        g = self.group
        nb = int(g["n_bonds"][index])
        s = self.settings
        return Network.from_arrays(
            g["positions"][index], g["bonds"][index][:nb],
            boundary_from_flags(g["boundary"][index]),
            g["stiffness"][index][:nb], kind=s.kind, size=s.size,
            seed=int(g["net_seed"][index]),
            params={} if s.kind != "tri" else {"distortion": float(self.distortion[index])},
        )

    def close(self) -> None:
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
