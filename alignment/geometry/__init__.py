"""Where parameters are computed: vectorised plane geometry and the sagittal and coronal formulas."""

from .coronal import (
    COBB_METHODS,
    DEFAULT_MIN_CURVE_DEG,
    CobbMethod,
    coronal_parameters,
    find_curves,
    vertebra_tilts,
)
from .plane import (
    Inputs,
    Need,
    angle_from_horizontal_deg,
    angle_from_vertical_deg,
    signed_angle_deg,
    to_frame,
    wrap_deg,
)
from .sagittal import (
    PI_IDENTITY_TOL_DEG,
    ParameterColumn,
    sagittal_parameters,
)

__all__ = [
    "to_frame",
    "angle_from_horizontal_deg",
    "angle_from_vertical_deg",
    "signed_angle_deg",
    "wrap_deg",
    "Need",
    "Inputs",
    "ParameterColumn",
    "sagittal_parameters",
    "PI_IDENTITY_TOL_DEG",
    "coronal_parameters",
    "vertebra_tilts",
    "find_curves",
    "CobbMethod",
    "COBB_METHODS",
    "DEFAULT_MIN_CURVE_DEG",
]
