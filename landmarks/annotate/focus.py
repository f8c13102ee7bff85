r"""Where on the film the next point should be: the region the annotation window zooms to.

A point's region is predicted from the points already placed and a typical
spine: the landmarks of :class:`~spinecheck.landmarks.synthetic.spine_model.SpineModel`
with its default (adult, balanced) alignment, in millimetres. The typical
spine is mapped onto the film by a similarity (scale, rotation, a mirror on a
lateral film facing image left, translation) fitted to the placed points, each
weighted by how close it lies to the asked point *in the typical spine*, so the
prediction follows the local course of this patient's spine. The region's size
grows with the distance from the nearest placed point, because the shape of a
spine (lordosis, kyphosis, a scoliotic curve) moves a distant point further
from its typical place.

Coordinates are ``(x, y)`` film pixels (x = column, y = row, origin at the
centre of the top-left pixel, y down), as everywhere in the window.

Notes
-----
The fit is a weighted Procrustes problem (Umeyama 1991): with weights
:math:`w_i`, typical points :math:`u_i` (mm, y down) and placed points
:math:`v_i` (px), the rotation :math:`R` and scale :math:`s` minimise
:math:`\sum_i w_i \lVert v_i - (t + s R u_i) \rVert^2`. The scale is fitted
only when the weighted spread of the placed points is wide enough to fix it;
otherwise it is the film's (1 / mm per pixel), or a whole-spine film's typical
height when the film has no spacing.

References
----------
Umeyama S. Least-squares estimation of transformation parameters between two
point patterns. IEEE Trans Pattern Anal Mach Intell 1991;13(4):376-380.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from ..points.facing import anterior_direction
from ..points.names import View

__all__ = ["Region", "expected_region"]

#: Placed points this far (mm, in the typical spine) from the asked point weigh 1/e of a near one.
_WEIGHT_MM = 120.0
#: The weighted spread (mm) of the placed points needed to fit the scale and the rotation.
_FIT_SPREAD_MM = 10.0
#: The region's half size (mm): this much around the prediction, plus a share of the distance to the
#: nearest placed point (a spine's shape moves a far point further from where a typical spine has it).
_BASE_MM = 45.0
_PER_MM = 0.4
_PER_MM_ONE_POINT = 0.45
#: A whole-spine film without pixel spacing is taken to be this tall (a 36-inch cassette).
_FILM_HEIGHT_MM = 914.0


class Region(NamedTuple):
    """A box on the film where a point is expected.

    Attributes
    ----------
    centre : tuple of float
        The predicted ``(x, y)`` pixels.
    half_width_px, half_height_px : float
        Half the box's width and height in pixels.
    basis : str
        What the prediction stands on, in words (``"3 placed points"``).
    """

    centre: tuple[float, float]
    half_width_px: float
    half_height_px: float
    basis: str

    @property
    def limits(self) -> tuple[float, float, float, float]:
        """``(x0, x1, y0, y1)`` pixels of the box."""
        (x, y), w, h = self.centre, self.half_width_px, self.half_height_px
        return (x - w, x + w, y - h, y + h)

    def contains(self, xy: tuple[float, float]) -> bool:
        """True when the ``(x, y)`` pixel lies in the box."""
        x0, x1, y0, y1 = self.limits
        return x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1


@functools.cache
def _typical(view: View) -> Mapping[str, tuple[float, float]]:
    """The typical spine's points (and body centres), ``(x_mm, y_mm)`` with y **down**, image sides."""
    from ..synthetic.spine_model import SpineModel, ap_geometry, lateral_geometry

    if view is View.LATERAL:
        geometry = lateral_geometry(SpineModel())
    else:  # a straight spine: the model's default curves are a patient's, not the typical course
        geometry = ap_geometry(SpineModel(coronal_curves=(), c7_csvl_mm=0.0, pelvic_obliquity_deg=0.0))
    out: dict[str, tuple[float, float]] = {name: (x, -y) for name, (x, y) in geometry.points_mm.items()}
    corners = ("ant", "post") if view is View.LATERAL else ("left", "right")
    levels = {name.split(".")[0] for name in out if name.count(".") == 2}
    for level in levels:
        four = [f"{level}.{e}.{c}" for e in ("sup", "inf") for c in corners]
        if all(n in out for n in four):
            x, y = np.mean([out[n] for n in four], axis=0)
            out[f"{level}.centroid"] = (float(x), float(y))
    if "FH.left" in out and "FH.right" in out:
        x, y = np.mean([out["FH.left"], out["FH.right"]], axis=0)
        out["FH"] = (float(x), float(y))
    return out


