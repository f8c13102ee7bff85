"""Endplate lines from two rough corner clicks.

:func:`refine_endplate` finds the edge between a vertebral body (bright) and
the disc beside it (dark) in a strip along the two clicked corners, fits a
line to it robustly and puts both corners back on that line.

Coordinates are ``(x, y)`` image pixels: x = column, y = row, y down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from ..points.names import VocabularyEnum
from .common import RefineFailure, bound_failure, check_image, local_window, mean_spacing

__all__ = ["EndplateFit", "refine_endplate", "endplate_bound_px", "BodySide"]


class BodySide(VocabularyEnum):
    """Where the vertebral body lies relative to an endplate, in image terms.

    ``"below"`` (y larger), as for a superior endplate on an upright film;
    ``"above"`` for an inferior one.
    """

    BELOW = "below"
    ABOVE = "above"


#: Default bound on a calibrated film, mm. A vertebral body is 30-50 mm wide
#: (AP) or deep (lateral); a click more than 5 mm off the endplate edge is a
#: click on something else, and the nearest edge then is not the endplate.
ENDPLATE_BOUND_MM = 5.0
#: Default bound on an uncalibrated film, as a fraction of the clicked
#: endplate length: 5 mm of a 35 mm endplate, the same bound in anatomical terms.
ENDPLATE_BOUND_FRACTION = 0.15
_MIN_BOUND_PX = 4.0
_MAX_TILT_DEG = 15.0  # the fitted line may turn this far from the clicked one
_STEP_PX = 0.5  # sampling step across the endplate
_STATION_LO = 0.12  # stations from 12 % to 88 % of the endplate: the rounded corners are left out
# An edge of the opposite polarity counts at 0.8 of its strength: annotators put the corner on the
# cortical line, whose two sides step opposite ways, and on low-contrast films either side may be the
# one that shows.
_OPPOSITE_WEIGHT = 0.8
# Gaussian prior on the line's offset at the corners, sigma = 0.4 x the bound: of two equally strong
# edges the one nearer the clicks wins.
_PRIOR_FRACTION = 0.4
# The search clips the edge response at this many noise units: one strong feature must not outvote
# the endplate.
_CLIP = 6.0


@dataclass(frozen=True)
class EndplateFit:
    """A fitted endplate line and the two corners placed on it.

    Attributes
    ----------
    corners : tuple of (float, float)
        The refined corners, ``(x, y)`` pixels, in the order they were given:
        each is its click projected onto the fitted line.
    angle_deg : float
        Direction of the line from the first corner to the second,
        ``atan2(dy, dx)`` in image axes (y down), degrees.
    body_side : BodySide
        ``"below"`` or ``"above"``: where the body was (given or inferred).
    confidence : float
        In ``[0, 1]``: the fraction of stations whose edge lies on the line,
        times the edge's strength relative to the image noise (saturating).
    rms_px : float
        RMS distance of the inlier edge points from the line.
    moves_px : tuple of float
        How far each corner moved.
    """

    corners: tuple[tuple[float, float], tuple[float, float]]
    angle_deg: float
    body_side: BodySide
    confidence: float
    rms_px: float
    moves_px: tuple[float, float]


def endplate_bound_px(length_px: float, mm_per_px: float | Sequence[float] | None = None) -> float:
    """The default bound on a corner's move, pixels.

    ``5 mm`` on a calibrated film; otherwise ``0.15 x`` the clicked endplate
    length (5 mm of a typical 35 mm endplate), never less than 4 px.

    Examples
    --------
    >>> endplate_bound_px(200, (0.2, 0.2)), endplate_bound_px(200)
    (25.0, 30.0)
    """
    spacing = mean_spacing(mm_per_px)
    bound = ENDPLATE_BOUND_MM / spacing if spacing else ENDPLATE_BOUND_FRACTION * length_px
    return float(max(bound, _MIN_BOUND_PX))


def refine_endplate(
    image: np.ndarray,
    corner_a: Sequence[float],
    corner_b: Sequence[float],
    *,
    body_side: BodySide | str | None = None,
    mm_per_px: float | Sequence[float] | None = None,
    max_shift_px: float | None = None,
    min_confidence: float = 0.25,
) -> EndplateFit | RefineFailure:
    """Put two rough endplate corners on the endplate edge.

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey image, bone bright (``Radiograph.analysis``, or the stored pixels
        of a MONOCHROME2 film). Only a strip around the corners is read.
    corner_a, corner_b : (x, y)
        The clicked corners, pixels.
    body_side : BodySide or {"below", "above"}, optional
        Where the vertebral body is relative to the endplate in image terms:
        ``"below"`` for a superior endplate on an upright film. Inferred from
        the mean intensity on either side of the clicked line when None.
    mm_per_px : float or (row, col), optional
        Pixel spacing, for the default bound.
    max_shift_px : float, optional
        No corner moves further than this; default :func:`endplate_bound_px`.
    min_confidence : float
        Fits below this confidence are declined.

    Returns
    -------
    EndplateFit or RefineFailure
        The failure (falsy) says why: corners too close, strip off the image,
        no edge, weak edge, or a fit beyond the bound.

    Raises
    ------
    InvalidArgumentError
        *image* is not 2-D, a corner is not two finite numbers, or
        *body_side* is not one of the two words.

    Notes
    -----
    Intensity profiles are sampled across the clicked line (along its normal)
    at stations between 12 % and 88 % of its length (the rounded corners and
    side walls are left out) on a Gaussian-smoothed copy of the strip. Their
    derivative, signed so that the dark-to-bright step into the body is
    positive and scaled by its robust spread (MAD), is summed along every
    candidate line within the bound and +-15 degrees of the clicked direction;
    the best line is then refitted to the per-station edge peaks by iterated
    reweighted least squares (Tukey biweight, c = 1.5 px). The corners are the
    clicks projected onto that line.

    Examples
    --------
    >>> img = np.zeros((60, 80)); img[30:, :] = 100.0   # body below row 29.5
    >>> fit = refine_endplate(img, (15, 26), (65, 33), body_side="below")
    >>> [abs(y - 29.5) < 0.5 for _, y in fit.corners], abs(fit.angle_deg) < 1
    ([True, True], True)
    """
    img = check_image(image)
    a = _xy(corner_a, "corner_a")
    b = _xy(corner_b, "corner_b")
    side: BodySide | None = None
    if body_side is not None:
        try:
            side = BodySide(body_side)
        except ValueError:
            raise InvalidArgumentError.about(
                "body_side",
                "{body_side}: must be 'below', 'above' or None; got {got!r}",
                got=body_side,
            ) from None
    length = float(np.hypot(*(b - a)))
    if length < 8:
        return RefineFailure(f"the corners are {length:.1f} px apart; an endplate needs at least 8 px")
    bound = endplate_bound_px(length, mm_per_px) if max_shift_px is None else float(max_shift_px)
    u = (b - a) / length
    n = np.array([-u[1], u[0]])
    if n[1] < 0 or (n[1] == 0 and n[0] < 0):
        n = -n  # the normal points down the image: "below" is +s

    # searched at least as far as the default bound, so a tighter bound declines with its reason
    search = max(bound, endplate_bound_px(length, mm_per_px))
    half = search + 4.0
    n_st = int(np.clip(length / 3, 12, 80))
    ts = np.linspace(_STATION_LO, 1 - _STATION_LO, n_st) * length
    ss = np.arange(-half, half + _STEP_PX / 2, _STEP_PX)
    sigma = float(np.clip(length / 80, 1.0, 2.5))
    px = a[0] + ts[:, None] * u[0] + ss[None, :] * n[0]
    py = a[1] + ts[:, None] * u[1] + ss[None, :] * n[1]
    win = local_window(img, px.min(), px.max(), py.min(), py.max(), sigma)
    if win is None:
        return RefineFailure("the endplate lies off the image")
    prof, inside = win.sample(px, py)
    full = inside.all(axis=1)
    if full.mean() < 0.6:
        return RefineFailure("the endplate is too close to the image border to find its edge")
    prof, ts_ok = prof[full], ts[full]

    if side is None:
        side = _infer_body_side(img, a, u, n, length, sigma)
    sign = 1.0 if side is BodySide.BELOW else -1.0
    deriv = sign * np.gradient(prof, _STEP_PX, axis=1)
    peak = float(np.abs(deriv).max())
    # the noise level; on a noise-free image a small fraction of the strongest step stands in for it
    spread = max(1.4826 * float(np.median(np.abs(deriv - np.median(deriv)))), 0.02 * peak)
    if not peak > 0:
        return RefineFailure("no edge near the clicked endplate (the image is flat there)")
    dn = np.clip(deriv / spread, -_CLIP, _CLIP)

    tmid = 0.5 * length
    best = _line_search(dn, ts_ok - tmid, search, length)
    if best is None:
        return RefineFailure("no dark-to-bright edge along the clicked endplate")
    s0, slope, polarity = best
    if _saturated(dn, ss, ts_ok - tmid, s0, slope):
        s0, slope = _crest(polarity * deriv / spread, ss, ts_ok - tmid, s0, slope, reach=2.0 * sigma + 2.0)
    # per station: the strongest edge within 2 px of the searched line
    s_line = s0 + slope * (ts_ok - tmid)
    pk_s, pk_v = _station_peaks(polarity * deriv / spread, ss, s_line, 2.0)
    fit = _irls_line(ts_ok - tmid, pk_s, pk_v > 1.5, s0, slope)
    if fit is None:
        return RefineFailure("the edge along the clicked endplate is too broken to fit a line")
    s0, slope, inl, rms = fit
    strength = float(np.median(pk_v[inl])) if inl.any() else 0.0
    confidence = float(inl.mean() * min(1.0, strength / 5.0))
    if confidence < min_confidence:
        return RefineFailure(
            f"the endplate edge is weak (confidence {confidence:.2f} < {min_confidence:.2f})"
        )
    na = _project(a, a, u, n, tmid, s0, slope)
    nb = _project(b, a, u, n, tmid, s0, slope)
    moves = (float(np.hypot(*(na - a))), float(np.hypot(*(nb - b))))
    if max(moves) > bound:
        return bound_failure(max(moves), bound, "the clicks")
    angle = math.degrees(math.atan2(nb[1] - na[1], nb[0] - na[0]))
    return EndplateFit(
        ((float(na[0]), float(na[1])), (float(nb[0]), float(nb[1]))),
        angle,
        side,
        confidence,
        rms,
        moves,
    )


def _xy(p: Sequence[float], what: str) -> np.ndarray:
    arr = np.asarray(p, dtype=float)
    if arr.shape != (2,) or not np.isfinite(arr).all():
        raise InvalidArgumentError.about(
            what, f"{{{what}}}: must be two finite numbers (x, y); got {{got!r}}", got=p
        )
    return arr


def _infer_body_side(
    img: np.ndarray, a: np.ndarray, u: np.ndarray, n: np.ndarray, length: float, sigma: float
) -> BodySide:
    """The brighter side of the clicked line, over a band a quarter of the endplate deep."""
    depth = max(0.25 * length, 4.0)
    ts = np.linspace(0.15, 0.85, 15) * length
    ss = np.concatenate([np.linspace(-depth, -2.0, 8), np.linspace(2.0, depth, 8)])
    px = a[0] + ts[:, None] * u[0] + ss[None, :] * n[0]
    py = a[1] + ts[:, None] * u[1] + ss[None, :] * n[1]
    win = local_window(img, px.min(), px.max(), py.min(), py.max(), sigma)
    if win is None:
        return BodySide.BELOW
    v, _ = win.sample(px, py)
    return BodySide.BELOW if v[:, ss > 0].mean() >= v[:, ss < 0].mean() else BodySide.ABOVE


def _line_search(
    dn: np.ndarray, tc: np.ndarray, bound: float, length: float
) -> tuple[float, float, float] | None:
    """The line ``s = s0 + slope * tc`` with the largest mean of *dn* along it."""
    n_st, n_s = dn.shape
    half = (n_s - 1) * _STEP_PX / 2
    span = float(tc.max() - tc.min()) if n_st > 1 else 1.0
    tmax = math.tan(math.radians(_MAX_TILT_DEG))
    n_b = int(min(2 * tmax * span / _STEP_PX + 1, 241))
    slopes = np.linspace(-tmax, tmax, max(n_b, 3))
    offsets = np.arange(n_s)
    best_score, best = -np.inf, None
    for slope in slopes:
        shift = np.rint(slope * tc / _STEP_PX).astype(int)
        idx = offsets[None, :] + shift[:, None]
        ok = (idx >= 0) & (idx < n_s)
        vals = np.where(ok, np.take_along_axis(dn, np.clip(idx, 0, n_s - 1), axis=1), np.nan)
        cover = ok.mean(axis=0)
        mean = np.nanmean(np.where(ok, vals, np.nan), axis=0)
        # either polarity: annotators put the corner on the cortical line, whose two sides step opposite ways
        pol = np.where(mean >= 0, 1.0, -1.0)
        score = np.where(mean >= 0, mean, -_OPPOSITE_WEIGHT * mean)
        score = np.where(cover > 0.7, score, np.nan)
        # the line's offsets at the two corners must stay within the bound (searched with 4 px slack)
        s0 = offsets * _STEP_PX - half
        ends_a, ends_b = s0 + slope * (-length / 2), s0 + slope * (length / 2)
        ends = np.maximum(np.abs(ends_a), np.abs(ends_b))
        prior = np.exp(-0.5 * ((ends_a**2 + ends_b**2) / 2) / (_PRIOR_FRACTION * bound) ** 2)
        score = np.where((ends <= bound + 4.0) & np.isfinite(score), score * prior, -np.inf)
        k = int(np.argmax(score))
        if score[k] > best_score:
            best_score, best = float(score[k]), (float(s0[k]), float(slope), float(pol[k]))
    if best is None or not best_score > 0.5:
        return None
    return best


def _saturated(dn: np.ndarray, ss: np.ndarray, tc: np.ndarray, s0: float, slope: float) -> bool:
    """Whether most stations' clipped response is at the clip on the searched line (a strong clean edge)."""
    idx = np.clip(np.rint((s0 + slope * tc - ss[0]) / _STEP_PX).astype(int), 0, dn.shape[1] - 1)
    return bool(np.mean(np.abs(dn[np.arange(dn.shape[0]), idx]) >= _CLIP - 1e-9) > 0.5)


