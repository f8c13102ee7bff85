"""The pre/post comparison page: two films of one patient side by side, or one above the other.

:func:`comparison_figure` puts two films of one patient on one A4 landscape page
(pre and post) with a table of every parameter's pre value, post value and change
(post − pre), each value marked with the colour of its worst verdict, each coronal
curve by region, the junctional angles of a post-operative film, the interval and
the patient check.

The films are arranged by their shapes: side by side (two tall films) or one
above the other (wide films), whichever draws the smaller of the two larger;
each under its name and date, wrapped to the film's width (at most three lines),
so a name never runs onto the other film. The table takes the rest of the page.
A film's labels stay on that film (:mod:`~spinecheck.alignment.render.layout`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ...landmarks.errors import InvalidLandmarksError
from ...landmarks.points.names import View
from ..followup import Film, FollowUp, compare_studies, series_table
from ..parameters import JUNCTIONAL, PARAMETERS
from ..postop import JunctionalChange, junctional_comparison
from ..study import Study
from .figure import Verdict
from .pages import (
    _FOOTER,
    _GAP,
    _INK,
    _MARGIN,
    _MUTED,
    A4_LANDSCAPE_IN,
    _film,
    _film_ratio,
    _fmt,
    _footer,
    _judging,
    _legend,
    _new_page,
    _nice,
    _Page,
    _provenance,
    _result,
    _title,
    _view,
    _worst,
)
from .text import parameter_ids, study_warnings

__all__ = ["comparison_figure"]

_TABLE_MIN_W = 4.3  # inches: the four columns of the table, readable
_FILMS_GAP = 0.3  # between the two films (or their names)
_HEAD_MIN_W = 1.4  # a film narrower than this still has this much width for its name
_HEAD_LINES = 3  # a film's name wraps to at most this many lines, then is shortened


@dataclass(frozen=True)
class _Slot:
    """Where one film goes, inches from the page's top-left corner."""

    x: float  # left of the slot (the name's column)
    w: float  # the slot's width: the film's, or the name's when the film is narrower
    head_top: float  # the top of the film's name
    top: float  # the top of the film
    film_w: float
    h: float


@dataclass
class _FilmHead:
    """A film's name (bold) and date above it, wrapped to the slot's width by measured extents."""

    name: str
    date: str
    fontsize: float
    _heights: dict[float, float] = field(default_factory=dict)

    def lines(self, page: _Page, width: float) -> list[str]:
        fs = self.fontsize + 1
        lines = page.wrap(self.name, width, fs, "bold")
        if len(lines) > _HEAD_LINES:  # a very long name on a narrow film: shortened, in full in the table
            lines = lines[:_HEAD_LINES]
            last = lines[-1]
            while last and page.width(last + "…", fs, "bold") > width:
                last = last[:-1]
            lines[-1] = last + "…"
        return lines

    def height(self, page: _Page, width: float) -> float:
        key = round(width, 3)
        if key not in self._heights:  # the arrangement asks for the same widths many times
            self._heights[key] = self._height(page, width)
        return self._heights[key]

    def _height(self, page: _Page, width: float) -> float:
        date = page.wrap(self.date, width, self.fontsize - 1, "normal")
        return (
            len(self.lines(page, width)) * page.line_in(self.fontsize + 1)
            + len(date) * page.line_in(self.fontsize - 1)
            + 0.08
        )

    def draw(self, page: _Page, x: float, top: float, width: float) -> None:
        lines = self.lines(page, width)
        h = page.text(x, top, "\n".join(lines), fs=self.fontsize + 1, fontweight="bold")
        date = page.wrap(self.date, width, self.fontsize - 1, "normal")
        page.text(x, top + h, "\n".join(date), fs=self.fontsize - 1, color=_MUTED)


