"""From an image to named points: radiographs, calibration, landmark files and placement."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from landmarks.annotate import AnnotationSession
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
from landmarks.protocol import PROTOCOLS, Protocol, Step, default_protocol, get_protocol
from landmarks.radiograph import (
    ImageFormat,
    Radiograph,
    RadiographHeader,
    choose_calibration,
    format_info_text,
    load_radiograph,
    radiograph_info,
    read_radiograph_header,
)
from landmarks.wide_csv import read_landmark_table, write_landmark_table

# Loaded on first use: they pull in scipy.ndimage, scipy.io and matplotlib (about 0.4 s), which every
# command would otherwise pay at start-up and which measuring never needs.
_LAZY = {
    "read_aasce_mat": "landmarks.aasce",
    "AnnotationWindow": "landmarks.annotate_window",
    "CornerFit": "landmarks.refine",
    "EndplateFit": "landmarks.refine",
    "FemoralHeadFit": "landmarks.refine",
    "RefinedPoints": "landmarks.refine",
    "RefineFailure": "landmarks.refine",
    "refine_corner": "landmarks.refine",
    "refine_endplate": "landmarks.refine",
    "refine_femoral_head": "landmarks.refine",
    "refine_landmarks": "landmarks.refine",
    "refine_point": "landmarks.refine",
}

if TYPE_CHECKING:
    from landmarks.aasce import read_aasce_mat
    from landmarks.annotate_window import AnnotationWindow
    from landmarks.refine import (
        CornerFit,
        EndplateFit,
        FemoralHeadFit,
        RefinedPoints,
        RefineFailure,
        refine_corner,
        refine_endplate,
        refine_femoral_head,
        refine_landmarks,
        refine_point,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'landmarks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "AnnotationSession",
    "AnnotationWindow",
    "PROTOCOLS",
    "Protocol",
    "Step",
    "default_protocol",
    "get_protocol",
    "parse_landmarks",
    "read_landmarks",
    "write_landmarks",
    "read_landmark_table",
    "write_landmark_table",
    "ImageFormat",
    "RadiographHeader",
    "read_radiograph_header",
    "Radiograph",
    "choose_calibration",
    "format_info_text",
    "load_radiograph",
    "radiograph_info",
    "RefineFailure",
    "RefinedPoints",
    "FemoralHeadFit",
    "EndplateFit",
    "CornerFit",
    "refine_point",
    "refine_landmarks",
    "refine_femoral_head",
    "refine_endplate",
    "refine_corner",
]
