"""Score trained surrogates on one test split, whole and by distortion range (paper Fig. 5b-c).

Every run is scored on the same samples: the test split saved by ``--split-from``
(default: the first run) of ``--dataset``, which must hold the inputs every run
reads (matrices always; images for the image model). RMSE and R² as in the paper's
Methods, also within distortion ranges, since R² depends on the spread of ν.
Usage: python scripts/learn_compare.py --dataset ds.h5 runs/A [runs/B ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from hpcnet.learn.dataset import LearnDataset
from hpcnet.learn.predict import Predictor
from hpcnet.learn.train import regression_metrics, regression_sums


def scores(pred: np.ndarray, nu: np.ndarray) -> dict:
    return regression_metrics(regression_sums(torch.from_numpy(pred), torch.from_numpy(nu)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--split-from", type=Path, default=None)
    parser.add_argument("--ranges", default="0:0.45,0.45:0.85,0.85:1",
                        help="distortion ranges LO:HI (LO < r <= HI)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    split = json.loads(((args.split_from or args.runs[0]) / "split.json").read_text())
    test = np.array(split["test"])
    ranges = [tuple(map(float, r.split(":"))) for r in args.ranges.split(",")]
    with LearnDataset(args.dataset) as ds:
        nu, r = ds.nu[test], ds.distortion[test]
        print(f"{args.dataset}: {len(test)} test samples (split of "
              f"{args.split_from or args.runs[0]}), nu in [{nu.min():+.3f}, {nu.max():+.3f}]")
        head = f"{'run':<32} {'all: RMSE':>10} {'R2':>7}"
        head += "".join(f" {f'{lo}<r<={hi}: RMSE':>18} {'R2':>7} {'n':>4}" for lo, hi in ranges)
        print(head)
        for run in args.runs:
            predictor = Predictor(run, "cpu")
            key = "image" if predictor.spec.uses_images else "matrix"
            pred = np.concatenate([
                predictor.predict_inputs(torch.from_numpy(
                    ds.group[key][test[k:k + args.batch_size]])[:, None])
                for k in range(0, len(test), args.batch_size)]).astype(np.float64)
            whole = scores(pred, nu)
            line = f"{str(run):<32} {whole['rmse']:>10.4f} {whole['r2']:>7.4f}"
            for lo, hi in ranges:
                sel = (r > lo) & (r <= hi)
                part = scores(pred[sel], nu[sel])
                line += f" {part['rmse']:>18.4f} {part['r2']:>7.4f} {part['n']:>4}"
            print(line)


if __name__ == "__main__":
    main()