def _arrange(
    page: _Page,
    heads: Sequence[_FilmHead],
    ratios: Sequence[float],
    left: float,
    top: float,
    max_w: float,
    bottom: float,
) -> tuple[list[_Slot], float]:
    """Slots for the two films (width/height *ratios*) in the box ``left, top, max_w, bottom``, inches.

    Side by side (the width shared between two columns) or one above the other
    (the height shared between two rows), each film the largest of its shape its
    share holds under its name. Every share from 5 % to 95 % is tried; the
    arrangement and share whose smaller film is the largest win, so two films of
    one shape come out the same size, and a very wide film beside a very narrow
    one still gets room. Returns the slots and the width they use.
    """
    avail_h = bottom - top
    shares = np.linspace(0.05, 0.95, 37)

    def side(share: float) -> list[_Slot]:
        slots, x = [], left
        for head, r, col in zip(heads, ratios, (share, 1 - share), strict=True):
            col_w = col * (max_w - _FILMS_GAP)
            h = min(avail_h - head.height(page, col_w), col_w / r)
            w = max(r * h, _HEAD_MIN_W)  # the name as wide as the film, then the film under it again
            h = max(min(h, avail_h - head.height(page, w)), 0.0)
            slots.append(_Slot(x, w, top, top + head.height(page, w), r * h, h))
            x += w + _FILMS_GAP
        return slots

    def stacked(share: float) -> list[_Slot]:
        slots, y = [], top
        for head, r, row in zip(heads, ratios, (share, 1 - share), strict=True):
            row_h = row * (avail_h - _FILMS_GAP)
            w = max(min(max_w, r * row_h), _HEAD_MIN_W)
            hh = head.height(page, w)
            h = max(min(row_h - hh, max_w / r), 0.0)
            w = max(r * h, _HEAD_MIN_W)
            hh = head.height(page, w)
            slots.append(_Slot(left, w, y, y + hh, r * h, h))
            y += hh + h + _FILMS_GAP
        return slots

    def smaller(slots: list[_Slot]) -> float:
        fits = (
            slots[-1].top + slots[-1].h <= bottom + 1e-6
            and max(s.x + s.w for s in slots) <= left + max_w + 1e-6
        )
        return min(s.film_w * s.h for s in slots) if fits else -1.0

    candidates = [arrange(float(share)) for arrange in (side, stacked) for share in shares]
    best = max(candidates, key=smaller)  # on a tie the first: side by side
    return best, max(s.x + s.w for s in best) - left


def _changes(pre: Study, i: int, post: Study, j: int) -> list[dict]:
    """Every parameter's pre, post and change (post − pre; None when either is missing or units differ)."""
    out = []
    for pid in parameter_ids(pre.measurements.views[i]):
        if pid in JUNCTIONAL:  # measured at the post film's levels on both: _comparison_body's own lines
            continue
        a, b = pre.measurements.reported(pid, i), post.measurements.reported(pid, j)
        same = a.unit == b.unit
        change = b.value - a.value if (a.value is not None and b.value is not None and same) else None
        out.append(
            {
                "pid": pid,
                "pre": a.value,
                "post": b.value,
                "change": change,
                "unit": a.unit if same else f"{a.unit}/{b.unit}",
                "pre_unit": a.unit,
                "post_unit": b.unit,
                "pre_verdict": _worst(pre, i, pid),
                "post_verdict": _worst(post, j, pid),
            }
        )
    return out


def _curve_changes(followup: FollowUp) -> list[dict]:
    """Each coronal curve region's pre, post and change, curves matched by region (rows like :func:`_changes`)."""
    if followup.view is not View.AP:
        return []
    out = []
    for row in series_table(followup).rows:
        if not row.curve:
            continue
        pre, post = (None if not math.isfinite(v) else float(v) for v in row.values[:2])
        levels = " → ".join(d.replace("-", "–") if d else "none" for d in row.details[:2])
        out.append(
            {
                "pid": row.key,
                "name": f"{row.key} curve  {levels}",
                "pre": pre,
                "post": post,
                "change": row.change(0, 1),
                "unit": "deg",
                "pre_unit": "deg",
                "post_unit": "deg",
                "pre_verdict": None,
                "post_verdict": None,
            }
        )
    return out


def _pair_date(followup: FollowUp, k: int) -> str:
    """Film *k*'s date (0 pre, 1 post) and who says so; the interval is in the table's notes."""
    d = followup.dates[k]
    return "date unknown" if d.date is None else f"{d.date.isoformat()} ({d.source})"


