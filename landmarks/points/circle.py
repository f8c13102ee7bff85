"""Least-squares circles from rim points.

Used for femoral heads given by their rim and for calibration balls. The fit
is algebraic (Kåsa) followed by a few Gauss–Newton steps on the geometric
distance, which removes the Kåsa bias on short arcs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DegenerateGeometryError

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


def fit_circle(rim_xy: np.ndarray, *, where: str = "rim") -> Circle:
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
    p = pts - mean
    scale = np.sqrt((p**2).sum(axis=1).mean())
    if scale == 0:
        raise DegenerateGeometryError(f"{where}: rim points are all the same point")
    p = p / scale
    # Kåsa: x² + y² + D x + E y + F = 0, linear least squares.
    a = np.column_stack([p, np.ones(len(p))])
    b = -(p**2).sum(axis=1)
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    cx, cy = -sol[0] / 2, -sol[1] / 2
    r2 = cx * cx + cy * cy - sol[2]
    cond = np.linalg.svd(p - p.mean(axis=0), compute_uv=False)
    if r2 <= 0 or cond[-1] < 1e-9 * cond[0] or not np.isfinite(r2) or np.sqrt(r2) > 1e6:
        raise DegenerateGeometryError(f"{where}: rim points are collinear; no circle passes through them")
    c = np.array([cx, cy])
    r = np.sqrt(r2)
    for _ in range(20):  # Gauss–Newton on geometric residuals
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
    return Circle((float(center[0]), float(center[1])), float(abs(r) * scale), rms * float(scale))
