"""Annotated radiographs: the landmarks, the constructions and the values, drawn on the film.

:func:`draw_study` draws one measured study on a Matplotlib ``Axes``;
:func:`figure_for` makes the whole figure (film plus a panel with the criteria
legend, what could not be drawn and the warnings). Only Matplotlib's
object-oriented API is used, never pyplot's global state, so figures can be
made in threads, servers and tests.

The film is downsampled once to a display resolution (block mean, at most
``max_display_rows`` rows) and shown with ``imshow(extent=...)`` in the
*original* pixel coordinates: every landmark and construction is drawn at its
full sub-pixel position, whatever the display resolution. Coordinates are
``(x, y)`` image pixels (x = column, y = row, origin at the centre of the
top-left pixel, y down), as everywhere in spinecheck.

The constructions drawn (the hip axis, the S1 midpoint and its perpendicular,
the vertebral body centres, the CSVL, the lines of each coronal Cobb angle) are
the ones the measurement made (:class:`~spinecheck.alignment.parameters.Constructions`,
``CurveTable.end_lines_px``), read from the study's typed results, never built
here a second time; the landmarks are drawn where they were placed.

Colours are the Okabe–Ito palette (safe for the common colour-vision
deficiencies). A construction that shows a judged parameter (the SVA bracket,
the PT angle, the lordosis Cobb lines, which show LL and PI−LL, the TPA angle,
the junctional angles of a post-operative film (PJA, DJA: judged by PJK, DJK),
the C7–CSVL bracket) takes the colour of the worst verdict of the criteria
judging what it shows (:attr:`CriterionColumn.parameter
<spinecheck.alignment.criteria.assessment.CriterionColumn.parameter>`); the
geometry it is built on is sky blue and reddish purple, the landmarks yellow. A
construction whose landmarks are missing is not drawn, and the figure says why
(the measurement's reason).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Circle as CirclePatch
from matplotlib.text import Annotation, Text

from ...landmarks.imaging.display import DEFAULT_MAX_DISPLAY_ROWS, display_image, show_film
from ...landmarks.points.names import LEVELS, PatientRight, View, VocabularyEnum
from ..criteria.assessment import CriterionColumn, ResultKind
from ..geometry.regions import REGIONS, region_codes
from ..geometry.sagittal import SAGITTAL_COBBS
from ..parameters import JUNCTIONAL, shown_number
from ..study import Study
from . import layout
from .text import parameter_ids, study_warnings

__all__ = [
    "OKABE_ITO",
    "Verdict",
    "verdict_of",
    "Drawing",
    "display_image",
    "draw_study",
    "figure_for",
    "DEFAULT_MAX_DISPLAY_ROWS",
]

#: The Okabe–Ito colour-blind-safe palette (Okabe & Ito 2008, "Color Universal Design").
OKABE_ITO: Mapping[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: The widest figure :func:`figure_for` makes, inches: a wider film is drawn less tall.
MAX_WIDTH_IN = 24.0

LANDMARK_COLOUR = OKABE_ITO["yellow"]
GEOMETRY_COLOUR = OKABE_ITO["sky_blue"]
PELVIS_COLOUR = OKABE_ITO["reddish_purple"]
CERVICAL_COLOUR = "#FFFFFF"
_NOT_JUDGED = "#BBBBBB"

#: Colour and dash style of the k-th coronal curve's Cobb lines, in order: none is a verdict colour
#: (green, orange, vermillion, blue, grey) or the landmarks' yellow, and no two look alike; a film
#: with more curves than styles repeats them (the labels name each curve's levels).
CURVE_STYLES: tuple[tuple[str, str], ...] = (
    ("#FFFFFF", "-"),
    (OKABE_ITO["sky_blue"], "-"),
    (OKABE_ITO["reddish_purple"], "-"),
    ("#FFFFFF", "--"),
    (OKABE_ITO["sky_blue"], "--"),
    (OKABE_ITO["reddish_purple"], "--"),
)
#: The LL and TK variants (drawn on request) are dotted, in the colour of their main parameter.
_VARIANT_LS = ":"


class Verdict(VocabularyEnum):
    """How a criterion judged a study, ordered from best to worst for colouring."""

    WITHIN = "within target"
    MODERATE = "moderate (+)"
    MARKED = "marked (++) or flagged"
    CATEGORY = "category (no verdict)"
    NOT_APPLIED = "not applied"

    @property
    def colour(self) -> str:
        """The Okabe–Ito colour of this verdict."""
        return _VERDICT_COLOURS[self]

    @property
    def severity(self) -> int:
        """Ordering for "the worst verdict": higher is worse."""
        return _SEVERITY[self]

    @property
    def mark(self) -> str:
        """A one-character mark drawn in the colour swatch, so a verdict survives greyscale printing."""
        return _VERDICT_MARKS[self]

    @classmethod
    def of(cls, column: CriterionColumn, i: int) -> Verdict:
        """The verdict of criterion *column* on study *i*.

        Not applied (or not relevant to the study's view): :attr:`NOT_APPLIED`;
        a flag: :attr:`MARKED` or :attr:`WITHIN`; a grade ``"0"``, ``"+"``,
        ``"++"``: :attr:`WITHIN`, :attr:`MODERATE`, :attr:`MARKED`; a category:
        :attr:`CATEGORY`.
        """
        if not (column.present[i] and column.applied[i]):
            return cls.NOT_APPLIED
        return _judged(column.result_kind, column.result[i])


_VERDICT_COLOURS = {
    Verdict.WITHIN: OKABE_ITO["bluish_green"],
    Verdict.MODERATE: OKABE_ITO["orange"],
    Verdict.MARKED: OKABE_ITO["vermillion"],
    Verdict.CATEGORY: OKABE_ITO["blue"],
    Verdict.NOT_APPLIED: _NOT_JUDGED,
}
_VERDICT_MARKS = {
    Verdict.WITHIN: "\u2713",
    Verdict.MODERATE: "+",
    Verdict.MARKED: "!",
    Verdict.CATEGORY: "i",
    Verdict.NOT_APPLIED: "\u2013",
}
_SEVERITY = {
    Verdict.NOT_APPLIED: 0,
    Verdict.CATEGORY: 1,
    Verdict.WITHIN: 2,
    Verdict.MODERATE: 3,
    Verdict.MARKED: 4,
}


def _judged(kind: ResultKind, result: object) -> Verdict:
    """The verdict of an applied criterion's *result* of *kind* (None: no result)."""
    if result is None:
        return Verdict.NOT_APPLIED
    if kind is ResultKind.FLAG:
        return Verdict.MARKED if result else Verdict.WITHIN
    if kind is ResultKind.GRADE:
        return {"0": Verdict.WITHIN, "+": Verdict.MODERATE}.get(str(result), Verdict.MARKED)
    return Verdict.CATEGORY


def verdict_of(row: Mapping) -> Verdict:
    """The :class:`Verdict` of one criterion row of a JSON report (:meth:`Assessment.rows`).

    For readers of saved reports; the figures read the typed results with
    :meth:`Verdict.of`, by the same rule.

    >>> verdict_of({"flag": True}), verdict_of({"grade": "+"}), verdict_of({"applied": False})
    (<Verdict.MARKED: 'marked (++) or flagged'>, <Verdict.MODERATE: 'moderate (+)'>, \
<Verdict.NOT_APPLIED: 'not applied'>)
    """
    if row.get("applied") is False:
        return Verdict.NOT_APPLIED
    kind = next((k for k in (ResultKind.FLAG, ResultKind.GRADE) if k.value in row), ResultKind.CATEGORY)
    return _judged(kind, row.get(kind.value))


@dataclass(frozen=True)
class Drawing:
    """What :func:`draw_study` drew, and what it could not draw and why.

    Attributes
    ----------
    drawn : tuple of str
        Constructions drawn (``"C7 plumb line"``, ``"SVA"``, ``"LL"``...).
    not_drawn : Mapping[str, str]
        Construction to the reason it could not be drawn (from the
        measurement's reason where there is one).
    verdicts : Mapping[str, Verdict]
        Criterion id to its verdict, in report order.
    lines : tuple of LineKey
        The colours and dash styles drawn and what each shows (the legend of lines).
    """

    drawn: tuple[str, ...]
    not_drawn: Mapping[str, str]
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)
    lines: tuple[LineKey, ...] = ()


