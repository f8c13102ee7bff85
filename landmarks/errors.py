"""Exceptions shared by every spinecheck package.

Each error also inherits the builtin it refines, so callers that catch
``ValueError`` or ``OSError`` keep working. Messages follow the house rule:
*what, where, what was expected, what came in*.
"""

from __future__ import annotations

__all__ = [
    "SpinecheckError",
    "InvalidLandmarksError",
    "MissingCalibrationError",
    "DegenerateGeometryError",
    "UnreadableImageError",
    "MissingDecoderError",
    "InvalidCriteriaError",
]


class SpinecheckError(Exception):
    """Base class of every error spinecheck raises on purpose."""


class InvalidLandmarksError(SpinecheckError, ValueError):
    """A landmark file or table does not follow its format."""


class MissingCalibrationError(SpinecheckError, ValueError):
    """A millimetre value was requested but no pixel spacing is known."""


class DegenerateGeometryError(SpinecheckError, ValueError):
    """Points are coincident or a line has zero length."""


class UnreadableImageError(SpinecheckError, OSError):
    """An image file cannot be opened or decoded."""


class MissingDecoderError(UnreadableImageError):
    """Pixel data use a transfer syntax whose decoder is not installed."""


class InvalidCriteriaError(SpinecheckError, ValueError):
    """A criterion set (data file) does not follow its format."""
