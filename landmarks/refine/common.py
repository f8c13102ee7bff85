"""What every landmark refiner shares: the failure value, bounds, and local sampling.

A refiner looks at a small window of the image around the rough points and
returns either a fitted result or a :class:`RefineFailure` (falsy) that says
why it left the points alone. Only the window is ever converted to float or
filtered, so a 7200 x 3000 film costs the same per point as a small one.

Coordinates are ``(x, y)`` image pixels: x = column, y = row, origin at the
centre of the top-left pixel, y down (formats.md §1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage as ndi

from ..errors import InvalidArgumentError

__all__ = [
    "RefineFailure",
    "LocalWindow",
    "local_window",
    "check_image",
    "mean_spacing",
    "bound_failure",
]


@dataclass(frozen=True)
class RefineFailure:
    """A refiner's decline: the points stay where they were placed.

    Falsy, like the failure of :meth:`skimage.measure.CircleModel.from_estimate`,
    so a batch can test the result and carry on.

    Attributes
    ----------
    reason : str
        Why, in words a user can act on.
    applies : bool
        False when no refiner handles this kind of point (a centroid): it is
        placed as clicked by design, not for want of image evidence.

    Examples
    --------
    >>> f = RefineFailure("no edge near the click")
    >>> bool(f), f.reason, f.applies
    (False, 'no edge near the click', True)
    """

    reason: str
    applies: bool = True

    def __bool__(self) -> Literal[False]:  # Literal: ``if not fit`` narrows a refiner's result for mypy
        return False


def check_image(image: object) -> np.ndarray:
    """Return *image* as an array after checking it is a 2-D grey image.

    The pixels are not copied or converted (a whole film is never filtered).

    Raises
    ------
    InvalidArgumentError
        Not a 2-D array of numbers (the caller's error, not a bad image region).
    """
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise InvalidArgumentError.about(
            "image",
            "{image}: refinement needs a 2-D grey image (rows, columns); got shape {got}",
            got=arr.shape,
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InvalidArgumentError.about(
            "image", "{image}: refinement needs a numeric image; got dtype {got}", got=arr.dtype
        )
    return arr


def mean_spacing(mm_per_px: float | Sequence[float] | None) -> float | None:
    """One mm-per-pixel figure from ``(row, col)`` spacing (geometric mean), None when unknown.

    Examples
    --------
    >>> mean_spacing((0.2, 0.2)), mean_spacing(None)
    (0.2, None)
    """
    if mm_per_px is None:
        return None
    values = np.atleast_1d(np.asarray(mm_per_px, dtype=float))
    if values.size not in (1, 2) or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InvalidArgumentError.about(
            "mm_per_px", "{mm_per_px}: must be one or two (row, col) spacings > 0; got {got!r}", got=mm_per_px
        )
    return float(math.sqrt(values[0] * values[-1]))


def bound_failure(distance_px: float, bound_px: float, what: str = "the click") -> RefineFailure:
    """The failure of a fit that landed further than the bound allows.

    Examples
    --------
    >>> bound_failure(23.44, 15).reason
    'would move 23.4 px, more than the 15 px bound; kept the click'
    """
    return RefineFailure(
        f"would move {distance_px:.1f} px, more than the {bound_px:.3g} px bound; kept {what}"
    )


@dataclass(frozen=True, eq=False)
class LocalWindow:
    """A float copy of a rectangle of the image, optionally smoothed.

    Attributes
    ----------
    data : ndarray of float, shape (h, w)
    x0, y0 : int
        Image column and row of ``data[0, 0]``.
    rows, columns : int
        Size of the whole image (to tell samples outside it).
    """

    data: np.ndarray
    x0: int
    y0: int
    rows: int
    columns: int

    def sample(self, x: np.ndarray, y: np.ndarray, order: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Values at image points ``(x, y)`` and a mask of those inside the image.

        Points outside the window take the nearest window value; the mask is
        False for points outside the image itself.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        coords = np.stack([(y - self.y0).ravel(), (x - self.x0).ravel()])
        values = ndi.map_coordinates(self.data, coords, order=order, mode="nearest").reshape(x.shape)
        inside = (x >= 0) & (x <= self.columns - 1) & (y >= 0) & (y <= self.rows - 1)
        return values, inside


def local_window(
    image: np.ndarray, x_lo: float, x_hi: float, y_lo: float, y_hi: float, sigma: float = 0.0
) -> LocalWindow | None:
    """Copy (and smooth with a Gaussian of *sigma* px) the image rectangle around the given range.

    The rectangle is clipped to the image and padded by ``3 * sigma + 2``
    pixels so the smoothing has no edge effect inside the range. Returns None
    when the range does not overlap the image.
    """
    rows, cols = image.shape
    pad = int(math.ceil(3 * sigma)) + 2
    c0 = max(int(math.floor(x_lo)) - pad, 0)
    c1 = min(int(math.ceil(x_hi)) + pad + 1, cols)
    r0 = max(int(math.floor(y_lo)) - pad, 0)
    r1 = min(int(math.ceil(y_hi)) + pad + 1, rows)
    if c1 - c0 < 2 or r1 - r0 < 2:
        return None
    data = np.asarray(image[r0:r1, c0:c1], dtype=float)
    if sigma > 0:
        data = ndi.gaussian_filter(data, sigma, mode="nearest")
    return LocalWindow(data, c0, r0, rows, cols)
