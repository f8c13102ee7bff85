"""The parameters spinecheck measures, as data, and the container of their values.

Every parameter has an id (the report key, clinical.md §1–2), a unit kind, its
definition in words and its status/source. :class:`Measurements` holds the
values of N studies column-wise: one ``(N,)`` float array per parameter, NaN
where a study could not be measured, with the reason alongside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import field, fields
from typing import NamedTuple

import numpy as np

from .. import dataclass
from ..landmarks.points.anatomy import LevelRole, SpineLevels
from ..landmarks.points.names import LEVELS, PatientRight, View, VocabularyEnum

__all__ = [
    "Unit",
    "ParameterDef",
    "PARAMETERS",
    "SAGITTAL",
    "CORONAL",
    "EndplateAt",
    "LevelRange",
    "RANGES",
    "ON_SACRAL_ENDPLATE",
    "FIVE_LUMBAR_ONLY",
    "levels_text",
    "Curve",
    "CurveTable",
    "Constructions",
    "JunctionLines",
    "JUNCTIONAL",
    "Reported",
    "PIXELS_NOTE",
    "Measurements",
    "shown_number",
]


class Unit(VocabularyEnum):
    """Unit kind of a parameter. Lengths are mm when calibrated, else px."""

    DEG = "deg"
    MM = "mm"
    PX = "px"


@dataclass(frozen=True)
class ParameterDef:
    """What a parameter is (not its value)."""

    id: str
    name: str
    unit: Unit  # DEG or MM (a length: reported in px when uncalibrated)
    view: View
    definition: str
    source: str
    status: str = "V"

    @property
    def is_length(self) -> bool:
        return self.unit is Unit.MM


def _p(
    id: str, name: str, unit: Unit, view: View, definition: str, source: str, status: str = "V"
) -> ParameterDef:
    return ParameterDef(id, name, unit, view, definition, source, status)


_L, _A, _DEG, _MM = View.LATERAL, View.AP, Unit.DEG, Unit.MM

PARAMETERS: Mapping[str, ParameterDef] = {
    p.id: p
    for p in (
        _p(
            "PI",
            "pelvic incidence",
            _DEG,
            _L,
            "angle between the perpendicular to the S1 superior endplate at its midpoint and the line to the hip axis "
            "(a sacralised vertebra's superior endplate when one is recorded: the sacral endplate)",
            "Legaye J et al. Eur Spine J 1998;7(2):99-103",
        ),
        _p(
            "PT",
            "pelvic tilt",
            _DEG,
            _L,
            "angle between the vertical through the hip axis and the line hip axis to S1 midpoint; "
            "positive when S1 is posterior to the hip axis",
            "Legaye 1998",
        ),
        _p(
            "SS",
            "sacral slope",
            _DEG,
            _L,
            "angle between the S1 superior endplate and the horizontal",
            "Legaye 1998",
        ),
        _p(
            "LL",
            "lumbar lordosis (L1-S1)",
            _DEG,
            _L,
            "Cobb angle L1 superior to S1 superior endplate, the whole lumbar spine (six vertebrae with an L6; "
            "to the superior endplate of a sacralised vertebra, the sacral endplate, when one is recorded); "
            "positive = lordosis",
            "clinical.md §1",
        ),
        _p(
            "LL_L1L5",
            "lumbar lordosis (L1-L5)",
            _DEG,
            _L,
            "Cobb angle L1 superior to L5 inferior endplate, literally those levels whatever the number of "
            "lumbar vertebrae; positive = lordosis",
            "clinical.md §1",
        ),
        _p(
            "LL_L4S1",
            "lower lumbar lordosis (L4-S1)",
            _DEG,
            _L,
            "Cobb angle L4 superior to S1 superior endplate; positive = lordosis (used by GAP); defined on five "
            "lumbar vertebrae, so not measured with an L6 or a sacralised vertebra",
            "Yilgor C et al. JBJS Am 2017;99:1661",
        ),
        _p(
            "TK",
            "thoracic kyphosis (T4-T12)",
            _DEG,
            _L,
            "Cobb angle T4 superior to the inferior endplate of the last thoracic vertebra (T12; T13 when "
            "placed); positive = kyphosis",
            "clinical.md §1",
        ),
        _p(
            "TK_T2T12",
            "thoracic kyphosis (T2-T12)",
            _DEG,
            _L,
            "Cobb angle T2 superior to T12 inferior endplate, literally (also with a T13); positive = kyphosis",
            "clinical.md §1",
        ),
        _p(
            "TK_T5T12",
            "thoracic kyphosis (T5-T12)",
            _DEG,
            _L,
            "Cobb angle T5 superior to T12 inferior endplate, literally (also with a T13); positive = kyphosis",
            "clinical.md §1",
        ),
        _p(
            "PI_LL",
            "PI-LL mismatch",
            _DEG,
            _L,
            "PI - LL; positive = too little lordosis for the pelvis",
            "Schwab F et al. Spine 2012;37(12):1077-1082",
        ),
        _p(
            "SVA",
            "sagittal vertical axis",
            _MM,
            _L,
            "horizontal offset of the C7 plumb line from the S1 posterosuperior corner; positive when C7 is anterior",
            "clinical.md §1",
        ),
        _p(
            "TPA",
            "T1 pelvic angle",
            _DEG,
            _L,
            "angle at the hip axis between the lines to the T1 body centre and to the S1 midpoint; positive anterior",
            "Protopsaltis T et al. JBJS Am 2014;96(19):1631-1640",
        ),
        _p(
            "GT",
            "global tilt",
            _DEG,
            _L,
            "angle at the S1 midpoint between the lines to the C7 body centre and to the hip axis; positive anterior",
            "Obeid I et al. Eur Spine J 2016;25(11):3644-3649",
            "V/S",
        ),
        _p(
            "T1S",
            "T1 slope",
            _DEG,
            _L,
            "angle between the T1 superior endplate and the horizontal; positive when the anterior corner is lower",
            "clinical.md §1",
        ),
        _p(
            "CL",
            "cervical lordosis (C2-C7)",
            _DEG,
            _L,
            "Cobb angle C2 inferior to C7 inferior endplate; positive = lordosis",
            "clinical.md §1",
        ),
        _p(
            "cSVA",
            "C2-C7 SVA",
            _MM,
            _L,
            "horizontal offset of the C2 centroid plumb line from the C7 posterosuperior corner; positive anterior "
            "(posterosuperior-corner variant, not centroid to centroid)",
            "clinical.md §1",
            "S",
        ),
        _p("TS_CL", "T1 slope minus cervical lordosis", _DEG, _L, "T1S - CL", "clinical.md §1"),
        _p(
            "PJA",
            "proximal junctional angle",
            _DEG,
            _L,
            "Cobb angle from the inferior endplate of the upper instrumented vertebra (UIV) to the superior "
            "endplate of the vertebra two above it (UIV+2); positive = kyphosis; measured when the UIV is recorded",
            "Glattes RC et al. Spine 2005;30(14):1643-1649",
        ),
        _p(
            "DJA",
            "distal junctional angle",
            _DEG,
            _L,
            "Cobb angle from the superior endplate of the lower instrumented vertebra (LIV) to the inferior "
            "endplate of the vertebra two below it (LIV-2); positive = kyphosis; measured when the LIV is "
            "recorded (the endplates by the Cobb convention: the published definitions name the vertebrae only)",
            "Passias PG et al. Spine J 2018 (doi 10.1016/j.spinee.2018.04.017); "
            "Passias PG et al. J Craniovertebr Junction Spine 2021;12(1):65-71",
            "S",
        ),
        _p(
            "C7_CSVL",
            "coronal balance (C7-CSVL)",
            _MM,
            _A,
            "horizontal distance from the C7 plumb line to the central sacral vertical line; "
            "positive toward the patient's right (toward image right when the side is unknown)",
            "Glassman SD et al. Spine 2005;30:682",
        ),
        _p(
            "Cobb_max",
            "largest coronal Cobb angle",
            _DEG,
            _A,
            "largest Cobb angle over the coronal curves (end vertebrae = most tilted bounding the curve)",
            "clinical.md §2",
        ),
        _p(
            "PO",
            "pelvic obliquity",
            _DEG,
            _A,
            "angle of the iliac-crest line (else the S1 superior endplate) to the horizontal; positive when the "
            "patient's right side is higher (image right when the side is unknown)",
            "clinical.md §2",
            "S",
        ),
    )
}

SAGITTAL: tuple[str, ...] = tuple(k for k, p in PARAMETERS.items() if p.view is View.LATERAL)
#: The junctional angles of post-operative films: measured at the levels the operation records.
JUNCTIONAL: tuple[str, ...] = ("PJA", "DJA")
CORONAL: tuple[str, ...] = tuple(k for k, p in PARAMETERS.items() if p.view is View.AP)


class EndplateAt(NamedTuple):
    """One end of a ranged parameter: an endplate of a level, or of the level that plays a role.

    ``level`` is a level of :data:`~spinecheck.landmarks.points.names.LEVELS`
    (taken literally) or a :class:`~spinecheck.landmarks.points.anatomy.LevelRole`
    value (``"sacrum"``, ``"last thoracic"``), resolved per study by
    :meth:`SpineLevels.of <spinecheck.landmarks.points.anatomy.SpineLevels.of>`;
    ``endplate`` is ``"sup"`` or ``"inf"``.
    """

    level: str
    endplate: str


class LevelRange(NamedTuple):
    """The two endplates a sagittal Cobb parameter is measured between, top first."""

    upper: EndplateAt
    lower: EndplateAt


def _range(upper: str, upper_ep: str, lower: str, lower_ep: str) -> LevelRange:
    return LevelRange(EndplateAt(upper, upper_ep), EndplateAt(lower, lower_ep))


_SACRUM, _LAST_THORACIC = LevelRole.SACRUM.value, LevelRole.LAST_THORACIC.value

#: The endplates of each ranged parameter, in clinical terms (see the module
#: :mod:`spinecheck.landmarks.points.anatomy` for T13, L6 and a sacralised vertebra).
#:
#: - ``LL`` and ``TK`` are named for a region, and follow the patient's anatomy: LL
#:   is the whole lumbar spine, L1 superior to the sacral endplate (S1 superior, the
#:   superior endplate of a sacralised vertebra); TK ends at the inferior endplate
#:   of the last thoracic vertebra (T12, T13 when placed).
#: - ``LL_L1L5``, ``TK_T2T12`` and ``TK_T5T12`` are named for their levels and
#:   measure those levels on every spine, so that a column of a pooled table means
#:   one thing in every row.
#: - ``LL_L4S1`` is GAP's lower arc, the two lowest lumbar segments, defined on five
#:   lumbar vertebrae (Yilgor 2017); with an L6 or a sacralised vertebra it is not
#:   measured (neither the literal L4-S1 nor "the two lowest segments" has been
#:   validated there), so GAP is not graded from it.
RANGES: Mapping[str, LevelRange] = {
    "LL": _range("L1", "sup", _SACRUM, "sup"),
    "LL_L1L5": _range("L1", "sup", "L5", "inf"),
    "LL_L4S1": _range("L4", "sup", "S1", "sup"),
    "TK": _range("T4", "sup", _LAST_THORACIC, "inf"),
    "TK_T2T12": _range("T2", "sup", "T12", "inf"),
    "TK_T5T12": _range("T5", "sup", "T12", "inf"),
    "CL": _range("C2", "inf", "C7", "inf"),
}

#: Parameters measured from the sacral endplate (its midpoint, its slope or its
#: posterosuperior corner on a lateral film; its midpoint, the CSVL, on an AP film):
#: the S1 superior endplate, or a sacralised vertebra's superior endplate.
ON_SACRAL_ENDPLATE: tuple[str, ...] = ("PI", "PT", "SS", "SVA", "TPA", "GT", "C7_CSVL", "PO")

#: Parameters defined on five lumbar vertebrae and not measured on a transitional lumbosacral
#: junction (an L6, or a sacralised vertebra): GAP's lower arc (see :data:`RANGES`).
FIVE_LUMBAR_ONLY: tuple[str, ...] = ("LL_L4S1",)

_ENDPLATE_WORD = {"sup": "superior", "inf": "inferior"}


def levels_text(param: str, spine: SpineLevels, i: int) -> str | None:
    """The levels parameter *param* is measured on in study *i*, in clinical words.

    None for a parameter not built on a level range or on the sacral endplate, and
    for one this spine does not measure (:data:`FIVE_LUMBAR_ONLY` on a transitional
    lumbosacral junction: the reason says why).

    Examples
    --------
    >>> from spinecheck.landmarks.points.anatomy import SpineLevels
    >>> spine = SpineLevels(np.array([True]), np.array([False]), np.array(["L5"], dtype=object))
    >>> levels_text("LL", spine, 0), levels_text("TK", spine, 0)
    ('L1 superior to L5 superior endplate', 'T4 superior to T13 inferior endplate')
    >>> levels_text("SVA", spine, 0)
    'the L5 superior endplate as the sacral endplate (sacralised L5)'
    >>> levels_text("T1S", spine, 0) is None, levels_text("LL_L4S1", spine, 0) is None
    (True, True)
    """
    spine, i = spine.study(i), 0  # one study: its levels, not every study's
    sacrum = str(spine.of(_SACRUM)[i])
    sacral = f"the {sacrum} superior endplate as the sacral endplate" + (
        f" (sacralised {sacrum})" if sacrum != "S1" else ""
    )
    if param == "PI_LL":
        return f"PI with {sacral}; LL {levels_text('LL', spine, i)}"
    if param in ON_SACRAL_ENDPLATE:
        return sacral
    if param in FIVE_LUMBAR_ONLY and spine.lumbosacral[i]:
        return None
    r = RANGES.get(param)
    if r is None:
        return None
    upper, lower = (str(spine.of(end.level)[i]) for end in r)
    return (
        f"{upper} {_ENDPLATE_WORD[r.upper.endplate]} to {lower} {_ENDPLATE_WORD[r.lower.endplate]} endplate"
    )


@dataclass(frozen=True)
class Curve:
    """One coronal curve of one study.

    Attributes
    ----------
    upper_end, lower_end : str
        Levels of the upper and lower end vertebra.
    apex : str or None
        Level of the apex vertebra; None where it is not known (an end
        vertebra without a body centre, :func:`~spinecheck.alignment.geometry.coronal.find_curves`).
    angle_deg : float
        Cobb angle (positive).
    convex_right : bool
        Whether the curve is convex toward *image* right.
    region : str or None
        ``"thoracic"`` or ``"thoracolumbar/lumbar"`` when the assessment
        classified it (:func:`spinecheck.alignment.criteria.engine.curve_regions`).
    """

    upper_end: str
    lower_end: str
    apex: str | None
    angle_deg: float
    convex_right: bool
    region: str | None = None

    def convex_side(self, patient_right: PatientRight | str | None = None) -> str:
        """The side the curve is convex toward, in words.

        ``"image right"``/``"image left"``; with the patient's side known,
        the patient side first: ``"patient left (image right)"``.

        >>> c = Curve("T5", "T12", "T9", 32.0, True)
        >>> c.convex_side(), c.convex_side("image_left")
        ('image right', 'patient left (image right)')
        """
        image_side = "right" if self.convex_right else "left"
        if patient_right is None:
            return f"image {image_side}"
        same = PatientRight.parse(patient_right) is PatientRight.IMAGE_RIGHT
        patient_side = image_side if same else ("left" if self.convex_right else "right")
        return f"patient {patient_side} (image {image_side})"


@dataclass(frozen=True)
class CurveTable:
    """Coronal curves of N studies, padded to K curves each.

    Level indices refer to :data:`spinecheck.landmarks.points.names.LEVELS`; -1 pads. Curves are
    ordered top to bottom.

    Attributes
    ----------
    angle_deg : ndarray, shape (N, K)
        Cobb angle of each curve (positive), NaN pads.
    upper, lower, apex : ndarray of int, shape (N, K)
        Level index of the upper end, lower end and apex vertebra; an apex of
        -1 beside a curve is not known (an end vertebra without a body centre).
    convex_right : ndarray of bool, shape (N, K)
        Whether the curve is convex toward image right.
    method : str
        ``"endplate"`` or ``"midline"``.
    end_lines_px : ndarray, shape (N, K, 2, 2, 2), or None
        The two lines each Cobb angle was measured between, in ``(x, y)``
        image pixels: ``[study, curve, upper/lower line, left/right end, x/y]``
        (the upper end vertebra's superior endplate and the lower end
        vertebra's inferior endplate, or their midlines with the ``midline``
        method); NaN pads. None in a table not made by the measurement.
    withheld : ndarray of object, shape (N, K), or None
        Why a curve was withheld (its angle is NaN, its levels kept: a
        vertebra in its span failed the landmark check), else None.
    """

    angle_deg: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    apex: np.ndarray
    convex_right: np.ndarray
    method: str = "endplate"
    end_lines_px: np.ndarray | None = None
    withheld: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int, method: str = "endplate") -> CurveTable:
        z = np.zeros((n, 0))
        i = np.zeros((n, 0), dtype=int)
        return cls(z, i, i.copy(), i.copy(), np.zeros((n, 0), dtype=bool), method, np.zeros((n, 0, 2, 2, 2)))

    def curve_list(self, i: int, regions: np.ndarray | None = None) -> list[Curve]:
        """The curves of study *i*, top to bottom.

        *regions*, an ``(N, K)`` array like this table's, gives each curve's
        ``region``.
        """
        return [
            Curve(
                LEVELS[self.upper[i, k]],
                LEVELS[self.lower[i, k]],
                LEVELS[self.apex[i, k]] if self.apex[i, k] >= 0 else None,
                float(self.angle_deg[i, k]),
                bool(self.convex_right[i, k]),
                regions[i, k] if regions is not None else None,
            )
            for k in range(self.angle_deg.shape[1])
            if np.isfinite(self.angle_deg[i, k])
        ]

    def curves(
        self, i: int, regions: np.ndarray | None = None, patient_right: PatientRight | str | None = None
    ) -> list[dict]:
        """The curves of study *i* as report rows (``formats.md`` §2 ``curves``).

        *regions*, an ``(N, K)`` array like this table's, adds each curve's
        ``region``; *patient_right*, when known, puts the patient's side in
        ``convex`` (:meth:`Curve.convex_side`).
        """
        return [
            {
                "upper_end": c.upper_end,
                "lower_end": c.lower_end,
                "apex": c.apex,
                "angle_deg": c.angle_deg,
                "convex": c.convex_side(patient_right),
                **({"region": c.region} if regions is not None else {}),
            }
            for c in self.curve_list(i, regions)
        ]

    def withheld_curves(self, i: int) -> list[dict]:
        """The curves of study *i* that were withheld, top to bottom: levels and reason, no angle."""
        if self.withheld is None:
            return []
        return [
            {
                "upper_end": LEVELS[self.upper[i, k]],
                "lower_end": LEVELS[self.lower[i, k]],
                "apex": LEVELS[self.apex[i, k]] if self.apex[i, k] >= 0 else None,
                "angle_deg": None,
                "reason": str(self.withheld[i, k]),
            }
            for k in range(self.withheld.shape[1])
            if self.withheld[i, k] is not None
        ]


def _no_points() -> np.ndarray:
    return np.full((0, 2), np.nan)


@dataclass(frozen=True)
class Constructions:
    """What the measurement constructed from the landmarks, per study, in image pixels.

    The points and directions the parameters were measured from, made by the
    same functions as the parameters (:mod:`spinecheck.alignment.geometry`),
    so that a figure draws them instead of constructing them a second time.
    Every attribute is an ``(N, 2)`` array in ``(x, y)`` image pixels
    (x = column, y = row, y down), NaN where a study has no such construction
    (its landmarks are missing, or the film is of the other view).

    Attributes
    ----------
    hip_axis : ndarray, shape (N, 2)
        Lateral films: the hip axis (HA), the midpoint of ``FH.left`` and
        ``FH.right``, else ``FH``, else the one head placed.
    s1_mid : ndarray, shape (N, 2)
        The midpoint of the S1 superior endplate. Lateral films: the vertex
        of PI and the end of PT's line; AP films: the CSVL is the vertical
        through it.
    s1_normal : ndarray, shape (N, 2)
        Lateral films: the perpendicular to the S1 superior endplate at
        ``s1_mid``, pointing into the sacrum, as a direction of unit length in
        pixels. It is perpendicular in millimetres (made in the patient frame,
        then mapped to pixels), so it is perpendicular on the film shown with
        its true aspect, anisotropic pixels included.
    c2_centre, c7_centre, t1_centre : ndarray, shape (N, 2)
        Vertebral body centres: ``<LEVEL>.centroid``, else the mean of the
        four corners. Lateral films: C7 for SVA and GT, T1 for TPA, C2 for
        cSVA; AP films: C7 for C7-CSVL.
    """

    hip_axis: np.ndarray = field(default_factory=_no_points)
    s1_mid: np.ndarray = field(default_factory=_no_points)
    s1_normal: np.ndarray = field(default_factory=_no_points)
    c2_centre: np.ndarray = field(default_factory=_no_points)
    c7_centre: np.ndarray = field(default_factory=_no_points)
    t1_centre: np.ndarray = field(default_factory=_no_points)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The constructions' names, in order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def of(cls, n: int, **given: np.ndarray) -> Constructions:
        """*n* studies with the constructions *given*; the others NaN."""
        return cls(**{name: given.get(name, np.full((n, 2), np.nan)) for name in cls.names()})

    @classmethod
    def merged(cls, n: int, parts: Sequence[tuple[np.ndarray, Constructions]]) -> Constructions:
        """*n* studies from ``(index, constructions)`` parts of them (rows not in any part are NaN)."""
        if len(parts) == 1 and len(parts[0][0]) == n:
            return parts[0][1]
        out = {name: np.full((n, 2), np.nan) for name in cls.names()}
        for idx, part in parts:
            for name, arr in out.items():
                arr[idx] = getattr(part, name)
        return cls(**out)

    def dropped(self, rows: np.ndarray) -> Constructions:
        """These constructions with *rows* (an ``(N,)`` mask or indices) set to NaN."""
        out = {name: getattr(self, name).copy() for name in self.names()}
        for arr in out.values():
            arr[rows] = np.nan
        return Constructions(**out)


def _no_junctions() -> Mapping[str, np.ndarray]:
    return {}


@dataclass(frozen=True)
class JunctionLines:
    """The endplates each junctional angle (:data:`JUNCTIONAL`) was measured between, per study.

    Made by the measurement (:mod:`spinecheck.alignment.geometry.junctional`), so that a figure
    draws the lines the angle was measured between instead of finding them again.

    Attributes
    ----------
    levels : Mapping[str, ndarray]
        Parameter id to an ``(N, 2)`` int array: the level indices
        (:data:`~spinecheck.landmarks.points.names.LEVELS`) of the upper and of the lower
        vertebra (PJA: UIV+2 and UIV; DJA: LIV and LIV-2); -1 where the levels are not known.
    lines_px : Mapping[str, ndarray]
        Parameter id to an ``(N, 2, 2, 2)`` array in ``(x, y)`` image pixels:
        ``[study, upper/lower endplate, posterior/anterior corner, x/y]``; NaN where
        not measured.
    """

    levels: Mapping[str, np.ndarray] = field(default_factory=_no_junctions)
    lines_px: Mapping[str, np.ndarray] = field(default_factory=_no_junctions)

    @classmethod
    def none(cls, n: int) -> JunctionLines:
        """*n* studies with no junctional angle measured."""
        return cls(
            {pid: np.full((n, 2), -1, dtype=int) for pid in JUNCTIONAL},
            {pid: np.full((n, 2, 2, 2), np.nan) for pid in JUNCTIONAL},
        )

    @classmethod
    def merged(cls, n: int, parts: Sequence[tuple[np.ndarray, JunctionLines]]) -> JunctionLines:
        """*n* studies from ``(index, lines)`` parts of them (rows not in any part: not measured)."""
        out = cls.none(n)
        for idx, part in parts:
            for pid in JUNCTIONAL:
                if pid in part.levels:
                    out.levels[pid][idx] = part.levels[pid]
                    out.lines_px[pid][idx] = part.lines_px[pid]
        return out

    def dropped(self, rows: np.ndarray) -> JunctionLines:
        """These lines with *rows* (an ``(N,)`` mask or indices) not measured."""
        levels = {pid: a.copy() for pid, a in self.levels.items()}
        lines = {pid: a.copy() for pid, a in self.lines_px.items()}
        for pid in levels:
            levels[pid][rows] = -1
            lines[pid][rows] = np.nan
        return JunctionLines(levels, lines)


class Reported(NamedTuple):
    """A parameter of one study as reported: its value, unit and what to say about it.

    ``value`` is None when not measured (``reason`` says why); a length on an
    uncalibrated film is reported in pixels with a ``note``.
    """

    value: float | None
    unit: str
    reason: str | None = None
    note: str | None = None


#: Said of a length reported in pixels.
PIXELS_NOTE = "no calibration: distance in pixels only, no millimetre threshold applied"


@dataclass(frozen=True)
class Measurements:
    """Parameter values of N studies.

    Attributes
    ----------
    ids : tuple of str
    views : ndarray of object, shape (N,)
    values : Mapping[str, ndarray]
        Parameter id to ``(N,)`` floats: degrees for angles, millimetres for
        lengths. NaN where not measured (see ``reasons``); lengths are NaN on
        uncalibrated studies.
    values_px : Mapping[str, ndarray]
        Length parameters in pixels (column pixels for horizontal offsets),
        finite whenever the landmarks allow, calibrated or not.
    reasons : Mapping[str, ndarray]
        Parameter id to ``(N,)`` object array: None where measured, else why not.
    calibrated : ndarray of bool, shape (N,)
    curves : CurveTable
    warnings : tuple of tuple of str
        Per study.
    anterior_sign : ndarray, shape (N,)
        Lateral films: +1 where the patient faces image right, -1 image left
        (:func:`spinecheck.landmarks.points.facing.facing`); NaN where no
        endplate tells, and on AP films. All NaN when not given.
    constructions : Constructions
        What the parameters were measured from, in image pixels. All NaN
        when not given.
    operated : ndarray of bool, shape (N,)
        Which films record an operation (post-operative films). All False
        when not given.
    junctions : JunctionLines
        The endplates of the junctional angles, in image pixels. None
        measured when not given.
    spine : SpineLevels
        Each study's transitional anatomy (T13, L6, a sacralised vertebra),
        which decides the levels of the ranged parameters
        (:func:`levels_text`). The typical spine when not given.
    """

    ids: tuple[str, ...]
    views: np.ndarray
    values: Mapping[str, np.ndarray]
    values_px: Mapping[str, np.ndarray]
    reasons: Mapping[str, np.ndarray]
    calibrated: np.ndarray
    curves: CurveTable
    warnings: tuple[tuple[str, ...], ...] = field(default=())
    anterior_sign: np.ndarray = field(default_factory=lambda: np.full(0, np.nan))
    constructions: Constructions = field(default_factory=Constructions)
    operated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    junctions: JunctionLines = field(default_factory=JunctionLines)
    spine: SpineLevels = field(default_factory=lambda: SpineLevels.typical(0))

    def __post_init__(self) -> None:
        n = len(self.ids)
        # Measurements made by hand (criteria examples, tests) say nothing of the geometry
        if n and len(self.anterior_sign) == 0:
            object.__setattr__(self, "anterior_sign", np.full(n, np.nan))
        if n and len(self.constructions.hip_axis) == 0:
            object.__setattr__(self, "constructions", Constructions.of(n))
        if n and len(self.operated) == 0:
            object.__setattr__(self, "operated", np.zeros(n, dtype=bool))
        if n and not self.junctions.levels:
            object.__setattr__(self, "junctions", JunctionLines.none(n))
        if n and len(self.spine) == 0:
            object.__setattr__(self, "spine", SpineLevels.typical(n))

    def levels(self, param: str, i: int) -> str | None:
        """The levels *param* is measured on in study *i*, in clinical words (:func:`levels_text`)."""
        return levels_text(param, self.spine, i)

    def __len__(self) -> int:
        return len(self.ids)

    def value(self, param: str) -> np.ndarray:
        """``(N,)`` values of *param* (NaN where not measured or absent)."""
        got = self.values.get(param)
        return got if got is not None else np.full(len(self), np.nan)

    def reported(self, param: str, i: int) -> Reported:
        """Parameter *param* of study *i* as reports show it.

        A length on an uncalibrated film is given in pixels (with a note),
        a measured value in its unit, else None with the reason.
        """
        p = PARAMETERS[param]
        v = float(self.value(param)[i])
        if p.is_length and not self.calibrated[i]:
            v_px = float(self.values_px[param][i]) if param in self.values_px else math.nan
            if math.isfinite(v_px):
                return Reported(v_px, Unit.PX.value, note=PIXELS_NOTE)
        if math.isfinite(v):
            return Reported(v, p.unit.value)
        reason = self.reasons[param][i] if param in self.reasons else None
        return Reported(None, p.unit.value, reason=reason)


def shown_number(x: float, decimals: int | None = 1, *, signed: bool = False) -> str:
    """*x* as a person reads it: ``decimals`` places (``None``: ``:g``), never a minus sign on zero.

    Every number formatted for a person goes through here, so that a value that
    rounds to zero is "0.0", not "-0.0". *signed* writes a ``+`` on positive values.

    >>> shown_number(-0.04), shown_number(-0.06), shown_number(0.06, signed=True), shown_number(-0.0, None)
    ('0.0', '-0.1', '+0.1', '0')
    """
    sign = "+" if signed else ""
    text = f"{x:{sign}g}" if decimals is None else f"{x:{sign}.{decimals}f}"
    if text.lstrip("+-").strip("0.") == "":  # rounds to zero
        return text.lstrip("+-")
    return text
