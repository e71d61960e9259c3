"""Paper Fig. 5d: time per network of a PETSc solve against CNN inference, side by side.

For distorted tri networks of L = 12 ... 32 it times, per network:

* ``solve``: hpcnet's PETSc path, ν from the x- and y-loads (assembly, Cholesky,
  rigidity check, two solves), one network at a time;
* ``matrix``: the dynamical matrix built from the network plus AlexNet's forward
  pass, fed natively (2N × 2N) and resized to a fixed side (``--matrix-size``);
* ``lattice``: the dynamical matrix built from the network plus the lattice
  model's forward pass (D laid out on the lattice, a small CNN; hpcnet's recipe);
* ``image``: the network rendered (``--image-size`` pixels) plus ResNet-50's
  forward pass.

CNN times are given for single networks (batch 1) and per network within a batch
(``--batch``); the ratios compare against the fixed-size matrix CNN, whose cost
does not grow with L. The weights are untrained (the time does not depend on them). All
four run on ``--threads`` CPU threads (default 1: one core each), or the CNNs
on a GPU with ``--device cuda``. The paper reports the matrix CNN 25× faster than
the image CNN and 3.5×10³× faster than its own solver at 32×32. Where 2N is below
AlexNet's minimum input side the native matrix CNN is not timed ("-").

``--json PATH`` also writes the measurements (schema: :mod:`hpcnet.analysis.timing`),
which ``hpcnet plot`` turns into Fig. 5d.
Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_learn.py [--sizes 12,16,...] [--json t.json]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hpcnet.analysis.timing import write_timing
from hpcnet.generators import generate
from hpcnet.learn.dataset import dense_matrix
from hpcnet.learn.models import ALEXNET_MIN_SIDE, Surrogate, input_spec
from hpcnet.learn.render import RenderSettings, render
from hpcnet.mechanics.elastic import poisson_ratio


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up (allocations, kernel selection)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def cnn_time(model: Surrogate, make_input, nets, device, repeats: int) -> float:
    """Seconds per network: inputs built from ``nets`` on the CPU, forward on ``device``."""

    @torch.no_grad()
    def run():
        x = torch.from_numpy(np.stack([make_input(n) for n in nets]))[:, None].to(device)
        model.predict_nu(x)
        sync(device)

    return median_time(run, repeats) / len(nets)


def cell(times: dict | None) -> str:
    """'batch 1 | batched' ms per network, or dashes for a path not timed."""
    if times is None:
        return f"{'-':>7}|{'-':<7}"
    return f"{1e3 * times['single_s']:>7.1f}|{1e3 * times['batched_s']:<7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="12,16,20,24,28,32")
    parser.add_argument("--distortion", type=float, default=0.3)
    parser.add_argument("--matrix-size", type=int, default=288,
                        help="fixed AlexNet input side (288 = 2N at L = 12)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the measurements there (default: print only)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    render_settings = RenderSettings(size=args.image_size)

    def image_input(net):
        return render(net, render_settings)

    image_model = Surrogate(input_spec("resnet50-image", args.image_size, None)).to(device).eval()
    poisson_ratio(generate("tri", 4, 0))  # PETSc start-up outside the timings
    print(f"device {device}, {args.threads} CPU thread(s), torch {torch.__version__}; "
          f"ms per network (batch 1 | per network in a batch of {args.batch})")
    head = (f"{'L':>3} {'N':>5} {'solve':>7} {'matrix native':>15} "
            f"{f'matrix {args.matrix_size}':>15} {'lattice':>15} {'image':>15}   "
            f"{'solve/matrix':>13} {'image/matrix':>13} {'solve/lattice':>13}")
    print(head + "  (ratios against the fixed-size matrix CNN: batch 1 | batched)")
    records = []
    for L in map(int, args.sizes.split(",")):
        nets = [generate("tri", L, seed, distortion=args.distortion) for seed in range(args.batch)]
        t_solve = median_time(lambda net=nets[0]: poisson_ratio(net), args.repeats)
        side = 2 * nets[0].n_nodes
        models = {"matrix_native": (None if side < ALEXNET_MIN_SIDE else
                                    Surrogate(input_spec("alexnet-matrix", side, None))),
                  "matrix_fixed": Surrogate(input_spec("alexnet-matrix", side, args.matrix_size)),
                  "lattice": Surrogate(input_spec("lattice-matrix", side, None)),
                  "image": image_model}
        times = {}
        for name, model in models.items():
            if model is None:
                times[name] = None
                continue
            model = model.to(device).eval()
            make = image_input if name == "image" else dense_matrix
            times[name] = {"single_s": cnn_time(model, make, nets[:1], device, args.repeats),
                           "batched_s": cnn_time(model, make, nets, device,
                                                 max(1, args.repeats // 2))}
        records.append({"L": L, "n_nodes": nets[0].n_nodes, "solve_s": t_solve, **times})

        ref, image, lattice = times["matrix_fixed"], times["image"], times["lattice"]
        print(f"{L:>3} {nets[0].n_nodes:>5} {1e3 * t_solve:>7.2f} "
              f"{cell(times['matrix_native']):>15} {cell(ref):>15} {cell(lattice):>15} "
              f"{cell(image):>15}   "
              f"{t_solve / ref['single_s']:>6.2f}|{t_solve / ref['batched_s']:<6.2f} "
              f"{image['single_s'] / ref['single_s']:>6.1f}|"
              f"{image['batched_s'] / ref['batched_s']:<6.1f} "
              f"{t_solve / lattice['single_s']:>6.2f}|{t_solve / lattice['batched_s']:<6.2f}",
              flush=True)
    if args.json:
        metadata = {"device": str(device), "threads": args.threads, "torch": torch.__version__,
                    "batch": args.batch, "matrix_size": args.matrix_size,
                    "image_size": args.image_size, "distortion": args.distortion,
                    "repeats": args.repeats}
        print(f"wrote {write_timing(args.json, metadata, records)}")


if __name__ == "__main__":
    main()
