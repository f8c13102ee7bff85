"""Vectorised rasterisation of radiographic shapes for the synthetic films.

A :class:`Canvas` is a float32 image of *attenuation* (bone and tissue add up,
as they do along an X-ray path) whose pixels know their position in the
geometry frame of :mod:`spinecheck.landmarks.synthetic.spine_model` (millimetres, origin at the hip
axis, y up). Shapes are drawn into the bounding box they cover only:

- convex polygons and ellipses from analytic signed distances, anti-aliased
  over one pixel, with a cortical shell of a given thickness (the sharp,
  landmark-bearing structures: vertebral bodies, femoral heads);
- any polygon (holes by drawing negative values) from a mask and its Euclidean
  distance transform (the large, faint structures: iliac wings, lungs, skull),
  usually on a coarser canvas;
- bands along polylines and elliptical arcs (ribs, clavicles).

Nothing loops over pixels in Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import ndimage as ndi

__all__ = ["Canvas", "convex_sd", "ellipse_sd", "polygon_mask", "shell", "texture_tile"]


class Canvas:
    """A float32 attenuation image addressed in millimetres.

    Parameters
    ----------
    rows, cols : int
        Canvas size in pixels.
    spacing_mm : tuple of float
        ``(row, col)`` pixel spacing of this canvas.
    first_mm : tuple of float
        ``(x_mm, y_mm)`` image position (x right, y down, from the film's
        first pixel centre) of this canvas's pixel (0, 0).
    origin_mm : tuple of float
        Image position ``(x_mm, y_mm)`` of the geometry origin; geometry is
        ``x = X - origin_x`` and ``y = origin_y - Y`` (y up).
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        spacing_mm: tuple[float, float],
        first_mm: tuple[float, float],
        origin_mm: tuple[float, float],
    ) -> None:
        self.a = np.zeros((rows, cols), dtype=np.float32)
        self.dy, self.dx = (float(v) for v in spacing_mm)
        self.fx, self.fy = (float(v) for v in first_mm)
        self.ox, self.oy = (float(v) for v in origin_mm)
        self.aa = max(self.dx, self.dy)

    def window(self, pts: np.ndarray, pad: float = 0.0):
        """Slices and open ``(x, y)`` grids (mm, y up) covering *pts* ± *pad*; None if off-canvas."""
        pts = np.asarray(pts, dtype=float).reshape(-1, 2)
        pad = pad + 2 * self.aa
        xs = (pts[:, 0] + self.ox - self.fx) / self.dx
        ys = (self.oy - pts[:, 1] - self.fy) / self.dy
        j0 = max(0, math.floor(xs.min() - pad / self.dx))
        j1 = min(self.a.shape[1], math.ceil(xs.max() + pad / self.dx) + 1)
        i0 = max(0, math.floor(ys.min() - pad / self.dy))
        i1 = min(self.a.shape[0], math.ceil(ys.max() + pad / self.dy) + 1)
        if i0 >= i1 or j0 >= j1:
            return None
        x = (self.fx + self.dx * np.arange(j0, j1, dtype=np.float32) - self.ox)[None, :]
        y = (self.oy - self.fy - self.dy * np.arange(i0, i1, dtype=np.float32))[:, None]
        return (slice(i0, i1), slice(j0, j1)), x, y

    def rows_y(self) -> np.ndarray:
        """Geometry ``y`` (mm, up) of every canvas row."""
        return self.oy - self.fy - self.dy * np.arange(self.a.shape[0], dtype=np.float32)

    def cols_x(self) -> np.ndarray:
        """Geometry ``x`` (mm) of every canvas column."""
        return self.fx + self.dx * np.arange(self.a.shape[1], dtype=np.float32) - self.ox

    def convex(
        self,
        pts: np.ndarray,
        inner: float,
        cortex: float,
        cortex_mm: float,
        texture: Callable[[tuple], np.ndarray] | None = None,
        edges: tuple[int, ...] = (),
        edge_cortex_mm: float | None = None,
        round_mm: float = 0.0,
    ) -> None:
        """Add a convex polygon with a cortical shell.

        *edges* lists edge indices (edge k joins vertex k and k+1) whose cortex
        is *edge_cortex_mm* thick instead (a vertebral endplate is thicker
        than the body's walls). *round_mm* rounds the outline's corners; the
        edges themselves stay where *pts* puts them.
        """
        win = self.window(pts)
        if win is None:
            return
        sl, x, y = win
        sd = convex_sd(pts, x, y, round_mm=round_mm)
        if edges and edge_cortex_mm is not None:
            inner_sd = np.maximum(
                convex_sd(pts, x, y, skip=edges) + cortex_mm,
                convex_sd(pts, x, y, only=edges) + edge_cortex_mm,
            )
        else:
            inner_sd = sd + cortex_mm
        inside = np.clip(0.5 - inner_sd / self.aa, 0, 1)
        value = cortex * (np.clip(0.5 - sd / self.aa, 0, 1) - inside)
        fill = inner * inside
        if texture is not None:
            fill *= texture(sl)
        self.a[sl] += value + fill

    def ellipse(
        self,
        centre: np.ndarray,
        axes: tuple[float, float],
        inner: float,
        cortex: float = 0.0,
        cortex_mm: float = 0.0,
        angle_rad: float = 0.0,
        arc: tuple[float, float] | None = None,
    ) -> None:
        """Add an ellipse (semi-axes *axes*, rotated by *angle_rad*), optionally only its rim over *arc*.

        *arc* is ``(start, stop)`` in radians of the polar angle around the
        centre (y up); when given only the shell is drawn, only there.
        """
        c = np.asarray(centre, dtype=float)
        r = max(axes)
        win = self.window(np.array([c - r, c + r]))
        if win is None:
            return
        sl, x, y = win
        sd = ellipse_sd(c, axes, angle_rad, x, y)
        value = shell(sd, self.aa, cortex_mm, cortex, inner)
        if arc is not None:
            phi = np.arctan2(y - c[1], x - c[0])
            lo, hi = arc
            value = value * (((phi - lo) % (2 * np.pi)) <= ((hi - lo) % (2 * np.pi)))
        self.a[sl] += value

    def polygon(
        self, pts: np.ndarray, inner: float, rim: float = 0.0, rim_mm: float = 1.0, soft_mm: float = 0.0
    ) -> None:
        """Add any simple polygon: *inner* inside, rising to *rim* at the border over *rim_mm*.

        With *soft_mm*, the value ramps up from the border over that depth
        instead (a rounded organ, a lung field).
        """
        pts = np.asarray(pts, dtype=float)
        win = self.window(pts)
        if win is None:
            return
        sl, _, _ = win
        rr = (self.oy - pts[:, 1] - self.fy) / self.dy - sl[0].start
        cc = (pts[:, 0] + self.ox - self.fx) / self.dx - sl[1].start
        shape = (sl[0].stop - sl[0].start, sl[1].stop - sl[1].start)
        mask = polygon_mask(shape, rr, cc)
        if not mask.any():
            return
        depth = ndi.distance_transform_edt(mask, sampling=(self.dy, self.dx)).astype(np.float32)
        if soft_mm > 0:
            value = inner * np.sqrt(np.clip(depth / soft_mm, 0, 1))
        else:
            value = mask * (inner + (rim - inner) * np.clip(1 - depth / rim_mm, 0, 1))
        self.a[sl] += value

    def band(self, line: np.ndarray, half_mm: float, value: float, hollow: float = 0.0) -> None:
        """Add a tube of radius *half_mm* along a polyline (a rib, a clavicle).

        The profile is the projected chord of a tube; *hollow* in [0, 1)
        darkens its centre (a cortical tube with a marrow cavity).
        """
        line = np.asarray(line, dtype=float)
        win = self.window(line, pad=half_mm)
        if win is None:
            return
        sl, x, y = win
        d2 = np.full(np.broadcast_shapes(x.shape, y.shape), np.inf, dtype=np.float32)
        for p, q in zip(line[:-1], line[1:], strict=True):
            e = q - p
            t = np.clip(((x - p[0]) * e[0] + (y - p[1]) * e[1]) / max(e @ e, 1e-12), 0, 1)
            np.minimum(d2, (x - p[0] - t * e[0]) ** 2 + (y - p[1] - t * e[1]) ** 2, out=d2)
        u = np.clip(1 - d2 / half_mm**2, 0, 1)
        prof = np.sqrt(u)
        if hollow:
            prof = prof - hollow * np.sqrt(np.clip(1 - d2 / (0.6 * half_mm) ** 2, 0, 1))
        self.a[sl] += value * prof

    def ring_band(
        self,
        centre: np.ndarray,
        axes: tuple[float, float],
        half_mm: float,
        value: float,
        keep: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ) -> None:
        """Add a tube along an axis-aligned ellipse, where ``keep(dx, dy)`` is true (an AP rib)."""
        c = np.asarray(centre, dtype=float)
        ext = np.array(axes) + half_mm
        win = self.window(np.array([c - ext, c + ext]))
        if win is None:
            return
        sl, x, y = win
        dx, dy = x - c[0], y - c[1]
        d = ellipse_sd(c, axes, 0.0, x, y)
        prof = np.sqrt(np.clip(1 - (d / half_mm) ** 2, 0, 1))
        self.a[sl] += value * prof * keep(np.broadcast_to(dx, prof.shape), np.broadcast_to(dy, prof.shape))


