"""Running the CLI and MPI programs from tests, against this checkout's code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def child_env(**extra: str) -> dict[str, str]:
    """Environment for child processes: this checkout first on the path, MPI as root allowed."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
    env.update(extra)
    return env


def run_cli(*args, check: bool = True, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """``python -m hpcnet ARGS`` with output captured; asserts success when ``check``."""
    proc = subprocess.run([sys.executable, "-m", "hpcnet", *map(str, args)], env=child_env(),
                          capture_output=True, text=True, timeout=timeout, **kw)
    if check:
        assert proc.returncode == 0, f"hpcnet {args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def mpirun(n: int, *args, check: bool = True, timeout: float = 300,
           **kw) -> subprocess.CompletedProcess:
    """``mpirun -n N python ARGS`` (ARGS start with '-m module' or a script path)."""
    cmd = ["mpirun", "-n", str(n), "--oversubscribe", sys.executable, *map(str, args)]
    kw.setdefault("cwd", REPO)
    proc = subprocess.run(cmd, env=child_env(), capture_output=True, text=True,
                          timeout=timeout, **kw)
    if check:
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc
