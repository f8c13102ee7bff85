"""One-page clinic reports: the annotated film beside its table, and what every page shares.

:func:`report_figure` makes one A4 landscape page: the annotated film (drawn
by :func:`spinecheck.alignment.render.figure.draw_study`) beside a table of every parameter with
its value, the age-adjusted target where the assessment has one, each
criterion's verdict (coloured, and spelled out, so colour is never the only
cue) and a numbered reference to its source; then the patient and calibration
provenance, the warnings and the references.

:mod:`~spinecheck.alignment.render.comparison` (the pre/post page),
:mod:`~spinecheck.alignment.render.series` and
:mod:`~spinecheck.alignment.render.instability_page` are set with the same
page tools (text in inches from the top-left corner, wrapped to its column).

On an AP film the table is followed by every coronal curve (region, end
vertebrae, apex, angle, convex side); a score over several parameters (GAP)
shows its total and each component's value, points and rule.

It returns a :class:`matplotlib.figure.Figure` with an Agg canvas attached
(``fig.savefig("x.pdf")`` works without pyplot). Text is laid out in inches on
the page and wrapped to its column by its measured width; if the table would
run off the page the font is reduced until it fits, and a short table (an AP
film's) is set up to 1.5 pt larger. A film too small on its page for its value
labels to find free places is drawn again with smaller labels.

The pages are drawn from the typed results of a
:class:`~spinecheck.alignment.study.Study` (its landmark table, measurements and
assessment), not from its JSON report: a criterion is shown beside the
parameter it judges (:attr:`CriterionColumn.parameter
<spinecheck.alignment.criteria.assessment.CriterionColumn.parameter>`), and the
scores over several parameters in a table of their own.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.ft2font import LoadFlags
from matplotlib.patches import Rectangle

from ...landmarks.points.names import View
from ..criteria.assessment import CriterionColumn, ResultKind
from ..parameters import PARAMETERS, shown_number
from ..study import Study
from .curves import curves_by_region, lenke_region_names
from .figure import DEFAULT_MAX_DISPLAY_ROWS, Drawing, Verdict, draw_study
from .layout import marker_discs, text_box
from .text import listed_parameter_ids, parameter_ids, study_report, study_warnings, tool_version

__all__ = ["A4_LANDSCAPE_IN", "report_figure"]

#: A4 landscape, inches (297 × 210 mm).
A4_LANDSCAPE_IN = (297 / 25.4, 210 / 25.4)

_MARGIN = 0.35  # page margin, inches
_GAP = 0.25  # between film and table
_HEADER = 0.62  # title band height
_FOOTER = 0.22
_FILM_LABEL_MIN_PT = 4.5  # a film's value labels are never set smaller than this
_TABLE_MIN_W = 5.6  # inches: the report's four columns beside the film, readable
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


def _score_value(c: CriterionColumn, i: int) -> str:
    """The value column of score *c* on study *i*: a points score's total, else its category."""
    if c.components and c.applied[i] and math.isfinite(float(c.value[i])):
        return shown_number(float(c.value[i]), 0)
    result = _result(c, i)
    return "—" if result is None else str(result)


def _component_lines(c: CriterionColumn, i: int) -> list[_Line]:
    """Each component of score *c* on study *i* (GAP's RPV, RLL, LDI, RSA, age): value, points, rule."""
    if not c.applied[i]:
        return []
    out = []
    for comp in c.components:
        value = float(comp.value[i])
        unit = "deg" if comp.unit == "deg" else (comp.unit or "")
        shown = _fmt(value, unit).replace(" %", "%") if math.isfinite(value) else "—"
        if comp.unit == "years" and math.isfinite(value):  # an age is given in whole years
            shown = f"{value:g} years"
        key = comp.key if comp.key == "age" else comp.key.upper()
        points = comp.points[i]
        scored = "not scored" if points is None else f"{points} point{'' if points == 1 else 's'}"
        rule = f" ({_nice(str(comp.rule[i]))})" if comp.rule[i] else ""
        name = f" ({comp.name})" if comp.key != "age" else ""
        out.append(_Line(None, f"{key}{name} {shown}: {scored}{rule}"))
    return out


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
        self._wrapped: dict[tuple[str, float, float, str], list[str]] = {}

    def line_in(self, fs: float | None = None) -> float:
        return (fs or self.fs) * 1.32 / 72.0

    def wrap(self, text: str, width_in: float, fs: float | None = None, weight: str = "normal") -> list[str]:
        """*text* wrapped so that every line, as rendered at *fs* points, is at most *width_in* wide."""
        fs = fs or self.fs
        out: list[str] = []
        for para in str(text).split("\n"):
            key = (para, round(width_in, 4), fs, weight)
            if key not in self._wrapped:
                chars = max(8, int(width_in * 72.0 / (fs * _CHAR_EM)))
                while True:  # the estimate first, then one character less until every line fits
                    lines = textwrap.wrap(para, chars, break_long_words=True, subsequent_indent="  ") or [""]
                    if chars <= 8 or all(self.width(line, fs, weight) <= width_in for line in lines):
                        break
                    chars -= 1
                self._wrapped[key] = lines
            out += self._wrapped[key]
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
        weight = kw.get("fontweight", "normal")
        lines = self.wrap(text, width_in, fs, weight) if width_in else str(text).split("\n")
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

    def width(self, text: str, fs: float | None = None, weight: str = "normal") -> float:
        """The widest line of *text* at *fs* points, inches (:func:`_text_width_pt`)."""
        return max(_text_width_pt(line, weight) for line in text.split("\n")) * (fs or self.fs) / 72.0

    def column(self, texts: Sequence[str], fs: float | None = None, weight: str = "normal") -> float:
        """The width a column needs for *texts* (the widest, plus a gap), inches."""
        return max((self.width(t, fs, weight) for t in texts if t), default=0.0) + 0.12

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