def convex_sd(
    pts: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    skip: tuple[int, ...] = (),
    only: tuple[int, ...] | None = None,
    round_mm: float = 0.0,
) -> np.ndarray:
    """Signed distance (mm, negative inside) to a convex polygon, from its half-plane distances.

    Inside, the largest half-plane distance (exact). Outside, the largest one
    too (the distance to the mitred offset, within a pixel near the border),
    or with *round_mm* the root-sum-square of the positive ones to the
    polygon inset by *round_mm*, minus *round_mm*: corners rounded to that
    radius (exact for right-angled corners).

    Examples
    --------
    >>> sq = np.array([[0, 0], [10, 0], [10, 10], [0, 10]])
    >>> float(convex_sd(sq, np.array([[2.0]]), np.array([[5.0]]))[0, 0])
    -2.0
    >>> corner = convex_sd(sq, np.array([[-1.0]]), np.array([[-1.0]]), round_mm=1.0)
    >>> round(float(corner[0, 0]), 6)  # sqrt(8) - 1
    1.828427
    """
    pts = np.asarray(pts, dtype=float)
    centre = pts.mean(axis=0)
    sd = out2 = None
    for k in range(len(pts)):
        if k in skip or (only is not None and k not in only):
            continue
        p, q = pts[k], pts[(k + 1) % len(pts)]
        e = q - p
        n = np.array([e[1], -e[0]]) / math.hypot(*e)
        if n @ (centre - p) > 0:
            n = -n
        d = (x - np.float32(p[0])) * np.float32(n[0]) + (y - np.float32(p[1])) * np.float32(n[1])
        sd = d if sd is None else np.maximum(sd, d)
        if round_mm:
            pos = np.maximum(d + np.float32(round_mm), 0)
            out2 = pos * pos if out2 is None else out2 + pos * pos
    assert sd is not None
    if round_mm and out2 is not None:
        sd = np.where(sd + round_mm > 0, np.sqrt(out2) - np.float32(round_mm), sd)
    return sd


