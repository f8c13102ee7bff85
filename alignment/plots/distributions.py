"""One parameter's distribution over many studies, by group, with the criteria's thresholds.

:func:`distribution` draws a box plot of one numeric column of a batch table (a
DataFrame, a :class:`~spinecheck.alignment.study.Study` or a table file), one box per
group, with every study as a point beside it, and the thresholds of the criteria that
judge the parameter as dashed lines. The lines are read from the criterion sets
(:func:`~spinecheck.alignment.criteria.thresholds.parameter_thresholds`), each labelled
with its criterion and evidence status, so the plot draws no number that is not in the
data with its source. Age-adjusted targets differ per study and are not lines.

Every artist a reader may want to find carries a ``gid``: ``box:<group>`` (the box),
``points:<group>`` (the studies), ``threshold:<criterion>:<value>`` (a line).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ...landmarks.errors import InvalidArgumentError
from ...landmarks.points.model import LandmarkSet, LandmarkTable
from ...landmarks.points.names import View
from ..criteria.engine import DEFAULT_CRITERIA, assess
from ..criteria.thresholds import Threshold, parameter_thresholds
from ..measure import measure
from ..parameters import PARAMETERS
from ..render.figure import OKABE_ITO
from ..study import Study
from ..tables.frame import read_batch_table, require_pandas, to_dataframe

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Group", "distribution", "column_parameter", "thresholds_for"]

_BOX = OKABE_ITO["blue"]
_POINTS = OKABE_ITO["black"]
_LINE = "#777777"


class Group(NamedTuple):
    """One group of a distribution plot: its label, the values drawn and how many were empty."""

    label: str
    values: np.ndarray
    missing: int


def column_parameter(column: str) -> str | None:
    """The parameter a batch-table column holds in its own unit, or None.

    ``"SVA_mm"`` is SVA (mm), ``"PI_LL_deg"`` is PI_LL; ``"SVA_px"`` (pixels) and
    the columns that are no parameter's value are None: no criterion's threshold
    applies to them.

    Examples
    --------
    >>> column_parameter("SVA_mm"), column_parameter("PI_LL_deg"), column_parameter("SVA_px")
    ('SVA', 'PI_LL', None)
    """
    for pid, p in PARAMETERS.items():
        if column == f"{pid}_{p.unit.value}":
            return pid
    return None


def thresholds_for(
    column: str, criteria: Sequence[str | os.PathLike[str]] = DEFAULT_CRITERIA
) -> tuple[Threshold, ...]:
    """The thresholds of the criterion sets *criteria* on the parameter of *column*.

    Parameters
    ----------
    column : str
        A batch-table column (``"SVA_mm"``).
    criteria : sequence of str or Path
        Criterion sets, shipped names or files (default: the default sets).

    Returns
    -------
    tuple of Threshold
        In ascending value; empty for a column no criterion judges.

    Examples
    --------
    >>> [(t.value, t.status) for t in thresholds_for("SVA_mm")]
    [(40.0, 'S'), (50.0, 'V'), (95.0, 'S')]
    """
    pid = column_parameter(column)
    if pid is None:
        return ()
    empty = measure(LandmarkTable.from_sets([LandmarkSet(View.LATERAL, {})]))
    sets = tuple(c if isinstance(c, str) else Path(c) for c in criteria)  # names stay names, files are paths
    return parameter_thresholds(assess(empty, age_set=None, criteria=sets)).get(pid, ())


def distribution(
    data: Any,
    column: str,
    *,
    by: Any = None,
    criteria: Sequence[str | os.PathLike[str]] | None = None,
    thresholds: bool = True,
    points: bool = True,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Box plot of one numeric column by group, with the criteria's thresholds as dashed lines.

    Parameters
    ----------
    data : pandas.DataFrame, Study, str or Path
        A batch table as a DataFrame (:func:`~spinecheck.alignment.tables.read_batch_table`,
        :func:`~spinecheck.alignment.tables.to_dataframe`), measured studies, or
        a batch table file.
    column : str
        A numeric column: ``"SVA_mm"``, ``"PI_LL_deg"``, ``"gap_total"`` ...
    by : str, array-like or None
        The groups: a column of *data* (``"view"``, ``"sex"``), or values
        aligned with its rows (``age_groups(df["age_years"], (45, 65))``). A
        categorical's categories give the order (empty ones are kept, with
        n = 0); other values are sorted. Rows without a group are left out.
        None: one box of every study.
    criteria : sequence of str or Path, optional
        The criterion sets whose thresholds are drawn; default the sets a
        Study was judged with, or the default sets for a table.
    thresholds : bool
        Draw the thresholds (only on a parameter in its own unit: none on a
        ``_px`` column).
    points : bool
        Draw each study as a point beside its box (a fixed jitter, so the
        same data give the same picture).
    title : str, optional
        Default: the parameter's id, name and unit, and the grouping.
    ax : matplotlib.axes.Axes, optional
        Draw here; default a new figure (Agg canvas, no pyplot state).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on. ``fig.spinecheck_groups`` lists the :class:`Group`
        objects drawn and ``fig.spinecheck_thresholds`` the threshold lines.

    Raises
    ------
    InvalidArgumentError
        *column* or *by* is not a column of *data*, *column* holds no numbers,
        or *by* has another length than *data*.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"SVA_mm": [10.0, 62.0, 48.0, float("nan")], "sex": ["F", "M", "F", "M"]})
    >>> fig = distribution(df, "SVA_mm", by="sex")
    >>> [(g.label, len(g.values), g.missing) for g in fig.spinecheck_groups]
    [('F', 2, 0), ('M', 1, 1)]
    >>> [line.get_ydata()[0] for line in fig.axes[0].lines if str(line.get_gid()).startswith("threshold:")]
    [40.0, 50.0, 95.0]
    """
    pd = require_pandas("plot")
    frame, own_criteria = _frame(pd, data)
    if column not in frame.columns:
        raise InvalidArgumentError.about(
            "column",
            "{column}: no column {name!r} in the table; its numeric columns include {some}",
            name=column,
            some=", ".join(_numeric(pd, frame)[:8]),
        )
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise InvalidArgumentError.about(
            "column", "{column}: column {name!r} holds {dtype}, not numbers", name=column, dtype=values.dtype
        )
    groups, by_name = _groups(pd, frame, values.to_numpy(dtype=float, na_value=np.nan), by)
    if ax is None:
        fig = Figure(figsize=(max(4.0, 1.2 * len(groups) + 2.5), 4.5), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    positions = np.arange(1, len(groups) + 1, dtype=float)
    rng = np.random.default_rng(0)
    for pos, g in zip(positions, groups, strict=True):
        if len(g.values):
            parts = ax.boxplot(
                [g.values],
                positions=[pos],
                widths=0.5,
                showfliers=not points,
                patch_artist=True,
                boxprops={"facecolor": "none", "edgecolor": _BOX},
                medianprops={"color": _BOX},
            )
            parts["boxes"][0].set_gid(f"box:{g.label}")
        if points and len(g.values):
            jitter = rng.uniform(-0.12, 0.12, len(g.values))
            ax.plot(
                pos + 0.32 + jitter, g.values, "o", ms=3, alpha=0.6, color=_POINTS, gid=f"points:{g.label}"
            )
    ax.set_xticks(positions)
    ax.set_xticklabels([f"{g.label}\nn = {len(g.values)}" for g in groups])
    ax.set_xlim(0.4, len(groups) + 0.9)
    pid = column_parameter(column)
    lines: tuple[Threshold, ...] = ()
    if thresholds:
        lines = thresholds_for(column, criteria if criteria is not None else own_criteria)
        for t in lines:
            ax.axhline(
                t.value, ls="--", lw=0.9, color=_LINE, gid=f"threshold:{t.criterion}:{t.value:g}", zorder=0
            )
            ax.annotate(
                f"{t.criterion} [{t.status}]: {t.value:g}",
                xy=(1.0, t.value),
                xycoords=("axes fraction", "data"),
                xytext=(-2, 2),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=7,
                color=_LINE,
            )
    unit = PARAMETERS[pid].unit.value if pid else None
    ax.set_ylabel(f"{pid} ({unit})" if pid else column)
    if title is None:
        title = f"{pid}: {PARAMETERS[pid].name}" if pid else column
        title += f" by {by_name}" if by_name else ""
    ax.set_title(title)
    fig.spinecheck_groups = tuple(groups)  # type: ignore[attr-defined]
    fig.spinecheck_thresholds = lines  # type: ignore[attr-defined]
    return fig


def _frame(pd, data: Any) -> tuple[pd.DataFrame, Sequence[str | os.PathLike[str]]]:
    """*data* as a DataFrame, and the criterion sets its thresholds come from by default."""
    if isinstance(data, Study):
        sets = [
            i.path if i.user_supplied and i.path else i.name
            for i in data.assessment.sets
            if i.kind == "criteria"
        ]
        return to_dataframe(data), sets
    if isinstance(data, (str, os.PathLike)):
        return read_batch_table(data), DEFAULT_CRITERIA
    if isinstance(data, pd.DataFrame):
        return data, DEFAULT_CRITERIA
    raise InvalidArgumentError.about(
        "data",
        "{data}: must be a DataFrame, a Study or a batch table file; got {got}",
        got=type(data).__name__,
    )


def _numeric(pd, frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]


def _groups(pd, frame: pd.DataFrame, values: np.ndarray, by: Any) -> tuple[list[Group], str | None]:
    """The groups in their order, and the grouping's name for the title."""
    if by is None:
        return [Group("all", values[np.isfinite(values)], int(np.sum(~np.isfinite(values))))], None
    name: str | None
    if isinstance(by, str):
        if by not in frame.columns:
            raise InvalidArgumentError.about("by", "{by}: no column {name!r} in the table", name=by)
        keys, name = frame[by], by.replace("_", " ")
    else:
        keys = pd.Series(by)
        name = str(keys.name).replace("_", " ") if keys.name is not None else None
        if len(keys) != len(frame):
            raise InvalidArgumentError.about(
                "by", "{by}: has {got} values for a table of {n} rows", got=len(keys), n=len(frame)
            )
    keys = keys.reset_index(drop=True)
    if isinstance(keys.dtype, pd.CategoricalDtype):
        labels = list(keys.cat.categories)
    else:
        labels = sorted(keys.dropna().unique().tolist(), key=str)
    out = []
    for label in labels:
        at = (keys == label).fillna(False).to_numpy(dtype=bool)
        v = values[at]
        out.append(Group(str(label), v[np.isfinite(v)], int(np.sum(~np.isfinite(v)))))
    return out, name
