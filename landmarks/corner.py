"""A lone vertebral-body corner refined to the local corner evidence.

Coordinates are ``(x, y)`` image pixels: x = column, y = row, y down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from landmarks.refine_common import RefineFailure, bound_failure, check_image, local_window, mean_spacing

__all__ = ["CornerFit", "refine_corner", "corner_bound_px"]

#: Default bound, mm (calibrated): a corner click is meant to be on the corner.
CORNER_BOUND_MM = 4.0
#: Default bound, pixels (uncalibrated).
CORNER_BOUND_PX = 12.0
#: Side of the square boxes compared around a candidate corner, mm / px.
CORNER_BOX_MM = 3.0
CORNER_BOX_PX = 8


@dataclass(frozen=True)
class CornerFit:
    """A refined corner.

    Attributes
    ----------
    point : (float, float)
        ``(x, y)`` pixels.
    body_quadrant : (int, int)
        ``(sx, sy)``: the body lies toward ``+sx`` in x and ``+sy`` in y.
    confidence : float
        In ``[0, 1]``: the body's brightness step over the noise, saturating.
    move_px : float
    """

    point: tuple[float, float]
    body_quadrant: tuple[int, int]
    confidence: float
    move_px: float


def corner_bound_px(mm_per_px: float | Sequence[float] | None = None) -> float:
    """Default bound: 4 mm when calibrated, else 12 px.

    Examples
    --------
    >>> corner_bound_px(0.2), corner_bound_px()
    (20.0, 12.0)
    """
    spacing = mean_spacing(mm_per_px)
    return CORNER_BOUND_MM / spacing if spacing else CORNER_BOUND_PX


def refine_corner(
    image: np.ndarray,
    click: Sequence[float],
    *,
    body_x: int | None = None,
    body_y: int = 1,
    mm_per_px: float | Sequence[float] | None = None,
    max_shift_px: float | None = None,
    min_confidence: float = 0.35,
) -> CornerFit | RefineFailure:
    """Move a rough corner click to the corner of the bright body nearby.

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey image, bone bright.
    click : (x, y)
        The rough corner, pixels.
    body_x : {1, -1}, optional
        The body lies to the right (+1) or left (-1) of the corner in the
        image; both are tried when None (a lateral film's facing is unknown).
    body_y : {1, -1}
        The body lies below (+1, a superior corner) or above (-1).
    mm_per_px : float or (row, col), optional
    max_shift_px : float, optional
        Default :func:`corner_bound_px`.
    min_confidence : float

    Returns
    -------
    CornerFit or RefineFailure

    Notes
    -----
    Every pixel within the bound is a candidate corner; around it four
    square boxes (3 mm or 8 px) are averaged with an integral image, and the
    score is the body box's mean minus the brighter of its two neighbours
    across the endplate and across the side wall, over the noise (MAD of the
    window's pixel differences). The boxes are axis-aligned, so strongly
    tilted bodies score lower and are more often declined.

    Examples
    --------
    >>> img = np.zeros((80, 80)); img[40:, 30:] = 100.0
    >>> fit = refine_corner(img, (34, 44), body_x=1, body_y=1)
    >>> fit.point
    (29.5, 39.5)
    """
    img = check_image(image)
    c = np.asarray(click, dtype=float)
    if c.shape != (2,) or not np.isfinite(c).all():
        raise ValueError(f"click must be two finite numbers (x, y); got {click!r}")
    if body_y not in (1, -1) or body_x not in (1, -1, None):
        raise ValueError("body_x must be 1, -1 or None and body_y 1 or -1")
    spacing = mean_spacing(mm_per_px)
    bound = corner_bound_px(mm_per_px) if max_shift_px is None else float(max_shift_px)
    box = max(3, int(round(CORNER_BOX_MM / spacing))) if spacing else CORNER_BOX_PX
    reach = bound + box + 2
    win = local_window(img, c[0] - reach, c[0] + reach, c[1] - reach, c[1] + reach, sigma=1.0)
    if win is None:
        return RefineFailure("the corner lies off the image")
    data = win.data
    ix, iy = int(round(c[0])) - win.x0, int(round(c[1])) - win.y0
    b = int(np.ceil(bound))
    if not (
        box <= ix - b and ix + b + box <= data.shape[1] and box <= iy - b and iy + b + box <= data.shape[0]
    ):
        return RefineFailure("the corner is too close to the image border")
    noise = 1.4826 * float(np.median(np.abs(np.diff(data, axis=1)))) + 1e-9
    ii = np.pad(data.cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    def box_mean(y0: np.ndarray, x0: np.ndarray) -> np.ndarray:
        return (ii[y0 + box, x0 + box] - ii[y0, x0 + box] - ii[y0 + box, x0] + ii[y0, x0]) / box**2

    ys, xs = np.mgrid[iy - b : iy + b + 1, ix - b : ix + b + 1]
    inside = np.hypot(xs - ix, ys - iy) <= bound
    best = None
    for sx in (1, -1) if body_x is None else (body_x,):
        # the corner is the pixel corner between the four boxes: the box toward +s starts at the pixel
        def start(pos: np.ndarray, s: int) -> np.ndarray:
            return pos if s > 0 else pos - box

        body = box_mean(start(ys, body_y), start(xs, sx))
        across_endplate = box_mean(start(ys, -body_y), start(xs, sx))
        across_wall = box_mean(start(ys, body_y), start(xs, -sx))
        score = (body - np.maximum(across_endplate, across_wall)) / noise
        score = np.where(inside, score, -np.inf)
        k = np.unravel_index(int(np.argmax(score)), score.shape)
        if best is None or score[k] > best[0]:
            best = (float(score[k]), int(xs[k]), int(ys[k]), sx)
    assert best is not None
    value, bx, by, sx = best
    confidence = float(np.clip(value / 8.0, 0.0, 1.0))
    if confidence < min_confidence:
        return RefineFailure(
            f"no clear corner near the click (confidence {confidence:.2f} < {min_confidence:.2f})"
        )
    # the boxes meet between pixels: the corner is half a pixel toward the outside of the body
    point = (float(bx + win.x0 - 0.5), float(by + win.y0 - 0.5))
    move = float(np.hypot(point[0] - c[0], point[1] - c[1]))
    if move > bound:
        return bound_failure(move, bound)
    return CornerFit(point, (sx, body_y), confidence, move)
