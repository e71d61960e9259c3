"""One optimisation step of a surrogate, run by each process of tests/test_learn_train.py."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from hpcnet.learn import distributed as du
from hpcnet.learn.dataset import LearnDataset
from hpcnet.learn.models import Surrogate, input_spec
from hpcnet.learn.train import SampleSet, make_train_loader, train_one_epoch


def sgd_epoch(rank: int, world_size: int, dataset: str, port: int, out: str,
              model_name: str = "alexnet-matrix") -> None:
    """One epoch of three global batches of 10 with SGD; rank 0 saves the loss and weights.

    The lattice model also renumbers nodes (seed 0) and steps a one-cycle schedule.
    """
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    env = du.setup("cpu")
    try:
        with LearnDataset(dataset) as ds:
            indices, labels = ds.usable(), ds.nu.copy()
            spec = input_spec(model_name, ds.matrix_size, None)
        torch.manual_seed(0)
        core = Surrogate(spec, dropout=0.0, target_mean=float(np.mean(labels)),
                         target_std=float(np.std(labels)))
        samples = SampleSet(dataset, indices, labels, False)
        lattice = spec.on_lattice
        if lattice:
            core.fit_input_scale(torch.stack([samples[k][0] for k in range(8)]))
        model = DistributedDataParallel(core) if env.distributed else core
        loader, sampler = make_train_loader(samples, 10, env, seed=0)
        sampler.set_epoch(1)
        assert len(indices) == 30 and len(loader) == 3
        optimizer = torch.optim.SGD(core.parameters(), lr=0.05)
        scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.05, total_steps=3)
                     if lattice else None)
        scaler = torch.amp.GradScaler("cpu", enabled=False)
        loss = train_one_epoch(model, core, loader, optimizer, scaler, env, epoch=1,
                               step_scheduler=scheduler, augment_seed=0 if lattice else None)
        if env.is_main:
            torch.save({"loss": loss, "state": core.state_dict()}, out)
    finally:
        du.cleanup(env)
