"""``hpcnet train``: a CNN surrogate of ν, on one process or under torchrun/srun (DDP)."""

from __future__ import annotations

from pathlib import Path

import click


class MatrixSizeType(click.ParamType):
    """'native' → None, or a positive side in pixels."""

    name = "native|INT"

    def convert(self, value, param, ctx):
        if value is None or value == "native":
            return None
        try:
            side = int(value)
        except ValueError:
            self.fail(f"'{value}' is neither 'native' nor an integer", param, ctx)
        if side < 1:
            self.fail(f"{side} is not a positive size", param, ctx)
        return side


@click.command("train")
@click.argument("dataset", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", type=click.Choice(("alexnet-matrix", "resnet50-image")), required=True,
              help="AlexNet on the dynamical matrix, or ResNet-50 on the rendered image.")
@click.option("-o", "--output", "run_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Run directory (checkpoints, metrics, test scores).")
@click.option("--epochs", type=click.IntRange(min=1), default=30,
              help="Total epochs; raise it to continue a finished run.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32,
              help="Global batch size, split evenly over the processes.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-4,
              help="AdamW learning rate (halved after 4 epochs without validation gain).")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=1e-4,
              help="AdamW weight decay.")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.5,
              help="AlexNet's dropout probability (ResNet-50 has none).")
@click.option("--matrix-size", type=MatrixSizeType(), default="native",
              help="alexnet-matrix input: 'native' (2N×2N) or a side the matrices are "
                   "resized to (bilinear, antialiased).")
@click.option("--seed", type=click.IntRange(min=0), default=0,
              help="Seed of the initial weights, shuffling and dropout.")
@click.option("--split-seed", type=click.IntRange(min=0), default=0,
              help="Seed of the 6:2:2 train/val/test split (saved in split.json).")
@click.option("--device", type=click.Choice(("auto", "cpu", "cuda")), default="auto",
              help="'auto': this process's GPU when there is one, else the CPU.")
@click.option("--amp/--no-amp", default=True,
              help="Mixed precision on GPUs (bfloat16, or float16 with loss scaling).")
@click.option("--workers", type=click.IntRange(min=0), default=0,
              help="DataLoader worker processes per training process.")
@click.option("--force", is_flag=True, help="Discard an existing run in the directory.")
def command(dataset, model, run_dir, epochs, batch_size, lr, weight_decay, dropout, matrix_size,
            seed, split_seed, device, amp, workers, force):
    """Train a CNN surrogate of nu on DATASET (built by `hpcnet dataset`).

    Rerunning the same command resumes from the last checkpoint. For several
    processes launch with `torchrun --nproc-per-node N -m hpcnet train ...`
    (or srun, with MASTER_ADDR/MASTER_PORT exported): DistributedDataParallel
    over NCCL on GPUs, gloo on CPUs; rank 0 alone writes. The final line gives
    the best model's test RMSE and R².
    """
    from hpcnet.learn.train import TrainSettings, train

    settings = TrainSettings(
        model=model, dataset=str(dataset.resolve()), epochs=epochs, batch_size=batch_size,
        lr=lr, weight_decay=weight_decay, dropout=dropout, matrix_size=matrix_size, seed=seed,
        split_seed=split_seed, device=device, amp=amp, workers=workers)
    result = train(settings, run_dir, force=force)
    from hpcnet.learn.distributed import launch_env

    if launch_env()[0] == 0:
        click.echo(f"{run_dir}: {model}, best epoch {result['best_epoch']}/{result['epochs']}: "
                   f"test RMSE {result['test_rmse']:.4f}, R² {result['test_r2']:.4f} "
                   f"({result['n_test']} samples), training {result['train_seconds']:.0f} s")
