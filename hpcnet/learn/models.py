"""The two CNN surrogates of paper Fig. 5, from torchvision, trained from scratch.

``alexnet-matrix``: torchvision's AlexNet (5 convolutions, 3 max-pools, three
fully connected layers) reading the one-channel dynamical matrix, natively
(2N × 2N) or resized to a fixed side. ``resnet50-image``: torchvision's
ResNet-50 reading the one-channel rendered image. Both end in one output
neuron that regresses ν.

:class:`Surrogate` wraps a backbone with what prediction needs besides the
weights: the input preparation (scaling, resizing) and the standardisation of
the target, kept as buffers so that a saved state dict predicts ν by itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

from hpcnet.errors import HpcnetError
from hpcnet.learn.run_dir import MODELS

#: Smallest input side AlexNet's three max-pools accept.
ALEXNET_MIN_SIDE = 63
RESNET_MIN_SIDE = 32


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
        Side fed to the backbone (equal to ``source_side`` unless resized).
    """

    model: str
    source_side: int
    side: int

    @property
    def uses_images(self) -> bool:
        return self.model == "resnet50-image"

    @property
    def resized(self) -> bool:
        return self.side != self.source_side

    def as_dict(self) -> dict:
        return asdict(self)


def input_spec(model: str, source_side: int, matrix_size: int | None) -> InputSpec:
    """The input spec of ``model`` for stored inputs of side ``source_side``.

    ``matrix_size``: None feeds matrices natively, an int resizes them to that side.
    """
    if model not in MODELS:
        raise HpcnetError(f"unknown model '{model}' (choose from {', '.join(MODELS)})")
    if model == "resnet50-image":
        if matrix_size is not None:
            raise HpcnetError("a matrix size applies to alexnet-matrix only")
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


def backbone(model: str, dropout: float = 0.5) -> nn.Module:
    """torchvision's AlexNet or ResNet-50 with one input channel and one output."""
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
    ``(ν̂ − mean) / std``; :meth:`predict_nu` returns ν̂.
    """

    def __init__(self, spec: InputSpec, dropout: float = 0.5,
                 target_mean: float = 0.0, target_std: float = 1.0):
        super().__init__()
        self.spec = spec
        self.net = backbone(spec.model, dropout)
        self.register_buffer("target_mean", torch.tensor(float(target_mean)))
        self.register_buffer("target_std", torch.tensor(float(target_std)))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Stored inputs → backbone inputs (float, scaled, resized)."""
        if self.spec.uses_images:
            return x.float() / 255.0
        x = x.float()
        if self.spec.resized:
            x = F.interpolate(x, size=(self.spec.side, self.spec.side), mode="bilinear",
                              align_corners=False, antialias=True)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.prepare(x)).squeeze(1)

    def standardise(self, nu: torch.Tensor) -> torch.Tensor:
        return (nu - self.target_mean) / self.target_std

    @torch.no_grad()
    def predict_nu(self, x: torch.Tensor) -> torch.Tensor:
        return self(x).float() * self.target_std + self.target_mean