def _crest(
    d: np.ndarray, ss: np.ndarray, tc: np.ndarray, s0: float, slope: float, reach: float
) -> tuple[float, float]:
    """The crest of the ridge of the unclipped response *d* that the line ``s0 + slope * tc`` is on.

    The search clips the response at 6 noise units so that one strong feature cannot outvote
    the endplate; a strong clean edge then is a flat-topped ridge several pixels wide, and the
    search's choice within it leans toward the clicks. The median response along the line (robust,
    not clipped) is climbed from the searched line to its nearest local maximum (within *reach*
    and +-3 degrees), so the line moves to the crest of its own edge and never to a stronger edge
    nearby (a double contour).
    """
    n_st, n_s = d.shape
    rows = np.arange(n_st)[:, None]
    offsets = np.arange(-reach, reach + _STEP_PX / 2, _STEP_PX)
    span = float(tc.max() - tc.min()) if n_st > 1 else 1.0
    dslope = math.tan(math.radians(3.0))
    slopes = slope + np.linspace(-dslope, dslope, 2 * max(1, int(dslope * span / _STEP_PX)) + 1)
    score = np.empty((slopes.size, offsets.size))
    for i, sl in enumerate(slopes):
        s_line = (s0 + offsets)[None, :] + sl * tc[:, None]
        idx = np.rint((s_line - ss[0]) / _STEP_PX).astype(int)
        ok = (idx >= 0) & (idx < n_s)
        vals = np.where(ok, d[rows, np.clip(idx, 0, n_s - 1)], np.nan)
        with np.errstate(all="ignore"):
            med = np.nanmedian(vals, axis=0) if ok.any() else np.full(offsets.size, np.nan)
        score[i] = np.where((ok.mean(axis=0) > 0.7) & np.isfinite(med), med, -np.inf)
    i, j = slopes.size // 2, offsets.size // 2  # the searched line
    while True:
        lo_i, lo_j = max(i - 1, 0), max(j - 1, 0)
        block = score[lo_i : i + 2, lo_j : j + 2]
        bi, bj = np.unravel_index(int(np.argmax(block)), block.shape)
        if block[bi, bj] <= score[i, j]:
            break
        i, j = lo_i + int(bi), lo_j + int(bj)
    return float(s0 + offsets[j]), float(slopes[i])


