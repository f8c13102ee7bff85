"""Automatic landmarks: the shipped network finds the vertebral corners of an AP film (ONNX, no torch)."""

from .inference import (
    INPUT_COLUMNS,
    INPUT_ROWS,
    Detection,
    LandmarkModel,
    ModelInfo,
    ModelIntegrityError,
    detect,
    heatmaps_to_points,
    load_model,
    place_corners,
    plausible_spine,
    prepare,
)

__all__ = [
    "detect",
    "Detection",
    "ModelInfo",
    "LandmarkModel",
    "ModelIntegrityError",
    "load_model",
    "place_corners",
    "prepare",
    "heatmaps_to_points",
    "plausible_spine",
    "INPUT_ROWS",
    "INPUT_COLUMNS",
]
