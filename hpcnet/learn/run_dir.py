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

from hpcnet.errors import HpcnetError

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
MODELS = ("lattice-matrix", "alexnet-matrix", "resnet50-image")
DEVICES = ("auto", "cpu", "cuda")
#: Learning-rate schedules: halve on a validation plateau, or one cycle over all epochs.
SCHEDULES = ("plateau", "one-cycle")
#: Input augmentations (:mod:`hpcnet.learn.augment`).
AUGMENTATIONS = ("none", "reverse-nodes")
#: The paper's training set-up, which its two torchvision models keep.
PAPER_SETUP = {"batch_size": 32, "lr": 1e-4, "schedule": "plateau", "augment": "none"}
#: Each model's defaults of the settings left unset (None); lattice-matrix: the
#: recipe of docs/learn.md.
MODEL_DEFAULTS = {
    "lattice-matrix": {"batch_size": 64, "lr": 2e-3, "schedule": "one-cycle",
                       "augment": "reverse-nodes"},
    "alexnet-matrix": PAPER_SETUP,
    "resnet50-image": PAPER_SETUP,
}
#: What runs written before these settings existed used.
LEGACY_SETTINGS = {"schedule": "plateau", "augment": "none"}


@dataclass(frozen=True)
class TrainSettings:
    """One training run. ``epochs``, ``device``, ``amp`` and ``workers`` may change on resume
    (``epochs`` not under the one-cycle schedule, which spreads over them).

    ``batch_size``, ``lr``, ``schedule`` and ``augment`` left None take the
    model's :data:`MODEL_DEFAULTS`.
    """

    model: str
    dataset: str
    epochs: int = 30
    batch_size: int | None = None
    lr: float | None = None
    schedule: str | None = None
    augment: str | None = None
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

    def __post_init__(self):
        if self.model not in MODEL_DEFAULTS:
            raise HpcnetError(f"unknown model '{self.model}' (choose from {', '.join(MODELS)})")
        for name, value in MODEL_DEFAULTS[self.model].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def as_dict(self) -> dict:
        return asdict(self)

    def differences(self, stored: dict) -> list[str]:
        """Settings that differ from ``stored`` and forbid resuming."""
        resumable = set(self.RESUMABLE_CHANGES) - ({"epochs"} if self.schedule == "one-cycle"
                                                    else set())
        diff = []
        for f in fields(self):
            before = stored.get(f.name, LEGACY_SETTINGS.get(f.name, f.default))
            if f.name not in resumable and before != getattr(self, f.name):
                diff.append(f"{f.name}: {before!r} -> {getattr(self, f.name)!r}"
                            + (" (the one-cycle schedule spans the epochs)"
                               if f.name == "epochs" else ""))
        return diff