def comparison_figure(
    pre_image: np.ndarray,
    pre_study: Study,
    post_image: np.ndarray,
    post_study: Study,
    *,
    pre_index: int = 0,
    post_index: int = 0,
    fontsize: float = 7.5,
    followup: FollowUp | None = None,
) -> Figure:
    """Two films of one patient side by side with every parameter's pre, post and change.

    Parameters
    ----------
    pre_image, post_image : ndarray of uint8, shape (rows, cols)
        Display images (bone bright), full resolution.
    pre_study, post_study : Study
        Of the same view (two lateral or two AP films).
    pre_index, post_index : int
        Which study of each.
    fontsize : float
    followup : FollowUp, optional
        The two films as :func:`~spinecheck.alignment.followup.compare_studies` put them in
        time order (pre first), checked and dated: the page shows each film's date, the
        interval and the patient check. Without it, the films are taken in the order given,
        dated by their landmark files, and never refused (the page says what they state).

    Returns
    -------
    matplotlib.figure.Figure
        One A4 landscape page with an Agg canvas. ``fig.spinecheck_changes`` is
        the table shown: one dict per parameter with ``pid``, ``pre``, ``post``,
        ``change`` (post − pre, None when either is missing or their units
        differ), ``unit`` and the two worst verdicts. ``fig.spinecheck_curve_changes``
        holds each coronal curve region's row the same way (``pid`` ``"PT"``, ``"MT"``,
        ``"TL/L"``, curves matched by region) and ``fig.spinecheck_followup`` the
        :class:`~spinecheck.alignment.followup.FollowUp`.

    Raises
    ------
    InvalidLandmarksError
        The two films are of different views, or one could not be read.
    """
    films = ((pre_study, pre_index), (post_study, post_index))
    for when, (st, k) in zip(("pre", "post"), films, strict=True):
        status, error = st.status(k)
        if status != "ok":
            raise InvalidLandmarksError(f"{when} film {st.table.ids[k]}: {error}")
    pre = View.parse(pre_study.measurements.views[pre_index]).value
    post = View.parse(post_study.measurements.views[post_index]).value
    if pre != post:
        raise InvalidLandmarksError(
            f"cannot compare a {pre} film (pre) with an {post} film (post): both must be of the same view"
            if post == "ap"
            else f"cannot compare an {pre} film (pre) with a {post} film (post): both must be of the same view"
        )
    if followup is None:  # in the order given, never refused: the page says what the films state
        followup = compare_studies(
            [Film(pre_study, pre_index), Film(post_study, post_index)],
            allow_different_patients=True,
            by_date=False,
        )
    elif any(f.study is not st or f.index != k for f, (st, k) in zip(followup.films, films, strict=True)):
        raise ValueError("comparison_figure: followup holds other films than pre_study and post_study")
    curve_changes = _curve_changes(followup)
    W, H = A4_LANDSCAPE_IN
    fig = _new_page()
    page = _Page(fig, fontsize)
    patient = _provenance(pre_study, pre_index)[0].removeprefix("Patient: ")
    title = f"Pre/post comparison — {_view(pre_study, pre_index)} films"
    top = _title(page, _MARGIN, W - 2 * _MARGIN, title, f"Patient (pre): {patient}")
    bottom = H - _MARGIN - _FOOTER
    heads = [
        _FilmHead(f"{label}: {film.name}", _pair_date(followup, n), fontsize)  # the image's name
        for n, (label, film) in enumerate(zip(("Pre", "Post"), followup.films, strict=True))
    ]
    ratios = [_film_ratio(img, st, k) for img, (st, k) in zip((pre_image, post_image), films, strict=True)]
    films_w = W - 2 * _MARGIN - _GAP - _TABLE_MIN_W
    slots, used_w = _arrange(page, heads, ratios, _MARGIN, top, films_w, bottom)
    drawings = []
    for img, (st, k), slot, head in zip((pre_image, post_image), films, slots, heads, strict=True):
        head.draw(page, slot.x, slot.head_top, slot.w)
        x = slot.x + (slot.w - slot.film_w) / 2  # a film narrower than its name is centred under it
        _, drawing, _, _ = _film(fig, img, st, k, x, slot.top, slot.film_w, slot.h, 6.0)
        drawings.append(drawing)
    x0 = _MARGIN + used_w + _GAP
    width = W - _MARGIN - x0
    changes = _changes(pre_study, pre_index, post_study, post_index)
    junctions = junctional_comparison(pre_study, pre_index, post_study, post_index)
    rows = [*changes, *curve_changes]
    body = (films, rows, x0, top, width)
    while page.fs > 5.0 and _comparison_body(page, *body, False, junctions, followup=followup) > bottom:
        page.fs -= 0.25
    _comparison_body(page, *body, True, junctions, followup=followup)
    _footer(page, _MARGIN, W - 2 * _MARGIN)
    fig.spinecheck_changes = changes  # type: ignore[attr-defined]
    fig.spinecheck_curve_changes = curve_changes  # type: ignore[attr-defined]
    fig.spinecheck_followup = followup  # type: ignore[attr-defined]
    fig.spinecheck_junctions = junctions  # type: ignore[attr-defined]
    fig.spinecheck_drawings = tuple(drawings)  # type: ignore[attr-defined]
    return fig


