"""A follow-up series on paper: the films in time order, every parameter over time, and a plot of each.

:func:`series_figures` draws a :class:`~spinecheck.alignment.followup.SeriesTable` (three
or more films; two films have :func:`~spinecheck.alignment.render.comparison.comparison_figure`)
as A4 landscape pages:

1. the annotated films side by side, each with its date and the interval from the film
   before, under the patient check and the order used;
2. a table of every parameter (and each coronal curve by region) per film, with the
   colour and mark of its worst verdict, and the change from the first film to the last;
3. a plot of each parameter over time (small multiples): the values, coloured by verdict;
   the thresholds of the criteria that judge it as dashed grey lines (read from the
   criterion sets, :func:`~spinecheck.alignment.criteria.thresholds.parameter_thresholds`);
   the age-adjusted target of each film as a dashed black line.

Films and table columns continue on further pages when there are many films.
:func:`format_series_csv` writes the same series as CSV: one row per film in time order
(``film``, ``date``, ``date_source``, ``days_from_first``), then the film's batch-table
row (:func:`~spinecheck.alignment.render.text.table_columns`), so a series reads like
an archive's table.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ...landmarks.io.atomic import write_text_atomic
from ...landmarks.io.csv_cells import csv_text
from ...landmarks.points.names import View
from ..criteria.thresholds import parameter_thresholds
from ..followup import SeriesRow, SeriesTable
from .figure import Verdict
from .files import save_figure, save_pdf
from .pages import (
    _CHAR_EM,
    _FOOTER,
    _INK,
    _MARGIN,
    _MUTED,
    A4_LANDSCAPE_IN,
    _film,
    _fmt,
    _footer,
    _legend,
    _new_page,
    _Page,
    _provenance,
    _title,
    _worst,
)
from .text import table_columns

__all__ = [
    "series_figures",
    "save_pages",
    "page_paths",
    "format_series_csv",
    "write_series_csv",
    "FILMS_PER_PAGE",
    "COLUMNS_PER_PAGE",
]

#: Films drawn side by side on one page; more continue on the next.
FILMS_PER_PAGE = 6
#: Film columns of the table on one page (plus the change); more continue on the next.
COLUMNS_PER_PAGE = 7


def series_figures(
    images: Sequence[np.ndarray], table: SeriesTable, *, fontsize: float = 7.5
) -> list[Figure]:
    """The pages of a follow-up series: the films, the table, the plots.

    Parameters
    ----------
    images : sequence of ndarray of uint8, shape (rows, cols)
        The display image of each film (bone bright), in the order of ``table.followup.films``.
    table : SeriesTable
        From :func:`~spinecheck.alignment.followup.series_table`.
    fontsize : float
        Points for the text; the table's font is reduced (not below 5) until it fits.

    Returns
    -------
    list of matplotlib.figure.Figure
        A4 landscape pages with an Agg canvas each. The first has ``spinecheck_series``
        (the table drawn) and ``spinecheck_drawings`` (each film's
        :class:`~spinecheck.alignment.render.figure.Drawing`).
    """
    fu = table.followup
    if len(images) != len(fu):
        raise ValueError(f"series_figures: {len(images)} images for {len(fu)} films")
    pages: list[Figure] = []
    drawings = []
    for start in range(0, len(fu), FILMS_PER_PAGE):
        fig, drawn = _films_page(images, table, range(start, min(start + FILMS_PER_PAGE, len(fu))), fontsize)
        pages.append(fig)
        drawings += drawn
    for start in range(0, len(fu), COLUMNS_PER_PAGE):
        pages.append(_table_page(table, range(start, min(start + COLUMNS_PER_PAGE, len(fu))), fontsize))
    pages.append(_plots_page(table, fontsize))
    pages[0].spinecheck_series = table  # type: ignore[attr-defined]
    pages[0].spinecheck_drawings = tuple(drawings)  # type: ignore[attr-defined]
    return pages


def _films(fu) -> str:
    return f"{len(fu)} {'AP' if fu.view.value == 'ap' else fu.view.value} films"


def _head(page: _Page, table: SeriesTable, what: str) -> float:
    """Title, patient line and the follow-up's checks and notes; return the y below them."""
    fu = table.followup
    W = A4_LANDSCAPE_IN[0]
    first = fu.films[0]
    patient = _provenance(first.study, first.index)[0].removeprefix("Patient: ")
    y = _title(
        page,
        _MARGIN,
        W - 2 * _MARGIN,
        f"Follow-up series — {_films(fu)}: {what}",
        f"Patient (film 1): {patient}",
    )
    small = page.fs - 0.5
    colour = "#d55e00" if fu.different_patients_allowed else _INK  # Okabe-Ito vermillion: look here
    y += page.text(_MARGIN, y, fu.identity_line(), W - 2 * _MARGIN, fs=small, color=colour)
    y += page.text(_MARGIN, y, "Order: " + "; ".join(fu.notes), W - 2 * _MARGIN, fs=small, color=_MUTED)
    return y + 0.05


