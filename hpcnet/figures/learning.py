"""Paper Fig. 5b-c: training curves of the CNN surrogates and the test-split parity plot.

Both read training run directories (``hpcnet train`` output, through
:func:`hpcnet.analysis.training_runs.load_run`): Fig. 5b the per-epoch metrics (metrics.json) and
training times (test.json, else the sum of the epochs' seconds), Fig. 5c the
best model's test predictions (test_predictions.csv) and its test RMSE and R²
(test.json).
"""

from __future__ import annotations

from matplotlib.figure import Figure

from hpcnet.analysis.training_runs import TrainingRun, require_predictions
from hpcnet.errors import HpcnetError
from hpcnet.figures.style import new_figure

#: Figure sizes in inches.
TRAINING_SIZE = (8.0, 3.4)
PARITY_SIZE = (4.8, 4.0)
PARITY_COLORMAP = "viridis"


def training_curves(runs: list[TrainingRun]) -> Figure:
    """Fig. 5b: validation RMSE (log scale; training RMSE dashed) and R² against epoch.

    One colour per run; the legend gives the model, the run's name and its
    training time.
    """
    if not runs:
        raise HpcnetError("no training runs to plot")
    for run in runs:
        if not run.history:
            raise HpcnetError(f"{run.path}: no finished epoch yet (no metrics.json)")
    fig = new_figure(*TRAINING_SIZE)
    ax_rmse, ax_r2 = fig.subplots(1, 2)
    for i, run in enumerate(runs):
        color = f"C{i}"
        epoch = run.column("epoch")
        label = f"{run.label}, {run.train_seconds:.0f} s"
        ax_rmse.plot(epoch, run.column("val_rmse"), "o-", color=color, label=label)
        ax_rmse.plot(epoch, run.column("train_rmse"), "--", color=color)
        ax_r2.plot(epoch, run.column("val_r2"), "o-", color=color, label=label)
    ax_rmse.set_yscale("log")
    ax_rmse.set_title("b  RMSE (validation; training dashed)")
    ax_r2.set_title("b  validation $R^2$")
    ax_rmse.set_ylabel("RMSE of ν")
    ax_r2.set_ylabel(r"$R^2$")
    for ax in (ax_rmse, ax_r2):
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_r2.legend(fontsize="small")
    return fig


def parity(run: TrainingRun) -> Figure:
    """Fig. 5c: predicted against true ν on the test split, coloured by distortion r."""
    pred = require_predictions(run)
    fig = new_figure(*PARITY_SIZE)
    ax = fig.subplots()
    points = ax.scatter(pred.nu, pred.nu_pred, c=pred.distortion, cmap=PARITY_COLORMAP, s=14)
    lo = float(min(pred.nu.min(), pred.nu_pred.min()))
    hi = float(max(pred.nu.max(), pred.nu_pred.max()))
    ax.plot([lo, hi], [lo, hi], "--", color="grey", zorder=0, label="prediction = label")
    fig.colorbar(points, ax=ax, label="distortion r")
    ax.set_xlabel(r"$\nu$ (label)")
    ax.set_ylabel(r"$\nu$ (predicted)")
    ax.set_aspect("equal", adjustable="datalim")
    r2, rmse = float(run.test["test_r2"]), float(run.test["test_rmse"])
    ax.set_title(f"c  {run.label}\n$R^2$ = {r2:.3f}, RMSE = {rmse:.3g} "
                 f"({len(pred.nu)} test networks)", fontsize="medium")
    return fig