class LineKey(NamedTuple):
    """One entry of the figure's legend of lines: what a colour and dash style show.

    Attributes
    ----------
    name : str
    colour : str
    ls : str or tuple
        Matplotlib line style.
    marker : str
        Matplotlib marker ('' for a line).
    """

    name: str
    colour: str
    ls: object
    marker: str


# ----------------------------------------------------------------------------- the film


# ----------------------------------------------------------------------------- geometry helpers


class _Points:
    """Finite landmarks of one study by name; a missing point is None, never (0, 0)."""

    def __init__(self, study: Study, i: int) -> None:
        t = study.table
        self.xy: dict[str, np.ndarray] = {}
        for name, arr in t.points.items():
            p = np.asarray(arr[i], dtype=float)
            if np.all(np.isfinite(p)):
                self.xy[name] = p
        s = t.sets[i] if t.sets is not None and i < len(t.sets) else None
        self.circles = dict(s.circles) if s is not None else {}

    def get(self, name: str) -> np.ndarray | None:
        return self.xy.get(name)

    def all(self, *names: str) -> list[np.ndarray] | None:
        pts = [self.xy.get(n) for n in names]
        return None if any(p is None for p in pts) else pts  # type: ignore[return-value]

    def line(
        self, level: str, endplate: str, corners: tuple[str, str]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        pts = self.all(f"{level}.{endplate}.{corners[0]}", f"{level}.{endplate}.{corners[1]}")
        if pts is None or np.allclose(pts[0], pts[1]):
            return None
        return pts[0], pts[1]


def _extend(p: np.ndarray, q: np.ndarray, by: float) -> np.ndarray:
    """The segment p–q lengthened by *by* times its length at each end, shape (2, 2)."""
    d = q - p
    return np.array([p - by * d, q + by * d])


def _arc(centre: np.ndarray, r: float, a1: float, a2: float, n: int = 40) -> np.ndarray:
    """Points of the shorter arc from angle a1 to a2 (radians, in pixel coordinates)."""
    d = (a2 - a1 + math.pi) % (2 * math.pi) - math.pi
    t = a1 + np.linspace(0.0, d, n)
    return np.stack([centre[0] + r * np.cos(t), centre[1] + r * np.sin(t)], axis=1)


def _ang(v: np.ndarray) -> float:
    return math.atan2(float(v[1]), float(v[0]))


# ----------------------------------------------------------------------------- the drawing


class _Painter:
    """Draws on one Axes with a consistent scale for line widths, offsets and labels."""

    def __init__(
        self,
        ax: Axes,
        study: Study,
        i: int,
        shape: tuple[int, int],
        fontsize: float,
        *,
        values: bool = True,
        variants: bool = False,
    ) -> None:
        self.ax, self.study, self.i = ax, study, i
        self.rows, self.cols = shape
        self.m = study.measurements
        self.unit_px = max(self.rows, self.cols) / 100.0  # 1 % of the film's long side
        self.fontsize = fontsize
        self.values, self.variants = values, variants
        self.drawn: list[str] = []
        self.not_drawn: dict[str, str] = {}
        self.labels: list[Annotation] = []
        self.marks: list[Annotation] = []
        self.keys: dict[str, LineKey] = {}
        self.criteria = [c for c in study.assessment.columns if c.present[i]]
        self.verdicts = {c.id: Verdict.of(c, i) for c in self.criteria}

    # -- bookkeeping
    def value(self, pid: str) -> tuple[float, str] | None:
        """(value, unit) of *pid* as reported (px when uncalibrated), or None."""
        got = self.m.reported(pid, self.i)
        return None if got.value is None else (got.value, got.unit)

    def at(self, construction: np.ndarray) -> np.ndarray | None:
        """The study's row of an ``(N, 2)`` construction, or None where it was not constructed."""
        xy = np.asarray(construction[self.i], dtype=float)
        return xy if np.all(np.isfinite(xy)) else None

    def reason(self, pid: str, fallback: str) -> str:
        r = self.m.reasons[pid][self.i] if pid in self.m.reasons else None
        return str(r) if r else fallback

    def skip(self, what: str, reason: str) -> None:
        self.not_drawn.setdefault(what, reason)

    def colour_for(self, *shown: str, default: str = GEOMETRY_COLOUR) -> str:
        """The colour of what shows the parameters *shown*: their criteria's worst verdict.

        Grey when criteria judge them but none applied; *default* when no criterion judges them.
        """
        found = [self.verdicts[c.id] for c in self.criteria if c.parameter in shown]
        judged = [v for v in found if v is not Verdict.NOT_APPLIED]
        if not judged:
            return _NOT_JUDGED if found else default
        return max(judged, key=lambda v: v.severity).colour

    # -- primitives
    def line(self, xy: np.ndarray, colour: str, *, lw: float = 1.6, ls: object = "-", z: float = 3) -> None:
        xy = np.asarray(xy, dtype=float)
        self.ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=lw, ls=ls, zorder=z, solid_capstyle="butt")

    def label(
        self,
        xy: np.ndarray,
        text: str,
        colour: str,
        *,
        ha: str = "left",
        va: str = "center",
        anchor: np.ndarray | None = None,
    ) -> Annotation | None:
        """A value label drawn at *xy* (pixels) for what lies at *anchor*; placed by :meth:`lay_out`.

        None when the figure shows no values.
        """
        if not self.values:
            return None
        ann = layout.label(
            self.ax,
            text,
            tuple(xy if anchor is None else anchor),
            at=tuple(xy),
            colour=colour,
            fontsize=self.fontsize,
            ha=ha,
            va=va,
        )
        self.labels.append(ann)
        return ann

    def key(self, name: str, colour: str, ls: object = "-", marker: str = "") -> None:
        """Name a line style of the drawing in the legend (the first use of *name* wins)."""
        self.keys.setdefault(name, LineKey(name, colour, ls, marker))

    def lay_out(self) -> None:
        """Place the orientation marks, then every value label, clear of each other and of the markers."""
        fixed = [t for t in self.ax.texts if t not in self.labels and t not in self.marks]
        lay = layout.LabelLayout(self.ax)
        lay.avoid_texts(fixed)
        lay.avoid_markers()
        for mark in self.marks:
            lay.place(mark, leader=False)
        for ann in self.labels:
            lay.place(ann)

    def fmt(self, pid: str, name: str | None = None) -> str | None:
        got = self.value(pid)
        if got is None:
            return None
        v, unit = got
        shown = f"{shown_number(v)}°" if unit == "deg" else f"{shown_number(v)} {unit}"
        return f"{name or pid} {shown}"

    def landmarks(self, pts: _Points) -> None:
        xy = np.array(list(pts.xy.values())) if pts.xy else np.empty((0, 2))
        if len(xy):
            self.ax.plot(
                xy[:, 0],
                xy[:, 1],
                ls="none",
                marker="o",
                ms=3.2,
                mfc=LANDMARK_COLOUR,
                mec="#000000",
                mew=0.4,
                zorder=7,
            )

    def circles(self, pts: _Points) -> None:
        for name in ("FH.left", "FH.right", "FH"):
            c = pts.circles.get(name)
            if c is not None and all(math.isfinite(v) for v in (*c.center, c.radius)):
                self.ax.add_patch(
                    CirclePatch(c.center, c.radius, fill=False, ec=PELVIS_COLOUR, lw=1.4, zorder=3)
                )

    def hip_axis(self, pts: _Points) -> np.ndarray | None:
        """The measurement's hip axis, with the line joining the two heads it lies between."""
        ha = self.at(self.m.constructions.hip_axis)
        if ha is None:
            self.skip("hip axis", "missing landmarks: FH.left and FH.right (or FH)")
            return None
        left, right = pts.get("FH.left"), pts.get("FH.right")
        if left is not None and right is not None:
            self.line(np.array([left, right]), PELVIS_COLOUR, lw=1.4)
        self.ax.plot(*ha, marker="X", ms=7, mfc=PELVIS_COLOUR, mec="#000000", mew=0.6, zorder=6)
        self.drawn.append("hip axis")
        return ha

    def plumb(self, x: float, y0: float, y1: float, colour: str, name: str) -> None:
        self.line(np.array([[x, y0], [x, y1]]), colour, lw=1.4, ls=(0, (6, 3)))
        self.drawn.append(name)

    def bracket(self, x0: float, x1: float, y: float, colour: str) -> None:
        tick = self.unit_px * 0.8
        self.line(np.array([[x0, y], [x1, y]]), colour, lw=2.2, z=5)
        for x in (x0, x1):
            self.line(np.array([[x, y - tick], [x, y + tick]]), colour, lw=2.2, z=5)

    def scale_bar(self) -> None:
        cal = self.study.table.calibrations[self.i]
        spacing = cal.mm_per_px
        if not spacing or not self.m.calibrated[self.i]:
            self.skip("scale bar", "no pixel spacing: the film is uncalibrated")
            return
        col_mm = float(spacing[1])
        width_mm = self.cols * col_mm
        bar_mm = next((b for b in (100, 50, 20, 10, 5, 2, 1) if b <= width_mm / 3), 1)
        length = bar_mm / col_mm
        x0 = self.cols * 0.05
        y = self.rows * 0.97
        self.ax.plot([x0, x0 + length], [y, y], color="#FFFFFF", lw=4, zorder=6, solid_capstyle="butt")
        self.ax.plot([x0, x0 + length], [y, y], color="#000000", lw=1.2, zorder=6, solid_capstyle="butt")
        self.ax.text(
            x0 + length / 2,
            y - self.unit_px * 0.8,
            f"{bar_mm} mm",
            ha="center",
            va="bottom",
            color="#FFFFFF",
            fontsize=self.fontsize,
            zorder=6,
            bbox={"boxstyle": "round,pad=0.2", "fc": "#000000", "alpha": 0.6, "lw": 0},
        )
        self.drawn.append("scale bar")

    def mark(self, x: float, text: str) -> None:
        """An orientation letter (A/P, R/L) near the top of the film at column *x*."""
        ann = self.ax.annotate(
            text,
            xy=(x, self.rows * 0.03),
            xytext=(x, self.rows * 0.03),
            textcoords="data",
            ha="center",
            va="center",
            color="#FFFFFF",
            fontsize=self.fontsize * 1.5,
            fontweight="bold",
            zorder=6,
            bbox={"boxstyle": "round,pad=0.25", "fc": "#000000", "alpha": 0.6, "lw": 0},
            annotation_clip=False,
        )
        self.marks.append(ann)


