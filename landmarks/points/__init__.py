"""Named points and their scale: landmark names and containers, calibration, circles and plausibility checks."""

from typing import TYPE_CHECKING

import lazy_loader

# Each part loads on first use, so that a module needing the names pays for neither the
# containers nor the plausibility checks.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "anatomy": ["SACRALISABLE", "Anatomy", "LevelRole", "SpineLevels", "levels_of_spine"],
        "calibration": ["Calibration", "CalibrationPlane", "CalibrationSource", "check_spacing"],
        "circle": ["Circle", "fit_circle"],
        "facing": ["Facing", "anterior_direction", "facing"],
        "model": [
            "KEPT_CLICK",
            "ImageRef",
            "LandmarkSet",
            "LandmarkTable",
            "PatientInfo",
            "PointMove",
            "Refinement",
            "Sex",
        ],
        "names": [
            "FEMORAL_HEADS",
            "ILIAC_CRESTS",
            "LEVELS",
            "TRANSITIONAL_LEVELS",
            "TYPICAL_LEVELS",
            "Corner",
            "Endplate",
            "PatientRight",
            "PointName",
            "View",
            "VocabularyEnum",
            "check_point_name",
            "closest_point_names",
            "level_index",
            "parse_point_name",
            "valid_point_names",
        ],
        "plane": ["ImagePlane"],
        "sanity": ["check_vertebrae"],
    },
)

if TYPE_CHECKING:
    from .anatomy import SACRALISABLE, Anatomy, LevelRole, SpineLevels, levels_of_spine
    from .calibration import Calibration, CalibrationPlane, CalibrationSource, check_spacing
    from .circle import Circle, fit_circle
    from .facing import Facing, anterior_direction, facing
    from .model import (
        KEPT_CLICK,
        ImageRef,
        LandmarkSet,
        LandmarkTable,
        PatientInfo,
        PointMove,
        Refinement,
        Sex,
    )
    from .names import (
        FEMORAL_HEADS,
        ILIAC_CRESTS,
        LEVELS,
        TRANSITIONAL_LEVELS,
        TYPICAL_LEVELS,
        Corner,
        Endplate,
        PatientRight,
        PointName,
        View,
        VocabularyEnum,
        check_point_name,
        closest_point_names,
        level_index,
        parse_point_name,
        valid_point_names,
    )
    from .plane import ImagePlane
    from .sanity import check_vertebrae

__all__ = [
    "VocabularyEnum",
    "View",
    "Endplate",
    "Corner",
    "PatientRight",
    "LEVELS",
    "TYPICAL_LEVELS",
    "TRANSITIONAL_LEVELS",
    "level_index",
    "PointName",
    "parse_point_name",
    "valid_point_names",
    "closest_point_names",
    "check_point_name",
    "FEMORAL_HEADS",
    "ILIAC_CRESTS",
    "Anatomy",
    "SACRALISABLE",
    "LevelRole",
    "SpineLevels",
    "levels_of_spine",
    "Facing",
    "facing",
    "anterior_direction",
    "Calibration",
    "CalibrationSource",
    "CalibrationPlane",
    "check_spacing",
    "ImagePlane",
    "Circle",
    "fit_circle",
    "Sex",
    "PatientInfo",
    "ImageRef",
    "PointMove",
    "Refinement",
    "KEPT_CLICK",
    "LandmarkSet",
    "LandmarkTable",
    "check_vertebrae",
]
