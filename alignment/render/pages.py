"""One-page clinic reports: the annotated film beside its table, and a pre/post comparison.

:func:`report_figure` makes one A4 landscape page: the annotated film (drawn
by :func:`spinecheck.alignment.render.figure.draw_study`) beside a table of every parameter with
its value, the age-adjusted target where the assessment has one, each
criterion's verdict (coloured, and spelled out, so colour is never the only
cue) and a numbered reference to its source; then the patient and calibration
provenance, the warnings and the references.

:func:`comparison_figure` puts two films of one patient side by side (pre and
post) with a table of every parameter's pre value, post value and change
(post − pre), each value marked with the colour of its worst verdict.

Both return a :class:`matplotlib.figure.Figure` with an Agg canvas attached
(``fig.savefig("x.pdf")`` works without pyplot). Text is laid out in inches on
the page and wrapped to its column; if the table would run off the page the
font is reduced until it fits.

The pages are drawn from the typed results of a
:class:`~spinecheck.alignment.study.Study` (its landmark table, measurements and
assessment), not from its JSON report: a criterion is shown beside the
parameter it judges (:attr:`CriterionColumn.parameter
<spinecheck.alignment.criteria.assessment.CriterionColumn.parameter>`), and the
scores over several parameters in a table of their own.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ...landmarks.errors import InvalidLandmarksError
from ...landmarks.points.names import View
from ..criteria.assessment import CriterionColumn, ResultKind
from ..followup import Film, FollowUp, compare_studies, series_table
from ..parameters import JUNCTIONAL, PARAMETERS, shown_number
from ..postop import JunctionalChange, junctional_comparison
from ..study import Study
from .curves import lenke_region_names
from .figure import DEFAULT_MAX_DISPLAY_ROWS, Drawing, Verdict, draw_study
from .text import listed_parameter_ids, parameter_ids, study_report, study_warnings, tool_version

__all__ = ["A4_LANDSCAPE_IN", "report_figure", "comparison_figure"]

#: A4 landscape, inches (297 × 210 mm).
A4_LANDSCAPE_IN = (297 / 25.4, 210 / 25.4)

_MARGIN = 0.35  # page margin, inches
_GAP = 0.25  # between film and table
_HEADER = 0.62  # title band height
_FOOTER = 0.22
_INK = "#000000"
_MUTED = "#555555"
_RULE = "#999999"
_CHAR_EM = 0.56  # mean character width of DejaVu Sans in em, for wrapping (slightly generous)


def _fmt(value: float | None, unit: str, *, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    text = shown_number(value, signed=signed).replace("-", "−")  # never "−0.0"
    return f"{text}°" if unit == "deg" else f"{text} {unit}"


def _nice(text: str) -> str:
    return text.replace(">=", "≥").replace("<=", "≤").replace(" deg", "°").replace("PI-LL", "PI−LL")


def _view(study: Study, i: int) -> str:
    view = View.parse(study.measurements.views[i])
    return "AP" if view is View.AP else view.value


def _verdict_words(c: CriterionColumn, i: int) -> str:
    """What criterion *c* concluded on study *i*, in words (colour is never the only cue)."""
    if Verdict.of(c, i) is Verdict.NOT_APPLIED:
        reason = None if c.applied[i] else c.reason[i]
        return "not applied" + (f" ({reason})" if reason else "")
    verdict = c.verdict(i) if c.target is not None and c.offset is not None else None
    if verdict:
        return verdict.replace("the age-adjusted target", "target")
    if c.result_kind is ResultKind.GRADE:
        return f"grade {c.result[i]}"
    if c.result_kind is ResultKind.FLAG:
        return "flagged" if c.result[i] else "not flagged"
    return str(c.result[i])


def _verdict_line(c: CriterionColumn, i: int, ref: str, *, named: bool = True) -> _Line:
    """Criterion *c*'s line on study *i*: its verdict, in words, the rule applied and the reference."""
    rule = _nice(str(c.rule[i])) if c.applied[i] else ""  # a rule only where applied
    name = f"{_nice(c.name)}: " if named else ""
    text = f"{name}{_verdict_words(c, i)} ({rule}){ref}"
    if c.applied[i] and c.baseline is not None and c.change is not None:  # PJK, DJK: the angles judged
        text += f"; pre-op {_fmt(float(c.baseline[i]), 'deg')}, change {_fmt(float(c.change[i]), 'deg', signed=True)}"
    caution = c.caution_of(i)
    if caution:  # Glassman's coronal criterion on a post-operative film
        text += f" — {caution}"
    return _Line(Verdict.of(c, i), text)