_REFERENCE_PT = 100.0  # glyph advances are read at this size and scaled: widths are linear in the size


@functools.lru_cache(maxsize=4096)
def _advance_pt(char: str, weight: str) -> float:
    """The advance width of *char* in DejaVu Sans (Matplotlib's default) at 1 pt, unhinted."""
    font = get_font(findfont(FontProperties(weight=weight)))
    font.set_size(_REFERENCE_PT, 72)
    glyph = font.load_char(ord(char), flags=LoadFlags.NO_HINTING)
    return glyph.linearHoriAdvance / 65536 / _REFERENCE_PT


#: Hinting widens a line drawn at 100-150 dpi by up to 7 % of its unhinted advances (measured over
#: random strings of 3 to 90 characters, 4.5 to 15 pt, regular and bold); a PDF is not hinted.
_HINTING_SLACK = 1.08


@functools.lru_cache(maxsize=16384)
def _text_width_pt(line: str, weight: str) -> float:
    """The width of one line of text at 1 pt: its glyphs' unhinted advances, summed, with hinting's slack.

    Never narrower than the text as drawn at 100 dpi or more (kerning and the
    last glyph's right bearing only take away), so a line that fits by this
    measure fits on the page; measuring each string with the renderer cost 5 ms
    a string, and a page measures hundreds while it finds its font size.
    """
    return sum(_advance_pt(c, weight) for c in line) * _HINTING_SLACK


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
    """Draw the annotated film in the largest box of its aspect inside (max_w, max_h) at (x, top).

    The film's labels are set at *fontsize*; where the film is too small on the
    page for them to find free places (a narrow film: the spine takes its width),
    it is drawn again with smaller labels, down to :data:`_FILM_LABEL_MIN_PT`.
    """
    image = np.asarray(image)
    ratio = _film_ratio(image, study, i)
    h = min(max_h, max_w / ratio)
    w = h * ratio
    W, H = fig.get_size_inches()
    box = (x / W, (H - top - h) / H, w / W, h / H)
    while True:
        ax = fig.add_axes(box)
        drawing = draw_study(
            ax, image, study, i, max_display_rows=DEFAULT_MAX_DISPLAY_ROWS, fontsize=fontsize
        )
        if fontsize <= _FILM_LABEL_MIN_PT or not _crowded(ax):
            return ax, drawing, w, h
        ax.remove()
        fontsize = max(fontsize - 0.5, _FILM_LABEL_MIN_PT)


def _crowded(ax) -> bool:
    """Whether a label of the film on *ax* leaves the film, covers another label or a landmark dot."""
    renderer = ax.figure.canvas.get_renderer()
    film = ax.get_window_extent(renderer)
    boxes = [text_box(t, renderer) for t in ax.texts if t.get_visible() and t.get_text().strip()]
    discs = marker_discs(ax)
    for k, b in enumerate(boxes):
        if b.x0 < film.x0 - 0.5 or b.x1 > film.x1 + 0.5 or b.y0 < film.y0 - 0.5 or b.y1 > film.y1 + 0.5:
            return True
        if any(
            min(b.x1, o.x1) - max(b.x0, o.x0) > 0.5 and min(b.y1, o.y1) - max(b.y0, o.y0) > 0.5
            for o in boxes[k + 1 :]
        ):
            return True
        if any(
            math.hypot(min(max(cx, b.x0), b.x1) - cx, min(max(cy, b.y0), b.y1) - cy) < r - 0.5
            for cx, cy, r in discs
        ):
            return True
    return False