def _films_page(images, table: SeriesTable, which: range, fontsize: float):
    fu = table.followup
    W, H = A4_LANDSCAPE_IN
    fig = _new_page()
    page = _Page(fig, fontsize)
    y = _head(page, table, "the films")
    gap = 0.25
    width = (W - 2 * _MARGIN - gap * (len(which) - 1)) / max(len(which), 1)
    labels = {k: (f"Film {k + 1}: {fu.films[k].name}", fu.date_line(k)) for k in which}
    label_h = max(
        page.line_in(fontsize) * len(page.wrap(a, width, fontsize, "bold"))
        + page.line_in(fontsize - 1) * len(page.wrap(b, width, fontsize - 1))
        for a, b in labels.values()
    )
    top = y + label_h + 0.08
    bottom = H - _MARGIN - _FOOTER
    x = _MARGIN
    drawn = []
    for k in which:
        f = fu.films[k]
        name, date = labels[k]
        h = page.text(x, y, name, width, fs=fontsize, fontweight="bold")
        page.text(x, y + h, date, width, fs=fontsize - 1, color=_MUTED)
        _, drawing, fw, _ = _film(fig, images[k], f.study, f.index, x, top, width, bottom - top, 5.0)
        drawn.append(drawing)
        x += width + gap
    _footer(page, _MARGIN, W - 2 * _MARGIN)
    return fig, drawn


def _table_page(table: SeriesTable, which: range, fontsize: float) -> Figure:
    W, H = A4_LANDSCAPE_IN
    fig = _new_page()
    page = _Page(fig, fontsize)
    top = _head(page, table, "every parameter over time")
    bottom = H - _MARGIN - _FOOTER
    while page.fs > 5.0 and _table_body(page, table, which, top, False) > bottom:
        page.fs -= 0.25
    _table_body(page, table, which, top, True)
    _footer(page, _MARGIN, W - 2 * _MARGIN)
    return fig


def _table_body(page: _Page, table: SeriesTable, which: range, top: float, draw: bool) -> float:
    """Lay out (or only measure) the table of the films *which*; return the bottom y."""
    fu = table.followup
    W = A4_LANDSCAPE_IN[0]
    fs, small = page.fs, page.fs - 1
    x0, width = _MARGIN, W - 2 * _MARGIN
    name_w = 0.24 * width
    col_w = (width - name_w) / (len(which) + 1)
    xs = [x0 + name_w + col_w * c for c in range(len(which) + 1)]
    y = top
    head_h = page.text(x0, y, "Parameter", fs=fs, fontweight="bold", draw=draw)
    first = fu.days_from_first()
    for c, k in enumerate(which):
        d = fu.dates[k].date
        when = d.isoformat() if d else "undated"
        after = f"\nday {int(first[k])}" if math.isfinite(first[k]) else ""
        h = page.text(
            xs[c] + col_w - 0.05,
            y,
            f"Film {k + 1}\n{when}{after}",
            fs=fs,
            fontweight="bold",
            draw=draw,
            ha="right",
        )
        head_h = max(head_h, h)
    h = page.text(
        xs[-1] + col_w - 0.05,
        y,
        f"Change\n(film {len(fu)} − film 1)",
        fs=fs,
        fontweight="bold",
        draw=draw,
        ha="right",
    )
    y += max(head_h, h) + 0.03
    if draw:
        page.rule(x0, x0 + width, y - 0.02, lw=0.8, colour=_INK)
    for n, row in enumerate(table.rows):
        top_row = y + 0.02
        hn = page.text(x0, top_row, f"{row.key}  {row.name}", name_w - 0.1, fs=fs, draw=draw)
        hv = page.line_in(fs)
        for c, k in enumerate(which):
            right = xs[c] + col_w - 0.05
            value = _fmt(float(row.values[k]), row.units[k])
            page.text(right, top_row, value, fs=fs, draw=draw, ha="right")
            verdict = _verdict(fu, row, k)
            if verdict is not None and draw:  # just left of the value (its width estimated as the wrap does)
                page.swatch(right - (len(value) + 3) * fs * _CHAR_EM / 72 - fs / 72, top_row, verdict, fs)
            detail = row.details[k]
            if row.curve and detail:  # the curve's levels under its angle
                below = top_row + page.line_in(fs)
                text_h = page.text(
                    right, below, detail, col_w - 0.3, fs=small, draw=draw, ha="right", color=_MUTED
                )
                hv = max(hv, page.line_in(fs) + text_h)
        change = row.change()
        page.text(
            xs[-1] + col_w - 0.05,
            top_row,
            _fmt(change, row.unit, signed=True),
            fs=fs,
            draw=draw,
            ha="right",
            fontweight="bold",
        )
        y = top_row + max(hn, hv) + 0.02
        if draw and n < len(table.rows) - 1:
            page.rule(x0, x0 + width, y, lw=0.3)
    if draw:
        page.rule(x0, x0 + width, y + 0.02, lw=0.8, colour=_INK)
    y += 0.08
    y += _legend(page, x0, y, width) if draw else 2 * page.line_in(fs - 0.5)
    curves = (
        "Curves are matched by region (proximal thoracic, main thoracic, thoracolumbar/lumbar by the apex; "
        "Lenke 2001): each film's curve of a region, whatever its end vertebrae, which are given under it. "
        if fu.view is View.AP
        else ""
    )
    units = "A length is in px on a film without calibration, and no change is computed across mm and px."
    y += page.text(x0, y, curves + units, width, fs=small, draw=draw, color=_MUTED)
    return y