def expected_region(
    name: str,
    points: Mapping[str, tuple[float, float]],
    view: View | str,
    shape: tuple[int, int],
    mm_per_px: tuple[float, float] | None = None,
    facing: int | None = None,
) -> Region | None:
    """The box where point *name* is expected on a film, from the points already placed.

    Parameters
    ----------
    name : str
        The point asked for (formats.md §1).
    points : Mapping[str, tuple of float]
        The points placed, name to ``(x, y)`` pixels; *name* itself is ignored.
    view : View or str
    shape : tuple of int
        The film's ``(rows, columns)``.
    mm_per_px : tuple of float, optional
        ``(row, col)`` spacing; without it the scale comes from the placed
        points, or from the film's height.
    facing : {1, -1}, optional
        Lateral films: +1 when the patient faces image right, -1 image left, as
        the user said; by default as the placed corners say. Unknown, the
        region spans both sides of the placed points.

    Returns
    -------
    Region or None
        None when nothing is placed yet, or the typical spine does not have
        *name* (a T13, an L6): the whole film is the honest region then.

    Examples
    --------
    >>> r = expected_region("S1.sup.post", {"S1.sup.ant": (900.0, 3000.0)}, "lateral", (4500, 1800), (0.2, 0.2))
    >>> r.contains((720.0, 2880.0)), r.basis
    (True, '1 placed point')
    """
    view = View.parse(view)
    typical = _typical(view)
    if name not in typical:
        return None
    known = [(n, p) for n, p in points.items() if n != name and n in typical]
    if not known:
        return None
    rows, columns = shape
    target = np.asarray(typical[name], dtype=float)
    u = np.array([typical[n] for n, _ in known], dtype=float)
    v = np.array([p for _, p in known], dtype=float)
    distance = np.hypot(*(u - target).T)
    w = np.exp(-((distance / _WEIGHT_MM) ** 2)) + 1e-6
    w = w / w.sum()
    if mm_per_px is not None:
        scale = 1.0 / float(np.mean(mm_per_px))
    else:
        scale = rows / _FILM_HEIGHT_MM
    if view is View.LATERAL and facing is None:
        facing = anterior_direction(dict(points))
    # the typical spine faces image right; unknown, it is predicted on the line of the placed points
    # and the region widened to both sides
    mirror = -1.0 if view is View.LATERAL and facing == -1 else 1.0
    sideways = view is View.LATERAL and facing is None
    u = u * [mirror, 1.0]
    t = target * [mirror, 1.0]
    mu_u, mu_v = w @ u, w @ v
    uc, vc = u - mu_u, v - mu_v
    spread = math.sqrt(float(w @ (uc**2).sum(axis=1)))
    rotation = np.eye(2)
    residual_px = 0.0
    fitted_scale = False
    if len(known) >= 2 and spread >= _FIT_SPREAD_MM:
        h = (uc * w[:, None]).T @ vc
        angle = math.atan2(h[0, 1] - h[1, 0], h[0, 0] + h[1, 1])
        c, s = math.cos(angle), math.sin(angle)
        rotation = np.array([[c, s], [-s, c]])  # row vectors: u @ rotation
        ru = uc @ rotation
        fitted = float((w * (ru * vc).sum(axis=1)).sum() / (w * (ru**2).sum(axis=1)).sum())
        if fitted > 0:
            scale, fitted_scale = fitted, True
        residual_px = math.sqrt(float(w @ ((vc - scale * ru) ** 2).sum(axis=1)))
    offset = (t - mu_u) @ rotation
    nearest_mm = float(distance.min())
    share = _PER_MM if len(known) >= 2 else _PER_MM_ONE_POINT
    half = scale * (_BASE_MM + share * nearest_mm) + 2.0 * residual_px
    if not fitted_scale and mm_per_px is None:
        half *= 2.0  # the scale is a guess from the film's height (a film may show part of a spine)
    half_width = half
    if sideways:
        half_width += scale * abs(float(offset[0]))
        offset[0] = 0.0
    centre = mu_v + scale * offset
    x = float(np.clip(centre[0], -0.5, columns - 0.5))
    y = float(np.clip(centre[1], -0.5, rows - 0.5))
    basis = f"{len(known)} placed point{'s' if len(known) != 1 else ''}"
    return Region((x, y), half_width, half, basis)
