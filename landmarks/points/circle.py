"""Least-squares circles from rim points.

Used for femoral heads given by their rim and for calibration balls. The fit
starts from scikit-image's algebraic :class:`skimage.measure.CircleModel`
and takes a few Gauss–Newton steps on the geometric distance, which remove
the algebraic fit's bias on short arcs (its radius comes out short).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ... import dataclass
from ..errors import DegenerateGeometryError

if TYPE_CHECKING:  # numpy.typing costs a start-up that measuring one film does not need
    from numpy.typing import ArrayLike

__all__ = ["Circle", "fit_circle"]


@dataclass(frozen=True)
class Circle:
    """A circle in image pixels.

    Attributes
    ----------
    center : tuple of float
        ``(x, y)`` pixels.
    radius : float
        Pixels.
    rms_px : float
        Root-mean-square distance of the rim points from the circle (0 when
        the circle was given, not fitted).
    """

    center: tuple[float, float]
    radius: float
    rms_px: float = 0.0


def fit_circle(rim_xy: ArrayLike, *, where: str = "rim") -> Circle:
    """Fit a circle to three or more rim points.

    Parameters
    ----------
    rim_xy : array_like, shape (M, 2)
        ``(x, y)`` pixels, M >= 3.
    where : str
        Names the input in error messages.

    Returns
    -------
    Circle

    Raises
    ------
    DegenerateGeometryError
        Fewer than three distinct points, or collinear points.

    Examples
    --------
    >>> c = fit_circle([[10, 0], [0, 10], [-10, 0], [0, -10]])
    >>> [round(v, 6) for v in (*c.center, c.radius)]
    [0.0, 0.0, 10.0]
    """
    pts = np.asarray(rim_xy, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise DegenerateGeometryError(f"{where}: a circle needs 3 or more [x, y] rim points; got {len(pts)}")
    if not np.isfinite(pts).all():
        raise DegenerateGeometryError(f"{where}: rim points must be finite numbers")
    mean = pts.mean(axis=0)
    spread = np.linalg.svd(pts - mean, compute_uv=False)
    if spread[0] == 0:
        raise DegenerateGeometryError(f"{where}: rim points are all the same point")
    collinear = DegenerateGeometryError(f"{where}: rim points are collinear; no circle passes through them")
    # skimage declines only exactly collinear points (rank < 3); nearly collinear ones are declined here
    if spread[-1] < 1e-9 * spread[0]:
        raise collinear
    scale = float(np.linalg.norm(spread)) / np.sqrt(len(pts))  # RMS distance from the mean
    # scikit-image (and the SciPy it loads) only when a circle is fitted: not at start-up
    from skimage.measure import CircleModel

    start = CircleModel.from_estimate(pts)
    if not start or not np.isfinite(start.radius) or start.radius > 1e6 * scale:
        raise collinear
    # Gauss–Newton on the geometric residuals, in units of the points' spread about their mean
    p = (pts - mean) / scale
    c = (np.asarray(start.center) - mean) / scale
    r = float(start.radius) / scale
    for _ in range(20):
        d = p - c
        dist = np.hypot(d[:, 0], d[:, 1])
        if np.any(dist == 0):
            break
        jac = np.column_stack([-d / dist[:, None], -np.ones(len(p))])
        res = dist - r
        step, *_ = np.linalg.lstsq(jac, -res, rcond=None)
        c = c + step[:2]
        r = r + step[2]
        if np.abs(step).max() < 1e-12:
            break
    d = p - c
    rms = float(np.sqrt(((np.hypot(d[:, 0], d[:, 1]) - r) ** 2).mean()))
    center = c * scale + mean
    return Circle((float(center[0]), float(center[1])), float(abs(r) * scale), rms * scale)
