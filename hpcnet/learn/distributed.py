"""The distributed set-up of training, read from the launcher's environment in one place.

``torchrun`` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT;
``srun`` sets SLURM_PROCID, SLURM_STEP_NUM_TASKS and SLURM_LOCALID, and OpenMPI's
``mpirun`` OMPI_COMM_WORLD_RANK, _SIZE and _LOCAL_RANK; under these two the job
script exports MASTER_ADDR and MASTER_PORT. With one process nothing is
initialised and every helper here does nothing, so the same code trains on a
laptop and on many GPUs. Backend: NCCL on GPUs, gloo on CPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hpcnet.errors import HpcnetError
from hpcnet.learn.run_dir import DEVICES


@dataclass(frozen=True)
class DistEnv:
    """This process's place in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launch_env(environ=None) -> tuple[int, int, int]:
    """(rank, world size, local rank) from the launcher's variables; (0, 1, 0) alone.

    torchrun's variables win (also under ``srun torchrun``), then an srun step's,
    then mpirun's.
    """
    env = os.environ if environ is None else environ
    for rank, size, local in (("RANK", "WORLD_SIZE", "LOCAL_RANK"),
                              ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID"),
                              ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                               "OMPI_COMM_WORLD_LOCAL_RANK")):
        if rank in env and size in env:
            return int(env[rank]), int(env[size]), int(env.get(local, 0))
    return 0, 1, 0


def pick_device(choice: str, local_rank: int) -> torch.device:
    """'auto': this process's GPU if there is one, else the CPU."""
    if choice not in DEVICES:
        raise HpcnetError(f"unknown device '{choice}' (choose from {', '.join(DEVICES)})")
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise HpcnetError("--device cuda: no CUDA device is visible to this process")
    index = local_rank % torch.cuda.device_count()
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def setup(device: str = "auto") -> DistEnv:
    """Join the process group when launched as several processes; pick the device."""
    rank, world_size, local_rank = launch_env()
    dev = pick_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
        if missing:
            raise HpcnetError(f"{world_size} processes but {' and '.join(missing)} unset: "
                              f"launch with torchrun, or export them (e.g. the first node's "
                              f"address and a free port) in the job script")
        os.environ.setdefault("RANK", str(rank))
        os.environ.setdefault("WORLD_SIZE", str(world_size))
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo",
                                rank=rank, world_size=world_size)
    return DistEnv(rank, world_size, local_rank, dev)


def cleanup(env: DistEnv) -> None:
    if env.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """Sum of ``values`` over all processes (returned; the input is not modified)."""
    if not env.distributed:
        return values.clone()
    out = values.to(env.device).clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.to(values.device)


def gather_objects(obj, env: DistEnv) -> list:
    """Every process's ``obj``, in rank order (collective)."""
    if not env.distributed:
        return [obj]
    out = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, env: DistEnv):
    """Rank 0's ``obj`` on every process (collective)."""
    if not env.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()