def _result(c: CriterionColumn, i: int) -> object:
    """The category or grade *c* gave study *i*; None where not applied (or a flag)."""
    shown = c.applied[i] and c.result_kind in (ResultKind.CATEGORY, ResultKind.GRADE)
    return c.result[i] if shown else None


def _target(c: CriterionColumn, i: int) -> float | None:
    """The target criterion *c* set for study *i* (an age-adjusted one), if any."""
    if c.target is None or c.offset is None or not c.applied[i] or not math.isfinite(c.target[i]):
        return None
    return float(c.target[i])


def _judging(study: Study, i: int) -> tuple[dict[str, list[CriterionColumn]], list[CriterionColumn]]:
    """Study *i*'s criteria: by the parameter of its film they judge, and the others (scores)."""
    ids = parameter_ids(study.measurements.views[i])
    by_param: dict[str, list[CriterionColumn]] = {}
    scores: list[CriterionColumn] = []
    for c in study.assessment.columns:
        if not c.present[i]:
            continue
        if c.parameter is not None and c.parameter in ids:
            by_param.setdefault(c.parameter, []).append(c)
        else:
            scores.append(c)
    return by_param, scores


# ----------------------------------------------------------------------------- page layout


class _Page:
    """Places wrapped text on a figure in inches from the top-left corner."""

    def __init__(self, fig: Figure, fontsize: float) -> None:
        self.fig = fig
        self.h = fig.get_figheight()
        self.fs = fontsize

    def line_in(self, fs: float | None = None) -> float:
        return (fs or self.fs) * 1.32 / 72.0

    def wrap(self, text: str, width_in: float, fs: float | None = None) -> list[str]:
        chars = max(8, int(width_in * 72.0 / ((fs or self.fs) * _CHAR_EM)))
        out: list[str] = []
        for para in str(text).split("\n"):
            out += textwrap.wrap(para, chars, break_long_words=True, subsequent_indent="  ") or [""]
        return out

    def text(
        self,
        x: float,
        y: float,
        text: str,
        width_in: float | None = None,
        *,
        fs: float | None = None,
        draw: bool = True,
        **kw,
    ) -> float:
        """Write *text* with its top at *y* (inches from the top); return its height in inches."""
        fs = fs or self.fs
        lines = self.wrap(text, width_in, fs) if width_in else str(text).split("\n")
        if draw:
            self.fig.text(
                x,
                self.h - y,
                "\n".join(lines),
                transform=self.fig.dpi_scale_trans,
                fontsize=fs,
                va="top",
                ha=kw.pop("ha", "left"),
                linespacing=1.2,
                **kw,
            )
        return len(lines) * self.line_in(fs)

    def swatch(self, x: float, y: float, verdict: Verdict, fs: float | None = None) -> None:
        """A verdict's colour square with its mark inside (readable in greyscale too)."""
        fs = fs or self.fs
        s = fs * 0.95 / 72.0
        self.fig.add_artist(
            Rectangle(
                (x, self.h - y - s * 1.05),
                s,
                s,
                transform=self.fig.dpi_scale_trans,
                fc=verdict.colour,
                ec=_INK,
                lw=0.4,
            )
        )
        self.fig.text(
            x + s / 2,
            self.h - y - s * 0.55,
            verdict.mark,
            transform=self.fig.dpi_scale_trans,
            fontsize=fs * 0.75,
            fontweight="bold",
            ha="center",
            va="center",
            color="#ffffff" if verdict in (Verdict.MARKED, Verdict.CATEGORY) else "#000000",
        )

    def rule(self, x0: float, x1: float, y: float, *, lw: float = 0.5, colour: str = _RULE) -> None:
        self.fig.add_artist(
            _hline(self.fig, x0, x1, self.h - y, lw=lw, colour=colour),
        )


