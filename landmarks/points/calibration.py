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
from dataclasses import field

import numpy as np

from ... import dataclass
from ..errors import DegenerateGeometryError, InvalidLandmarksError
from .circle import fit_circle
from .names import VocabularyEnum

__all__ = [
    "Calibration",
    "CalibrationSource",
    "CalibrationPlane",
    "check_spacing",
    "implausible_spacing",
    "PLAUSIBLE_MM_PER_PX",
]

#: The pixel spacings (mm per pixel, each of row and column) a radiograph can have.
#: Detector pitches of CR and DX plates are about 0.1-0.2 mm (0.05 for mammography),
#: scanned film is digitised at 0.05-0.5 mm, and a stitched whole-spine film
#: downsampled for viewing stays under 1 mm; a spacing outside 0.02-2 mm brackets
#: every real radiograph with a margin of 2.5 below and 4 above, and is a broken
#: header or a typing slip (the issue's 1e-300 and 1e200 mm gave SVA 0.0 and
#: 5.6e202 mm).
PLAUSIBLE_MM_PER_PX: tuple[float, float] = (0.02, 2.0)


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
    problem = implausible_spacing(row, col)
    if problem:
        raise InvalidLandmarksError(f'{where}: "{field_name}" {row:g} x {col:g} mm per pixel is {problem}')
    return row, col


def implausible_spacing(row: float, col: float) -> str | None:
    """Why a ``(row, col)`` spacing in mm/px is no radiograph's ("outside ..."), or None when plausible.

    A spacing outside :data:`PLAUSIBLE_MM_PER_PX` (ends included in the range).

    Examples
    --------
    >>> implausible_spacing(0.02, 2.0) is None
    True
    >>> implausible_spacing(1e-300, 0.2)
    'outside 0.02-2 mm per pixel, the range of radiographs'
    """
    low, high = PLAUSIBLE_MM_PER_PX
    if low <= row <= high and low <= col <= high:
        return None
    return f"outside {low:g}-{high:g} mm per pixel, the range of radiographs"


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
        _check_made(s, where, f"line of {length_mm:g} mm over {length_px:.4g} px")
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
        _check_made(s, where, f"ball of {diameter_mm:g} mm over {2 * circle.radius:.4g} px")
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


def _check_made(spacing: float, where: str, what: str) -> None:
    """Refuse a user calibration whose spacing no radiograph has (a slip of the length, or of the clicks)."""
    problem = implausible_spacing(spacing, spacing)
    if problem:
        raise InvalidLandmarksError(f"{where}: the {what} gives {spacing:.4g} mm per pixel, {problem}")
