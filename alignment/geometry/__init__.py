"""Where parameters are computed: vectorised plane geometry and the sagittal and coronal formulas."""

from typing import TYPE_CHECKING

import lazy_loader

# Each part loads on first use: the sagittal formulas pay for neither the coronal curves nor the
# instability of flexion-extension pairs.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "coronal": [
            "COBB_METHODS",
            "DEFAULT_MIN_CURVE_DEG",
            "CobbMethod",
            "CoronalResult",
            "coronal_parameters",
            "find_curves",
            "vertebra_tilts",
        ],
        "instability": [
            "MOTION_SEGMENTS",
            "FilmMotion",
            "Instability",
            "MotionSegment",
            "film_motion",
            "measure_instability",
        ],
        "plane": [
            "Inputs",
            "Need",
            "angle_from_horizontal_deg",
            "angle_from_vertical_deg",
            "from_frame",
            "signed_angle_deg",
            "to_frame",
            "wrap_deg",
        ],
        "sagittal": [
            "PI_IDENTITY_TOL_DEG",
            "SAGITTAL_COBBS",
            "ParameterColumn",
            "SagittalCobb",
            "SagittalResult",
            "hip_axis",
            "sagittal_parameters",
        ],
    },
)

if TYPE_CHECKING:
    from .coronal import (
        COBB_METHODS,
        DEFAULT_MIN_CURVE_DEG,
        CobbMethod,
        CoronalResult,
        coronal_parameters,
        find_curves,
        vertebra_tilts,
    )
    from .instability import (
        MOTION_SEGMENTS,
        FilmMotion,
        Instability,
        MotionSegment,
        film_motion,
        measure_instability,
    )
    from .plane import (
        Inputs,
        Need,
        angle_from_horizontal_deg,
        angle_from_vertical_deg,
        from_frame,
        signed_angle_deg,
        to_frame,
        wrap_deg,
    )
    from .sagittal import (
        PI_IDENTITY_TOL_DEG,
        SAGITTAL_COBBS,
        ParameterColumn,
        SagittalCobb,
        SagittalResult,
        hip_axis,
        sagittal_parameters,
    )

__all__ = [
    "to_frame",
    "from_frame",
    "angle_from_horizontal_deg",
    "angle_from_vertical_deg",
    "signed_angle_deg",
    "wrap_deg",
    "Need",
    "Inputs",
    "ParameterColumn",
    "SagittalCobb",
    "SAGITTAL_COBBS",
    "SagittalResult",
    "hip_axis",
    "sagittal_parameters",
    "PI_IDENTITY_TOL_DEG",
    "CoronalResult",
    "coronal_parameters",
    "vertebra_tilts",
    "find_curves",
    "CobbMethod",
    "COBB_METHODS",
    "DEFAULT_MIN_CURVE_DEG",
    "MotionSegment",
    "MOTION_SEGMENTS",
    "FilmMotion",
    "Instability",
    "film_motion",
    "measure_instability",
]
