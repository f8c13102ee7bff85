"""Semi-automatic refinement: rough clicks moved to image evidence (femoral heads, endplates, corners)."""

from .common import (
    LocalWindow,
    RefineFailure,
    bound_failure,
    check_image,
    local_window,
    mean_spacing,
)
from .corner import (
    CornerFit,
    corner_bound_px,
    refine_corner,
)
from .endplate import (
    BodySide,
    EndplateFit,
    endplate_bound_px,
    refine_endplate,
)
from .femoral_head import (
    FEMORAL_HEAD_BOUND_MM,
    FEMORAL_HEAD_RADIUS_MM,
    FemoralHeadFit,
    FemoralHeadPair,
    femoral_head_radius_range_px,
    refine_femoral_head,
    refine_femoral_head_pair,
)
from .points import (
    RefinedPoints,
    refine_landmarks,
    refine_point,
)

__all__ = [
    "RefineFailure",
    "LocalWindow",
    "local_window",
    "check_image",
    "mean_spacing",
    "bound_failure",
    "FemoralHeadFit",
    "FemoralHeadPair",
    "refine_femoral_head",
    "refine_femoral_head_pair",
    "femoral_head_radius_range_px",
    "FEMORAL_HEAD_RADIUS_MM",
    "FEMORAL_HEAD_BOUND_MM",
    "EndplateFit",
    "refine_endplate",
    "endplate_bound_px",
    "BodySide",
    "CornerFit",
    "refine_corner",
    "corner_bound_px",
    "RefinedPoints",
    "refine_point",
    "refine_landmarks",
]
