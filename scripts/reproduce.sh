#!/usr/bin/env bash
# The whole study end to end, at one scale, ending with the reproduction report.
#
#     scripts/reproduce.sh [tiny|small|paper] [OUTDIR]   (default: small results/small)
#
# Every output goes to OUTDIR; the report to results/REPORT.md (OUTDIR/REPORT.md when OUTDIR is
# given), with links to the figures in OUTDIR/figures.
#
# small: 3 kinds x L 12-32 in steps of 4 x 4 seeds x targets -0.9,+0.9, SA and greedy (144
#        chains each), CNNs on 1000 matrices and 600 images; about an hour on a 2-core machine
#        (an estimate: guarded SA chains take 100-230 s each at L = 32).
# paper: the paper's scale (L 12-32 in steps of 4, 100 seeds, 15000 images) with 20000
#        matrices (the lattice-matrix recipe's; the paper had 5000); for a cluster:
#        jobs/reproduce.sbatch runs this script inside one allocation.
# tiny:  every stage on toy sizes in about a minute (the test suite runs it); its numbers
#        mean nothing.
#
# Stages (each resumes when the script is run again; finished ones are skipped quickly):
#   1 anneal   the ensemble (MPI)                 5 train    lattice CNN and AlexNet on the matrices
#   2 stats    its table and Fig. 1j points       6 train    ResNet-50 on the images (DDP)
#   3 dataset  dynamical matrices (MPI)           7 timing   benchmarks/bench_learn.py --json
#   4 dataset  network images (MPI)               8 plot all, then hpcnet report
#
# Environment: RANKS (processes per stage, default 2), HPCNET_PYTHON (default .venv/bin/python),
# HPCNET_MPI_LAUNCH (default "mpirun -n $RANKS"; srun under Slurm), HPCNET_TRAIN_LAUNCH
# (default "$HPCNET_PYTHON -m torch.distributed.run --standalone --nproc-per-node $RANKS").
set -euo pipefail

scale=${1:-small}
out=results/$scale  # relative to the project root
report=results/REPORT.md
if [[ -n ${2:-} ]]; then  # relative to where the script was called from
    out=$(realpath -m -- "$2")
    report=$out/REPORT.md
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case $scale in
tiny)
    anneal=(--kinds tri,delaunay,packing --sizes 6,8 --seeds 0-1 --targets -0.5,0.5
            --alpha 0.7 --lk 60)
    matrices=(--size 6 --count 30 --distortion 0.05:0.9)
    images=(--size 6 --count 30 --distortion 0.05:0.45 --image-size 32)
    alexnet=(--epochs 2 --batch-size 6 --dropout 0)
    lattice=(--epochs 2 --batch-size 6)
    resnet=(--epochs 1 --batch-size 6)
    timing=(--sizes 6,8 --batch 2 --repeats 1)
    survey=()
    ;;
small)
    anneal=(--kinds tri,delaunay,packing --sizes 12,16,20,24,28,32 --seeds 0-3
            --targets -0.9,0.9 --methods sa,greedy)
    matrices=(--size 12 --count 1000 --distortion 0.05:0.95)
    images=(--size 12 --count 600 --distortion 0.05:0.45 --image-size 64)
    alexnet=(--epochs 12 --batch-size 32 --matrix-size 144)
    lattice=(--epochs 30)
    resnet=(--epochs 8 --batch-size 32)
    timing=(--sizes 12,16,24,32 --batch 16 --repeats 3)
    survey=(--limit 36 --snapshots 8)  # modes of 288 path snapshots (~4.5 s each at L = 32)
    ;;
paper)
    anneal=(--kinds tri,delaunay,packing --sizes 12,16,20,24,28,32 --seeds 0-99
            --targets -0.9,0.9 --methods sa,greedy)
    matrices=(--size 12 --count 20000 --distortion 0.05:0.95)
    images=(--size 12 --count 15000 --distortion 0.05:0.45 --image-size 128)
    alexnet=(--epochs 30 --batch-size 64)
    lattice=(--epochs 30)
    resnet=(--epochs 100 --batch-size 64)
    timing=(--sizes 12,16,20,24,28,32 --batch 32 --repeats 5)
    survey=(--limit 150 --snapshots 8)  # modes of 1200 path snapshots (~4.5 s each at L = 32)
    ;;
