"""``spinecheck.plot``: one call for an annotated film or a distribution, ``.films`` for a grid of films."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ...landmarks.errors import InvalidArgumentError
from ...landmarks.imaging.radiograph import Radiograph
from ..study import Study
from .distributions import distribution
from .films import film_figure, film_grid

__all__ = ["Plot", "plot"]


#: Files that are tables (``spinecheck batch`` output), never films.
TABLE_SUFFIXES = (".csv", ".parquet", ".tsv")


class Plot:
    """Plots for a researcher, one call each; ``spinecheck.plot`` is the instance.

    What ``spinecheck.plot(first, second, **options)`` draws depends on *first*:

    - a film: a path to a radiograph (not a ``.csv`` or ``.parquet`` table), a
      loaded :class:`~spinecheck.landmarks.imaging.radiograph.Radiograph` or a
      display image array, with *second* its landmark file or measured
      :class:`~spinecheck.alignment.study.Study`: the annotated figure that
      ``spinecheck plot`` saves
      (:func:`~spinecheck.alignment.plots.films.film_figure`; options
      ``panel=False``, ``values=False``, ``points=False``, ``variants=True``);
    - a :class:`~spinecheck.alignment.study.Study` alone, or with a film as
      *second*: its annotated figure likewise (the film it was loaded with,
      or *second*);
    - anything else (a DataFrame, a dict of columns, a batch table's path, a
      Study with a column name): *second* is a column, and the figure is its
      distribution by group with the criteria's thresholds
      (:func:`~spinecheck.alignment.plots.distributions.distribution`, also
      ``spinecheck.plot.distribution``).

    ``spinecheck.plot.films(rows_or_studies)`` draws a grid of annotated films
    (:func:`~spinecheck.alignment.plots.films.film_grid`).

    Each returns a Matplotlib ``Figure`` with an Agg canvas (no pyplot state):
    ``fig.savefig("x.png")``.

    Examples
    --------
    >>> import pandas as pd
    >>> fig = plot(pd.DataFrame({"PT_deg": [12.0, 25.0, 31.0]}), "PT_deg")
    >>> fig.axes[0].get_title()
    'PT: pelvic tilt'
    """

    def __call__(self, data: Any, column: Any = None, /, **options: Any) -> Figure:
        if _is_film(data, column):
            if isinstance(data, Study):
                return film_figure(column, data, **options)
            return film_figure(data, column, **options)
        if not isinstance(column, str):
            raise InvalidArgumentError.about(
                "column",
                "spinecheck.plot: give a table and a column name (plot(table, 'SVA_mm')) or a film and "
                "its landmarks (plot('film.dcm', 'film.landmarks.json')); got {got} and {second}",
                got=type(data).__name__,
                second=type(column).__name__,
            )
        return distribution(data, column, **options)

    distribution = staticmethod(distribution)
    film = staticmethod(film_figure)
    films = staticmethod(film_grid)

    def __repr__(self) -> str:
        return (
            "spinecheck.plot: plot(image, landmarks, ...) for a film, plot(data, column, by=...) for a "
            "distribution, plot.films(films, ...) for a grid"
        )


def _is_film(first: Any, second: Any) -> bool:
    """Whether ``plot(first, second)`` asks for a film's figure (else a distribution)."""
    if isinstance(first, (Radiograph, np.ndarray)):
        return True
    if isinstance(first, Study):
        if second is None or isinstance(second, (Radiograph, np.ndarray)):
            return True
        return isinstance(second, (str, os.PathLike)) and Path(second).is_file()
    if isinstance(first, (str, os.PathLike)):
        return Path(first).suffix.lower() not in TABLE_SUFFIXES
    return False


#: The one instance: ``spinecheck.plot``.
plot = Plot()
