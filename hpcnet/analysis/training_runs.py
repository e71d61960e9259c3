"""Reading a training run directory (``hpcnet train`` output) for figures and the report.

Torch-free and read-only. A run that is still training (or was stopped) reads
too: it has no ``test.json`` and no ``test_predictions.csv`` yet, and its
history holds the epochs finished so far. The files of a run directory are
named in :mod:`hpcnet.learn.run_dir`; this module reads

* ``settings.json``: the model, its settings and the dataset's (required);
* ``split.json``: the train/val/test sample indices (optional);
* ``metrics.json``: one entry per finished epoch (absent before the first);
* ``test.json`` and ``test_predictions.csv``: the best model on the test split.

:func:`split_scores` scores predictions on all labels and on the material ones
(a_min at or above the dataset's floor), whole and by distortion band: what
test.json and ``scripts/learn_compare.py`` report.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpcnet.errors import HpcnetError
from hpcnet.learn.run_dir import (
    LEGACY_PREDICTION_COLUMNS,
    METRICS,
    PREDICTION_COLUMNS,
    PREDICTIONS,
    RUN_FORMAT,
    SETTINGS,
    SPLIT,
    SPLITS,
    TEST,
)
from hpcnet.mechanics.strain import MATERIAL_FLOOR

TEST_KEYS = {"test_rmse", "test_r2"}
#: Distortion bands (LO < r <= HI) of the split scores: bonds cross from r = 0.5 on.
BANDS = ((0.0, 0.45), (0.45, 0.85), (0.85, 1.0))


def regression_scores(pred, nu) -> dict:
    """n, RMSE and R² (paper Methods: 1 − SSE/SST) of predictions ``pred`` of ``nu``."""
    pred, nu = np.asarray(pred, dtype=np.float64), np.asarray(nu, dtype=np.float64)
    if len(nu) == 0:
        return {"n": 0, "rmse": math.nan, "r2": math.nan}
    sse = float(np.sum((pred - nu) ** 2))
    sst = float(np.sum((nu - nu.mean()) ** 2))
    return {"n": len(nu), "rmse": math.sqrt(sse / len(nu)),
            "r2": 1.0 - sse / sst if sst > 0 else math.nan}


def split_scores(pred, nu, distortion, material, bands=BANDS) -> dict:
    """Scores on all labels and on the material ones, whole and per distortion band.

    ``material`` is a boolean array (False where unknown). Returns ``{"all": s,
    "material": s, "bands": [{"lo", "hi", "all": s, "material": s}, ...]}`` with
    ``s`` as from :func:`regression_scores`; bands are left out for samples
    without a distortion (NaN).
    """
    pred, nu, r = (np.asarray(a, dtype=np.float64) for a in (pred, nu, distortion))
    material = np.asarray(material, dtype=bool)

    def both(sel):
        return {"all": regression_scores(pred[sel], nu[sel]),
                "material": regression_scores(pred[sel & material], nu[sel & material])}

    out = both(np.ones(len(nu), dtype=bool))
    out["bands"] = [{"lo": lo, "hi": hi, **both((r > lo) & (r <= hi))} for lo, hi in bands
                    if np.any(np.isfinite(r))]
    return out


@dataclass(frozen=True)
class SplitPredictions:
    """The best model's predictions on the test split, one entry per sample (by index)."""

    index: np.ndarray
    distortion: np.ndarray
    nu: np.ndarray
    nu_pred: np.ndarray
    a_min: np.ndarray  # NaN where not recorded (runs before the material check)


@dataclass(frozen=True)
class TrainingRun:
    """One training run as written to its directory.

    Attributes
    ----------
    path : Path
        The run directory.
    name : str
        The directory's name.
    model : str
        ``lattice-matrix``, ``alexnet-matrix`` or ``resnet50-image``.
    settings : dict
        The training settings (settings.json ``settings``).
    input : dict
        The input spec (``source_side``, ``side``).
    dataset_size : int or None
        Samples in the dataset (its ``count``), if recorded.
    split_counts : dict of str -> int, or None
        Samples in the train, val and test splits (split.json), if written yet.
    history : list of dict
        Per finished epoch: epoch, train_loss, train_rmse, val_rmse, val_r2, lr,
        seconds (all floats).
    test : dict or None
        test.json: test_rmse, test_r2, n_test, best_epoch, train_seconds, ...
    predictions : SplitPredictions or None
        test_predictions.csv.
    settings_file : dict
        settings.json as a whole (dataset settings and launch included).
    """

    path: Path
    name: str
    model: str
    settings: dict
    input: dict
    dataset_size: int | None
    split_counts: dict[str, int] | None
    history: list[dict[str, float]]
    test: dict | None
    predictions: SplitPredictions | None
    settings_file: dict

    @property
    def label(self) -> str:
        """``model (name)``, for legends."""
        return f"{self.model} ({self.name})"

    @property
    def finished(self) -> bool:
        """Whether the run has been scored on its test split."""
        return self.test is not None

    @property
    def train_seconds(self) -> float:
        """Training time: test.json's, else the sum over the finished epochs."""
        if self.test is not None and "train_seconds" in self.test:
            return float(self.test["train_seconds"])
        return float(sum(h["seconds"] for h in self.history))

    @property
    def material_floor(self) -> float:
        """The dataset's material floor on a_min (the default for older datasets)."""
        return float((self.settings_file.get("dataset_settings") or {}).get(
            "material_floor", MATERIAL_FLOOR))

    def test_scores(self) -> dict:
        """:func:`split_scores` of the test predictions (material: a_min >= the floor)."""
        pred = require_predictions(self)
        with np.errstate(invalid="ignore"):
            material = pred.a_min >= self.material_floor
        return split_scores(pred.nu_pred, pred.nu, pred.distortion, material)

    def column(self, key: str) -> np.ndarray:
        """One metric over the finished epochs (e.g. ``val_rmse``)."""
        if self.history and key not in self.history[0]:
            raise HpcnetError(f"{self.path}: metrics have no column {key!r} "
                              f"(they have {', '.join(self.history[0])})")
        return np.array([h[key] for h in self.history], dtype=float)


