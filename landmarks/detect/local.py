"""The local stage: each vertebra's four corners placed again on a close-up of the film (NumPy).

The first stage reads the whole film at 256 x 128, about nine film pixels to one input pixel:
enough to find every vertebra and tell T7 from T8, too coarse for the endplates' tilt, which is
what a Cobb angle measures. The local stage cuts one close-up per vertebra from the full-resolution
film, centred on the vertebra the first stage found, turned so that the spine runs down it and
scaled so that vertebrae lie :data:`LOCAL_SPACING` pixels apart (about four film pixels to one
close-up pixel on the AASCE films), and a second network places that vertebra's four corners on it.

This module is the geometry of it, shared by inference and training: the close-up's frame
(:func:`vertebra_frames`, from four corners per vertebra), cutting the close-ups
(:func:`cut_closeups`) and mapping close-up pixels back to the film (:func:`closeup_to_film`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "LOCAL_SIZE",
    "LOCAL_SPACING",
    "LOCAL_STRIDE",
    "Frames",
    "vertebra_frames",
    "frames_from_corners",
    "REFINE_SPAN",
    "refine_frames",
    "reduced_film",
    "cut_closeups",
    "closeup_to_film",
    "film_to_closeup",
]

#: The close-up's side in pixels (square).
LOCAL_SIZE = 96
#: Close-up pixels from one vertebra's centre to the next (the scale every close-up is cut at).
LOCAL_SPACING = 30.0
#: Close-up pixels per heatmap cell of the local network.
LOCAL_STRIDE = 2
#: A vertebra's spacing to its neighbours is about 1.3 times its own height (AASCE labels: median
#: spacing 125 px, height 95 px): the scale of a close-up cut for one vertebra alone.
SPACING_PER_HEIGHT = 1.3
#: Close-up pixels spanned by the larger side (width or height) of a vertebra on the refiner's
#: close-ups (:func:`refine_frames`): about two film pixels to one close-up pixel on the AASCE
#: films, twice as fine as the local stage's; the corners stay a fifth of the side from the edge.
REFINE_SPAN = 72.0


class Frames(NamedTuple):
    """Where each close-up lies on the film.

    ``centre`` ``(n, 2)`` film ``(x, y)`` of the close-up's centre; ``down`` ``(n, 2)`` the unit
    film vector along which the close-up's rows run (down the spine); ``scale`` ``(n,)`` film
    pixels per close-up pixel.
    """

    centre: np.ndarray
    down: np.ndarray
    scale: np.ndarray


def vertebra_frames(xy: np.ndarray) -> Frames:
    """The close-up frame of each vertebra of a column of corners.

    Parameters
    ----------
    xy : ndarray, shape (4 n, 2)
        Film ``(x, y)``, four corners per vertebra (``sup.left, sup.right, inf.left, inf.right``),
        vertebrae top to bottom (``AASCE_POINT_NAMES`` order for T1..L5).

    Returns
    -------
    Frames
        Centred on each vertebra's mean corner; the spine's direction there from the centres of
        its neighbours (one-sided at the ends); the scale from the distance to them, so that the
        neighbours' centres lie :data:`LOCAL_SPACING` close-up pixels away.

    Examples
    --------
    >>> col = np.array([[x, 100 * v + y] for v in range(3) for y in (0, 60) for x in (0, 80)], float)
    >>> f = vertebra_frames(col)
    >>> f.centre[1].tolist(), f.down[1].tolist(), round(float(f.scale[1]), 3)
    ([40.0, 130.0], [0.0, 1.0], 3.333)
    """
    p = np.asarray(xy, dtype=float).reshape(-1, 4, 2)
    c = p.mean(1)
    n = len(c)
    if n < 2:
        raise ValueError("a column needs at least two vertebrae")
    step = np.empty_like(c)
    step[1:-1] = (c[2:] - c[:-2]) / 2
    step[0] = c[1] - c[0]
    step[-1] = c[-1] - c[-2]
    spacing = np.linalg.norm(step, axis=1)
    down = step / np.where(spacing > 0, spacing, 1.0)[:, None]
    down[spacing <= 0] = (0.0, 1.0)
    spacing = np.maximum(spacing, 1e-3)
    return Frames(c, down, spacing / LOCAL_SPACING)


def frames_from_corners(xy: np.ndarray) -> Frames:
    """The close-up frame of vertebrae given alone (four corners each, no neighbours needed).

    The spine's direction is taken perpendicular to the vertebra's mean endplate, and the spacing
    as :data:`SPACING_PER_HEIGHT` times its height (mean of its left and right sides): what a
    person's rough clicks on one vertebra give.
    """
    p = np.asarray(xy, dtype=float).reshape(-1, 4, 2)
    _, height = _sides(p)
    return Frames(p.mean(1), _down(p), np.maximum(height * SPACING_PER_HEIGHT, 1e-3) / LOCAL_SPACING)


def _down(p: np.ndarray) -> np.ndarray:
    """Unit film vector perpendicular to each vertebra's mean endplate ``(n, 2)``, of corners ``(n, 4, 2)``."""
    across = (p[:, 1] - p[:, 0]) + (p[:, 3] - p[:, 2])
    across /= np.maximum(np.linalg.norm(across, axis=1), 1e-9)[:, None]
    return np.stack([-across[:, 1], across[:, 0]], 1)