def _verdict(fu, row: SeriesRow, k: int) -> Verdict | None:
    """The worst verdict of the criteria on *row*'s parameter for film *k* (None for curve rows).

    PJA and DJA of an operated series: PJK (DJK) of film *k* against the pre-operative film.
    """
    if row.criterion is not None:
        return Verdict.of(row.criterion, k)
    f = fu.films[k]
    return _worst(f.study, f.index, row.key)


# ----------------------------------------------------------------------------- plots over time


def _plots_page(table: SeriesTable, fontsize: float) -> Figure:
    fu = table.followup
    W, H = A4_LANDSCAPE_IN
    fig = _new_page()
    page = _Page(fig, fontsize)
    top = _head(page, table, "each parameter over time")
    rows = [r for r in table.rows if np.isfinite(r.values).any()]
    lines = parameter_thresholds(fu.films[0].study.assessment)
    ncols = 5 if len(rows) > 9 else 3
    nrows = max(1, math.ceil(len(rows) / ncols))
    legend_h = 0.55
    area_top, area_bottom = top + 0.1, H - _MARGIN - _FOOTER - legend_h
    cell_w, cell_h = (W - 2 * _MARGIN) / ncols, (area_bottom - area_top) / nrows
    # time in days from the first film when every film is dated, else the films' order
    x = fu.days_from_first() if fu.dated else np.arange(1, len(fu) + 1, dtype=float)
    # at most four ticks, one per distinct time: films of one day share theirs ("2-3")
    times = np.unique(x)
    ticks = times[np.unique(np.linspace(0, len(times) - 1, min(len(times), 4)).round().astype(int))]
    labels = []
    for t in ticks:
        films = np.flatnonzero(x == t)
        names = "–".join(str(k + 1) for k in dict.fromkeys((films[0], films[-1])))
        labels.append(f"{names}\n{fu.dates[films[0]].date:%Y-%m}" if fu.dated else names)
    for n, row in enumerate(rows):
        r, c = divmod(n, ncols)
        left = _MARGIN + c * cell_w + 0.45
        bottom_in = H - (area_top + (r + 1) * cell_h) + 0.32
        ax = fig.add_axes(((left) / W, bottom_in / H, (cell_w - 0.75) / W, (cell_h - 0.62) / H))
        # a region's curve is judged with every curve by the curve type, which names Cobb_max
        _plot_row(ax, row, x, fu, lines.get("Cobb_max" if row.curve else row.key, ()), fontsize)
        ax.set_xticks(ticks, labels)  # film number (and month): at most four, so they never overlap
        if not fu.dated:
            ax.set_xlabel("film (undated: in the order given)", fontsize=fontsize - 2.5, labelpad=1)
    y = H - _MARGIN - _FOOTER - legend_h + 0.05
    page.text(
        _MARGIN,
        y,
        "Points: each film's value, coloured and marked by the worst verdict of the criteria on it (key "
        "below); hollow where no criterion judges the parameter. Dashed grey: a threshold of a criterion "
        "applied (its value at the right). Dashed black ×: the film's age-adjusted target.",
        W - 2 * _MARGIN,
        fs=fontsize - 1,
        color=_MUTED,
    )
    _legend(page, _MARGIN, y + 2 * page.line_in(fontsize - 1), W - 2 * _MARGIN)
    _footer(page, _MARGIN, W - 2 * _MARGIN)
    return fig


