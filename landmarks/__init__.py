"""From an image to named points: radiographs, calibration, landmark files and placement."""

from landmarks.aasce import read_aasce_mat
from landmarks.annotate import AnnotationSession
from landmarks.annotate_window import AnnotationWindow
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
