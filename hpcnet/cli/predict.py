"""``hpcnet predict``: ν of networks from a trained surrogate."""

from __future__ import annotations

import json

import click

from hpcnet.cli.options import DIRECTORY, FILE, json_option
from hpcnet.learn.run_dir import DEVICES


@click.command("predict")
@click.argument("run_dir", type=DIRECTORY)
@click.argument("networks", nargs=-1, required=True, type=FILE)
@click.option("--batch-size", type=click.IntRange(min=1), default=64,
              help="Networks per forward pass.")
@click.option("--device", type=click.Choice(DEVICES), default="auto",
              help="'auto': the GPU when there is one, else the CPU.")
@click.option("--check-material", is_flag=True,
              help="Also solve each network for its affine fractions and flag a_min below "
                   "the training set's material floor (costs one elastic solve each).")
@json_option("Print one JSON object per network.")
def command(run_dir, networks, batch_size, device, check_material, as_json):
    """Predict nu of NETWORKS (hpcnet or plain HDF5/npz network files) with RUN_DIR's best model.

    The matrix model reads each network's dynamical matrix, the image model its
    rendering (drawn as in the training set). Floppy networks, which have no
    nu, are refused. A network outside the training distribution (another
    kind or node count, a distortion outside the training range, a predicted
    nu outside the training labels' range, with --check-material a non-material
    response) is marked: the surrogate was not trained there.
    """
    from hpcnet.learn.predict import Predictor
    from hpcnet.network import Network

    predictor = Predictor(run_dir, device)
    nets = [Network.load(path) for path in networks]
    nu = predictor.predict(nets, batch_size, names=[str(path) for path in networks])
    for path, net, value in zip(networks, nets, nu, strict=True):
        a_min = _a_min(net) if check_material else None
        outside = predictor.outside_training(net, float(value), a_min)
        if as_json:
            click.echo(json.dumps({"network": str(path), "nodes": net.n_nodes,
                                   "model": predictor.spec.model, "nu_pred": float(value),
                                   "a_min": a_min, "outside_training": outside}))
        else:
            note = f"  [outside training: {'; '.join(outside)}]" if outside else ""
            click.echo(f"{path}: nu_pred = {value:+.6f}{note}")


def _a_min(net) -> float:
    from hpcnet.mechanics.elastic import poisson_ratio

    return float(poisson_ratio(net).a_min)
