"""``spinecheck.plot``: one call for a distribution, ``.films`` for a grid of annotated films."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from .distributions import distribution
from .films import film_grid

__all__ = ["Plot", "plot"]


class Plot:
    """Plots for a researcher, one call each; ``spinecheck.plot`` is the instance.

    - ``spinecheck.plot(data, "SVA_mm", by="age_group")`` (or
      ``spinecheck.plot.distribution``): one column's distribution by group,
      with the criteria's thresholds (:func:`~spinecheck.alignment.plots.distributions.distribution`);
    - ``spinecheck.plot.films(rows_or_studies)``: a grid of annotated films
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

    def __call__(self, data: Any, column: str, **options: Any) -> Figure:
        return distribution(data, column, **options)

    distribution = staticmethod(distribution)
    films = staticmethod(film_grid)

    def __repr__(self) -> str:
        return "spinecheck.plot: plot(data, column, by=...) and plot.films(films, ...)"


#: The one instance: ``spinecheck.plot``.
plot = Plot()