def _draw_lateral(p: _Painter, pts: _Points) -> None:
    built = p.m.constructions
    sign = float(p.m.anterior_sign[p.i])
    corners = ("post", "ant")
    u = p.unit_px
    if math.isfinite(sign):
        ant_x, post_x = (p.cols * 0.94, p.cols * 0.06) if sign > 0 else (p.cols * 0.06, p.cols * 0.94)
        p.mark(ant_x, "A")
        p.mark(post_x, "P")
        p.drawn.append("orientation")
    else:
        sign = 1.0
        p.skip("orientation (A/P)", "no endplate annotated: the anterior direction is unknown")
    ant_ha, post_ha = ("left", "right") if sign > 0 else ("right", "left")

    # --- pelvis: femoral heads, hip axis, the sacral endplate (S1, or a sacralised vertebra's)
    # and its perpendicular, PI/PT/SS
    spine = p.m.spine.study(p.i)
    sacrum = str(spine.of("sacrum")[0])
    p.circles(pts)
    ha = p.hip_axis(pts)
    s1 = pts.line(sacrum, "sup", corners)
    if s1 is None:
        for what in (f"{sacrum} endplate", "SS"):
            p.skip(what, p.reason("SS", f"missing landmarks: {sacrum}.sup.ant, {sacrum}.sup.post"))
    else:
        post, ant = s1
        length = float(np.hypot(*(ant - post)))
        p.line(_extend(post, ant, 0.25), GEOMETRY_COLOUR, lw=2.0)
        p.key("endplates, plumb lines, angles", GEOMETRY_COLOUR)
        p.drawn.append(f"{sacrum} endplate")
        # SS: the horizontal through the posterosuperior corner, toward anterior
        horiz = np.array([post, post + np.array([sign * length * 1.3, 0.0])])
        p.line(horiz, GEOMETRY_COLOUR, lw=1.0, ls=":")
        ss = p.fmt("SS")
        if ss is not None:
            a_end, a_h = _ang(ant - post), _ang(horiz[1] - horiz[0])
            p.line(_arc(post, length * 0.8, a_h, a_end), GEOMETRY_COLOUR, lw=2.0, z=5)
            p.label(
                post + np.array([sign * length * 1.35, 0.0]),
                ss,
                p.colour_for("SS"),
                ha=ant_ha,
                anchor=horiz[1],
            )
            p.drawn.append("SS")
        else:
            p.skip("SS", p.reason("SS", "not measured"))
        # the perpendicular at S1mid, into the sacrum (downward), as the measurement made it
        mid, normal = p.at(built.s1_mid), p.at(built.s1_normal)
        if mid is None or normal is None:
            p.skip("S1 perpendicular", p.reason("PI", "degenerate geometry: the S1 endplate has zero length"))
        else:
            _draw_pelvic_angles(p, ha, mid, normal, length, sign)
            _draw_global_tilt(p, ha, mid, length, ant_ha)

    # --- Cobb lines: LL, TK and CL (the variants on request), between the endplates the
    # measurement uses (this spine's levels)
    cobbs = {c.id: c for c in SAGITTAL_COBBS}
    for pid in _sagittal_cobbs(p):
        upper, lower = ((str(spine.of(lv)[0]), ep) for lv, ep in (cobbs[pid].upper, cobbs[pid].lower))
        a, b = pts.line(*upper, corners), pts.line(*lower, corners)
        text = p.fmt(pid, pid.split("_")[0])
        if a is None or b is None or text is None:
            if text is not None or pid in ("LL", "TK"):
                p.skip(f"{pid} Cobb lines", p.reason(pid, "missing landmarks"))
            continue
        colour = CERVICAL_COLOUR if pid == "CL" else GEOMETRY_COLOUR
        ls = _VARIANT_LS if pid in _VARIANTS else "-"
        p.key("cervical lines (CL, cSVA)" if pid == "CL" else "endplates, plumb lines, angles", colour)
        if ls != "-":
            p.key("LL, TK variants (dotted)", colour, ls)
        ends = []
        for post, ant in (a, b):
            # lengthen posteriorly, where the two lines meet the label
            d = post - ant
            end = post + 1.2 * d
            p.line(np.array([ant + 0.2 * (ant - post), end]), colour, lw=1.6, ls=ls, z=4)
            ends.append(end)
        y = (a[0][1] + b[0][1]) / 2
        x = min(a[0][0], b[0][0]) - 2.5 * u if sign > 0 else max(a[0][0], b[0][0]) + 2.5 * u
        anchor = (ends[0] + ends[1]) / 2
        p.label(
            np.array([x, y]),
            f"{text}\n({upper[0]}–{lower[0]})",
            p.colour_for(pid, default=colour),
            ha=post_ha,
            anchor=anchor,
        )
        if pid == "LL":
            # PI−LL is judged by its own criteria: its own label, in their colour
            pill = p.fmt("PI_LL", "PI−LL")
            if pill is not None:
                p.label(np.array([x, y + 4 * u]), pill, p.colour_for("PI_LL"), ha=post_ha, anchor=anchor)
                p.drawn.append("PI_LL")
        p.drawn.append(pid)

    _draw_t1_slope(p, pts, sign, ant_ha)
    _draw_cervical_sva(p, pts, sign, ant_ha)

    # --- C7 plumb line and SVA
    c7 = p.at(built.c7_centre)
    s1p = pts.get(f"{sacrum}.sup.post")
    if c7 is None:
        p.skip("C7 plumb line", "missing landmarks: the C7 body corners (or C7.centroid)")
        p.skip("SVA", p.reason("SVA", "missing landmarks: C7"))
        return
    bottom = s1p[1] + 4 * u if s1p is not None else p.rows * 0.9
    p.plumb(float(c7[0]), float(c7[1]), float(bottom), GEOMETRY_COLOUR, "C7 plumb line")
    p.ax.plot(*c7, marker="o", ms=5, mfc=GEOMETRY_COLOUR, mec="#000000", mew=0.6, zorder=6)
    sva = p.fmt("SVA")
    if s1p is None or sva is None:
        p.skip("SVA", p.reason("SVA", f"missing landmarks: {sacrum}.sup.post"))
        return
    colour = p.colour_for("SVA")
    y = float(s1p[1]) - 3 * u
    p.line(np.array([s1p, [s1p[0], y]]), colour, lw=1.0, ls=":")
    p.bracket(float(s1p[0]), float(c7[0]), y, colour)
    right = max(float(s1p[0]), float(c7[0]))
    left = min(float(s1p[0]), float(c7[0]))
    end = np.array([right, y]) if sign > 0 else np.array([left, y])
    p.label(end + np.array([sign * 1.5 * u, 0.0]), sva, colour, ha=ant_ha, anchor=end)
    p.drawn.append("SVA")


