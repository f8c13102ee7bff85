"""From an image to named points: radiographs, calibration, landmark files and placement."""

from landmarks.calibration import Calibration, CalibrationPlane, CalibrationSource
from landmarks.circle import Circle, fit_circle
from landmarks.errors import (
    DegenerateGeometryError,
    InvalidCriteriaError,
    InvalidLandmarksError,
    MissingCalibrationError,
    MissingDecoderError,
    SpinecheckError,
    UnreadableImageError,
)
from landmarks.model import ImageRef, LandmarkSet, LandmarkTable, PatientInfo, Sex
from landmarks.names import LEVELS, Corner, Endplate, PatientRight, View

__all__ = [
    "Calibration",
    "CalibrationPlane",
    "CalibrationSource",
    "Circle",
    "fit_circle",
    "SpinecheckError",
    "InvalidLandmarksError",
    "MissingCalibrationError",
    "DegenerateGeometryError",
    "UnreadableImageError",
    "MissingDecoderError",
    "InvalidCriteriaError",
    "ImageRef",
    "LandmarkSet",
    "LandmarkTable",
    "PatientInfo",
    "Sex",
    "LEVELS",
    "Corner",
    "Endplate",
    "PatientRight",
    "View",
]