def _film_ratio(image: np.ndarray, study: Study, i: int) -> float:
    """Width / height of study *i*'s film as drawn (its pixel spacing's aspect kept)."""
    rows, cols = np.shape(image)[:2]
    spacing = study.table.mm_per_px[i]
    aspect = float(spacing[0] / spacing[1]) if np.all(np.isfinite(spacing)) else 1.0
    return cols / (rows * aspect)


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


def _title(page: _Page, left: float, width: float, title: str, subtitle: str, *, draw: bool = True) -> float:
    """The page's title and its subtitle (wrapped to *width*); returns the y below them, inches."""
    page.text(left, _MARGIN - 0.05, title, width, fs=page.fs + 6, fontweight="bold", draw=draw)
    h = page.text(left, _MARGIN + 0.27, subtitle, width, fs=page.fs + 0.5, color=_MUTED, draw=draw)
    return max(_MARGIN + _HEADER, _MARGIN + 0.27 + h + 0.12)


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
    score_rows = [
        {
            "pid": c.id,
            "name": _nice(c.name),
            "value": _score_value(c, i),
            "target": "",
            "lines": [_verdict_line(c, i, ref(c.source), named=False), *_component_lines(c, i)],
        }
        for c in scores
    ]
    return rows, score_rows, refs


def _curve_table(study: Study, i: int) -> tuple[list[tuple[str, ...]], list[str]]:
    """Study *i*'s coronal curves, top to bottom, as table rows, and notes on the regions.

    Each row: region (PT, MT, TL/L by the apex; Lenke 2001), end vertebrae, apex,
    Cobb angle, convex side, SRS region. A withheld curve is a row without an
    angle; the notes say why, and which region has no curve (``curves_by_region``).
    """
    m = study.measurements
    side = study.table.patient_right[i]
    measured, held = lenke_region_names(m.curves, i)
    rows: list[tuple[str, ...]] = []
    for curve, region in zip(m.curves.curve_list(i, study.assessment.curve_regions()), measured, strict=True):
        rows.append(
            (
                region or "other",
                f"{curve.upper_end}–{curve.lower_end}",
                curve.apex or "—",
                _fmt(curve.angle_deg, "deg"),
                curve.convex_side(side),
                curve.region or "—",
            )
        )
    notes = []
    for withheld, region in zip(m.curves.withheld_curves(i), held, strict=True):
        ends = f"{withheld['upper_end']}–{withheld['lower_end']}"
        rows.append((region or "other", ends, withheld["apex"] or "—", "withheld", "—", "—"))
        notes.append(f"{ends} withheld: {withheld['reason']}")
    for region, cells in curves_by_region(study, i).items():
        if cells["upper_end"] is None and cells["note"]:
            notes.append(f"{region}: {cells['note'].replace('-', '–')}")
    return rows, notes


def _curves_body(page: _Page, study: Study, i: int, x0: float, y: float, width: float, draw: bool) -> float:
    """The coronal curve table of an AP study at *y*; returns the y below it."""
    rows, notes = _curve_table(study, i)
    fs, small = page.fs, page.fs - 0.5
    y += page.text(
        x0,
        y,
        f"Coronal curves ({study.measurements.curves.method} method)",
        fs=fs,
        fontweight="bold",
        draw=draw,
    )
    heads = ("Region", "End vertebrae", "Apex", "Cobb angle", "Convex side", "SRS region")
    # the short columns as wide as what they hold, the two in words share the rest
    cw = [page.column([h, *(r[k] for r in rows)], fs, "bold") for k, h in enumerate(heads[:4])]
    rest = max(width - sum(cw), 1.0)
    srs = min(
        max(rest * 0.45, page.column([r[5] for r in rows], fs)), rest * 0.6
    )  # "thoracolumbar/lumbar" whole
    cw += [rest - srs, srs]
    xs = np.cumsum([x0, *cw[:-1]])
    right = {3}  # the angle, right-aligned like every value

    def cells(values: Sequence[str], top: float, **kw) -> float:
        h = page.line_in()
        for k, v in enumerate(values):
            at = xs[k] + cw[k] - 0.12 if k in right else xs[k]
            h = max(
                h,
                page.text(
                    at,
                    top,
                    v,
                    None if k in right else cw[k] - 0.06,
                    draw=draw,
                    ha="right" if k in right else "left",
                    **kw,
                ),
            )
        return h

    y += cells(heads, y + 0.02, fontweight="bold") + 0.04
    if draw:
        page.rule(x0, x0 + width, y, lw=0.8, colour=_INK)
    if not rows:
        y += 0.025 + page.text(
            x0, y + 0.025, "no coronal curve measured", width, fs=small, draw=draw, color=_MUTED
        )
    for n, row in enumerate(rows):
        y += 0.025 + cells(row, y + 0.025) + 0.025
        if draw and n < len(rows) - 1:
            page.rule(x0, x0 + width, y, lw=0.3)
    if draw:
        page.rule(x0, x0 + width, y + 0.02, lw=0.8, colour=_INK)
    y += 0.06
    for note in notes:
        y += page.text(x0, y, f"• {note}", width, fs=small, draw=draw, color=_MUTED)
    return y


