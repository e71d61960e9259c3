"""The CNN surrogates: paper Fig. 5's two from torchvision, and one on the lattice.

``lattice-matrix``: the dynamical matrix of a triangular-lattice network laid
out on its lattice (18 channels of bond blocks on an L × L image,
:mod:`hpcnet.learn.lattice_input`), read by six 3 × 3 convolutions (64 channels,
batch norm over the global batch, ReLU) and two fully connected layers.
``alexnet-matrix``: torchvision's AlexNet (5 convolutions, 3 max-pools, three
fully connected layers) reading the one-channel dynamical matrix, natively
(2N × 2N) or resized to a fixed side. ``resnet50-image``: torchvision's
ResNet-50 reading the one-channel rendered image. All end in one output
neuron that regresses ν; all train from scratch.

:class:`Surrogate` wraps a backbone with what prediction needs besides the
weights: the input preparation (scaling, resizing, the lattice layout) and the
standardisation of the target, kept as buffers so that a saved state dict predicts ν by itself.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.distributed as dist
import torchvision
from torch import nn
from torch.nn import functional as F

from hpcnet.errors import HpcnetError
from hpcnet.learn import lattice_input
from hpcnet.learn.run_dir import MODELS

#: Smallest input side AlexNet's three max-pools accept.
ALEXNET_MIN_SIDE = 63
RESNET_MIN_SIDE = 32
#: The lattice model's convolutions (layers, channels) and its hidden fully connected layer.
LATTICE_DEPTH, LATTICE_WIDTH, LATTICE_HIDDEN = 6, 64, 128


@dataclass(frozen=True)
class InputSpec:
    """What the network reads: the model name and the input side it is fed.

    Attributes
    ----------
    model : str
        One of :data:`MODELS`.
    source_side : int
        Side of the stored input: 2N for matrices, the pixel size for images.
    side : int
        Side fed to the backbone (equal to ``source_side`` unless resized; the
        lattice side L for ``lattice-matrix``).
    """

    model: str
    source_side: int
    side: int

    @property
    def uses_images(self) -> bool:
        return self.model == "resnet50-image"

    @property
    def on_lattice(self) -> bool:
        return self.model == "lattice-matrix"

    @property
    def resized(self) -> bool:
        return not self.on_lattice and self.side != self.source_side

    def as_dict(self) -> dict:
        return asdict(self)


def input_spec(model: str, source_side: int, matrix_size: int | None,
               kind: str = "tri") -> InputSpec:
    """The input spec of ``model`` for stored inputs of side ``source_side``.

    ``matrix_size``: None feeds matrices natively, an int resizes them to that
    side (alexnet-matrix only). ``kind``: the networks' kind.
    """
    if model not in MODELS:
        raise HpcnetError(f"unknown model '{model}' (choose from {', '.join(MODELS)})")
    if model != "alexnet-matrix" and matrix_size is not None:
        raise HpcnetError("a matrix size applies to alexnet-matrix only")
    if model == "lattice-matrix":
        if kind != "tri":
            raise HpcnetError(f"lattice-matrix reads triangular lattices (kind tri), "
                              f"not {kind} networks: use alexnet-matrix")
        return InputSpec(model, source_side, math.isqrt(source_side // 2))
    if model == "resnet50-image":
        if source_side < RESNET_MIN_SIDE:
            raise HpcnetError(f"images of {source_side} px are below ResNet-50's minimum "
                              f"of {RESNET_MIN_SIDE} px")
        return InputSpec(model, source_side, source_side)
    side = source_side if matrix_size is None else int(matrix_size)
    if side < ALEXNET_MIN_SIDE:
        raise HpcnetError(
            f"AlexNet needs inputs of at least {ALEXNET_MIN_SIDE}×{ALEXNET_MIN_SIDE}; "
            f"the matrices are {source_side}×{source_side}"
            + ("" if matrix_size is None else f", resized to {side}")
            + f": resize them with a matrix size of {ALEXNET_MIN_SIDE} or more")
    return InputSpec(model, source_side, side)


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) whose gradient is all-reduced likewise: every process's loss
    depends on every process's share of the sum."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """Batch norm whose training statistics are those of the global batch.

    Under DistributedDataParallel each process holds a share of the batch; the
    per-channel sums are all-reduced (differentiably), so P processes normalise
    and step as one. torch's SyncBatchNorm does this on GPUs only.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distributed = dist.is_available() and dist.is_initialized()
        if not self.training or not distributed or dist.get_world_size() == 1:
            return super().forward(x)
        xf = x.float()
        count = torch.tensor([xf.numel() / self.num_features], device=x.device)
        sums = _SumOverProcesses.apply(torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)),
                                                  count]))
        n, c = sums[-1], self.num_features
        mean = sums[:c] / n
        var = sums[c:2 * c] / n - mean * mean
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / (n - 1), self.momentum)
        scale = self.weight * torch.rsqrt(var + self.eps)
        y = xf * scale[:, None, None] + (self.bias - mean * scale)[:, None, None]
        return y.to(x.dtype)