def _hline(fig: Figure, x0: float, x1: float, y: float, *, lw: float, colour: str):
    from matplotlib.lines import Line2D

    return Line2D([x0, x1], [y, y], transform=fig.dpi_scale_trans, lw=lw, color=colour)


def _new_page() -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE_IN, layout=None)
    FigureCanvasAgg(fig)
    return fig


def _film(
    fig: Figure,
    image: np.ndarray,
    study: Study,
    i: int,
    x: float,
    top: float,
    max_w: float,
    max_h: float,
    fontsize: float,
):
    """Draw the annotated film in the largest box of its aspect inside (max_w, max_h) at (x, top)."""
    image = np.asarray(image)
    rows, cols = image.shape[:2]
    spacing = study.table.mm_per_px[i]
    aspect = float(spacing[0] / spacing[1]) if np.all(np.isfinite(spacing)) else 1.0
    ratio = cols / (rows * aspect)  # width / height
    h = min(max_h, max_w / ratio)
    w = h * ratio
    W, H = fig.get_size_inches()
    ax = fig.add_axes((x / W, (H - top - h) / H, w / W, h / H))
    drawing = draw_study(ax, image, study, i, max_display_rows=DEFAULT_MAX_DISPLAY_ROWS, fontsize=fontsize)
    return ax, drawing, w, h


def _provenance(study: Study, i: int) -> tuple[str, str]:
    """(patient line, calibration paragraph) of study *i*."""
    pat = study.table.patients[i]
    age = f"{pat.age_years:g} years ({pat.age_source})" if pat.age_years is not None else "unknown"
    sex = f"{pat.sex.value} ({pat.sex_source})" if pat.sex else "unknown"
    patient = f"Patient: age {age}; sex {sex}"
    op = study.table.operation(i)
    if op is not None:  # a post-operative film
        patient += f"; {op.describe()}"
    anatomy = study.measurements.spine.statement(i)
    if anatomy is not None:  # T13, L6 or a sacralised vertebra: each row below says its levels
        patient += f". Anatomy: {anatomy}"
    cal = study.table.calibrations[i]
    if cal.mm_per_px:
        row, col = cal.mm_per_px
        calib = (
            f"Calibration: {row:g} × {col:g} mm/px (row × col); source {cal.source.value}; "
            f"plane {cal.plane.value}"
        )
        if cal.rule:
            calib += f". Rule: {cal.rule}"
    else:
        calib = "Calibration: none — distances in pixels, no millimetre criterion applied"
    return patient, calib


def _title(page: _Page, left: float, width: float, title: str, subtitle: str) -> None:
    page.text(left, _MARGIN - 0.05, title, fs=page.fs + 6, fontweight="bold")
    page.text(left, _MARGIN + 0.27, subtitle, width, fs=page.fs + 0.5, color=_MUTED)


def _footer(page: _Page, left: float, width: float) -> None:
    page.text(
        left,
        page.h - _MARGIN - 0.05,
        f"spinecheck {tool_version()} — measurements from annotated landmarks; check them on the film "
        "before clinical use. Verdict colours: Okabe–Ito colour-blind-safe palette.",
        width,
        fs=max(page.fs - 1.5, 5.0),
        color=_MUTED,
    )


def _legend(page: _Page, x: float, y: float, width: float) -> float:
    """A one-line verdict colour key at (x, y); returns its height."""
    fs = page.fs - 0.5
    canvas = page.fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)  # every page comes from _new_page, which attaches one
    renderer = canvas.get_renderer()
    x_start, right, height = x, x + width, page.line_in(fs)
    for v in Verdict:
        words = {Verdict.MARKED: "marked (++) / flagged", Verdict.CATEGORY: "category"}.get(v, v.value)
        t = page.fig.text(0, 0, words, fontsize=fs)
        w = t.get_window_extent(renderer).width / page.fig.dpi
        t.remove()
        step = fs * 1.1 / 72 + w + 0.15
        if x + step - 0.15 > right and x > x_start:
            x, y, height = x_start, y + page.line_in(fs), height + page.line_in(fs)
        page.swatch(x, y, v, fs)
        page.text(x + fs * 1.1 / 72, y, words, fs=fs)
        x += step
    return height