*)
    echo "reproduce.sh: unknown scale '$scale' (choose tiny, small or paper)" >&2
    exit 2
    ;;
esac

ranks=${RANKS:-2}
py=${HPCNET_PYTHON:-.venv/bin/python}
if [[ ! -x $py ]]; then
    echo "reproduce.sh: no Python at $py: run 'make install' first or set HPCNET_PYTHON" >&2
    exit 1
fi
export OPENBLAS_NUM_THREADS=1
# OpenMPI: let containers that run as root start ranks, and more ranks than cores.
if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
read -r -a mpi_launch <<< "${HPCNET_MPI_LAUNCH:-mpirun -n $ranks}"
read -r -a train_launch <<< \
    "${HPCNET_TRAIN_LAUNCH:-$py -m torch.distributed.run --standalone --nproc-per-node $ranks}"
mkdir -p "$out"
start=$SECONDS

stage() {
    echo
    echo "== [$1/8] $2   ($(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s)"
}

# dataset OUTPUT ARGS...: build (or finish) a dataset unless it is already complete.
dataset() {
    local output=$1
    shift
    if [[ -f $output ]]; then
        echo "$output exists (delete it to rebuild)"
    else
        "${mpi_launch[@]}" "$py" -m hpcnet dataset --kind tri "$@" --seed 1 -o "$output"
    fi
}

# train RUN_DIR ARGS...: train, or continue an interrupted run; skip a finished one.
train() {
    local run=$1
    shift
    if [[ -f $run/test.json ]]; then
        echo "$run is finished (delete it to retrain)"
    else
        "${train_launch[@]}" -m hpcnet train "$@" -o "$run"
    fi
}

stage 1 "anneal: ${anneal[*]}"
"${mpi_launch[@]}" "$py" -m hpcnet anneal "${anneal[@]}" -o "$out/ensemble.h5"

stage 2 "stats"
"$py" -m hpcnet stats "$out/ensemble.h5" --csv "$out/ensemble-stats.csv" \
    --sigma-csv "$out/sigma.csv"

stage 3 "dataset of dynamical matrices: ${matrices[*]}"
dataset "$out/matrices.h5" "${matrices[@]}"

stage 4 "dataset of network images: ${images[*]}"
dataset "$out/images.h5" "${images[@]}" --images all

stage 5 "train the lattice CNN (${lattice[*]}) and AlexNet (${alexnet[*]}) on the matrices"
train "$out/runs/lattice" "$out/matrices.h5" --model lattice-matrix "${lattice[@]}"
train "$out/runs/alexnet" "$out/matrices.h5" --model alexnet-matrix "${alexnet[@]}"

stage 6 "train ResNet-50 on the images: ${resnet[*]}"
train "$out/runs/resnet" "$out/images.h5" --model resnet50-image "${resnet[@]}"

stage 7 "timing: PETSc solve against the CNNs"
"$py" benchmarks/bench_learn.py "${timing[@]}" --json "$out/timing.json"

stage 8 "figures and report"
"$py" -m hpcnet plot all --ensemble "$out/ensemble.h5" --run "$out/runs/alexnet" \
    --run "$out/runs/lattice" --run "$out/runs/resnet" --timing "$out/timing.json" "${survey[@]}" --out-dir "$out/figures"
"$py" -m hpcnet report "$out/ensemble.h5" --run "$out/runs/alexnet" --run "$out/runs/lattice" \
    --run "$out/runs/resnet" \
    --timing "$out/timing.json" --survey "$out/figures/mechanism.csv" \
    --figures "$out/figures" --title "$scale scale" -o "$report"

echo
echo "done in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s: $report"