def _station_peaks(
    d: np.ndarray, ss: np.ndarray, s_line: np.ndarray, reach: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per station, the sub-pixel position and height of the highest *d* within *reach* of the line."""
    n_st = d.shape[0]
    pos = np.empty(n_st)
    val = np.empty(n_st)
    for k in range(n_st):
        sel = np.flatnonzero(np.abs(ss - s_line[k]) <= reach)
        j = sel[int(np.argmax(d[k, sel]))]
        pos[k], val[k] = ss[j], d[k, j]
        if 0 < j < d.shape[1] - 1:
            y0, y1, y2 = d[k, j - 1], d[k, j], d[k, j + 1]
            den = y0 - 2 * y1 + y2
            if den < 0:
                pos[k] += 0.5 * (y0 - y2) / den * _STEP_PX
    return pos, val


def _irls_line(
    t: np.ndarray, s: np.ndarray, usable: np.ndarray, s0: float, slope: float, c: float = 1.5
) -> tuple[float, float, np.ndarray, float] | None:
    """Tukey-biweight line fit ``s = s0 + slope * t`` starting from the searched line."""
    if usable.sum() < max(4, 0.3 * len(t)):
        return None
    for _ in range(20):
        r = s - (s0 + slope * t)
        w = np.where(usable & (np.abs(r) < c), (1 - (r / c) ** 2) ** 2, 0.0)
        if w.sum() <= 0 or (w > 0).sum() < 3:
            return None
        a = np.column_stack([np.ones_like(t), t]) * np.sqrt(w)[:, None]
        sol, *_ = np.linalg.lstsq(a, s * np.sqrt(w), rcond=None)
        done = abs(sol[0] - s0) < 1e-4 and abs(sol[1] - slope) < 1e-6
        s0, slope = float(sol[0]), float(sol[1])
        if done:
            break
    r = s - (s0 + slope * t)
    inl = usable & (np.abs(r) < c)
    if inl.sum() < 3:
        return None
    return s0, slope, inl, float(np.sqrt(np.mean(r[inl] ** 2)))


def _project(
    p: np.ndarray, a: np.ndarray, u: np.ndarray, n: np.ndarray, tmid: float, s0: float, slope: float
) -> np.ndarray:
    """Orthogonal projection of image point *p* onto the line ``s = s0 + slope * (t - tmid)``."""
    q = a + tmid * u + s0 * n  # a point of the line
    d = u + slope * n
    d = d / np.hypot(*d)
    return q + float(np.dot(p - q, d)) * d