def _report_body(
    page: _Page,
    study: Study,
    i: int,
    rows,
    score_rows,
    refs,
    drawing: Drawing | None,
    x0: float,
    top: float,
    width: float,
    draw: bool,
) -> float:
    """Lay out (or just measure, with draw=False) the right-hand side from *top*; return the bottom y, inches."""
    fs = page.fs
    # the value and target columns as wide as what they hold; the parameter and the verdicts share the rest
    value_w = page.column(["Value", *(r["value"] for r in (*rows, *score_rows))], fs, "bold")
    target_w = page.column(["Age-adj.", "target", *(r["target"] for r in rows)], fs, "bold")
    rest = width - value_w - target_w
    cw = [rest * 0.4, value_w, target_w]
    xs = [x0, x0 + cw[0], x0 + cw[0] + cw[1], x0 + sum(cw) + 0.06]
    vw = width - sum(cw) - 0.11
    sw = fs * 1.1 / 72  # swatch + space
    y = top
    head: dict[str, Any] = dict(fs=fs, fontweight="bold", draw=draw)
    h = page.text(xs[0], y, "Parameter", **head)
    page.text(xs[1] + cw[1], y, "Value", **head, ha="right")
    page.text(xs[2] + cw[2], y, "Age-adj.\ntarget", **head, ha="right")
    page.text(xs[3], y, "Criteria: verdict (rule) [reference]", width - sum(cw) - 0.06, **head)
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
            page.text(xs[1] + cw[1], top, row["value"], draw=draw, ha="right", fontweight="bold")
            page.text(xs[2] + cw[2], top, row["target"], draw=draw, ha="right")
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
    if View.parse(study.measurements.views[i]) is View.AP:
        y = _curves_body(page, study, i, x0, y + 0.05, width, draw) + 0.05
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
    page = _Page(fig, fontsize + 1.5)  # the largest the table may be set: the title's band is measured at it
    name = Path(str(study.image_sources[i] or study.table.ids[i])).name  # the film's name, else its landmarks
    status, error = study.status(i)
    title = f"Spinal alignment — {_view(study, i)} film"
    subtitle = f"{name} · {_provenance(study, i)[0].removeprefix('Patient: ')} · status {status}" + (
        f": {error}" if error else ""
    )
    top = _title(page, _MARGIN, W - 2 * _MARGIN, title, subtitle, draw=False)
    page.fs = fontsize
    bottom = H - _MARGIN - _FOOTER
    film_w = W - 2 * _MARGIN - _GAP - _TABLE_MIN_W  # a wide film takes what the table leaves
    ax, drawing, fw, _ = _film(fig, image, study, i, _MARGIN, top, film_w, bottom - top, 6.5)
    x0 = _MARGIN + fw + _GAP
    width = W - _MARGIN - x0
    rows, score_rows, refs = _report_rows(study, i)
    body = (study, i, rows, score_rows, refs, drawing, x0, top, width)
    while page.fs > 5.0 and _report_body(page, *body, False) > bottom:
        page.fs -= 0.25
    while page.fs < fontsize + 1.5:  # a short table (an AP film's) is set larger, up to 9 pt by default
        page.fs += 0.25
        if _report_body(page, *body, False) > bottom:
            page.fs -= 0.25
            break
    _title(page, _MARGIN, W - 2 * _MARGIN, title, subtitle)
    _report_body(page, *body, True)
    _footer(page, _MARGIN, W - 2 * _MARGIN)
    fig.spinecheck_report = study_report(study, i)  # type: ignore[attr-defined]
    fig.spinecheck_drawing = drawing  # type: ignore[attr-defined]
    return fig


def _worst(study: Study, i: int, pid: str) -> Verdict | None:
    """The worst verdict of the criteria judging parameter *pid* on study *i* (None: no criterion)."""
    verdicts = [Verdict.of(c, i) for c in _judging(study, i)[0].get(pid, [])]
    judged = [v for v in verdicts if v is not Verdict.NOT_APPLIED]
    if judged:
        return max(judged, key=lambda v: v.severity)
    return Verdict.NOT_APPLIED if verdicts else None
