"""From an image to named points: radiographs, calibration, landmark files and placement."""

from landmarks.aasce import read_aasce_mat
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
from landmarks.landmark_file import parse_landmarks, read_landmarks, write_landmarks
from landmarks.model import ImageRef, LandmarkSet, LandmarkTable, PatientInfo, PointMove, Refinement, Sex
from landmarks.names import LEVELS, Corner, Endplate, PatientRight, View
from landmarks.radiograph import (
    ImageFormat,
    Radiograph,
    choose_calibration,
    format_info_text,
    load_radiograph,
    radiograph_info,
)
from landmarks.wide_csv import read_landmark_table, write_landmark_table

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
    "PointMove",
    "Refinement",
    "Sex",
    "LEVELS",
    "Corner",
    "Endplate",
    "PatientRight",
    "View",
    "read_aasce_mat",
    "parse_landmarks",
    "read_landmarks",
    "write_landmarks",
    "read_landmark_table",
    "write_landmark_table",
    "ImageFormat",
    "Radiograph",
    "choose_calibration",
    "format_info_text",
    "load_radiograph",
    "radiograph_info",
]
