"""Figures and pages written to files atomically: a killed run never leaves a torn PNG or PDF.

Matplotlib's ``savefig(path)`` writes in place, so a kill mid-write used to leave a truncated
PNG or an empty PDF where the previous one was. Here the figure is written to a temporary
file beside the output and renamed over it in one step (:func:`~spinecheck.landmarks.io.atomic.write_atomic`);
the format comes from the output's suffix. Whether an existing output may be replaced is
decided before (:func:`~spinecheck.landmarks.io.outputs.check_output`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ...landmarks.imaging.own_figures import figure_software
from ...landmarks.io.atomic import write_atomic
from .text import tool_version

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["save_figure", "save_pdf"]


def save_figure(
    fig: Figure, path: str | os.PathLike[str], *, dpi: float | None = None, clean: bool = True
) -> Path:
    """Save *fig* to *path* (``.png``, ``.pdf``, ``.svg``: the suffix says which) atomically.

    A PNG carries the text ``Software: spinecheck <version>``
    (:mod:`~spinecheck.landmarks.imaging.own_figures`): a batch never takes it for a film.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        With a canvas (every figure spinecheck makes has an Agg canvas).
    path : str or path-like
        The output; replaced in one step if it exists.
    dpi : float, optional
        Dots per inch of a PNG (and of images inside a PDF); default the figure's.
    clean : bool
        Remove the temporary files a killed writer of *path* left (see
        :func:`~spinecheck.landmarks.io.atomic.write_atomic`).

    Returns
    -------
    Path
        *path*.

    Examples
    --------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> from matplotlib.backends.backend_agg import FigureCanvasAgg
    >>> fig = Figure(figsize=(1, 1))
    >>> _ = FigureCanvasAgg(fig)
    >>> out = save_figure(fig, Path(tempfile.mkdtemp()) / "x.png", dpi=20)
    >>> out.read_bytes()[1:4], [p.name for p in out.parent.iterdir()]
    (b'PNG', ['x.png'])
    """
    out = Path(path)
    fmt = out.suffix.lstrip(".").lower()

    # a PNG carries spinecheck's mark, so that a batch of its folder does not take it for a film
    metadata = figure_software(tool_version()) if fmt == "png" else None

    def write(f: BinaryIO) -> None:
        fig.savefig(f, format=fmt, dpi=dpi if dpi is not None else "figure", metadata=metadata)

    write_atomic(out, write, clean=clean)
    return out


def save_pdf(pages: Sequence[Figure], path: str | os.PathLike[str]) -> Path:
    """Save *pages* as one PDF, a page each, atomically (see :func:`save_figure`)."""
    from matplotlib.backends.backend_pdf import PdfPages

    out = Path(path)

    def write(f: BinaryIO) -> None:
        with PdfPages(f) as pdf:
            for fig in pages:
                pdf.savefig(fig)

    write_atomic(out, write)
    return out