# ----------------------------------------------------------------------------- the report


@dataclass
class _Line:
    """One verdict line of a parameter row: its verdict (None for a note), words and reference number."""

    verdict: Verdict | None
    text: str


def _report_rows(study: Study, i: int) -> tuple[list[dict], list[dict], list[str]]:
    """(parameter rows, score rows, references) of study *i*."""
    refs: list[str] = []

    def ref(source: str | None) -> str:
        if not source:
            return ""
        if source not in refs:
            refs.append(source)
        return f" [{refs.index(source) + 1}]"

    m = study.measurements
    by_param, scores = _judging(study, i)
    rows = []
    transitional = m.spine.statement(i) is not None  # the levels of each row are then said
    for pid in listed_parameter_ids(study, i):
        judged = by_param.get(pid, [])
        targets = [t for c in judged if (t := _target(c, i)) is not None]
        lines = [_verdict_line(c, i, ref(c.source)) for c in judged]
        p = m.reported(pid, i)
        note = p.reason or p.note
        if note:
            lines.append(_Line(None, f"{'not measured: ' if p.value is None else ''}{note}"))
        if transitional and m.levels(pid, i) is not None:
            lines.append(_Line(None, f"levels: {m.levels(pid, i)}"))
        rows.append(
            {
                "pid": pid,
                "name": f"{pid.replace('_', '−') if pid == 'PI_LL' else pid}  {PARAMETERS[pid].name}",
                "value": _fmt(p.value, p.unit),
                "target": _fmt(targets[0], p.unit) if targets else "",
                "lines": lines,
            }
        )
    if View.parse(m.views[i]) is View.AP:
        lenke = lenke_region_names(m.curves, i)[0]  # proximal thoracic, main thoracic, TL/L by the apex
        for curve, lenke_region in zip(
            m.curves.curve_list(i, study.assessment.curve_regions()), lenke, strict=True
        ):
            region = f", {curve.region}" if curve.region else ""
            rows.append(
                {
                    "pid": "curve",
                    "name": f"{lenke_region or ''} Cobb {curve.upper_end}–{curve.lower_end}, apex {curve.apex}"
                    f"{region}".lstrip(),
                    "value": _fmt(curve.angle_deg, "deg"),
                    "target": "",
                    "lines": [_Line(None, f"convex {curve.convex_side(study.table.patient_right[i])}")],
                }
            )
    score_rows = []
    for c in scores:
        result = _result(c, i)
        score_rows.append(
            {
                "pid": c.id,
                "name": _nice(c.name),
                "value": "—" if result is None else str(result),
                "target": "",
                "lines": [_verdict_line(c, i, ref(c.source), named=False)],
            }
        )
    return rows, score_rows, refs


