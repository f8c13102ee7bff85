"""Synthetic whole-spine radiographs with exact ground truth, for the demo, tests and benchmarks."""

from .anatomy import (
    SOFT_TISSUE_PER_MM,
    paint_ap,
    paint_lateral,
)
from .films import (
    FILM_SIZE_MM,
    SyntheticFilm,
    render_ap,
    render_lateral,
    synthetic_ap,
    synthetic_lateral,
    write_dicom,
    write_png,
)
from .raster import (
    Canvas,
    convex_sd,
    ellipse_sd,
    polygon_mask,
    shell,
    texture_tile,
)
from .spine_model import (
    ENDPLATES,
    CoronalCurve,
    SpineGeometry,
    SpineModel,
    ap_geometry,
    lateral_geometry,
)

__all__ = [
    "Canvas",
    "convex_sd",
    "ellipse_sd",
    "polygon_mask",
    "shell",
    "texture_tile",
    "CoronalCurve",
    "SpineModel",
    "SpineGeometry",
    "lateral_geometry",
    "ap_geometry",
    "ENDPLATES",
    "paint_lateral",
    "paint_ap",
    "SOFT_TISSUE_PER_MM",
    "SyntheticFilm",
    "render_lateral",
    "render_ap",
    "synthetic_lateral",
    "synthetic_ap",
    "write_dicom",
    "write_png",
    "FILM_SIZE_MM",
]