def load_run(run_dir) -> TrainingRun:
    """Read the run directory ``run_dir`` (finished or still training).

    Raises :class:`HpcnetError` when it is not a run directory or a file in it is
    malformed, naming the file.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise HpcnetError(f"{path}: no such run directory")
    if not (path / SETTINGS).is_file():
        raise HpcnetError(f"{path}: not a training run directory (no {SETTINGS}; "
                          f"'hpcnet train ... -o {path}' writes one)")
    info = _read_json(path / SETTINGS)
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT:
        raise HpcnetError(f"{path / SETTINGS}: not the settings of an hpcnet training "
                          f"run (format {RUN_FORMAT})")
    try:
        settings, spec = dict(info["settings"]), dict(info["input"])
        model = str(settings["model"])
    except (KeyError, TypeError, ValueError):
        raise HpcnetError(f"{path / SETTINGS}: malformed (needs settings.model and "
                          f"input)") from None
    count = (info.get("dataset_settings") or {}).get("count")
    test = _read_json(path / TEST) if (path / TEST).is_file() else None
    if test is not None and not (isinstance(test, dict) and TEST_KEYS <= test.keys()):
        raise HpcnetError(f"{path / TEST}: not a test result (test_rmse, test_r2)")
    return TrainingRun(
        path=path, name=path.resolve().name, model=model, settings=settings, input=spec,
        dataset_size=int(count) if isinstance(count, int) else None,
        split_counts=_split_counts(path / SPLIT),
        history=_history(path / METRICS), test=test,
        predictions=_predictions(path / PREDICTIONS), settings_file=info)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HpcnetError(f"{path}: cannot read JSON ({exc})") from None


def _split_counts(path: Path) -> dict[str, int] | None:
    if not path.is_file():
        return None
    split = _read_json(path)
    try:
        return {k: len(split[k]) for k in SPLITS}
    except (KeyError, TypeError):
        raise HpcnetError(f"{path}: malformed split (needs {', '.join(SPLITS)} lists)") from None


def _history(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    entries = _read_json(path)
    try:
        history = [{k: float(v) for k, v in e.items()} for e in entries]
    except (AttributeError, TypeError, ValueError) as exc:
        raise HpcnetError(f"{path}: malformed metrics ({exc})") from None
    for e in history:
        if not {"epoch", "val_rmse", "seconds"} <= e.keys():
            raise HpcnetError(f"{path}: an epoch entry lacks epoch, val_rmse or seconds")
    return history


def _predictions(path: Path) -> SplitPredictions | None:
    if not path.is_file():
        return None
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = tuple(next(reader, ()))
            rows = [[float(v) for v in row] for row in reader if row]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise HpcnetError(f"{path}: cannot read predictions ({exc})") from None
    if (header not in (PREDICTION_COLUMNS, LEGACY_PREDICTION_COLUMNS)
            or any(len(r) != len(header) for r in rows)):
        raise HpcnetError(f"{path}: expected columns {','.join(PREDICTION_COLUMNS)}")
    table = np.array(rows, dtype=float).reshape(-1, len(header))
    if not np.all(np.isfinite(table[:, :4])) or np.any(table[:, 0] != np.round(table[:, 0])):
        raise HpcnetError(f"{path}: non-finite values or non-integer sample indices")
    a_min = table[:, 4] if len(header) > 4 else np.full(len(table), np.nan)
    return SplitPredictions(index=table[:, 0].astype(np.int64), distortion=table[:, 1],
                           nu=table[:, 2], nu_pred=table[:, 3], a_min=a_min)


def require_predictions(run: TrainingRun) -> SplitPredictions:
    """The test predictions of a finished run, or :class:`HpcnetError` if it has none yet."""
    for name, value in ((PREDICTIONS, run.predictions), (TEST, run.test)):
        if value is None:
            raise HpcnetError(f"{run.path}: no test predictions yet (no {name}): the run "
                              f"has not finished training and testing")
    if len(run.predictions.nu) == 0:
        raise HpcnetError(f"{run.path}: the test split is empty")
    return run.predictions