def _comparison_body(
    page: _Page,
    films: tuple[tuple[Study, int], tuple[Study, int]],
    changes: list[dict],
    x0: float,
    top: float,
    width: float,
    draw: bool,
    junctions: Sequence[JunctionalChange] = (),
    followup: FollowUp | None = None,
) -> float:
    """Lay out (or just measure, with draw=False) the comparison table of the (pre, post) *films*."""
    fs = page.fs
    cw = [width * c for c in (0.43, 0.19, 0.19, 0.19)]
    xs = np.cumsum([x0, *cw[:-1]])
    y = top
    for k, head in enumerate(("Parameter", "Pre", "Post", "Change\n(post − pre)")):
        page.text(
            xs[k] + (cw[k] - 0.05 if k else 0),
            y,
            head,
            fs=fs,
            fontweight="bold",
            draw=draw,
            ha="right" if k else "left",
        )
    y += 2 * page.line_in() + 0.03
    if draw:
        page.rule(x0, x0 + width, y - 0.02, lw=0.8, colour=_INK)
    for n, c in enumerate(changes):
        top = y + 0.025
        name = c.get("name") or f"{c['pid']}  {PARAMETERS[c['pid']].name}"  # a curve row has its own
        h = page.text(xs[0], top, name, cw[0] - 0.1, draw=draw)
        for k, (value, unit, verdict) in enumerate(
            ((c["pre"], c["pre_unit"], c["pre_verdict"]), (c["post"], c["post_unit"], c["post_verdict"])), 1
        ):
            right = xs[k] + cw[k] - 0.05
            text = _fmt(value, unit)
            page.text(right, top, text, draw=draw, ha="right")
            if verdict is not None and draw:
                page.swatch(xs[k] + 0.1, top, verdict)
        page.text(
            xs[3] + cw[3] - 0.05,
            top,
            _fmt(c["change"], c["unit"], signed=True),
            draw=draw,
            ha="right",
            fontweight="bold",
        )
        y = top + max(h, page.line_in()) + 0.025
        if draw and n < len(changes) - 1:
            page.rule(x0, x0 + width, y, lw=0.3)
    if draw:
        page.rule(x0, x0 + width, y + 0.02, lw=0.8, colour=_INK)
    y += 0.1
    y += _legend(page, x0, y, width) if draw else 2 * page.line_in(fs - 0.5)
    y += 0.05
    small = fs - 0.5
    if followup is not None:  # when the films were taken, the interval, whether they are of one patient
        interval, since = followup.interval(0, 1), followup.since_operation(1)
        operated = f"; post {since.text()} after the operation" if since is not None else ""
        lines = [
            f"Interval: {interval.text() if interval is not None else 'unknown (a film has no date)'}{operated}",
            followup.identity_line(),
            "Order: " + "; ".join(followup.notes),
        ]
        for n, line in enumerate(lines):
            alarm = n == 1 and followup.different_patients_allowed
            y += page.text(x0, y, line, width, fs=small, draw=draw, color="#d55e00" if alarm else _INK)
        y += 0.04
    # scores and classifications that are not a single parameter: pre -> post
    (pre, i), (post, j) = films
    post_columns = {c.id: c for c in post.assessment.columns}
    scores = _judging(pre, i)[1]
    if scores:
        y += page.text(
            x0, y, "Scores and classifications (pre → post)", fs=small, fontweight="bold", draw=draw
        )
        for score in scores:
            d = post_columns.get(score.id)
            a = _result(score, i)
            b = _result(d, j) if d is not None else None
            y += page.text(
                x0,
                y,
                f"• {score.name}: {a if a is not None else '—'} → {b if b is not None else '—'}",
                width,
                fs=small,
                draw=draw,
            )
    if junctions:  # PJA and DJA at the post film's UIV and LIV on both films, and PJK / DJK
        y += page.text(
            x0,
            y,
            "Junctional angles (at the post film's UIV and LIV, on both films)",
            fs=small,
            fontweight="bold",
            draw=draw,
        )
        sw = small * 1.1 / 72
        for jc in junctions:
            head, *verdict = jc.lines()
            y += page.text(x0, y, f"• {head}", width, fs=small, draw=draw)
            for line in verdict:
                if draw:
                    page.swatch(x0 + sw, y, Verdict.of(jc.criterion, jc.study), small)
                y += page.text(x0 + 2 * sw, y, _nice(line), width - 2 * sw, fs=small, draw=draw)
    for n, (when, (st, k)) in enumerate(zip(("Pre", "Post"), films, strict=True)):
        y += 0.04
        patient, calib = _provenance(st, k)
        name = followup.films[n].name if followup is not None else Path(str(st.table.ids[k])).name
        y += page.text(x0, y, f"{when}: {name}", width, fs=small, fontweight="bold", draw=draw)
        y += page.text(x0, y, patient, width, fs=small, draw=draw)
        y += page.text(x0, y, calib, width, fs=small, draw=draw)
        for w in study_warnings(st, k):
            y += page.text(x0, y, f"• warning: {w}", width, fs=small, draw=draw)
    return y
