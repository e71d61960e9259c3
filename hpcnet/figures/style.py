"""What every figure shares: creation without pyplot, kind colours, atomic PNG + PDF output."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from hpcnet.tools.atomic import atomic_path

#: Formats written by :func:`save`, and the raster resolution.
FORMATS = ("png", "pdf")
DPI = 150
#: One colour per network kind, the same in every figure.
KIND_COLORS = {"tri": "tab:blue", "delaunay": "tab:orange", "packing": "tab:green"}
#: Colours of the two tuning directions (ν decreased, ν increased) and of removed bonds.
TARGET_COLORS = {"negative": "tab:purple", "positive": "tab:red"}
REMOVED_COLOR = "tab:red"


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` × ``height`` inches with a constrained layout."""
    return Figure(figsize=(width, height), layout="constrained")


def kind_color(kind: str) -> str:
    """The colour of ``kind`` (grey for kinds not in :data:`KIND_COLORS`)."""
    return KIND_COLORS.get(kind, "tab:gray")


def output_paths(stem: Path, formats=FORMATS) -> list[Path]:
    """The files :func:`save` writes for ``stem`` (a suffix such as .png is dropped)."""
    stem = Path(stem)
    if stem.suffix.lstrip(".") in FORMATS:
        stem = stem.with_suffix("")
    return [stem.with_name(f"{stem.name}.{fmt}") for fmt in formats]


def save(fig: Figure, stem: Path, formats=FORMATS, dpi: int = DPI) -> list[Path]:
    """Write ``fig`` as ``stem.png`` and ``stem.pdf``, each to a temporary name first.

    A reader never sees a half-written image; returns the paths written.
    """
    paths = output_paths(stem, formats)
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix[1:], dpi=dpi)
    return paths
