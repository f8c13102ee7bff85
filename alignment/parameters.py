"""The parameters spinecheck measures, as data, and the container of their values.

Every parameter has an id (the report key, clinical.md §1–2), a unit kind, its
definition in words and its status/source. :class:`Measurements` holds the
values of N studies column-wise: one ``(N,)`` float array per parameter, NaN
where a study could not be measured, with the reason alongside.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..landmarks.points.names import LEVELS, View

__all__ = ["Unit", "ParameterDef", "PARAMETERS", "SAGITTAL", "CORONAL", "CurveTable", "Measurements"]


class Unit(str, enum.Enum):
    """Unit kind of a parameter. Lengths are mm when calibrated, else px."""

    DEG = "deg"
    MM = "mm"
    PX = "px"

    def __str__(self) -> str:
        return str(self.value)


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
            "angle between the perpendicular to the S1 superior endplate at its midpoint and the line to the hip axis",
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
            "Cobb angle L1 superior to S1 superior endplate; positive = lordosis",
            "clinical.md §1",
        ),
        _p(
            "LL_L1L5",
            "lumbar lordosis (L1-L5)",
            _DEG,
            _L,
            "Cobb angle L1 superior to L5 inferior endplate; positive = lordosis",
            "clinical.md §1",
        ),
        _p(
            "LL_L4S1",
            "lower lumbar lordosis (L4-S1)",
            _DEG,
            _L,
            "Cobb angle L4 superior to S1 superior endplate; positive = lordosis (used by GAP)",
            "Yilgor C et al. JBJS Am 2017;99:1661",
        ),
        _p(
            "TK",
            "thoracic kyphosis (T4-T12)",
            _DEG,
            _L,
            "Cobb angle T4 superior to T12 inferior endplate; positive = kyphosis",
            "clinical.md §1",
        ),
        _p(
            "TK_T2T12",
            "thoracic kyphosis (T2-T12)",
            _DEG,
            _L,
            "Cobb angle T2 superior to T12 inferior endplate; positive = kyphosis",
            "clinical.md §1",
        ),
        _p(
            "TK_T5T12",
            "thoracic kyphosis (T5-T12)",
            _DEG,
            _L,
            "Cobb angle T5 superior to T12 inferior endplate; positive = kyphosis",
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
CORONAL: tuple[str, ...] = tuple(k for k, p in PARAMETERS.items() if p.view is View.AP)


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
        Level index of the upper end, lower end and apex vertebra.
    convex_right : ndarray of bool, shape (N, K)
        Whether the curve is convex toward image right.
    method : str
        ``"endplate"`` or ``"midline"``.
    """

    angle_deg: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    apex: np.ndarray
    convex_right: np.ndarray
    method: str = "endplate"

    @classmethod
    def empty(cls, n: int, method: str = "endplate") -> CurveTable:
        z = np.zeros((n, 0))
        i = np.zeros((n, 0), dtype=int)
        return cls(z, i, i.copy(), i.copy(), np.zeros((n, 0), dtype=bool), method)

    def curves(self, i: int, regions: np.ndarray | None = None) -> list[dict]:
        """The curves of study *i* as report rows (``formats.md`` §2 ``curves``).

        *regions*, an ``(N, K)`` array like this table's, adds each curve's
        ``region``.
        """
        rows = []
        for k in range(self.angle_deg.shape[1]):
            a = self.angle_deg[i, k]
            if not np.isfinite(a):
                continue
            rows.append(
                {
                    "upper_end": LEVELS[self.upper[i, k]],
                    "lower_end": LEVELS[self.lower[i, k]],
                    "apex": LEVELS[self.apex[i, k]],
                    "angle_deg": float(a),
                    "convex": "image right" if self.convex_right[i, k] else "image left",
                    **({"region": regions[i, k]} if regions is not None else {}),
                }
            )
        return rows


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

    def __post_init__(self) -> None:
        # Measurements made by hand (criteria examples, tests) say nothing of the geometry
        if len(self.ids) and len(self.anterior_sign) == 0:
            object.__setattr__(self, "anterior_sign", np.full(len(self.ids), np.nan))

    def __len__(self) -> int:
        return len(self.ids)

    def value(self, param: str) -> np.ndarray:
        """``(N,)`` values of *param* (NaN where not measured or absent)."""
        got = self.values.get(param)
        return got if got is not None else np.full(len(self), np.nan)
