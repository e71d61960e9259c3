"""A real one-node Slurm cluster on this machine, started and stopped by the tests.

Debian's slurmctld and slurmd (packages slurmctld, slurmd, slurm-client) run as root in
the foreground (``-D``) as child processes, with a slurm.conf written into a temporary
folder that also holds their state, spool and logs. No munge daemon and no systemd are
needed (``AuthType=auth/none``, ``CredType=cred/none``). Every client command needs the
environment from :attr:`SlurmCluster.env` (``SLURM_CONF`` above all)::

    with SlurmCluster() as cluster:
        job = cluster.sbatch("-N", "1", "-n", "2", "jobs/anneal.sbatch",
                             export={"ANNEAL_SEEDS": "0"})
        info = cluster.wait(job)          # scontrol's fields once the job has ended
        assert info["JobState"] == "COMPLETED", cluster.job_output(info)

On leaving, pending and running jobs are cancelled and both daemons (and any job step
daemon they left behind) are stopped by PID; the folder is removed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.helpers import child_env

DAEMONS = ("slurmctld", "slurmd")
CLIENTS = ("sbatch", "scontrol", "sinfo", "squeue", "scancel", "srun")
# States after which a job runs no more (a requeued job passes through PENDING instead).
FINAL_STATES = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
# How long a requeued job waits before it may start again (Slurm's default is 120 s).
CRED_EXPIRE_S = 10

SLURM_CONF = """\
ClusterName=hpcnettest
SlurmctldHost={node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
AuthInfo=cred_expire={cred_expire}
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
DependencyParameters=kill_invalid_depend
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
{node_line} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


class SlurmError(RuntimeError):
    """The test cluster could not start, or a client command failed."""


def _free_ports(count: int) -> list[int]:
    """Distinct TCP ports free right now (held open together so that they differ)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the test process dies without cleaning up."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _client_env(conf: Path) -> dict[str, str]:
    """The tests' environment without any Slurm setting inherited from an outer job."""
    env = {key: value for key, value in child_env().items()
           if not key.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_", "SQUEUE_",
                                  "SCANCEL_", "SINFO_"))}
    env["SLURM_CONF"] = str(conf)
    return env


def parse_job(text: str) -> dict[str, str]:
    """Fields of ``scontrol show job -o`` (one line of Key=Value words) as a dict."""
    fields: dict[str, str] = {}
    key = None
    for word in text.split():
        name, sep, value = word.partition("=")
        if sep and name.isidentifier():
            key = name
            fields[key] = value
        elif key is not None:  # a value with spaces, such as a command's arguments
            fields[key] += " " + word
    return fields