def polygon_mask(shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Rasterise a simple polygon (even–odd rule): True where a pixel centre lies inside.

    Scanline fill, vectorised over edges: every crossing of a row by an edge
    toggles the pixels to its right, so the cost is the crossings plus one
    cumulative sum, whatever the number of vertices.

    Parameters
    ----------
    shape : tuple of int
        ``(height, width)`` of the mask.
    rows, cols : ndarray, shape (K,)
        Vertex coordinates in pixels (pixel centres at integers).

    Examples
    --------
    >>> polygon_mask((4, 5), np.array([0.5, 0.5, 2.5, 2.5]), np.array([0.5, 3.5, 3.5, 0.5])).astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 0, 0, 0]])
    """
    h, w = shape
    r0, c0 = np.asarray(rows, dtype=float), np.asarray(cols, dtype=float)
    r1, c1 = np.roll(r0, -1), np.roll(c0, -1)
    lo = np.clip(np.ceil(np.minimum(r0, r1)), 0, h).astype(np.int64)  # the edge covers rows y with
    hi = np.clip(np.ceil(np.maximum(r0, r1)), 0, h).astype(np.int64)  # min <= y < max (half open)
    n = np.maximum(hi - lo, 0)
    edge = np.repeat(np.arange(len(r0)), n)
    row = np.repeat(lo, n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    x = c0[edge] + (row - r0[edge]) / (r1[edge] - r0[edge]) * (c1[edge] - c0[edge])
    toggles = np.zeros((h, w + 1), dtype=np.int32)
    np.add.at(toggles, (row, np.clip(np.ceil(x), 0, w).astype(np.int64)), 1)
    return (np.cumsum(toggles, axis=1)[:, :w] & 1).astype(bool)


def ellipse_sd(
    centre: np.ndarray, axes: tuple[float, float], angle_rad: float, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """First-order signed distance (mm, negative inside) to an ellipse; exact for a circle.

    Examples
    --------
    >>> float(ellipse_sd(np.zeros(2), (5.0, 5.0), 0.0, np.array([[8.0]]), np.array([[0.0]]))[0, 0])
    3.0
    """
    a, b = (float(v) for v in axes)
    dx, dy = x - np.float32(centre[0]), y - np.float32(centre[1])
    if a == b:
        return np.sqrt(dx * dx + dy * dy) - np.float32(a)
    cs, sn = np.float32(math.cos(angle_rad)), np.float32(math.sin(angle_rad))
    u, v = dx * cs + dy * sn, -dx * sn + dy * cs
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    grad = np.sqrt((u / a**2) ** 2 + (v / b**2) ** 2)
    return np.where(rho > 1e-6, (rho - 1) * rho / np.maximum(grad, 1e-12), -min(a, b)).astype(np.float32)


def shell(sd: np.ndarray, aa: float, cortex_mm: float, cortex: float, inner: float) -> np.ndarray:
    """Value of a solid with signed distance *sd*: *cortex* within *cortex_mm* of its border, *inner* deeper.

    Edges are anti-aliased over *aa* millimetres.
    """
    outer = np.clip(0.5 - sd / aa, 0, 1)
    deep = np.clip(0.5 - (sd + cortex_mm) / aa, 0, 1) if cortex_mm > 0 else outer
    return cortex * (outer - deep) + inner * deep


def texture_tile(size: int, grain_px: float, rng: np.random.Generator) -> np.ndarray:
    """Make a periodic, unit-mean trabecular texture tile (float32, about ±12 %)."""
    noise = ndi.gaussian_filter(rng.standard_normal((size, size)).astype(np.float32), grain_px, mode="wrap")
    noise /= noise.std()
    return 1 + 0.12 * noise
