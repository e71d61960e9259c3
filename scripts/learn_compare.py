"""Score trained surrogates on one set of samples, whole and by distortion band (paper Fig. 5b-c).

By default every run is scored on the same samples: the test split saved by
``--split-from`` (default: the first run) of ``--dataset``. With ``--whole``
every usable sample of ``--dataset`` is scored instead: a dataset the runs were
not trained on (another ``--seed``, or ``hpcnet dataset --from-anneal``). The
dataset must hold the inputs every run reads (matrices always; images for the
image model). RMSE and R² as in the paper's Methods, on all labels and on the
material ones (a_min at or above the dataset's floor), also within distortion
bands, since R² depends on the spread of ν.
Usage: python scripts/learn_compare.py --dataset ds.h5 runs/A [runs/B ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from hpcnet.analysis.training_runs import split_scores
from hpcnet.learn.dataset import LearnDataset
from hpcnet.learn.predict import Predictor


def _cell(s: dict) -> str:
    return f"{s['rmse']:.4f} {s['r2']:>7.4f} {s['n']:>5}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--split-from", type=Path, default=None)
    parser.add_argument("--whole", action="store_true",
                        help="score every usable sample of the dataset, not a test split")
    parser.add_argument("--ranges", default="0:0.45,0.45:0.85,0.85:1",
                        help="distortion ranges LO:HI (LO < r <= HI)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    bands = [tuple(map(float, r.split(":"))) for r in args.ranges.split(",")]
    with LearnDataset(args.dataset) as ds:
        if args.whole:
            samples, origin = ds.usable(), "all usable samples"
        else:
            source = args.split_from or args.runs[0]
            samples = np.sort(json.loads((source / "split.json").read_text())["test"])
            origin = f"test split of {source}"
        nu, r, material = ds.nu[samples], ds.distortion[samples], ds.material[samples]
        print(f"{args.dataset}: {len(samples)} samples ({origin}), {material.sum()} material "
              f"(a_min >= {ds.settings.material_floor:g}), nu in [{nu.min():+.3f}, "
              f"{nu.max():+.3f}]")
        print(f"{'run / range':<40} {'all: RMSE':>10} {'R2':>7} {'n':>5}   "
              f"{'material: RMSE':>14} {'R2':>7} {'n':>5}")
        for run in args.runs:
            predictor = Predictor(run, "cpu")
            key = "image" if predictor.spec.uses_images else "matrix"
            pred = np.concatenate([
                predictor.predict_inputs(torch.from_numpy(
                    ds.group[key][samples[k:k + args.batch_size]])[:, None])
                for k in range(0, len(samples), args.batch_size)]).astype(np.float64)
            scores = split_scores(pred, nu, r, material, bands)
            print(f"{str(run):<40} {_cell(scores['all']):>24}   {_cell(scores['material'])}")
            for band in scores["bands"]:
                print(f"{'  ' + str(band['lo']) + ' < r <= ' + str(band['hi']):<40} "
                      f"{_cell(band['all']):>24}   {_cell(band['material'])}")


if __name__ == "__main__":
    main()
