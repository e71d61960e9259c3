"""The training run directory: its files, its format tag, and the settings it stores.

Torch-free, so that the readers (:mod:`hpcnet.analysis.training_runs`, the
figures, the report) and the ``hpcnet train`` options need no torch.
:mod:`hpcnet.learn.train` writes the directory; a run directory holds::

    settings.json          the resolved settings, input spec, dataset settings, launch
    split.json             split seed and the train/val/test sample indices
    checkpoint.pt          the last epoch's full state (resume point)
    best.pt                the model of the best validation RMSE (what predict loads)
    metrics.json, .csv     per epoch: train loss, validation RMSE and R², lr, time
    test.json              the best model's test RMSE and R² (all labels, material ones,
                           by distortion band), training time
    test_predictions.csv   sample index, distortion, ν, predicted ν, a_min on the test split
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

#: The format tag of settings.json and of the checkpoints.
RUN_FORMAT = "hpcnet-run-1"
SETTINGS = "settings.json"
SPLIT = "split.json"
CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
METRICS = "metrics.json"
METRICS_CSV = "metrics.csv"
TEST = "test.json"
PREDICTIONS = "test_predictions.csv"
#: Every file a run writes (``--force`` removes them).
ARTEFACTS = (SETTINGS, SPLIT, CHECKPOINT, BEST, METRICS, METRICS_CSV, TEST, PREDICTIONS)
#: The splits of split.json and their shares of the usable samples.
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
#: Columns of test_predictions.csv.
PREDICTION_COLUMNS = ("index", "distortion", "nu", "nu_pred", "a_min")
#: Columns of runs written before the material check (still read).
LEGACY_PREDICTION_COLUMNS = PREDICTION_COLUMNS[:4]
#: Which labels a run trains and validates on (``--labels``); the test split keeps all.
LABELS = ("all", "material")
#: The surrogates (:mod:`hpcnet.learn.models`) and where they may run.
MODELS = ("alexnet-matrix", "resnet50-image")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainSettings:
    """One training run. ``epochs``, ``device``, ``amp`` and ``workers`` may change on resume."""

    model: str
    dataset: str
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    dropout: float = 0.5
    matrix_size: int | None = None
    seed: int = 0
    split_seed: int = 0
    device: str = "auto"
    amp: bool = True
    workers: int = 0
    labels: str = "all"

    RESUMABLE_CHANGES = ("epochs", "device", "amp", "workers")

    def as_dict(self) -> dict:
        return asdict(self)

    def differences(self, stored: dict) -> list[str]:
        """Settings that differ from ``stored`` and forbid resuming."""
        return [f"{f.name}: {stored.get(f.name, f.default)!r} -> {getattr(self, f.name)!r}"
                for f in fields(self)
                if f.name not in self.RESUMABLE_CHANGES
                and stored.get(f.name, f.default) != getattr(self, f.name)]