class LatticeCNN(nn.Module):
    """3 × 3 convolutions on the lattice layout, then two fully connected layers."""

    def __init__(self, size: int):
        super().__init__()
        layers, channels = [], lattice_input.CHANNELS
        for _ in range(LATTICE_DEPTH):
            layers += [nn.Conv2d(channels, LATTICE_WIDTH, 3, padding=1),
                       GlobalBatchNorm2d(LATTICE_WIDTH), nn.ReLU(inplace=True)]
            channels = LATTICE_WIDTH
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(LATTICE_WIDTH * size * size,
                                                          LATTICE_HIDDEN),
                                  nn.ReLU(inplace=True), nn.Linear(LATTICE_HIDDEN, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def backbone(spec: InputSpec, dropout: float = 0.5) -> nn.Module:
    """The network of ``spec.model``: one output; torchvision's with one input channel."""
    model = spec.model
    if model == "lattice-matrix":
        return LatticeCNN(spec.side)
    if model == "alexnet-matrix":
        net = torchvision.models.alexnet(weights=None, num_classes=1, dropout=dropout)
        net.features[0] = nn.Conv2d(1, 64, kernel_size=11, stride=4, padding=2)
        return net
    if model == "resnet50-image":
        net = torchvision.models.resnet50(weights=None, num_classes=1)
        net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
        return net
    raise HpcnetError(f"unknown model '{model}' (choose from {', '.join(MODELS)})")


class Surrogate(nn.Module):
    """Backbone + input preparation + target (de)standardisation.

    ``forward`` takes raw stored inputs (float32 matrices or uint8 images,
    shape (B, 1, S, S)) and returns the standardised prediction
    ``(ν̂ − mean) / std``; :meth:`predict_nu` returns ν̂. The lattice model
    also keeps where each bond block goes and the scale it divides them by
    (:meth:`fit_input_scale`).
    """

    def __init__(self, spec: InputSpec, dropout: float = 0.5,
                 target_mean: float = 0.0, target_std: float = 1.0):
        super().__init__()
        self.spec = spec
        self.net = backbone(spec, dropout)
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))
        if spec.on_lattice:
            index = torch.from_numpy(lattice_input.bond_block_index(spec.side).ravel())
            self.register_buffer("block_index", index.clamp(min=0))
            self.register_buffer("block_sign", torch.where(  # D's blocks are −k n nᵀ
                index == lattice_input.NO_BOND, 0.0, -1.0))
            self.register_buffer("input_scale", torch.tensor(1.0))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Stored inputs → backbone inputs (float, scaled, resized, laid out)."""
        if self.spec.uses_images:
            return x.float() / 255.0
        x = x.float()
        if self.spec.on_lattice:
            blocks = x.flatten(1)[:, self.block_index] * self.block_sign
            side = self.spec.side
            return blocks.view(-1, lattice_input.CHANNELS, side, side) / self.input_scale
        if self.spec.resized:
            x = F.interpolate(x, size=(self.spec.side, self.spec.side), mode="bilinear",
                              align_corners=False, antialias=True)
        return x

    @torch.no_grad()
    def fit_input_scale(self, x: torch.Tensor) -> None:
        """Lattice model: divide the laid-out blocks by their std over ``x`` (training inputs)."""
        self.input_scale.fill_(1.0)
        self.input_scale.fill_(float(self.prepare(x).std()) or 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.prepare(x)).squeeze(1)

    def standardise(self, nu: torch.Tensor) -> torch.Tensor:
        return (nu - self.target_mean) / self.target_std

    @torch.no_grad()
    def predict_nu(self, x: torch.Tensor) -> torch.Tensor:
        return self(x).float() * self.target_std + self.target_mean
