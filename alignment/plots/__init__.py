"""Plots for a researcher: distributions with the criteria's thresholds, and grids of annotated films."""

from .distributions import Group, column_parameter, distribution, thresholds_for
from .films import FilmCell, film_figure, film_grid
from .namespace import Plot, plot

__all__ = [
    "Group",
    "column_parameter",
    "distribution",
    "thresholds_for",
    "FilmCell",
    "film_figure",
    "film_grid",
    "Plot",
    "plot",
]