def _sides(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each vertebra's width (mean of its endplates) and height (mean of its sides), of corners ``(n, 4, 2)``."""
    width = (np.linalg.norm(p[:, 1] - p[:, 0], axis=1) + np.linalg.norm(p[:, 3] - p[:, 2], axis=1)) / 2
    height = (np.linalg.norm(p[:, 2] - p[:, 0], axis=1) + np.linalg.norm(p[:, 3] - p[:, 1], axis=1)) / 2
    return width, height


def refine_frames(xy: np.ndarray) -> Frames:
    """The refiner's close-up frame of vertebrae given by a person's four rough corners each.

    Centre and direction as :func:`frames_from_corners`; the scale finer, so that the larger of
    the vertebra's width and height (means of its two endplates, of its two sides) spans
    :data:`REFINE_SPAN` close-up pixels. The refiner's network (model 1.2) learned corners on
    close-ups framed so, by corners clicked a few pixels off.

    Examples
    --------
    >>> f = refine_frames(np.array([[0, 0], [144, 0], [0, 72], [144, 72]], float))
    >>> f.centre[0].tolist(), (f.down[0] + 0.0).tolist(), float(f.scale[0])
    ([72.0, 36.0], [0.0, 1.0], 2.0)
    """
    p = np.asarray(xy, dtype=float).reshape(-1, 4, 2)
    width, height = _sides(p)
    return Frames(p.mean(1), _down(p), np.maximum(np.maximum(width, height), 1e-3) / REFINE_SPAN)


def reduced_film(grey: np.ndarray, scale: float) -> tuple[np.ndarray, int]:
    """The film shrunk by a whole factor (block means) no larger than *scale*, and that factor.

    Close-ups sample the film every *scale* pixels; averaging blocks first keeps them free of
    aliasing (the ribs' fine texture) at little cost.
    """
    k = max(1, int(np.floor(scale)))
    if k == 1:
        return np.asarray(grey, dtype=np.float32), 1
    from PIL import Image

    g = np.asarray(grey, dtype=np.float32)
    r, c = (g.shape[0] // k) * k, (g.shape[1] // k) * k
    if r == 0 or c == 0:
        return g, 1
    # Pillow's box reduction: the block means, faster than NumPy's strided mean (about 1.7 x)
    small = Image.fromarray(np.ascontiguousarray(g[:r, :c]), mode="F").reduce(k)
    return np.asarray(small, dtype=np.float32), k


def _grid(frames: Frames) -> tuple[np.ndarray, np.ndarray]:
    """Film ``(x, y)`` of every close-up pixel centre: two ``(n, LOCAL_SIZE, LOCAL_SIZE)`` arrays."""
    half = (LOCAL_SIZE - 1) / 2
    t = np.arange(LOCAL_SIZE, dtype=float) - half
    across = np.stack([frames.down[:, 1], -frames.down[:, 0]], 1)  # image right when down is +y
    s = frames.scale[:, None, None]
    x = (
        frames.centre[:, 0, None, None]
        + s * t[None, None, :] * across[:, 0, None, None]
        + s * t[None, :, None] * frames.down[:, 0, None, None]
    )
    y = (
        frames.centre[:, 1, None, None]
        + s * t[None, None, :] * across[:, 1, None, None]
        + s * t[None, :, None] * frames.down[:, 1, None, None]
    )
    return x, y


def cut_closeups(
    grey: np.ndarray, frames: Frames, reduced: tuple[np.ndarray, int] | None = None
) -> np.ndarray:
    """The close-ups ``(n, LOCAL_SIZE, LOCAL_SIZE)`` float32, each stretched to about -0.5 .. 0.5.

    *grey* is the film's grey levels, bone bright, at full resolution (or None when *reduced*, a
    :func:`reduced_film` result, is given). Pixels off the film take the nearest edge's value.
    Each close-up's 1st and 99th percentiles map to 0 and 1 (then centred), as the first stage's
    input.
    """
    from scipy.ndimage import map_coordinates

    if reduced is None:
        reduced = reduced_film(np.asarray(grey, dtype=np.float32), float(np.median(frames.scale)))
    small, k = reduced
    x, y = _grid(frames)
    # film pixel centre u lies at (u + 0.5) / k - 0.5 of the block-mean film
    coords = np.stack([(y + 0.5) / k - 0.5, (x + 0.5) / k - 0.5])
    out = map_coordinates(small, coords.reshape(2, -1), order=1, mode="nearest").reshape(x.shape)
    lo = np.percentile(out, 1.0, axis=(1, 2))[:, None, None]
    hi = np.percentile(out, 99.0, axis=(1, 2))[:, None, None]
    span = np.where(hi > lo, hi - lo, 1.0)
    return (np.clip((out - lo) / span, 0.0, 1.0) - 0.5).astype(np.float32)


def closeup_to_film(uv: np.ndarray, frames: Frames) -> np.ndarray:
    """Close-up pixel ``(u, v)`` ``(n, k, 2)`` to film ``(x, y)`` ``(n, k, 2)`` (vertebra ``i``, frame ``i``)."""
    half = (LOCAL_SIZE - 1) / 2
    across = np.stack([frames.down[:, 1], -frames.down[:, 0]], 1)
    a = (np.asarray(uv, dtype=float) - half) * frames.scale[:, None, None]
    return (
        frames.centre[:, None, :] + a[..., 0:1] * across[:, None, :] + a[..., 1:2] * frames.down[:, None, :]
    )


def film_to_closeup(xy: np.ndarray, frames: Frames) -> np.ndarray:
    """Film ``(x, y)`` ``(n, k, 2)`` to close-up pixel ``(u, v)`` ``(n, k, 2)`` (:func:`closeup_to_film`'s inverse)."""
    half = (LOCAL_SIZE - 1) / 2
    across = np.stack([frames.down[:, 1], -frames.down[:, 0]], 1)
    d = np.asarray(xy, dtype=float) - frames.centre[:, None, :]
    u = (d * across[:, None, :]).sum(-1) / frames.scale[:, None]
    v = (d * frames.down[:, None, :]).sum(-1) / frames.scale[:, None]
    return np.stack([u, v], -1) + half
