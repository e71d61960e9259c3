#!/bin/bash
# The whole study as four chained Slurm jobs:
#
#     anneal.sbatch  --afterok-->  stats.sbatch     (ensemble, then its statistics)
#     dataset.sbatch --afterok-->  train.sbatch     (training set, then the CNN)
#
# Launch (on a login node, from the project root, which holds .venv):
#     jobs/pipeline.sh [SBATCH OPTIONS FOR EVERY JOB, e.g. --account=proj --partition=cpu]
# Options for one stage only go in ANNEAL_SBATCH, STATS_SBATCH, DATASET_SBATCH and
# TRAIN_SBATCH (split on spaces), e.g.
#     TRAIN_SBATCH="-N 2 --gpus-per-node=4" ANNEAL_SEEDS=0-9 jobs/pipeline.sh --account=proj
# The stages' parameters (HPCNET_PYTHON, ANNEAL_*, STATS_*, DATASET_*, TRAIN_*; see each
# template) come from this shell's environment, which sbatch hands to the jobs. The stats
# job reads ANNEAL_OUTPUT and the training job DATASET_OUTPUT unless STATS_INPUT or
# TRAIN_DATASET say otherwise.
#
# Each job is submitted with --kill-on-invalid-dep=yes: when a stage fails, the stage after
# it is cancelled instead of waiting forever. The anneal job may requeue itself (see
# anneal.sbatch); its stats job waits for the finished ensemble. Prints "STAGE JOBID" lines.

set -euo pipefail

jobs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export HPCNET_PYTHON=${HPCNET_PYTHON:-$PWD/.venv/bin/python}
if [[ ! -x $HPCNET_PYTHON ]]; then
    echo "pipeline.sh: no Python at $HPCNET_PYTHON: run from the project root (make install)" \
        "or set HPCNET_PYTHON" >&2
    exit 1
fi
export STATS_INPUT=${STATS_INPUT:-${ANNEAL_OUTPUT:-results/ensemble.h5}}
export TRAIN_DATASET=${TRAIN_DATASET:-${DATASET_OUTPUT:-results/dataset.h5}}

# submit STAGE "EXTRA OPTIONS" [SBATCH OPTIONS...]: prints "STAGE JOBID", sets $job
submit() {
    local stage=$1 extra=$2
    shift 2
    # shellcheck disable=SC2086  # the per-stage options are a list of words
    job=$(sbatch --parsable --kill-on-invalid-dep=yes "$@" $extra "$jobs_dir/$stage.sbatch")
    job=${job%%;*}
    echo "$stage $job"
}

submit anneal "${ANNEAL_SBATCH:-}" "$@"
submit stats "${STATS_SBATCH:-}" --dependency="afterok:$job" "$@"
submit dataset "${DATASET_SBATCH:-}" "$@"
submit train "${TRAIN_SBATCH:-}" --dependency="afterok:$job" "$@"