def _report_body(
    page: _Page,
    study: Study,
    i: int,
    rows,
    score_rows,
    refs,
    drawing: Drawing | None,
    x0: float,
    width: float,
    draw: bool,
) -> float:
    """Lay out (or just measure, with draw=False) the right-hand side; return the bottom y in inches."""
    fs = page.fs
    cols = (0.34, 0.1, 0.09)  # parameter, value, target; the verdicts take the rest
    cw = [width * c for c in cols]
    xs = [x0, x0 + cw[0], x0 + cw[0] + cw[1], x0 + sum(cw)]
    vw = width - sum(cw) - 0.05
    sw = fs * 1.1 / 72  # swatch + space
    y = _MARGIN + _HEADER
    head: dict[str, Any] = dict(fs=fs, fontweight="bold", draw=draw)
    h = page.text(xs[0], y, "Parameter", **head)
    page.text(xs[1] + cw[1] - 0.08, y, "Value", **head, ha="right")
    page.text(xs[2] + cw[2] - 0.08, y, "Age-adj.\ntarget", **head, ha="right")
    page.text(xs[3], y, "Criteria: verdict (rule) [reference]", **head)
    y += max(h, 2 * page.line_in()) + 0.03
    if draw:
        page.rule(x0, x0 + width, y - 0.02, lw=0.8, colour=_INK)

    def table(items, title: str | None) -> None:
        nonlocal y
        if title:
            y += 0.04
            y += page.text(xs[0], y, title, fs=fs, fontweight="bold", draw=draw)
        for k, row in enumerate(items):
            top = y + 0.025
            hn = page.text(xs[0], top, row["name"], cw[0] - 0.1, draw=draw)
            page.text(xs[1] + cw[1] - 0.08, top, row["value"], draw=draw, ha="right", fontweight="bold")
            page.text(xs[2] + cw[2] - 0.08, top, row["target"], draw=draw, ha="right")
            hv = 0.0
            for line in row["lines"]:
                if line.verdict is not None and draw:
                    page.swatch(xs[3], top + hv, line.verdict)
                hv += page.text(
                    xs[3] + sw,
                    top + hv,
                    line.text,
                    vw - sw,
                    draw=draw,
                    color=_INK if line.verdict is not None else _MUTED,
                    fs=fs if line.verdict is not None else fs - 0.5,
                )
            y = top + max(hn, hv, page.line_in()) + 0.025
            if draw and k < len(items) - 1:
                page.rule(x0, x0 + width, y, lw=0.3)

    table(rows, None)
    if score_rows:
        table(score_rows, "Scores and classifications")
    if draw:
        page.rule(x0, x0 + width, y + 0.02, lw=0.8, colour=_INK)
    y += 0.1
    y += (_legend(page, x0, y, width) if draw else 2 * page.line_in(fs - 0.5)) + 0.05
    patient, calib = _provenance(study, i)
    small = fs - 0.5
    y += page.text(x0, y, patient, width, fs=small, draw=draw)
    y += page.text(x0, y, calib, width, fs=small, draw=draw)
    image, landmarks = study.image_sources[i], study.landmark_sources[i]
    y += page.text(
        x0,
        y,
        f"Files: image {image or '—'}; landmarks {landmarks or '—'}",
        width,
        fs=small,
        draw=draw,
        color=_MUTED,
    )
    notes = [f"• {w}" for w in study_warnings(study, i)]
    notes += [f"• not drawn — {k}: {v}" for k, v in drawing.not_drawn.items()] if drawing else []
    if notes:
        y += 0.05
        y += page.text(x0, y, "Warnings", fs=small, fontweight="bold", draw=draw)
        for n in notes:
            y += page.text(x0, y, n, width, fs=small, draw=draw)
    if refs:
        y += 0.05
        y += page.text(x0, y, "References", fs=small, fontweight="bold", draw=draw)
        for k, s in enumerate(refs, 1):
            y += page.text(x0, y, f"[{k}] {s}", width, fs=small - 0.5, draw=draw)
    return y


def report_figure(image: np.ndarray, study: Study, i: int = 0, *, fontsize: float = 7.5) -> Figure:
    """One A4 landscape page: the annotated film of study *i* beside its parameter table.

    Parameters
    ----------
    image : ndarray of uint8, shape (rows, cols)
        The display image (``Radiograph.display``: bone bright), full resolution.
    study : Study
        From :func:`alignment.load_study`.
    i : int
    fontsize : float
        Points for the table; reduced (not below 5) if the table would not fit the page.

    Returns
    -------
    matplotlib.figure.Figure
        With an Agg canvas attached. ``fig.spinecheck_report`` is the
        study's JSON report (``study_report``: what the page shows, serialised),
        ``fig.spinecheck_drawing`` the film's
        :class:`~spinecheck.alignment.render.figure.Drawing`.
    """
    W, H = A4_LANDSCAPE_IN
    fig = _new_page()
    page = _Page(fig, fontsize)
    film_h = H - 2 * _MARGIN - _HEADER - _FOOTER
    ax, drawing, fw, _ = _film(fig, image, study, i, _MARGIN, _MARGIN + _HEADER, W * 0.4, film_h, 6.5)
    x0 = _MARGIN + fw + _GAP
    width = W - _MARGIN - x0
    rows, score_rows, refs = _report_rows(study, i)
    bottom = H - _MARGIN - _FOOTER
    body = (study, i, rows, score_rows, refs, drawing, x0, width)
    while page.fs > 5.0 and _report_body(page, *body, False) > bottom:
        page.fs -= 0.25
    name = Path(str(study.table.ids[i])).name
    status, error = study.status(i)
    _title(
        page,
        _MARGIN,
        W - 2 * _MARGIN,
        f"Spinal alignment — {_view(study, i)} film",
        f"{name} · {_provenance(study, i)[0].removeprefix('Patient: ')} · status {status}"
        + (f": {error}" if error else ""),
    )
    _report_body(page, *body, True)
    _footer(page, _MARGIN, W - 2 * _MARGIN)
    fig.spinecheck_report = study_report(study, i)  # type: ignore[attr-defined]
    fig.spinecheck_drawing = drawing  # type: ignore[attr-defined]
    return fig