def _plot_row(ax, row: SeriesRow, x: np.ndarray, fu, thresholds, fontsize: float) -> None:
    """One small plot: the row's values over time, the thresholds, the targets."""
    unit = row.unit
    finite = np.isfinite(row.values)
    same_unit = np.array([u == unit.split("/")[0] for u in row.units]) & finite
    ax.plot(x[same_unit], row.values[same_unit], color="#999999", lw=0.8, zorder=1)
    marked: set[tuple[float, float, str]] = set()
    for k in np.flatnonzero(same_unit):
        verdict = _verdict(fu, row, int(k))
        colour = "#ffffff" if verdict is None else verdict.colour  # hollow: no criterion judges it
        ax.scatter([x[k]], [row.values[k]], s=22, color=colour, edgecolors=_INK, linewidths=0.5, zorder=3)
        point = (float(x[k]), round(float(row.values[k]), 1), verdict.mark if verdict is not None else "")
        if verdict is not None and point not in marked:  # the mark too, so colour is never the only cue
            marked.add(point)  # (once: films of one day with one value, as shown, are one point)
            ax.annotate(
                verdict.mark,
                (x[k], row.values[k]),
                xytext=(0, 4.5),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=fontsize - 2.5,
                fontweight="bold",
                color=_INK,
            )
    targets = np.isfinite(row.targets)
    if targets.any():
        ax.plot(x[targets], row.targets[targets], ls="--", color=_INK, lw=0.7, marker="x", ms=3.5, zorder=2)
    shown = row.values[same_unit].tolist() + row.targets[targets].tolist()
    values = sorted({t.value for t in thresholds}) if unit.split("/")[0] in ("deg", "mm") else []
    for v in values:
        ax.axhline(v, ls=(0, (3, 2)), color="#888888", lw=0.6, zorder=0)
    span = [*shown, *values]
    lo, hi = (min(span), max(span)) if span else (0.0, 1.0)
    pad = max((hi - lo) * 0.12, 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    labelled: list[float] = []
    for v in values:  # a value label at the right, skipping one too close to the last
        if all(abs(v - w) > (hi - lo + 2 * pad) * 0.08 for w in labelled):
            ax.text(
                1.01,
                v,
                f"{v:g}",
                transform=ax.get_yaxis_transform(),
                fontsize=fontsize - 2.5,
                va="center",
                color="#666666",
            )
            labelled.append(v)
    ax.set_title(f"{row.key} ({unit})", fontsize=fontsize - 0.5, loc="left", pad=2)
    ax.tick_params(labelsize=fontsize - 2.5, length=2, pad=1)
    ax.margins(x=0.08)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def save_pages(pages: Sequence[Figure], path: str | os.PathLike[str], *, dpi: float = 150) -> list[Path]:
    """Save *pages*: one PDF of every page, or one PNG per page (``OUT.png``, ``OUT-2.png``, ...).

    Returns
    -------
    list of Path
        The files written.
    """
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return [save_pdf(pages, path)]
    return [
        save_figure(fig, out, dpi=dpi) for fig, out in zip(pages, page_paths(path, len(pages)), strict=True)
    ]


def page_paths(path: str | os.PathLike[str], n: int) -> list[Path]:
    """The files :func:`save_pages` writes for *n* pages: the PDF, or ``OUT.png``, ``OUT-2.png``, ...

    >>> [p.name for p in page_paths("a/change.png", 3)], [p.name for p in page_paths("change.pdf", 3)]
    (['change.png', 'change-2.png', 'change-3.png'], ['change.pdf'])
    """
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return [path]
    return [path if k == 1 else path.with_name(f"{path.stem}-{k}{path.suffix}") for k in range(1, n + 1)]


# ----------------------------------------------------------------------------- CSV


def _series_rows(table: SeriesTable) -> list[dict[str, object]]:
    fu = table.followup
    days = fu.days_from_first()
    out = []
    for k, f in enumerate(fu.films):
        cells = {name: values[f.index] for name, values in table_columns(f.study).items()}
        d = fu.dates[k]
        head: dict[str, object] = {
            "film": k + 1,
            "date": d.date.isoformat() if d.date else None,
            "date_source": d.source,
            "days_from_first": int(days[k]) if math.isfinite(days[k]) else None,
        }
        out.append({**head, **cells})
    return out


def format_series_csv(table: SeriesTable) -> str:
    """The series as CSV text: one row per film in time order (see the module notes)."""
    rows = _series_rows(table)
    header = list(dict.fromkeys(name for r in rows for name in r))
    body = [["" if r.get(name) is None else _cell(r.get(name)) for name in header] for r in rows]
    return csv_text([header, *body])  # text cells that a spreadsheet would run are neutralised


def _cell(value: object) -> object:
    if isinstance(value, float):
        return "" if not math.isfinite(value) else value + 0.0  # never a "-0.0" cell
    return value


def write_series_csv(table: SeriesTable, path: str | os.PathLike[str]) -> None:
    """Write :func:`format_series_csv` to *path* atomically."""
    write_text_atomic(Path(path), format_series_csv(table))
