"""ν of networks from a trained surrogate, in batches (what ``hpcnet predict`` runs).

A surrogate knows only its training distribution: :meth:`Predictor.outside_training`
names the ways a network leaves it (kind, node count, distortion, bonds removed
from a lattice when it learnt on whole ones, predicted ν outside the training
labels' range, and, when its a_min is known, a non-material response).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from hpcnet.errors import FloppyNetworkError, HpcnetError
from hpcnet.learn.dataset import DatasetSettings, dense_matrix
from hpcnet.learn.distributed import pick_device
from hpcnet.learn.lattice_input import lattice_bonds
from hpcnet.learn.models import InputSpec, Surrogate
from hpcnet.learn.render import render
from hpcnet.learn.run_dir import BEST
from hpcnet.learn.train import load_checkpoint
from hpcnet.network import Network, require_bonds

log = logging.getLogger("hpcnet")


class Predictor:
    """The best model of a run directory, ready to predict.

    Parameters
    ----------
    run_dir : path
        A run directory written by ``hpcnet train`` (its ``best.pt`` is loaded).
    device : str
        'auto', 'cpu' or 'cuda'.
    """

    def __init__(self, run_dir, device: str = "auto"):
        path = Path(run_dir) / BEST
        if not path.is_file():
            raise HpcnetError(f"{run_dir}: no trained model ({BEST}) in this run directory")
        self.device = pick_device(device, 0)
        best = load_checkpoint(path, self.device)
        self.spec = InputSpec(**best["input"])
        self.dataset_settings = DatasetSettings.from_json(best["dataset_settings"])
        self.render_settings = self.dataset_settings.render
        self.train_domain = best.get("train_domain")  # absent in older runs
        self.model = Surrogate(self.spec, best["settings"]["dropout"]).to(self.device)
        self.model.load_state_dict(best["model"])
        self.model.eval()
        self._lattice = None  # the training lattice's bond set, built when first needed

    def inputs(self, nets: list[Network]) -> torch.Tensor:
        """The stored-input form of ``nets``: (B, 1, S, S) matrices or images."""
        if self.spec.uses_images:
            arrays = [render(net, self.render_settings) for net in nets]
        else:
            for net in nets:
                self._check_matrix_side(net)
                if self.spec.on_lattice:
                    self._check_on_lattice(net)
            arrays = [dense_matrix(net) for net in nets]
        return torch.from_numpy(np.stack(arrays))[:, None]

    def _check_matrix_side(self, net: Network) -> None:
        if net.n_dof == self.spec.source_side:
            return
        if self.spec.on_lattice:
            raise HpcnetError(f"the model reads {self.spec.side}×{self.spec.side} triangular "
                              f"lattices; this network has {net.n_nodes} nodes")
        if not self.spec.resized:
            raise HpcnetError(
                f"the model reads native {self.spec.source_side}×{self.spec.source_side} "
                f"matrices ({self.spec.source_side // 2} nodes); this network has "
                f"{net.n_nodes} nodes (train with a matrix size to read other sizes)")
        log.warning("a network with %d nodes, the training set had %d: the prediction "
                    "extrapolates", net.n_nodes, self.spec.source_side // 2)

    def _lattice_bonds(self) -> set[tuple[int, int]]:
        """The bonds of the whole lattice of the training size (tri datasets)."""
        if self._lattice is None:
            self._lattice = lattice_bonds(self.dataset_settings.size)
        return self._lattice

    def _check_on_lattice(self, net: Network) -> None:
        off = set(map(tuple, np.sort(net.bonds, axis=1).tolist())) - self._lattice_bonds()
        if off:
            raise HpcnetError(
                f"{len(off)} of this network's bonds are not bonds of the {self.spec.side}×"
                f"{self.spec.side} triangular lattice that lattice-matrix reads")

    @torch.no_grad()
    def predict_inputs(self, x: torch.Tensor) -> np.ndarray:
        """ν̂ for a batch of stored-form inputs."""
        return self.model.predict_nu(x.to(self.device)).float().cpu().numpy()

    def predict(self, nets: list[Network], batch_size: int = 64,
                names: list[str] | None = None) -> np.ndarray:
        """ν̂ of every network, computed ``batch_size`` at a time.

        Floppy networks have no ν: :class:`FloppyNetworkError` names the first
        (by ``names[i]`` if given). Networks of different sizes go in separate batches.
        """
        for k, net in enumerate(nets):
            require_rigid(net, names[k] if names else f"network {k}")
        nu = np.zeros(len(nets), np.float32)
        by_size: dict[int, list[int]] = {}
        for k, net in enumerate(nets):
            by_size.setdefault(net.n_nodes, []).append(k)
        for rows in by_size.values():
            for k in range(0, len(rows), batch_size):
                batch = rows[k:k + batch_size]
                nu[batch] = self.predict_inputs(self.inputs([nets[i] for i in batch]))
        return nu


    def outside_training(self, net: Network, nu_pred: float,
                         a_min: float | None = None) -> list[str]:
        """How ``net`` (predicted ``nu_pred``) lies outside the training distribution.

        An empty list when nothing is known to differ. ``a_min``: the network's
        smaller affine fraction, when it has been computed.
        """
        ds = self.dataset_settings
        out = []
        if net.kind != ds.kind:
            out.append(f"kind {net.kind}, trained on {ds.kind}")
        if net.size != ds.size:
            out.append(f"size L = {net.size} ({net.n_nodes} nodes), trained on L = {ds.size}")
        if ds.kind == "tri" and not ds.anneal_files and net.kind == "tri" and net.size == ds.size:
            removed = len(self._lattice_bonds()) - net.n_bonds
            if removed > 0:
                out.append(f"{removed} bonds removed from the lattice, trained on whole "
                           f"lattices")
        r = net.params.get("distortion")
        if ds.distortion is not None and r is not None:
            lo, hi = ds.distortion
            if not lo <= float(r) <= hi:
                out.append(f"distortion {float(r):g} outside the training range {lo:g}:{hi:g}")
        if self.train_domain is not None:
            lo, hi = self.train_domain["nu"]
            if not lo <= nu_pred <= hi:
                out.append(f"predicted nu {nu_pred:+.3f} outside the training labels' range "
                           f"[{lo:+.3f}, {hi:+.3f}]")
        if a_min is not None and a_min < ds.material_floor:
            out.append(f"a_min {a_min:.3f} below the material floor {ds.material_floor:g} "
                       f"(a near-mechanism, not a material)")
        return out


def require_rigid(net: Network, what: str = "network") -> None:
    """FloppyNetworkError unless ``net`` is rigid (it has a ν to predict)."""
    from hpcnet.mechanics.elastic import ElasticSolver

    try:
        with ElasticSolver(require_bonds(net, what)):
            pass
    except FloppyNetworkError as exc:
        raise FloppyNetworkError(exc.extra_zero_modes, what) from None