# ----------------------------------------------------------------------------- the comparison


def _worst(study: Study, i: int, pid: str) -> Verdict | None:
    """The worst verdict of the criteria judging parameter *pid* on study *i* (None: no criterion)."""
    verdicts = [Verdict.of(c, i) for c in _judging(study, i)[0].get(pid, [])]
    judged = [v for v in verdicts if v is not Verdict.NOT_APPLIED]
    if judged:
        return max(judged, key=lambda v: v.severity)
    return Verdict.NOT_APPLIED if verdicts else None


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
    date_h = 0.17  # each film's date under its name
    film_h = H - 2 * _MARGIN - _HEADER - _FOOTER - 0.25 - date_h
    films_w = W * 0.5
    top = _MARGIN + _HEADER + 0.25 + date_h
    x = _MARGIN
    drawings = []
    for label, img, (st, k) in zip(("Pre", "Post"), (pre_image, post_image), films, strict=True):
        _, drawing, fw, _ = _film(fig, img, st, k, x, top, films_w / 2 - 0.25, film_h, 6.0)
        page.text(
            x,
            top - 0.23 - date_h,
            f"{label}: {Path(str(st.table.ids[k])).name}",
            fw,
            fs=fontsize + 1,
            fontweight="bold",
        )
        when = _pair_date(followup, 0 if label == "Pre" else 1)
        page.text(x, top - 0.06 - date_h, when, fw, fs=fontsize - 1, color=_MUTED)
        drawings.append(drawing)
        x += fw + 0.5
    x0 = x + _GAP - 0.5
    width = W - _MARGIN - x0
    changes = _changes(pre_study, pre_index, post_study, post_index)
    junctions = junctional_comparison(pre_study, pre_index, post_study, post_index)
    bottom = H - _MARGIN - _FOOTER
    rows = [*changes, *curve_changes]
    while (
        page.fs > 5.0
        and _comparison_body(page, films, rows, x0, width, False, junctions, followup=followup) > bottom
    ):
        page.fs -= 0.25
    patient = _provenance(pre_study, pre_index)[0].removeprefix("Patient: ")
    _title(
        page,
        _MARGIN,
        W - 2 * _MARGIN,
        f"Pre/post comparison — {_view(pre_study, pre_index)} films",
        f"Patient (pre): {patient}",
    )
    _comparison_body(page, films, rows, x0, width, True, junctions, followup=followup)
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
    width: float,
    draw: bool,
    junctions: Sequence[JunctionalChange] = (),
    followup: FollowUp | None = None,
) -> float:
    """Lay out (or just measure, with draw=False) the comparison table of the (pre, post) *films*."""
    fs = page.fs
    cw = [width * c for c in (0.43, 0.19, 0.19, 0.19)]
    xs = np.cumsum([x0, *cw[:-1]])
    y = _MARGIN + _HEADER
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
    for when, (st, k) in zip(("Pre", "Post"), films, strict=True):
        y += 0.04
        patient, calib = _provenance(st, k)
        y += page.text(
            x0, y, f"{when}: {Path(str(st.table.ids[k])).name}", fs=small, fontweight="bold", draw=draw
        )
        y += page.text(x0, y, patient, width, fs=small, draw=draw)
        y += page.text(x0, y, calib, width, fs=small, draw=draw)
        for w in study_warnings(st, k):
            y += page.text(x0, y, f"• warning: {w}", width, fs=small, draw=draw)
    return y