class SlurmCluster:
    """One node (this machine as ``slurmd -C`` sees it), one default partition ``debug``.

    Parameters
    ----------
    root
        Folder for slurm.conf, state, spool and logs; a new temporary one by default
        (kept short: Slurm puts Unix sockets in the spool folder).
    """

    def __init__(self, root: Path | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="hpcnet-slurm-")) if root is None else root
        self.conf = self.root / "slurm.conf"
        self.env = _client_env(self.conf)
        self.node = ""
        self._daemons: dict[str, subprocess.Popen] = {}

    # -- life cycle ------------------------------------------------------------------

    def __enter__(self) -> SlurmCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 30) -> None:
        """Write slurm.conf, start slurmctld and slurmd, wait until the node is idle."""
        if os.geteuid() != 0:
            raise SlurmError("the Slurm test cluster runs its daemons as root")
        missing = [name for name in DAEMONS + CLIENTS if shutil.which(name) is None]
        if missing:
            raise SlurmError(f"missing Slurm programs {missing}: install the Debian packages "
                             "slurmctld slurmd slurm-client (`make system-deps` as root)")
        probe = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30)
        node_line = (probe.stdout.splitlines() or [""])[0]
        if not node_line.startswith("NodeName="):
            raise SlurmError(f"`slurmd -C` gave no node line:\n{probe.stdout}{probe.stderr}")
        self.node = node_line.split()[0].removeprefix("NodeName=")
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        ctld_port, slurmd_port = _free_ports(2)
        self.conf.write_text(SLURM_CONF.format(
            node=self.node, node_line=node_line, root=self.root, cred_expire=CRED_EXPIRE_S,
            ctld_port=ctld_port, slurmd_port=slurmd_port))
        for name, extra in (("slurmctld", []), ("slurmd", ["-N", self.node])):
            with open(self.root / "log" / f"{name}.out", "wb") as out:
                self._daemons[name] = subprocess.Popen(
                    [name, "-D", *extra], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                    preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            for name, proc in self._daemons.items():
                if proc.poll() is not None:
                    raise SlurmError(f"{name} exited with {proc.returncode}\n{self.logs()}")
            state = self.run("sinfo", "-h", "-o", "%T", "-n", self.node, check=False)
            if state.stdout.strip() == "idle":
                return
            if time.monotonic() > deadline:
                raise SlurmError(f"node {self.node} not idle after {timeout} s "
                                 f"(sinfo: {state.stdout.strip()!r} {state.stderr.strip()!r})"
                                 f"\n{self.logs()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Cancel every job, stop the daemons and leftover step daemons by PID, clean up."""
        if self._daemons.get("slurmctld") and self._daemons["slurmctld"].poll() is None:
            jobs = self.run("squeue", "-h", "-o", "%i", check=False).stdout.split()
            if jobs:
                self.run("scancel", *jobs, check=False)
                deadline = time.monotonic() + 15
                while (self.run("squeue", "-h", "-o", "%i", check=False).stdout.split()
                       and time.monotonic() < deadline):
                    time.sleep(0.2)
        for name in reversed(DAEMONS):
            proc = self._daemons.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in self._step_daemons():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _step_daemons(self) -> list[int]:
        """PIDs of slurmstepd processes started by this cluster's slurmd (none once idle)."""
        mine = f"SLURM_CONF={self.conf}".encode()
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if (b"slurmstepd" in (proc / "cmdline").read_bytes()
                        and mine in (proc / "environ").read_bytes().split(b"\0")):
                    pids.append(int(proc.name))
            except OSError:
                continue
        return pids

    # -- client commands -------------------------------------------------------------

    def run(self, *args, check: bool = True, timeout: float = 30,
            **kw) -> subprocess.CompletedProcess:
        """A Slurm client command (or any program) with this cluster's environment."""
        kw.setdefault("env", self.env)
        proc = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                              timeout=timeout, **kw)
        if check and proc.returncode != 0:
            raise SlurmError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}{proc.stderr}")
        return proc

    def sbatch(self, *args, export: dict[str, str] | None = None, **kw) -> int:
        """Submit with ``sbatch --parsable ARGS``; ``export`` adds environment variables."""
        env = dict(self.env, **(export or {}))
        out = self.run("sbatch", "--parsable", *args, env=env, **kw).stdout
        return int(out.strip().split(";")[0])

    def job(self, job_id: int) -> dict[str, str]:
        """The job's fields from ``scontrol show job`` (kept 300 s after it ends)."""
        return parse_job(self.run("scontrol", "-o", "show", "job", job_id).stdout)

    def wait(self, job_id: int, timeout: float = 120) -> dict[str, str]:
        """Poll until the job is in a final state; its fields then."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.job(job_id)
            if info["JobState"] in FINAL_STATES:
                return info
            if time.monotonic() > deadline:
                raise SlurmError(f"job {job_id} still {info['JobState']} after {timeout} s\n"
                                 f"{self.job_output(info)}\n{self.logs()}")
            time.sleep(0.2)

    @staticmethod
    def job_output(info: dict[str, str]) -> str:
        """The job's output file (StdOut), for assertion messages."""
        path = Path(info.get("StdOut", ""))
        text = path.read_text(errors="replace") if path.is_file() else "(no output file)"
        return f"--- job {info.get('JobId')} {info.get('JobState')} output {path}:\n{text}"

    def logs(self, lines: int = 30) -> str:
        """The last lines of both daemons' logs, for error messages."""
        parts = []
        for name in DAEMONS:
            for path in (self.root / "log" / f"{name}.log", self.root / "log" / f"{name}.out"):
                if path.is_file():
                    tail = path.read_text(errors="replace").splitlines()[-lines:]
                    parts.append(f"--- {path}:\n" + "\n".join(tail))
        return "\n".join(parts)
