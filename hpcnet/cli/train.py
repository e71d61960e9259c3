"""``hpcnet train``: a CNN surrogate of ν, on one process or under torchrun/srun (DDP)."""

from __future__ import annotations

import click

from hpcnet.cli.options import DIRECTORY, FILE, force_option, settings_options
from hpcnet.learn.run_dir import (
    AUGMENTATIONS,
    DEVICES,
    LABELS,
    MODEL_DEFAULTS,
    MODELS,
    SCHEDULES,
    TrainSettings,
)


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


def _per_model(name: str) -> str:
    values = "; ".join(f"{model} {MODEL_DEFAULTS[model][name]}" for model in MODELS)
    return f"  [default: {values}]"


#: Help of the TrainSettings options.
TRAIN_HELP = {
    "model": "lattice-matrix: the dynamical matrix laid out on the triangular lattice, "
             "read by a small CNN (tri networks; the recipe of docs/learn.md). "
             "alexnet-matrix: AlexNet on the dynamical matrix; resnet50-image: ResNet-50 "
             "on the rendered image (the paper's two).",
    "epochs": "Total epochs; raise it to continue a finished run (not under the "
              "one-cycle schedule, which spans them).",
    "batch_size": "Global batch size, split evenly over the processes." + _per_model(
        "batch_size"),
    "lr": "AdamW learning rate: the starting rate under 'plateau', the peak under "
          "'one-cycle'." + _per_model("lr"),
    "schedule": "'plateau': halve the rate after 4 epochs without validation gain; "
                "'one-cycle': warm up to the peak over 30 % of the steps, then anneal "
                "(cosine) to 1/250000 of it." + _per_model("schedule"),
    "augment": "'reverse-nodes': renumber the nodes of a seeded half of the training "
               "matrices in reverse each epoch (exact: ν does not depend on numbering; on "
               "an even-sided triangular lattice it is the 180° turn)." + _per_model("augment"),
    "weight_decay": "AdamW weight decay.",
    "dropout": "AlexNet's dropout probability (the other models have none).",
    "matrix_size": "alexnet-matrix input: 'native' (2N×2N) or a side the matrices are "
                   "resized to (bilinear, antialiased).  [default: native]",
    "seed": "Seed of the initial weights, shuffling, augmentation and dropout.",
    "split_seed": "Seed of the 6:2:2 train/val/test split (saved in split.json).",
    "device": "'auto': this process's GPU when there is one, else the CPU.",
    "amp": "Mixed precision on GPUs (bfloat16, or float16 with loss scaling).",
    "workers": "DataLoader worker processes per training process.",
    "labels": "Train and validate on 'all' labels or only 'material' ones (a_min at or "
              "above the dataset's floor); the test split keeps all and is scored both ways.",
}
TRAIN_TYPES = {
    "model": click.Choice(MODELS), "device": click.Choice(DEVICES),
    "epochs": click.IntRange(min=1), "batch_size": click.IntRange(min=1),
    "lr": click.FloatRange(min=0, min_open=True), "schedule": click.Choice(SCHEDULES),
    "augment": click.Choice(AUGMENTATIONS), "weight_decay": click.FloatRange(min=0),
    "dropout": click.FloatRange(0, 1, max_open=True), "matrix_size": MatrixSizeType(),
    "seed": click.IntRange(min=0), "split_seed": click.IntRange(min=0),
    "workers": click.IntRange(min=0), "labels": click.Choice(LABELS),
}


@click.command("train")
@click.argument("dataset", type=FILE)
@click.option("-o", "--output", "run_dir", type=DIRECTORY, required=True,
              help="Run directory (checkpoints, metrics, test scores).")
@settings_options(TrainSettings, TRAIN_HELP, TRAIN_TYPES, skip=("dataset",))
@force_option("Discard an existing run in the directory.")
def command(dataset, run_dir, force, **options):
    """Train a CNN surrogate of nu on DATASET (built by `hpcnet dataset`).

    Rerunning the same command resumes from the last checkpoint. For several
    processes launch with `torchrun --nproc-per-node N -m hpcnet train ...`
    (or srun, with MASTER_ADDR/MASTER_PORT exported): DistributedDataParallel
    over NCCL on GPUs, gloo on CPUs; rank 0 alone writes. The final line gives
    the best model's test RMSE and R².
    """
    from hpcnet.learn.train import train

    settings = TrainSettings(dataset=str(dataset.resolve()), **options)
    result = train(settings, run_dir, force=force)
    from hpcnet.learn.distributed import launch_env

    if launch_env()[0] == 0:
        click.echo(f"{run_dir}: {settings.model}, best epoch {result['best_epoch']}/"
                   f"{result['epochs']}: test RMSE {result['test_rmse']:.4f}, R² "
                   f"{result['test_r2']:.4f} ({result['n_test']} samples); material: RMSE "
                   f"{result['test_material_rmse']:.4f}, R² {result['test_material_r2']:.4f} "
                   f"({result['n_test_material']}); training {result['train_seconds']:.0f} s")
