"""Pixel spacing with its provenance (clinical.md §4).

Every millimetre spinecheck reports can say where its scale came from: a
:class:`Calibration` carries ``mm_per_px`` as ``(row, col)`` millimetres per
pixel together with the source tag, the rule of clinical.md §4 that chose it and
the plane it is valid in. An uncalibrated study has ``mm_per_px is None``; its
distances are reported in pixels and no millimetre threshold is evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import DegenerateGeometryError, InvalidLandmarksError
from .circle import fit_circle
from .names import VocabularyEnum

__all__ = ["Calibration", "CalibrationSource", "CalibrationPlane", "check_spacing"]


class CalibrationSource(VocabularyEnum):
    """Where a pixel spacing came from (the report's ``calibration.source``)."""

    USER_LINE = "user line"
    USER_BALL = "user ball"
    USER_SPACING = "user mm_per_px"
    PIXEL_SPACING = "PixelSpacing"
    IMAGER_PIXEL_SPACING = "ImagerPixelSpacing"
    ERMF = "ImagerPixelSpacing/ERMF"
    NONE = "none"


class CalibrationPlane(VocabularyEnum):
    """In which plane a spacing is true (the report's ``calibration.plane``)."""

    USER = "user calibration"
    PATIENT_CALIBRATED = "patient (calibrated)"
    PATIENT_ESTIMATE = "patient (estimate)"
    DETECTOR = "detector"
    NONE = "none"


def check_spacing(value: object, *, where: str, field_name: str = "mm_per_px") -> tuple[float, float]:
    """Validate a ``[row, col]`` spacing in mm/px; return it as floats.

    Raises
    ------
    InvalidLandmarksError
        Not two finite numbers greater than zero.

    Examples
    --------
    >>> check_spacing([0.15, 0.2], where="x.json")
    (0.15, 0.2)
    """
    ok = False
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) == 2:
        try:
            row, col = (float(v) for v in value)
        except (TypeError, ValueError):
            pass
        else:
            ok = all(
                isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
                for v in value
            )
            ok = ok and math.isfinite(row) and math.isfinite(col) and row > 0 and col > 0
    if not ok:
        raise InvalidLandmarksError(
            f'{where}: "{field_name}" must be [row, col] millimetres per pixel, two numbers > 0; got {value!r}'
        )
    return row, col


@dataclass(frozen=True)
class Calibration:
    """A pixel spacing and where it came from.

    Attributes
    ----------
    mm_per_px : tuple of float or None
        ``(row spacing, column spacing)`` in mm per pixel, DICOM order; None
        when uncalibrated.
    source : CalibrationSource
    rule : str
        The rule of clinical.md §4 that chose this spacing, in words.
    plane : CalibrationPlane
    warnings : tuple of str
        Caveats every report of this study must carry.
    line, length_mm, rim, diameter_mm
        The user's calibration object, kept so it can be saved and drawn.
    """

    mm_per_px: tuple[float, float] | None
    source: CalibrationSource = CalibrationSource.NONE
    rule: str = "no pixel spacing: distances in pixels, no millimetre thresholds"
    plane: CalibrationPlane = CalibrationPlane.NONE
    warnings: tuple[str, ...] = ()
    line: tuple[tuple[float, float], tuple[float, float]] | None = None
    length_mm: float | None = None
    rim: tuple[tuple[float, float], ...] | None = None
    diameter_mm: float | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def calibrated(self) -> bool:
        """True when millimetres can be reported."""
        return self.mm_per_px is not None

    @classmethod
    def none(cls, reason: str = "no pixel spacing") -> Calibration:
        """An explicit absence of calibration, with the reason."""
        return cls(None, rule=f"{reason}: distances in pixels, no millimetre thresholds")

    @classmethod
    def from_spacing(
        cls, mm_per_px: Sequence[float], *, where: str = "user", field_name: str = "mm_per_px"
    ) -> Calibration:
        """A spacing given by the user (landmark file, CSV or command line)."""
        spacing = check_spacing(mm_per_px, where=where, field_name=field_name)
        return cls(
            spacing,
            CalibrationSource.USER_SPACING,
            "user calibration (mm_per_px given) overrides the image header",
            CalibrationPlane.USER,
        )

    @classmethod
    def from_line(
        cls, p0: Sequence[float], p1: Sequence[float], length_mm: float, *, where: str = "calibration"
    ) -> Calibration:
        """Calibrate from a line of known length (a ruler, a marker).

        The spacing is taken as isotropic: ``length_mm / |p1 - p0|`` for rows
        and columns alike.

        Examples
        --------
        >>> Calibration.from_line((0, 0), (0, 400), 100.0).mm_per_px
        (0.25, 0.25)
        """
        a = np.asarray(p0, dtype=float)
        b = np.asarray(p1, dtype=float)
        length_mm = _positive(length_mm, where, "length_mm")
        if a.shape != (2,) or b.shape != (2,) or not (np.isfinite(a).all() and np.isfinite(b).all()):
            raise InvalidLandmarksError(f'{where}: "line" must be two [x, y] points of finite numbers')
        length_px = float(np.hypot(*(b - a)))
        if length_px == 0:
            raise DegenerateGeometryError(f'{where}: "line" has zero length (both ends at {a.tolist()})')
        s = length_mm / length_px
        return cls(
            (s, s),
            CalibrationSource.USER_LINE,
            f"user calibration: line of {length_mm:g} mm over {length_px:.1f} px (isotropic)",
            CalibrationPlane.USER,
            line=((float(a[0]), float(a[1])), (float(b[0]), float(b[1]))),
            length_mm=length_mm,
        )

    @classmethod
    def from_ball(
        cls, rim_xy: Sequence[Sequence[float]], diameter_mm: float, *, where: str = "calibration"
    ) -> Calibration:
        """Calibrate from a ball of known diameter, fitted from rim points.

        Examples
        --------
        >>> rim = [[125, 100], [100, 125], [75, 100], [100, 75]]
        >>> Calibration.from_ball(rim, 25.0).mm_per_px
        (0.5, 0.5)
        """
        diameter_mm = _positive(diameter_mm, where, "diameter_mm")
        circle = fit_circle(np.asarray(rim_xy, dtype=float), where=f"{where}: ball rim")
        s = diameter_mm / (2 * circle.radius)
        rim = tuple((float(x), float(y)) for x, y in np.asarray(rim_xy, dtype=float))
        return cls(
            (s, s),
            CalibrationSource.USER_BALL,
            f"user calibration: ball of {diameter_mm:g} mm, fitted diameter {2 * circle.radius:.1f} px "
            f"(rim fit rms {circle.rms_px:.2f} px)",
            CalibrationPlane.USER,
            rim=rim,
            diameter_mm=diameter_mm,
        )

    def to_json(self) -> dict:
        """The report's ``calibration`` block."""
        out: dict = {
            "mm_per_px": list(self.mm_per_px) if self.mm_per_px else None,
            "source": self.source.value,
            "plane": self.plane.value,
            "rule": self.rule,
        }
        return out


def _positive(value: object, where: str, name: str) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = float("nan")
    if isinstance(value, bool) or not math.isfinite(v) or v <= 0:
        raise InvalidLandmarksError(f'{where}: "{name}" must be a number > 0; got {value!r}')
    return v
