"""Network → grayscale image: bonds drawn as white lines on black (paper Fig. 5a).

The network's bounding square (with a small margin) fills the image, so every
image of a dataset has the same pixel size whatever the network's extent. Lines
are drawn on a canvas ``supersample`` times larger and box-filtered down, which
antialiases them: sub-pixel node displacements still change the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hpcnet.network import Network

#: Fraction of the frame left empty on each side.
MARGIN = 0.03


@dataclass(frozen=True)
class RenderSettings:
    """How networks are drawn; saved with datasets and runs so prediction draws alike.

    Attributes
    ----------
    size : int
        Width and height of the image in pixels.
    line_width : float
        Bond width in pixels of the final image.
    supersample : int
        Oversampling factor of the drawing canvas (antialiasing).
    """

    size: int = 128
    line_width: float = 1.0
    supersample: int = 4


def render(net: Network, settings: RenderSettings = RenderSettings()) -> np.ndarray:
    """The (size, size) uint8 image of ``net``'s bonds."""
    from PIL import Image, ImageDraw

    big = settings.size * settings.supersample
    lo = net.positions.min(axis=0)
    extent = float(np.ptp(net.positions, axis=0).max()) or 1.0
    scale = big * (1.0 - 2.0 * MARGIN) / extent
    centre_offset = 0.5 * (extent - np.ptp(net.positions, axis=0))
    # Pixel rows grow downwards: flip y so the image shows the network upright.
    xy = (net.positions - lo + centre_offset) * scale + big * MARGIN
    xy[:, 1] = big - xy[:, 1]
    canvas = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(settings.line_width * settings.supersample))
    for i, j in net.bonds:
        draw.line((*xy[i], *xy[j]), fill=255, width=width)
    image = canvas.resize((settings.size, settings.size), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.uint8)
