"""MPI task farm: many annealing chains into one HDF5 file, safe against kills.

Every rank runs the same loop: take the next task from a shared counter
(:mod:`hpcnet.ensemble.counter`), generate its network, run its chain on COMM_SELF, and
append the result to the rank's journal (:mod:`hpcnet.ensemble.journal`), fsynced. The
journals are the ground truth; at the end (or on SIGTERM) all ranks merge them
collectively into ``OUTPUT.part`` with parallel HDF5, and rank 0 renames it to
OUTPUT. A kill at any moment therefore loses at most the chains in flight
(which restart from their last checkpoint), and a killed HDF5 write only ever
touches the ``.part`` file. Once every task is done the journals are removed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from mpi4py import MPI

from hpcnet import __version__
from hpcnet.anneal.chain import network_fingerprint, run_chain
from hpcnet.anneal.records import PATH_FIELDS
from hpcnet.anneal.settings import METHODS, AnnealSettings
from hpcnet.ensemble import layout
from hpcnet.ensemble.counter import SharedCounters
from hpcnet.ensemble.journal import JournalWriter, journal_files, scan
from hpcnet.ensemble.tasks import Task, largest_first, task_table
from hpcnet.errors import HpcnetError
from hpcnet.generators import KINDS, generate
from hpcnet.mechanics.bond_statistics import bond_statistics
from hpcnet.mechanics.elastic import poisson_ratio
from hpcnet.network import Network
from hpcnet.tools.atomic import part_path, write_text
from hpcnet.tools.lock import OutputLock
from hpcnet.tools.mpi import raise_together, root_decides, together

log = logging.getLogger("hpcnet.ensemble.runner")

NEXT, FINISHED, STOP, RANKS_DONE = range(4)  # shared counter slots
EXIT_INTERRUPTED = 75  # EX_TEMPFAIL: stopped by a signal, resumable


@dataclass
class EnsembleSettings:
    """Everything that determines an ensemble's results (saved with them).

    Each task runs ``anneal`` with its own target and method (``anneal.target``
    and ``anneal.method`` are unused). ``network_file`` (from :meth:`for_network`)
    names the network file every task anneals, instead of generated networks:
    ``{"path", "fingerprint", "params"}``.
    """

    kinds: list[str]
    sizes: list[int]
    seeds: list[int]
    targets: list[float]
    anneal: AnnealSettings = field(default_factory=AnnealSettings)
    base_seed: int = 0
    distortion: float = 0.2
    packing_fraction: float | None = None
    methods: list[str] = field(default_factory=lambda: ["sa"])
    network_file: dict | None = None

    @classmethod
    def for_network(cls, path: Path, **options) -> EnsembleSettings:
        """Settings that anneal the network in file ``path`` (its provenance as the task's)."""
        path = Path(path).resolve()
        net = Network.load(path)
        source = {"path": str(path), "fingerprint": file_fingerprint(net), "params": net.params}
        return cls(kinds=[net.kind], sizes=[net.size], seeds=[net.seed], network_file=source,
                   **options)

    def tasks(self) -> list[Task]:
        fingerprint = self.network_file["fingerprint"] if self.network_file else None
        return task_table(self.kinds, self.sizes, self.seeds, self.targets, self.methods,
                          fingerprint)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str = "settings") -> EnsembleSettings:
        """Settings from :meth:`to_json`'s text, unknown keys ignored; HpcnetError naming
        ``where`` if it holds none."""
        try:
            known = {f.name for f in dataclasses.fields(cls)}
            data = {k: v for k, v in json.loads(text).items() if k in known}
            data["anneal"] = AnnealSettings.from_json(json.dumps(data["anneal"]))
            # Runs of layout version 1 ran one method, the anneal settings' own.
            data.setdefault("methods", [data["anneal"].method])
            return cls(**data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise HpcnetError(f"{where}: not the settings of an hpcnet run ({exc})") from None

    def differences(self, other: EnsembleSettings) -> dict[str, tuple]:
        """``{field: (mine, other's)}`` where they differ (``anneal.lk`` for nested fields)."""
        flat = [_flatten(asdict(s)) for s in (self, other)]
        return {k: (flat[0].get(k), flat[1].get(k)) for k in sorted(flat[0].keys() | flat[1])
                if flat[0].get(k) != flat[1].get(k)}

    def network(self, task: Task) -> Network:
        """The task's initial network, deterministic from the settings."""
        if self.network_file is not None:
            return read_network_file(self.network_file)
        options = {"distortion": self.distortion} if task.kind == "tri" else {}
        if task.kind == "packing" and self.packing_fraction is not None:
            options["packing_fraction"] = self.packing_fraction
        return generate(task.kind, task.size, task.seed, **options)

    def kind_names(self) -> list[str]:
        """Kind code -> name in the file: the generator kinds, then a network file's own."""
        return list(KINDS) + [k for k in self.kinds if k not in KINDS]


def file_fingerprint(net: Network) -> str:
    """SHA-1 of everything that determines a network's response: the chain's
    fingerprint (positions, bonds, stiffnesses) and the boundary sets."""
    digest = hashlib.sha1(network_fingerprint(net).encode())
    for side in sorted(net.boundary):
        digest.update(side.encode() + np.ascontiguousarray(net.boundary[side], np.int64).tobytes())
    return digest.hexdigest()


def read_network_file(source: dict) -> Network:
    """The network of ``EnsembleSettings.network_file``, checked against its fingerprint."""
    net = Network.load(source["path"])
    fingerprint = file_fingerprint(net)
    if fingerprint != source["fingerprint"]:
        raise HpcnetError(f"{source['path']} changed since the run started (fingerprint "
                          f"{fingerprint[:12]}, the run's {source['fingerprint'][:12]})")
    return net


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        out.update(_flatten(value, f"{prefix}{key}.") if isinstance(value, dict)
                   else {prefix + key: value})
    return out


@dataclass
class Outcome:
    """How a run ended: counts of tasks by status, and whether a signal stopped it."""

    total: int
    done: int
    failed: int
    interrupted: bool
    first_failure: str = ""  # "<task>: <message>" of the first failed task
    wall_seconds: float = 0.0  # this run, start to end
    io_seconds: float = 0.0  # journal appends and the HDF5 merge (the largest over ranks)

    @property
    def complete(self) -> bool:
        return self.done + self.failed == self.total


def journal_dir(output: Path) -> Path:
    return Path(str(output) + ".journal")


def stored_settings(output: Path) -> EnsembleSettings | None:
    """The settings an existing run was started with (journal first, then the file)."""
    jdir = journal_dir(output)
    if (jdir / "settings.json").is_file():
        path = jdir / "settings.json"
        return EnsembleSettings.from_json(path.read_text(errors="replace"), str(path))
    if output.is_file():
        import h5py

        try:
            with h5py.File(output, "r") as fh:
                text = fh.attrs["settings"]
        except (OSError, KeyError) as exc:
            raise HpcnetError(f"{output}: not an hpcnet ensemble file ({exc})") from None
        return EnsembleSettings.from_json(text, f"{output}: attribute 'settings'")
    return None


# --------------------------------------------------------------------------- planning
@dataclass
class Plan:
    """Rank 0's decision, broadcast to all: what is left to do."""

    attempt: int
    todo: list[Task]
    checkpoints: dict[int, dict]
    already_done: int
    already_failed: int = 0
    first_failure: str = ""


def _plan(settings: EnsembleSettings, output: Path, force: bool, lock: OutputLock) -> Plan:
    """Rank 0: lock the output, check it against the settings, list the remaining tasks."""
    lock.acquire()
    try:
        return _plan_locked(settings, output, force)
    except OSError as exc:
        raise HpcnetError(f"{output}: {exc}") from None
    except KeyError as exc:  # a finished run's file without a column
        raise HpcnetError(f"{output}: not a complete hpcnet ensemble file ({exc}); pass "
                          f"--force to overwrite it") from None


def _plan_locked(settings: EnsembleSettings, output: Path, force: bool) -> Plan:
    jdir = journal_dir(output)
    if force:
        if jdir.is_dir():
            shutil.rmtree(jdir)
        else:
            jdir.unlink(missing_ok=True)
        output.unlink(missing_ok=True)
    if jdir.exists() and not jdir.is_dir():
        raise HpcnetError(f"{jdir} is not a journal directory; remove it or pass --force")
    try:
        previous = stored_settings(output)
    except HpcnetError as exc:
        raise HpcnetError(f"{exc}; pass --force to overwrite it") from None
    if previous is not None and previous.to_json() != settings.to_json():
        changed = "; ".join(f"{name}: {old} there, {new} here" for name, (old, new)
                            in previous.differences(settings).items())
        raise HpcnetError(
            f"{output} holds a run with different settings ({changed}); resume it with the "
            f"same options (or just --resume), or pass --force to start over")
    tasks = settings.tasks()
    if previous is not None and not jdir.is_dir():  # a finished run: nothing to do
        import h5py

        with h5py.File(output, "r") as fh:
            messages = fh["tasks/message"][()]
            failed = np.flatnonzero(fh["tasks/status"][()] == layout.FAILED)
            first = (f"{tasks[failed[0]].label()}: {messages[failed[0]].decode()}"
                     if len(failed) else "")
            return Plan(0, [], {}, int(fh.attrs["n_done"]), len(failed), first_failure=first)
    if output.exists() and not jdir.is_dir():
        raise HpcnetError(f"{output} exists and is not an hpcnet ensemble; pass --force to "
                          f"overwrite it")
    if settings.network_file is not None:
        read_network_file(settings.network_file)  # the file must be there and unchanged
    jdir.mkdir(parents=True, exist_ok=True)
    settings_file = jdir / "settings.json"
    if not settings_file.exists():
        write_text(settings_file, settings.to_json())
    files = journal_files(jdir)
    attempts = [int(path.name.split("-")[0].removeprefix("attempt")) for path in files]
    finished, checkpoints = scan(files)
    todo = largest_first([t for t in tasks if t.index not in finished])
    return Plan(max(attempts, default=0) + 1, todo, checkpoints, len(finished))


# --------------------------------------------------------------------------- records
def _done_record(task: Task, net, result) -> dict:
    """A finished chain as a flat dict of arrays (one journal record, one HDF5 row).

    The material check of each stored state (a_min, boundary ν) comes from a
    fresh solve of its mask, σ² of every path snapshot (the first is the initial
    network, the last the answer) from one more.
    """
    n0 = int(result.initial_mask.sum())
    path = result.path
    sigma2 = np.array([bond_statistics(net.pruned(mask)).sigma2 for mask in path["masks"]])
    record = {
        "type": "done", "task": task.index, "status": layout.DONE,
        "positions": net.positions, "bonds": net.bonds, "stiffness": net.stiffness,
        "boundary": net.boundary_flags(),
        "n_nodes": net.n_nodes, "n_bonds": net.n_bonds,
        "removed_fraction": 1.0 - result.final_mask.sum() / n0,
        "dz": 2.0 * (int(result.final_mask.sum()) - n0) / net.n_nodes,
        "wall_time": result.wall_time, "n_proposals": result.n_proposals,
        "acceptance": result.n_accepted / max(result.n_proposals, 1),
        "energy_best": result.best_energy,
        "n_steps": len(result.trajectory["T"]),
        "sigma2_initial": sigma2[0], "sigma2_final": sigma2[-1],
        "n_path": len(sigma2), "path_sigma2": sigma2,
        "path_masks": layout.pack_masks(path["masks"]),
        **{f"path_{name}": path[name] for name in PATH_FIELDS},
    }
    solved = {}  # one solve per distinct mask (a finished chain's final state is its best)
    for state in layout.MASKS:
        mask = getattr(result, f"{state}_mask")
        record[f"mask_{state}"] = mask.astype(np.uint8)
        for q in ("nu", "nu_x", "nu_y"):
            record[f"{q}_{state}"] = getattr(result, f"{state}_{q}")
        key = mask.tobytes()
        if key not in solved:
            solved[key] = poisson_ratio(net.pruned(mask))
        for q in ("a_min", "nu_boundary", "nu_boundary_x", "nu_boundary_y"):
            record[f"{q}_{state}"] = getattr(solved[key], q)
    for name in layout.TRAJECTORY:
        record[f"traj_{name}"] = np.asarray(result.trajectory[name], dtype=np.float64)
    return record


def _failed_record(task: Task, message: str) -> dict:
    return {"type": "failed", "task": task.index, "status": layout.FAILED,
            "message": message[: layout.MESSAGE_LEN]}


class _StopRequested(Exception):
    """Raised from the chain's step callback to stop at a safe point."""


# --------------------------------------------------------------------------- running
class _Signals:
    """SIGTERM/SIGINT set a flag; the chains stop at their next temperature step."""

    def __init__(self):
        self.received: int | None = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = signum

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class _Progress:
    """Rank 0's log line: tasks done / total, rate, estimated time left."""

    def __init__(self, counters: SharedCounters, total: int, already: int, every: float = 5.0):
        self.counters, self.total, self.already, self.every = counters, total, already, every
        self.start = self.last = time.monotonic()

    def maybe_report(self, task: Task | None = None, info=None) -> None:
        """Log progress if ``every`` seconds have passed; ``info`` is rank 0's chain step."""
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        done = self.counters.read(FINISHED)
        rate = done / max(now - self.start, 1e-9)
        left = self.total - self.already - done
        eta = f", about {left / rate / 60:.1f} min left" if rate > 0 and left > 0 else ""
        chain = ""
        if info is not None:
            chain = (f" | rank 0: {task.label()}: step {info.step}/{info.n_steps} "
                     f"T={info.temperature:.2e} nu={info.nu:+.3f} best={info.best_nu:+.3f} "
                     f"accepted {info.acceptance:.0%}")
        log.info("tasks %d/%d done, %.2f tasks/min%s%s", self.already + done, self.total,
                 60 * rate, eta, chain)


def run_ensemble(settings: EnsembleSettings, output: Path, comm, *, force: bool = False,
                 checkpoint_seconds: float = 60.0) -> Outcome:
    """Run (or resume) the ensemble into ``output``. Collective on ``comm`` (mpi4py).

    Tasks already finished in ``output``'s journals are skipped; interrupted
    chains resume from their last checkpoint. SIGTERM/SIGINT stop every rank at
    its next safe point; the outcome then says ``interrupted``.
    """
    # PETSc's start is collective on COMM_WORLD: do it on every rank at the same
    # point, before the ranks work independently (see also petsc_env.finalize).
    from petsc4py import PETSc  # noqa: F401

    output = Path(output)
    start = time.perf_counter()
    with _Signals() as signals, OutputLock(output) as lock:  # held by rank 0, from the plan on
        outcome = _run(settings, output, comm, signals, force, checkpoint_seconds, lock)
    outcome.wall_seconds = time.perf_counter() - start
    return outcome


def _run(settings, output, comm, signals, force, checkpoint_seconds, lock) -> Outcome:
    plan = root_decides(comm, lambda: _plan(settings, output, force, lock))
    total = len(settings.tasks())
    jdir = journal_dir(output)
    if not jdir.is_dir():  # finished earlier: the file is complete
        return Outcome(total, plan.already_done, plan.already_failed, False,
                       first_failure=plan.first_failure)
    log.info("%d tasks, %d already finished, %d to run on %d rank(s)", total,
             plan.already_done, len(plan.todo), comm.size)
    counters = SharedCounters(comm, 4)
    progress = _Progress(counters, total, plan.already_done) if comm.rank == 0 else None
    name = f"attempt{plan.attempt:04d}-rank{comm.rank:05d}.jrnl"
    with together(comm):
        journal = JournalWriter(jdir / name)
    failure = None  # an unexpected error of this rank: every rank stops, then it is raised
    with journal:

        def stopping() -> bool:
            if signals.received is not None and not counters.read(STOP):
                counters.add(STOP)
            return bool(counters.read(STOP))

        while not stopping():
            k = counters.add(NEXT)
            if k >= len(plan.todo):
                break
            task = plan.todo[k]
            try:
                _run_task(task, settings, plan.checkpoints.get(task.index), journal,
                          stopping, progress, checkpoint_seconds)
            except _StopRequested:
                break
            except Exception as exc:  # a bug, or PETSc refusing its options: stop everyone
                failure = exc
                counters.add(STOP)
                break
            counters.add(FINISHED)
            if progress:
                progress.maybe_report()
        counters.add(RANKS_DONE)
        while progress and counters.read(RANKS_DONE) < comm.size:
            progress.maybe_report()
            time.sleep(0.2)
        comm.Barrier()
        interrupted = bool(counters.read(STOP))
        counters.free()
        if failure is None and not journal.intact():
            failure = HpcnetError(f"{jdir} was removed while this run wrote to it: the chains "
                                  f"it finished are lost; {output} is left as it was")
    raise_together(comm, failure)
    merge_start = time.perf_counter()
    outcome = merge(settings, output, comm)
    io_seconds = journal.seconds + time.perf_counter() - merge_start
    outcome.io_seconds = comm.allreduce(io_seconds, op=MPI.MAX)
    outcome.interrupted = interrupted
    return outcome


def _run_task(task, settings, checkpoint, journal, stopping, progress, checkpoint_seconds):
    """Run one chain, journaling checkpoints and the result."""
    from hpcnet.anneal.records import ChainState

    try:
        net = settings.network(task)
    except HpcnetError as exc:
        journal.append(_failed_record(task, f"network generation failed: {exc}"))
        return
    last_save = time.monotonic()

    def on_step(info, state):
        nonlocal last_save
        if stopping():
            journal.append({"type": "checkpoint", "task": task.index, **state.to_dict()})
            raise _StopRequested
        if time.monotonic() - last_save > checkpoint_seconds:
            journal.append({"type": "checkpoint", "task": task.index, **state.to_dict()})
            last_save = time.monotonic()
        if progress:
            progress.maybe_report(task, info)

    # A checkpoint journaled before chains recorded their path starts the chain over: its
    # stream is the task's, so it runs the same chain, now with its path.
    resumable = checkpoint is not None and "path/nu" in checkpoint
    state = ChainState.from_dict(checkpoint) if resumable else None
    try:
        chain_settings = dataclasses.replace(settings.anneal, target=task.target,
                                             method=task.method)
        result = run_chain(net, chain_settings, task.rng(settings.base_seed), state=state,
                           on_step=on_step)
        record = _done_record(task, net, result)
    except HpcnetError as exc:
        journal.append(_failed_record(task, str(exc)))
        log.warning("task %d (%s) failed: %s", task.index, task.label(), exc)
        return
    journal.append(record)


# --------------------------------------------------------------------------- merging
def _replace(part: Path, output: Path, finished: int, jdir: Path | None) -> None:
    """Rank 0: rename the merged ``part`` to ``output``, then remove ``jdir`` (if given).

    Journals only grow, so a merge never holds fewer finished tasks than the
    file it replaces; if it does, journals were lost and ``output`` is kept.
    """
    before = _finished_in(output)
    if before > finished:
        raise HpcnetError(f"{output} holds {before} finished tasks, its journals only "
                          f"{finished}: journals were removed during the run; {output} is "
                          f"left as it was (the merge of the journals is in {part})")
    os.replace(part, output)
    if jdir is not None:
        shutil.rmtree(jdir)


def _finished_in(output: Path) -> int:
    """Tasks done or failed in the ensemble file ``output`` (0: none, or unreadable)."""
    import h5py

    try:
        with h5py.File(output, "r") as fh:
            return int(fh.attrs["n_done"]) + int(fh.attrs["n_failed"])
    except (OSError, KeyError, ValueError):
        return 0


def merge(settings: EnsembleSettings, output: Path, comm) -> Outcome:
    """Rebuild ``output`` from the journals with parallel HDF5. Collective on ``comm``."""
    import h5py
    from mpi4py import MPI

    from hpcnet.tools.petsc_env import options_snapshot

    jdir = journal_dir(output)
    tasks = settings.tasks()
    with together(comm):
        files = journal_files(jdir)
        finished, checkpoints = scan(files[comm.rank:: comm.size])
    partial = set(checkpoints)
    done_rows = [r for r in finished.values() if int(r["status"]) == layout.DONE]
    # the largest network, trajectory and path, and whether any spring differs from 1
    local_max = np.array([max([int(r["n_nodes"]) for r in done_rows], default=1),
                          max([int(r["n_bonds"]) for r in done_rows], default=1),
                          max([int(r["n_steps"]) for r in done_rows], default=1),
                          any(np.any(r["stiffness"] != 1) for r in done_rows if "stiffness" in r),
                          max([int(r.get("n_path", 1)) for r in done_rows], default=1)])
    global_max = np.zeros_like(local_max)
    comm.Allreduce(local_max, global_max, op=MPI.MAX)
    statuses = comm.allgather(({i: int(r["status"]) for i, r in finished.items()}, partial,
                               {i: str(r["message"]) for i, r in finished.items()
                                if "message" in r}))
    status = np.full(len(tasks), layout.PENDING, np.int8)
    failures = {}
    for _, part, _ in statuses:
        status[list(part)] = layout.PARTIAL
    for fin, _, messages in statuses:
        for index, value in fin.items():
            status[index] = value
        failures.update(messages)
    done, failed = int(np.sum(status == layout.DONE)), int(np.sum(status == layout.FAILED))
    complete = done + failed == len(tasks)
    attrs = {
        "hpcnet_version": __version__, "settings": settings.to_json(),
        "petsc_options": options_snapshot(), "kinds": settings.kind_names(),
        "methods": list(METHODS), "complete": complete,
        "n_tasks": len(tasks), "n_done": done, "n_failed": failed,
        "status_names": {str(k): v for k, v in layout.STATUS_NAMES.items()},
    }
    part = part_path(output)
    root_decides(comm, lambda: part.unlink(missing_ok=True))
    kwargs = {"driver": "mpio", "comm": comm} if comm.size > 1 else {}
    with together(comm), h5py.File(part, "w", **kwargs) as fh:
        *shape, springs, max_path = map(int, global_max)
        layout.create(fh, len(tasks), *shape, attrs=attrs, stiffness=bool(springs),
                      max_path=max_path)
        if comm.rank == 0:
            t = fh["tasks"]
            kinds = settings.kind_names()
            t["kind"][:] = [kinds.index(task.kind) for task in tasks]
            t["method"][:] = [METHODS.index(task.method) for task in tasks]
            t["size"][:] = [task.size for task in tasks]
            t["seed"][:] = [task.seed for task in tasks]
            t["target"][:] = [task.target for task in tasks]
            t["status"][:] = status
        for index, record in finished.items():
            if int(record["status"]) == layout.DONE:
                layout.write_row(fh, index, record)
            else:
                fh["tasks/message"][index] = str(record["message"]).encode()
    root_decides(comm, lambda: _replace(part, output, done + failed, jdir if complete else None))
    first = min(failures, default=None)
    return Outcome(len(tasks), done, failed, False,
                   first_failure=f"{tasks[first].label()}: {failures[first]}" if failures else "")