#: The LL and TK variants of clinical.md §1, drawn on request.
_VARIANTS = ("LL_L1L5", "LL_L4S1", "TK_T2T12", "TK_T5T12")


def _sagittal_cobbs(p: _Painter) -> tuple[str, ...]:
    """The sagittal Cobb parameters this figure draws: LL, TK, CL, and the variants on request."""
    if p.variants:
        return ("LL", "TK", "CL", *_VARIANTS)
    computed = [pid for pid in _VARIANTS if p.value(pid) is not None]
    if computed:
        p.skip(", ".join(computed), "variants, drawn on request (spinecheck plot --variants)")
    return ("LL", "TK", "CL")


def _draw_pelvic_angles(
    p: _Painter, ha: np.ndarray | None, mid: np.ndarray, normal: np.ndarray, length: float, sign: float
) -> None:
    """PI, PT and TPA from the measurement's S1 midpoint, S1 perpendicular and hip axis (pixels).

    *length* is the S1 endplate's length in pixels (it scales the arcs);
    *sign* is +1 where anterior is image right.
    """
    u = p.unit_px
    ant_ha, post_ha = ("left", "right") if sign > 0 else ("right", "left")
    reach = length * 1.6
    if ha is not None:
        reach = max(reach, float(np.hypot(*(ha - mid))) * 1.05)
    p.line(np.array([mid - normal * length * 0.3, mid + normal * reach]), PELVIS_COLOUR, lw=1.2, ls="--")
    p.ax.plot(*mid, marker="o", ms=4, mfc=PELVIS_COLOUR, mec="#000000", mew=0.5, zorder=6)
    p.key("pelvis: femoral heads, hip axis, S1 perpendicular", PELVIS_COLOUR)
    p.drawn.append("S1 perpendicular")
    if ha is not None:
        p.line(np.array([mid, ha]), PELVIS_COLOUR, lw=1.4)
        pi = p.fmt("PI")
        if pi is not None:
            a0, a1 = _ang(normal), _ang(ha - mid)
            p.line(_arc(mid, length * 0.8, a0, a1), PELVIS_COLOUR, lw=1.4)
            where = mid + normal * length * 0.9 + np.array([-sign * length * 0.8, 0.0])
            on_arc = _arc(mid, length * 0.8, a0, a1, n=3)[1]
            p.label(where, pi, p.colour_for("PI", default=PELVIS_COLOUR), ha=post_ha, anchor=on_arc)
            p.drawn.append("PI")
        else:
            p.skip("PI", p.reason("PI", "not measured"))
        pt = p.fmt("PT")
        if pt is not None:
            top = np.array([ha[0], mid[1]])
            p.line(np.array([ha, top]), PELVIS_COLOUR, lw=1.0, ls=":")
            r = float(np.hypot(*(ha - mid))) * 0.45
            colour = p.colour_for("PT")
            arc = _arc(ha, r, _ang(top - ha), _ang(mid - ha))
            p.line(arc, colour, lw=2.0, z=5)
            # beside its arc, on the anterior side of the vertical
            p.label(ha + np.array([sign * u, -r * 0.9]), pt, colour, ha=ant_ha, anchor=arc[len(arc) // 2])
            p.drawn.append("PT")
        else:
            p.skip("PT", p.reason("PT", "not measured"))
        _draw_tpa(p, ha, mid, sign, ant_ha)
    else:
        for pid in ("PI", "PT", "TPA"):
            p.skip(pid, p.reason(pid, "missing landmarks: FH.left and FH.right (or FH)"))


def _draw_tpa(p: _Painter, ha: np.ndarray, mid: np.ndarray, sign: float, ant_ha: str) -> None:
    """T1 pelvic angle: the angle at the hip axis between HA→T1 centre and HA→S1mid."""
    t1 = p.at(p.m.constructions.t1_centre)
    tpa = p.fmt("TPA")
    if t1 is None or tpa is None:
        p.skip("TPA", p.reason("TPA", "missing landmarks: the T1 body corners (or T1.centroid)"))
        return
    colour = p.colour_for("TPA")
    p.line(np.array([ha, t1]), colour, lw=1.2, ls="-.", z=3)
    r = float(np.hypot(*(mid - ha))) * 0.75
    p.line(_arc(ha, r, _ang(t1 - ha), _ang(mid - ha)), colour, lw=2.0, z=5)
    # along the HA→T1 line, a third of the way up, on its anterior side
    on_line = ha + (t1 - ha) * 0.3
    p.label(on_line + np.array([sign * 2.5 * p.unit_px, 0.0]), tpa, colour, ha=ant_ha, anchor=on_line)
    p.drawn.append("TPA")


def _draw_global_tilt(
    p: _Painter, ha: np.ndarray | None, mid: np.ndarray, length: float, ant_ha: str
) -> None:
    """Global tilt: the angle at S1mid between S1mid→C7 centre and S1mid→HA."""
    c7 = p.at(p.m.constructions.c7_centre)
    gt = p.fmt("GT")
    if gt is None:
        return
    if ha is None or c7 is None:
        p.skip("GT", "missing landmarks: the hip axis or the C7 body")
        return
    colour = p.colour_for("GT", default=GEOMETRY_COLOUR)
    p.line(np.array([mid, c7]), colour, lw=1.0, ls=(0, (2, 2, 8, 2)), z=3)
    r = length * 1.4
    arc = _arc(mid, r, _ang(c7 - mid), _ang(ha - mid))
    p.line(arc, colour, lw=1.6, z=5)
    at = arc[0] + (c7 - mid) / float(np.hypot(*(c7 - mid))) * 2 * p.unit_px
    p.label(at, gt, colour, ha=ant_ha, anchor=arc[0])
    p.drawn.append("GT")


def _draw_t1_slope(p: _Painter, pts: _Points, sign: float, ant_ha: str) -> None:
    """T1 slope (the T1 superior endplate against the horizontal), and TS−CL beside it."""
    t1s = p.fmt("T1S")
    if t1s is None:
        return
    line = pts.line("T1", "sup", ("post", "ant"))
    if line is None:
        p.skip("T1S", "missing landmarks: T1.sup.post, T1.sup.ant")
        return
    post, ant = line
    length = float(np.hypot(*(ant - post)))
    colour = p.colour_for("T1S", default=CERVICAL_COLOUR)
    p.key("cervical lines (CL, cSVA)", CERVICAL_COLOUR)
    p.line(_extend(post, ant, 0.3), CERVICAL_COLOUR, lw=1.6, z=4)
    end = post + np.array([sign * length * 1.4, 0.0])
    p.line(np.array([post, end]), CERVICAL_COLOUR, lw=1.0, ls=":")
    p.line(_arc(post, length * 0.9, _ang(end - post), _ang(ant - post)), colour, lw=1.8, z=5)
    at = end + np.array([sign * p.unit_px, 0.0])
    p.label(at, t1s, colour, ha=ant_ha, anchor=end)
    p.drawn.append("T1S")
    tscl = p.fmt("TS_CL", "TS−CL")
    if tscl is not None:
        p.label(
            at + np.array([0.0, 3 * p.unit_px]),
            tscl,
            p.colour_for("TS_CL", default=CERVICAL_COLOUR),
            ha=ant_ha,
            anchor=end,
        )
        p.drawn.append("TS_CL")


def _draw_cervical_sva(p: _Painter, pts: _Points, sign: float, ant_ha: str) -> None:
    """C2–C7 SVA: the C2 centroid's plumb line, and its offset from the C7 posterosuperior corner."""
    csva = p.fmt("cSVA")
    if csva is None:
        return
    c2, c7p = p.at(p.m.constructions.c2_centre), pts.get("C7.sup.post")
    if c2 is None or c7p is None:
        p.skip("cSVA", "missing landmarks: the C2 body or C7.sup.post")
        return
    colour = p.colour_for("cSVA", default=CERVICAL_COLOUR)
    y = float(c7p[1])
    p.line(np.array([c2, [c2[0], y]]), CERVICAL_COLOUR, lw=1.2, ls=(0, (6, 3)))
    p.ax.plot(*c2, marker="o", ms=4, mfc=CERVICAL_COLOUR, mec="#000000", mew=0.5, zorder=6)
    p.bracket(float(c7p[0]), float(c2[0]), y, colour)
    xs = (float(c7p[0]), float(c2[0]))
    end = np.array([max(xs) if sign > 0 else min(xs), y])
    p.label(end + np.array([sign * 1.5 * p.unit_px, 0.0]), csva, colour, ha=ant_ha, anchor=end)
    p.drawn.append("cSVA")


def _draw_junctional(p: _Painter) -> None:
    """The junctional angles of a post-operative film: the two endplates each joins, and its value.

    The lines are the ones the measurement used (``Measurements.junctions``), lengthened
    anteriorly, where the label goes (the TK and LL labels are on the posterior side).
    Nothing is said of a film that records no operation.
    """
    m = p.m
    if not m.operated[p.i]:
        return
    u = p.unit_px
    sign = float(m.anterior_sign[p.i]) if math.isfinite(m.anterior_sign[p.i]) else 1.0
    ant_ha = "left" if sign > 0 else "right"
    for pid in JUNCTIONAL:
        lines = m.junctions.lines_px[pid][p.i]  # (upper/lower endplate, post/ant corner, x/y)
        text = p.fmt(pid)
        if text is None or not np.all(np.isfinite(lines)):
            p.skip(f"{pid} lines", p.reason(pid, "not measured"))
            continue
        colour = p.colour_for(pid)
        ends = []
        for post, ant in lines:
            end = ant + (ant - post)
            p.line(np.array([post - 0.2 * (ant - post), end]), colour, lw=1.6, z=4)
            ends.append(end)
        up, lo = (LEVELS[k] for k in m.junctions.levels[pid][p.i])
        x = max(e[0] for e in ends) + u if sign > 0 else min(e[0] for e in ends) - u
        y = float(lines[:, :, 1].mean())
        p.label(np.array([x, y]), f"{text}\n({up}–{lo})", colour, ha=ant_ha, anchor=(ends[0] + ends[1]) / 2)
        p.drawn.append(pid)


def _draw_ap(p: _Painter, pts: _Points) -> None:
    corners = ("left", "right")
    u = p.unit_px
    pr = p.study.table.patient_right[p.i]
    if pr is not None:
        pr = PatientRight.parse(pr)
        right_x, left_x = (p.cols * 0.94, p.cols * 0.06)
        if pr is PatientRight.IMAGE_LEFT:
            right_x, left_x = left_x, right_x
        p.mark(right_x, "R")
        p.mark(left_x, "L")
        p.drawn.append("orientation")
    else:
        p.skip(
            "orientation (R/L)", "the patient's side is not known (no patient_right, no DICOM orientation)"
        )

    p.circles(pts)
    built = p.m.constructions
    sacrum = str(p.m.spine.study(p.i).of("sacrum")[0])  # S1, or a sacralised vertebra
    s1 = pts.line(sacrum, "sup", corners)
    s1_mid = p.at(built.s1_mid)  # the CSVL is the vertical through it
    csvl_x = None
    if s1_mid is None:
        p.skip("CSVL", p.reason("C7_CSVL", f"missing landmarks: {sacrum}.sup.left, {sacrum}.sup.right"))
    else:
        csvl_x = float(s1_mid[0])
        if s1 is not None:
            p.line(np.array(s1), GEOMETRY_COLOUR, lw=2.0)
            p.key("endplates, plumb lines", GEOMETRY_COLOUR)
        p.plumb(csvl_x, p.rows * 0.055, p.rows - 0.5, PELVIS_COLOUR, "CSVL")
        p.key("CSVL, pelvic line", PELVIS_COLOUR, (0, (6, 3)))
        top = np.array([csvl_x, p.rows * 0.055])
        p.label(top, "CSVL", PELVIS_COLOUR, ha="center", va="bottom", anchor=top)
    _draw_pelvic_obliquity(p, pts, sacrum)

    c7 = p.at(built.c7_centre)
    if c7 is None:
        p.skip("C7 plumb line", "missing landmarks: the C7 body corners (or C7.centroid)")
    else:
        bottom = float(s1_mid[1]) if s1_mid is not None else p.rows * 0.9
        p.plumb(float(c7[0]), float(c7[1]), bottom, GEOMETRY_COLOUR, "C7 plumb line")
        p.key("endplates, plumb lines", GEOMETRY_COLOUR, (0, (6, 3)))
        p.ax.plot(*c7, marker="o", ms=5, mfc=GEOMETRY_COLOUR, mec="#000000", mew=0.6, zorder=6)
    text = p.fmt("C7_CSVL", "C7–CSVL")
    if c7 is None or csvl_x is None or text is None:
        p.skip("C7–CSVL", p.reason("C7_CSVL", "missing landmarks"))
    else:
        colour = p.colour_for("C7_CSVL")
        y = float(c7[1]) + 3 * u
        p.bracket(csvl_x, float(c7[0]), y, colour)
        v = p.value("C7_CSVL")
        side = ""
        if v is not None and v[0] != 0:
            side = " (patient right)" if v[0] > 0 else " (patient left)"
            if pr is None:
                side = " (image right)" if v[0] > 0 else " (image left)"
        # beside the bracket on C7's side, clear of the vertebral bodies (about 3 % of the long side
        # wide) so the label never hides the upper thoracic levels
        toward_right = float(c7[0]) >= csvl_x
        end = max(csvl_x, float(c7[0])) if toward_right else min(csvl_x, float(c7[0]))
        x_label = end + 4 * u if toward_right else end - 4 * u
        p.label(
            np.array([x_label, y]),
            text + side.replace(" (", "\n("),
            colour,
            ha="left" if toward_right else "right",
            va="center",
            anchor=np.array([end, y]),
        )
        p.drawn.append("C7–CSVL")
        p.drawn.append("C7_CSVL")

    # --- coronal curves: the lines each Cobb angle was measured between, and the angle
    curves = p.m.curves
    k = 0
    for c in range(curves.angle_deg.shape[1]):
        angle = float(curves.angle_deg[p.i, c])
        up, lo = int(curves.upper[p.i, c]), int(curves.lower[p.i, c])
        withheld = None if curves.withheld is None else curves.withheld[p.i, c]
        if withheld is not None and up >= 0 and lo >= 0:
            p.skip(f"Cobb {LEVELS[up]}–{LEVELS[lo]}", f"curve withheld: {withheld}")
            continue
        if not math.isfinite(angle) or up < 0 or lo < 0:
            continue
        name = f"Cobb {LEVELS[up]}–{LEVELS[lo]}"
        if curves.end_lines_px is None:
            p.skip(name, "the lines of the Cobb angle were not recorded with the curves")
            continue
        lines = curves.end_lines_px[p.i, c]  # (upper/lower, left/right end, x/y)
        if not np.all(np.isfinite(lines)):
            p.skip(name, "missing landmarks of an end vertebra")
            continue
        colour, ls = CURVE_STYLES[k % len(CURVE_STYLES)]
        for a, b in lines:
            p.line(_extend(a, b, 0.9), colour, lw=1.8, ls=ls, z=4)
        apex = int(curves.apex[p.i, c])
        convex_right = bool(curves.convex_right[p.i, c])
        y = float(lines[:, :, 1].mean())  # between the two lines' midpoints
        # on the side away from the convexity, beyond the extended lines
        ends = np.array([e for a, b in lines for e in _extend(a, b, 0.9)])
        outer = ends[np.argmin(ends[:, 0])] if convex_right else ends[np.argmax(ends[:, 0])]
        x, ha = (outer[0] - u, "right") if convex_right else (outer[0] + u, "left")
        apex_txt = f", apex {LEVELS[apex]}" if apex >= 0 else ""
        region = int(region_codes([apex])[0])  # proximal thoracic, main thoracic, TL/L by the apex
        region_txt = f"{REGIONS[region].region.value} " if region >= 0 else ""
        p.key(f"Cobb lines {LEVELS[up]}–{LEVELS[lo]}", colour, ls)
        p.label(
            np.array([x, y]),
            f"{region_txt}Cobb {shown_number(angle)}°\n{LEVELS[up]}–{LEVELS[lo]}{apex_txt}",
            colour,
            ha=ha,
            anchor=np.array([outer[0], y]),
        )
        p.drawn.append(name)
        k += 1
    if k:
        p.drawn.append("Cobb_max")
    elif "Cobb" not in p.not_drawn:
        reason = p.m.reasons.get("Cobb_max", np.array([None] * (p.i + 1)))[p.i]
        p.skip("Cobb lines", str(reason) if reason else "no coronal curve found")


def _draw_pelvic_obliquity(p: _Painter, pts: _Points, sacrum: str) -> None:
    """Pelvic obliquity: the iliac-crest line (else the sacral endplate) against the horizontal."""
    po = p.fmt("PO")
    if po is None:
        return
    crest = pts.all("IC.left", "IC.right")
    ends = crest if crest is not None else pts.all(f"{sacrum}.sup.left", f"{sacrum}.sup.right")
    if ends is None:
        p.skip("PO", p.reason("PO", "missing landmarks"))
        return
    # the angle is drawn at the line's lower end, outward: a mirrored film gives the mirrored drawing
    a, b = sorted(ends, key=lambda e: (float(e[1]), float(e[0])))
    outward = 1.0 if b[0] >= a[0] else -1.0
    colour = p.colour_for("PO", default=PELVIS_COLOUR)
    if crest is not None:
        p.line(_extend(a, b, 0.1), PELVIS_COLOUR, lw=1.6, z=4)
        p.key("CSVL, pelvic line", PELVIS_COLOUR)
    length = float(np.hypot(*(b - a)))
    flat = np.array([b, b + np.array([outward * length * 0.45, 0.0])])
    p.line(flat, PELVIS_COLOUR, lw=1.0, ls=":")
    p.line(np.array([b, b + (b - a) * 0.35]), PELVIS_COLOUR, lw=1.0, ls=":")
    p.line(_arc(b, length * 0.3, _ang(flat[1] - b), _ang(b - a)), colour, lw=1.8, z=5)
    source = "iliac crests" if crest is not None else f"{sacrum} endplate"
    at = flat[1] + np.array([outward * p.unit_px, 0.0])
    p.label(at, f"{po}\n({source})", colour, ha="left" if outward > 0 else "right", anchor=flat[1])
    p.drawn.append("PO")


def _account_for_every_value(p: _Painter) -> None:
    """List each computed parameter that no construction shows as "not drawn", with why."""
    view = View.parse(p.m.views[p.i])
    listed = set(p.drawn) | {w for k in p.not_drawn for w in k.replace(",", " ").split()}
    for pid in parameter_ids(view):
        if pid in listed or p.value(pid) is None:
            continue
        p.skip(
            pid, "computed (see the report), but not drawn: its landmarks do not make a complete construction"
        )


def draw_study(
    ax: Axes,
    image_uint8: np.ndarray,
    study: Study,
    i: int = 0,
    *,
    max_display_rows: int | None = DEFAULT_MAX_DISPLAY_ROWS,
    fontsize: float = 8.0,
    show_landmarks: bool = True,
    values: bool = True,
    variants: bool = False,
    margin_px: float = 0.0,
) -> Drawing:
    """Draw the film of study *i* with its landmarks, constructions and values on *ax*.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    image_uint8 : ndarray of uint8, shape (rows, cols)
        The display image (``Radiograph.display``: bone bright), full
        resolution. It is downsampled to at most *max_display_rows* rows for
        drawing; the axes stay in original pixel coordinates.
    study : Study
        From :func:`alignment.load_study`.
    i : int
        Which study of *study*.
    max_display_rows : int or None
        None draws the full resolution (slow on a 7200-row film).
    fontsize : float
        Points, for the value labels.
    show_landmarks : bool
        Draw every landmark as a yellow dot.
    values : bool
        Label the constructions with their values (False: the lines alone).
    variants : bool
        Also draw the LL and TK variants (``LL_L1L5``, ``LL_L4S1``,
        ``TK_T2T12``, ``TK_T5T12``), dotted; otherwise they are listed as not
        drawn when computed.
    margin_px : float
        Image pixels of dark margin kept left and right of the film, where
        labels may go.

    Returns
    -------
    Drawing
        What was drawn, and what could not be drawn with the reason.

    Notes
    -----
    The labels are placed last, by :class:`~spinecheck.alignment.render.layout.LabelLayout`:
    each starts beside what it measures and moves, the least it takes, off the other
    labels, the landmark markers and the edge of the axes, with a leader line when it
    ends up away. That needs the figure's final size: resizing the figure afterwards
    keeps the labels' places in image pixels, not their clearances.
    """
    image = np.asarray(image_uint8)
    rows, cols = image.shape[:2]
    show_film(ax, image, max_display_rows)
    ax.set_xlim(-0.5 - margin_px, cols - 0.5 + margin_px)
    ax.set_ylim(rows - 0.5, -0.5)
    if margin_px > 0:
        ax.set_facecolor("#000000")
    spacing = study.table.mm_per_px[i]
    aspect = float(spacing[0] / spacing[1]) if np.all(np.isfinite(spacing)) else 1.0
    ax.set_aspect(aspect)
    ax.set_xticks([])
    ax.set_yticks([])
    p = _Painter(ax, study, i, (rows, cols), fontsize, values=values, variants=variants)
    pts = _Points(study, i)
    status, error = study.status(i)
    if status != "ok":
        p.skip("all constructions", error or "the study could not be read")
    elif study.measurements.views[i] == View.LATERAL:
        _draw_lateral(p, pts)
        _draw_junctional(p)
        _account_for_every_value(p)
    else:
        _draw_ap(p, pts)
        _account_for_every_value(p)
    p.scale_bar()
    if show_landmarks and pts.xy:
        p.landmarks(pts)
        p.key("landmarks", LANDMARK_COLOUR, "none", "o")
    if p.labels or p.marks:
        p.lay_out()
    return Drawing(tuple(p.drawn), dict(p.not_drawn), p.verdicts, tuple(p.keys.values()))


# ----------------------------------------------------------------------------- the figure


def _panel(ax: Axes, study: Study, i: int, drawing: Drawing, fontsize: float) -> None:
    """The legend panel: verdict key, lines key, criteria, what was not drawn, warnings.

    Stacked from the top by measured heights; when it does not fit the panel, it is
    drawn again a half point smaller, down to 5 points.
    """
    size = fontsize
    ax.set_axis_off()
    while _panel_at(ax, study, i, drawing, size) < 0 and size > 5:
        size -= 0.5
        ax.cla()
        ax.set_axis_off()


def _panel_at(ax: Axes, study: Study, i: int, drawing: Drawing, fontsize: float) -> float:
    """Draw the panel at *fontsize*; returns the free height left at its foot (axes fraction, < 0: overflow)."""
    renderer = layout.renderer_of(ax.get_figure(root=True))  # type: ignore[arg-type]
    frame = ax.get_window_extent(renderer)
    px_per_pt = ax.get_figure(root=True).dpi / 72.0  # type: ignore[union-attr]
    width = max(20, int(frame.width / (fontsize * px_per_pt * 0.58)))
    gap = 0.9 * fontsize * px_per_pt / frame.height
    y = 1.0

    def below(artist: Text | Legend) -> None:
        nonlocal y
        box = (
            layout.text_box(artist, renderer)
            if isinstance(artist, Text)
            else artist.get_window_extent(renderer)
        )
        y = (box.y0 - frame.y0) / frame.height - gap

    def text(s: str, **kw: object) -> None:
        below(ax.text(0, y, s, va="top", transform=ax.transAxes, **{"fontsize": fontsize, **kw}))  # type: ignore[arg-type]

    def legend(handles: list[Line2D], title: str, size: float) -> None:
        if not handles:
            return
        leg = Legend(  # an artist of its own: ax.legend() would also draw the last one as the axes' legend
            ax,
            handles,
            [str(h.get_label()) for h in handles],
            loc="upper left",
            bbox_to_anchor=(0, y),
            title=title,
            fontsize=size,
            title_fontsize=fontsize + 1,
            frameon=False,
            alignment="left",
            borderaxespad=0.0,
            borderpad=0.0,
            labelspacing=0.5,
        )
        ax.add_artist(leg)
        below(leg)

    cal = study.table.calibrations[i]
    view = View.parse(study.measurements.views[i])
    # the file's name: a folder path would overrun the panel
    title = f"{Path(str(study.table.ids[i])).name} — {view.value} film"
    text(textwrap.fill(title, int(width / 1.25)), fontweight="bold", fontsize=fontsize + 2)
    text(
        f"{cal.mm_per_px[0]:g} × {cal.mm_per_px[1]:g} mm/px ({cal.source.value})"
        if cal.mm_per_px
        else "uncalibrated: distances in pixels"
    )
    criteria = [(Verdict.of(c, i), c.summary(i) or "") for c in study.assessment.columns if c.present[i]]
    shown = {v for v, _ in criteria}
    legend(
        [_swatch(v.colour, str(v)) for v in Verdict if v in shown],
        "Verdict colours (a value: its criteria's worst)",
        fontsize,
    )
    legend(
        [
            Line2D(
                [],
                [],
                color=k.colour,
                ls=k.ls,
                marker=k.marker,
                ms=5,
                mfc=k.colour,
                mec="#000000",
                lw=1.6,
                label=k.name,
                # a dark edge: the white and sky-blue lines drawn on the film stay visible on the panel
                path_effects=[patheffects.withStroke(linewidth=3.2, foreground="#555555")],
            )
            for k in drawing.lines
        ],
        "Lines",
        fontsize,
    )
    legend(
        [
            _swatch(verdict.colour, textwrap.fill(s.replace(" >= ", " ≥ ").replace(" <= ", " ≤ "), width - 4))
            for verdict, s in criteria
        ],
        "Criteria",
        fontsize - 0.5,
    )
    notes = []
    if drawing.not_drawn:
        notes.append("Not drawn:")
        notes += [
            textwrap.fill(f"• {k}: {v}", width, subsequent_indent="   ") for k, v in drawing.not_drawn.items()
        ]
    warnings = study_warnings(study, i)
    if warnings:
        notes.append("Warnings:")
        notes += [textwrap.fill(f"• {w}", width, subsequent_indent="   ") for w in warnings]
    if notes:
        text("\n".join(notes), fontsize=fontsize - 0.5)
    return y + gap


def _swatch(colour: str, label: str) -> Line2D:
    return Line2D([], [], ls="none", marker="s", ms=9, mfc=colour, mec="#000000", label=label)


def figure_for(
    image: np.ndarray,
    study: Study,
    i: int = 0,
    *,
    height_in: float = 11.0,
    panel_in: float = 4.6,
    max_display_rows: int | None = DEFAULT_MAX_DISPLAY_ROWS,
    fontsize: float = 8.0,
    panel: bool = True,
    values: bool = True,
    points: bool = True,
    variants: bool = False,
    margin_in: float | None = None,
    max_width_in: float = MAX_WIDTH_IN,
) -> Figure:
    """A complete figure of study *i*: the annotated film and its legend panel.

    Parameters
    ----------
    image : ndarray of uint8, shape (rows, cols)
        The display image (bone bright), full resolution.
    study : Study
    i : int
    height_in : float
        Figure height in inches; the film keeps its aspect ratio.
    panel_in : float
        Width of the legend panel in inches.
    max_display_rows : int or None
        See :func:`draw_study`; None renders the full resolution.
    fontsize : float
    panel : bool
        False draws the film alone (no legend panel).
    values : bool
        False draws the constructions without their value labels.
    points : bool
        False leaves out the landmark dots.
    variants : bool
        Also draw the LL and TK variants (see :func:`draw_study`).
    margin_in : float, optional
        Dark margin left and right of the film where labels may go, inches;
        default 0.9 with values, none without.
    max_width_in : float
        A wide film is drawn less tall so that the figure is at most this wide.

    Returns
    -------
    matplotlib.figure.Figure
        With an Agg canvas attached: ``fig.savefig("x.png")`` works without
        pyplot. The drawing's :class:`Drawing` is ``fig.spinecheck_drawing``.
    """
    image = np.asarray(image)
    rows, cols = image.shape[:2]
    spacing = study.table.mm_per_px[i]
    aspect = float(spacing[0] / spacing[1]) if np.all(np.isfinite(spacing)) else 1.0
    margin = (0.9 if values else 0.0) if margin_in is None else float(margin_in)
    extra = 2 * margin + (panel_in if panel else 0.0)
    film_w = height_in * cols / (rows * aspect)
    if film_w + extra > max_width_in:
        film_w = max(max_width_in - extra, 1.0)
        height_in = film_w * rows * aspect / cols
    width = film_w + extra
    fig = Figure(figsize=(width, height_in), layout=None)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, (film_w + 2 * margin) / width, 1.0))
    drawing = draw_study(
        ax,
        image,
        study,
        i,
        max_display_rows=max_display_rows,
        fontsize=fontsize,
        show_landmarks=points,
        values=values,
        variants=variants,
        margin_px=margin * cols / film_w,
    )
    if panel:
        left = film_w + 2 * margin
        side = fig.add_axes(((left + 0.15) / width, 0.01, (panel_in - 0.25) / width, 0.98))
        _panel(side, study, i, drawing, fontsize)
    fig.spinecheck_drawing = drawing  # type: ignore[attr-defined]
    return fig
