"""Femoral-head circles from a rough click or a few rim points.

:func:`refine_femoral_head` finds the bright disc of a femoral head near the
click: a coarse search scores every candidate circle by the inward-bright
edge along it, and a fine fit places the rim on the radial intensity
profiles and fits a circle to it robustly.

Coordinates are ``(x, y)`` image pixels: x = column, y = row, y down.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import CircleModel, ransac

from ..errors import DegenerateGeometryError, InvalidArgumentError
from ..points.circle import Circle, fit_circle
from .common import RefineFailure, bound_failure, check_image, local_window, mean_spacing

__all__ = [
    "FemoralHeadFit",
    "FemoralHeadPair",
    "refine_femoral_head",
    "refine_femoral_head_pair",
    "femoral_head_radius_range_px",
    "FEMORAL_HEAD_RADIUS_MM",
    "FEMORAL_HEAD_BOUND_MM",
]

#: Prior on the femoral-head radius, mm, on a calibrated film. Assumption: adult
#: femoral heads are 40-56 mm across (radius 20-28 mm), the range commonly
#: quoted in anatomy texts and arthroplasty sizing; the prior is widened to
#: 18 mm for adolescents and to 34 mm for radiographic magnification (up to
#: 1.2 when the spacing is that of the detector).
FEMORAL_HEAD_RADIUS_MM = (18.0, 34.0)
#: Default bound on the centre's move on a calibrated film, mm: a click more
#: than 15 mm (about two thirds of a radius) from the centre is not a click on
#: the head's centre.
FEMORAL_HEAD_BOUND_MM = 15.0
#: Uncalibrated films: radius prior in pixels (a whole-spine film at 0.1 to
#: 0.6 mm per pixel), and the bound as a fraction of the fitted radius.
FEMORAL_HEAD_RADIUS_PX = (25.0, 300.0)
FEMORAL_HEAD_BOUND_FRACTION = 0.6

_ANGLES_COARSE = 48
_ANGLES_FINE = 120
#: Coarse candidates given the fine fit when fitting a pair of heads.
_PAIR_CANDIDATES = 8
#: Two fits are one circle when centres and radii agree within this fraction of the radius.
_SAME_CIRCLE = 0.06
#: Coarse candidates closer than this fraction of the radius (centre and radius) are one candidate.
_SAME_COARSE = 0.04
#: A rim point's edge step must exceed this many noise spreads; the confidence saturates at
#: :data:`_RIM_SATURATES` (noise alone rarely makes a step of 3, true rims make 8-20).
_RIM_MIN = 4.0
_RIM_SATURATES = 8.0
#: Reach of the first fine pass, fraction of the radius: the coarse circle may follow the
#: acetabular roof's outer edge (3 mm outside the head) on top and the head below.
_REACH = 0.16


@dataclass(frozen=True)
class FemoralHeadFit:
    """A fitted femoral-head circle.

    Attributes
    ----------
    circle : Circle
        Centre ``(x, y)`` and radius in pixels, ``rms_px`` of the rim points.
    confidence : float
        In ``[0, 1]``: the fraction of rays with a rim point on the circle
        times the rim's edge strength relative to the noise (saturating).
    support : float
        Fraction of the rays whose rim point lies on the fitted circle.
    move_px : float
        Distance from the start (click or rim-point centre) to the centre.
    """

    circle: Circle
    confidence: float
    support: float
    move_px: float


def femoral_head_radius_range_px(mm_per_px: float | Sequence[float] | None) -> tuple[float, float]:
    """The radius prior in pixels: :data:`FEMORAL_HEAD_RADIUS_MM` scaled, or the pixel range.

    Examples
    --------
    >>> femoral_head_radius_range_px(0.2), femoral_head_radius_range_px(None)
    ((90.0, 170.0), (25.0, 300.0))
    """
    spacing = mean_spacing(mm_per_px)
    if spacing is None:
        return FEMORAL_HEAD_RADIUS_PX
    lo, hi = FEMORAL_HEAD_RADIUS_MM
    return (lo / spacing, hi / spacing)


def refine_femoral_head(
    image: np.ndarray,
    click: Sequence[float] | None = None,
    *,
    rim: Sequence[Sequence[float]] | None = None,
    mm_per_px: float | Sequence[float] | None = None,
    radius_range_px: tuple[float, float] | None = None,
    max_shift_px: float | None = None,
    avoid: Sequence[Sequence[float]] = (),
    min_confidence: float = 0.3,
) -> FemoralHeadFit | RefineFailure:
    """Fit the femoral head near a rough centre click, or to a few rim points.

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey image, bone bright. Only a window around the head is read.
    click : (x, y), optional
        A rough click on the head's centre, pixels.
    rim : array_like, shape (M, 2), optional
        Three or more rough rim points instead of a click: the search starts
        from their least-squares circle and keeps within 15 % of its radius.
    mm_per_px : float or (row, col), optional
        Pixel spacing: the radius prior and bound in millimetres.
    radius_range_px : (float, float), optional
        The radius prior in pixels; default :func:`femoral_head_radius_range_px`.
    max_shift_px : float, optional
        The centre never moves further than this from the start. Default:
        15 mm when calibrated, else 0.6 x the fitted radius.
    avoid : sequence of (x, y)
        Centres of other heads already placed (the two heads overlap on a
        lateral film): a candidate within a quarter radius of one is skipped.
    min_confidence : float
        Fits below this confidence are declined.

    Returns
    -------
    FemoralHeadFit or RefineFailure

    Raises
    ------
    InvalidArgumentError
        *image* is not 2-D, neither or both of *click* and *rim* are given, or
        *radius_range_px* is not ``0 < low < high``.

    Notes
    -----
    Coarse stage: the window is block-averaged so that the smallest radius is
    about 20 samples, smoothed (sigma 1) and differentiated; every circle with
    its centre within the bound and its radius within the prior is scored by
    the mean, over 48 angles, of the inward-bright radial gradient on it
    (clipped to the window's 95th percentile of gradient magnitude, so a
    bright acetabular line cannot outvote the rim). Of the local maxima
    scoring at least 0.8 of the best, the nearest to the start wins. Fine
    stage: on 120 rays within 16 % of the radius of that circle, up to three
    bright-to-dark steps per ray stronger than 4 noise spreads are rim
    candidates (the noise is the MAD of each ray's derivative minus the mean
    of its neighbours', so the rim, which runs across rays, does not inflate
    it); :func:`skimage.measure.ransac` (300 seeded trials, radius within
    20 % of the coarse one) picks the circle with most candidates within
    1.5 px (under the acetabular roof the head's edge and the roof's outer
    edge are both candidates), :func:`~spinecheck.landmarks.points.circle.fit_circle`
    is refitted to its inliers, the best one per ray, until they settle, then
    again from that circle within 3 % of the radius. The confidence is
    ``min(1, support / 0.6) * min(1, strength / 8)``, strength being the
    median step of the inliers in noise spreads.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:200, 0:200]
    >>> img = 100.0 * ((xx - 95.0) ** 2 + (yy - 102.0) ** 2 < 40.0**2)
    >>> fit = refine_femoral_head(img, (105, 95), radius_range_px=(25, 60))
    >>> [round(v) for v in (*fit.circle.center, fit.circle.radius)]
    [95, 102, 40]
    """
    img = check_image(image)
    if (click is None) == (rim is None):
        raise InvalidArgumentError.about(
            "click",
            "{click} or {rim}: give either a click (x, y) or rim points, not both or neither",
            names={"rim": "rim"},
        )
    lo, hi = radius_range_px if radius_range_px is not None else femoral_head_radius_range_px(mm_per_px)
    if not 0 < lo < hi:
        raise InvalidArgumentError.about(
            "radius_range_px", "{radius_range_px}: must be 0 < low < high; got {got!r}", got=(lo, hi)
        )
    spacing = mean_spacing(mm_per_px)
    if rim is not None:
        try:
            start_circle = fit_circle(np.asarray(rim, dtype=float), where="rim points")
        except DegenerateGeometryError as e:
            return RefineFailure(str(e))
        start = np.array(start_circle.center)
        r0 = start_circle.radius
        lo, hi = max(lo, 0.85 * r0), min(hi, 1.15 * r0)
        if lo >= hi:
            return RefineFailure(
                f"the rim points make a circle of radius {r0:.1f} px, outside the "
                f"{_show_range(radius_range_px, mm_per_px)} prior"
            )
        what = "the rim points"
    else:
        start = np.asarray(click, dtype=float)
        if start.shape != (2,) or not np.isfinite(start).all():
            raise InvalidArgumentError.about(
                "click", "{click}: must be two finite numbers (x, y); got {got!r}", got=click
            )
        what = "the click"

    bound_for = _bound_rule(max_shift_px, spacing)

    avoid_arr = np.asarray(avoid, dtype=float).reshape(-1, 2)
    candidates = _search(img, start, lo, hi, bound_for, spacing)
    if not candidates:
        return RefineFailure("no bright disc edge near " + what + " (flat image or off the image)")
    best = max(c[3] for c in candidates)
    strong = [c for c in candidates if c[3] >= 0.8 * best]
    strong = [c for c in strong if not np.any(np.hypot(*(avoid_arr - c[:2]).T) < 0.25 * c[2])] or strong
    cx, cy, r, _ = min(strong, key=lambda c: math.hypot(c[0] - start[0], c[1] - start[1]))
    fit = _fit_candidate(img, (cx, cy, r), (lo, hi), spacing, mm_per_px, min_confidence)
    if isinstance(fit, RefineFailure):
        return fit
    circle, confidence, support = fit
    move = float(np.hypot(*(np.array(circle.center) - start)))
    bound = bound_for(circle.radius)
    if move > bound:
        return bound_failure(move, bound, what)
    return FemoralHeadFit(circle, confidence, support, move)


@dataclass(frozen=True)
class FemoralHeadPair:
    """Both femoral heads of a lateral film, fitted together.

    Attributes
    ----------
    fits : (FemoralHeadFit, FemoralHeadFit)
        One fit per click, in the order of the clicks; ``move_px`` is from
        that click. The circles are assigned to the clicks by the smallest
        total move (on a lateral film the names of the heads are
        interchangeable for the hip axis, formats.md §1).
    confidence : float
        The lower of the two fits' confidences.
    swapped : bool
        True when the circle nearer each click was not the one assigned to it
        (the clicks were each nearer the other head).
    """

    fits: tuple[FemoralHeadFit, FemoralHeadFit]
    confidence: float
    swapped: bool = False


def refine_femoral_head_pair(
    image: np.ndarray,
    clicks: Sequence[Sequence[float]],
    *,
    mm_per_px: float | Sequence[float] | None = None,
    radius_range_px: tuple[float, float] | None = None,
    max_shift_px: float | None = None,
    min_confidence: float = 0.3,
) -> FemoralHeadPair | RefineFailure:
    """Fit both superimposed femoral heads of a lateral film from two rough centre clicks.

    On a lateral film the two heads overlap, their centres a few millimetres
    apart, so a click 10 mm off is often nearer the other head: fitted one at
    a time, both clicks can land on the same head. Fitted as a pair, the two
    best *distinct* circles near the clicks are found and then given to the
    clicks by the smallest total move.

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey image, bone bright. Only windows around the heads are read.
    clicks : array_like, shape (2, 2)
        Rough clicks ``(x, y)`` on the two heads' centres, pixels.
    mm_per_px, radius_range_px, max_shift_px, min_confidence
        As for :func:`refine_femoral_head`; the bound applies to each
        click's move after the assignment.

    Returns
    -------
    FemoralHeadPair or RefineFailure
        Declined when fewer than two distinct head circles are found, or when
        the assignment would move a click further than the bound.

    Raises
    ------
    InvalidArgumentError
        *image* is not 2-D, *clicks* is not two finite ``(x, y)`` points, or
        *radius_range_px* is not ``0 < low < high``.

    Notes
    -----
    The coarse candidates of :func:`refine_femoral_head` are collected around
    both clicks; the :data:`_PAIR_CANDIDATES` best are each given the fine
    fit, and fits that converge on the same circle (centres and radii within
    :data:`_SAME_CIRCLE` of the radius) are merged. Of all pairs of the
    remaining circles, the one with the largest summed edge support (rim-ray
    fraction times the saturating edge strength of each) within the bound
    wins, and the assignment minimising ``|a - c1| + |b - c2|`` is used.

    Examples
    --------
    >>> from spinecheck.landmarks.synthetic.films import synthetic_lateral
    >>> film = synthetic_lateral(0)  # 0.2 mm/px; heads 8 mm apart
    >>> left, right = (np.array(film.landmarks.points[n]) for n in ("FH.left", "FH.right"))
    >>> clicks = [right + (10, 45), right + (-45, 10)]  # both ~9 mm off, both on the same side
    >>> pair = refine_femoral_head_pair(film.pixels, clicks, mm_per_px=0.2)
    >>> p, q = (np.array(f.circle.center) for f in pair.fits)
    >>> err_px = min(max(np.hypot(*(p - a)), np.hypot(*(q - b))) for a, b in ((left, right), (right, left)))
    >>> bool(err_px * 0.2 < 0.5)  # both heads within half a millimetre
    True
    """
    img = check_image(image)
    starts = np.asarray(clicks, dtype=float)
    if starts.shape != (2, 2) or not np.isfinite(starts).all():
        raise InvalidArgumentError.about(
            "clicks", "{clicks}: must be two (x, y) points of finite numbers; got {got!r}", got=clicks
        )
    lo, hi = radius_range_px if radius_range_px is not None else femoral_head_radius_range_px(mm_per_px)
    if not 0 < lo < hi:
        raise InvalidArgumentError.about(
            "radius_range_px", "{radius_range_px}: must be 0 < low < high; got {got!r}", got=(lo, hi)
        )
    spacing = mean_spacing(mm_per_px)

    bound_for = _bound_rule(max_shift_px, spacing)

    # the two clicks' searches sample different grids: one circle comes back as near-twins that,
    # kept apart, crowd the other head out of the few candidates given the fine fit
    found = [c for start in starts for c in _search(img, start, lo, hi, bound_for, spacing)]
    if not found:
        return RefineFailure("no bright disc edge near the clicks (flat image or off the image)")
    ranked: list[tuple[float, float, float]] = []
    for c in sorted(found, key=lambda c: c[3], reverse=True):
        tol = _SAME_COARSE * c[2]
        if all(math.dist(c[:2], k[:2]) > tol or abs(c[2] - k[2]) > tol for k in ranked):
            ranked.append(c[:3])
        if len(ranked) == _PAIR_CANDIDATES:
            break
    circles: list[tuple[Circle, float, float, float]] = []  # circle, confidence, support, edge
    reasons = []
    for cand in ranked:
        fit = _fit_candidate(img, cand, (lo, hi), spacing, mm_per_px, min_confidence)
        if isinstance(fit, RefineFailure):
            reasons.append(fit.reason)
            continue
        circle, confidence, support = fit
        edge = confidence * min(1.0, support / 0.6) ** -1 * support  # support x saturating strength
        same = [k for k, c in enumerate(circles) if _same_circle(c[0], circle)]
        if not same:
            circles.append((circle, confidence, support, edge))
        elif edge > circles[same[0]][3]:
            circles[same[0]] = (circle, confidence, support, edge)
    if len(circles) < 2:
        why = "only one femoral-head circle" if circles else "no femoral-head circle"
        detail = f" ({reasons[0]})" if reasons and not circles else ""
        return RefineFailure(f"{why} found near the two clicks{detail}; kept the clicks")
    best: tuple[float, FemoralHeadPair] | None = None
    over = math.inf
    for i in range(len(circles)):
        for j in range(i + 1, len(circles)):
            ci, cj = circles[i][0], circles[j][0]
            straight = math.dist(starts[0], ci.center) + math.dist(starts[1], cj.center)
            crossed = math.dist(starts[0], cj.center) + math.dist(starts[1], ci.center)
            # the smaller total move first, but never an assignment beyond the bound when the other is within it
            options = [(circles[i], circles[j]), (circles[j], circles[i])]
            if crossed < straight:
                options.reverse()
            excess = math.inf
            for first, second in options:
                moves = [math.dist(starts[k], c[0].center) for k, c in enumerate((first, second))]
                excess = max(m - bound_for(c[0].radius) for m, c in zip(moves, (first, second), strict=True))
                if excess <= 0:
                    break
            if excess > 0:
                over = min(over, excess)
                continue
            score = circles[i][3] + circles[j][3]
            if best is None or score > best[0]:
                # per click, the nearer circle (circles[i] on a tie, as min() would give)
                nearest = [
                    circles[i] if math.dist(s, ci.center) <= math.dist(s, cj.center) else circles[j]
                    for s in starts
                ]
                fits = (
                    FemoralHeadFit(first[0], first[1], first[2], moves[0]),
                    FemoralHeadFit(second[0], second[1], second[2], moves[1]),
                )
                pair = FemoralHeadPair(
                    fits,
                    min(first[1], second[1]),
                    swapped=nearest[0] is second and nearest[1] is first,
                )
                best = (score, pair)
    if best is None:
        bound = bound_for(circles[0][0].radius)
        return RefineFailure(
            f"the two head circles found would move a click more than the {bound:.3g} px bound "
            f"(by {over:.1f} px); kept the clicks"
        )
    return best[1]


def _same_circle(a: Circle, b: Circle) -> bool:
    """Two fits of one circle: centres and radii within :data:`_SAME_CIRCLE` of the radius."""
    tol = _SAME_CIRCLE * max(a.radius, b.radius)
    return math.dist(a.center, b.center) < tol and abs(a.radius - b.radius) < tol


def _search(
    img: np.ndarray,
    start: np.ndarray,
    lo: float,
    hi: float,
    bound_for: Callable[[float], float],
    spacing: float | None,
) -> list[tuple[float, float, float, float]]:
    """Coarse candidates ``(cx, cy, r, score)`` around *start* in every radius band of the prior."""
    candidates = []
    for band_lo, band_hi in _bands(lo, hi):
        # searched at least as far as the default bound, so a tighter bound declines with its reason
        reach = max(bound_for(band_hi), _default_bound(band_hi, spacing))
        candidates += _coarse_candidates(img, start, band_lo, band_hi, reach + 0.1 * band_hi)
    return candidates


def _fit_candidate(
    img: np.ndarray,
    candidate: tuple[float, float, float],
    prior: tuple[float, float],
    spacing: float | None,
    mm_per_px: float | Sequence[float] | None,
    min_confidence: float,
) -> tuple[Circle, float, float] | RefineFailure:
    """The fine fit from a coarse circle ``(cx, cy, r)``: ``(circle, confidence, support)`` or why not."""
    cx, cy, r = candidate
    lo, hi = prior
    fine = _fine_fit(img, np.array([cx, cy]), r, max(2.0, _REACH * r))
    if isinstance(fine, RefineFailure):
        return fine
    # again from the fitted circle, closer in: the first pass may have started a few pixels off
    fine = _fine_fit(img, np.array(fine[0].center), fine[0].radius, max(2.0, 0.03 * r))
    if isinstance(fine, RefineFailure):
        return fine
    circle, support, strength = fine
    if not lo * 0.95 <= circle.radius <= hi * 1.05:
        return RefineFailure(
            f"the circle found has radius {_show_len(circle.radius, spacing)}, outside the "
            f"{_show_range((lo, hi), mm_per_px)} prior"
        )
    confidence = float(min(1.0, support / 0.6) * min(1.0, strength / _RIM_SATURATES))
    if confidence < min_confidence:
        return RefineFailure(
            f"the femoral-head rim is weak (confidence {confidence:.2f} < {min_confidence:.2f})"
        )
    return circle, confidence, float(support)


def _default_bound(radius: float, spacing: float | None) -> float:
    return FEMORAL_HEAD_BOUND_MM / spacing if spacing else FEMORAL_HEAD_BOUND_FRACTION * radius


def _bound_rule(max_shift_px: float | None, spacing: float | None) -> Callable[[float], float]:
    """The bound on a head's move, for its radius: the caller's, else the default."""
    if max_shift_px is not None:
        return lambda _radius: float(max_shift_px)
    return functools.partial(_default_bound, spacing=spacing)


def _bands(lo: float, hi: float) -> list[tuple[float, float]]:
    """Split the radius range into bands at most a factor 2 wide (each gets its own sampling)."""
    out = []
    while lo < hi:
        top = min(hi, 2 * lo)
        out.append((lo, top))
        lo = top
    return out


def _coarse_candidates(
    img: np.ndarray, start: np.ndarray, r_lo: float, r_hi: float, bound: float
) -> list[tuple[float, float, float, float]]:
    """Local maxima ``(cx, cy, r, score)`` of the circle score for centres within *bound* of *start*."""
    f = max(1, int(r_lo / 20))
    reach = bound + r_hi * 1.1 + 3 * f
    win = local_window(img, start[0] - reach, start[0] + reach, start[1] - reach, start[1] + reach)
    if win is None:
        return []
    h, w = (win.data.shape[0] // f) * f, (win.data.shape[1] // f) * f
    if h < 4 * f or w < 4 * f:
        return []
    small = win.data[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    small = ndi.gaussian_filter(small, 1.0, mode="nearest")
    gy, gx = np.gradient(small)
    mag = np.hypot(gx, gy)
    scale = float(np.percentile(mag, 95))
    if not scale > 0:
        return []
    # coarse-grid coordinates: sample (i, j) covers image x = x0 + f*j + (f-1)/2
    off_x, off_y = win.x0 + (f - 1) / 2, win.y0 + (f - 1) / 2
    sx, sy = (start[0] - off_x) / f, (start[1] - off_y) / f
    b = bound / f
    ys = np.arange(math.floor(sy - b), math.ceil(sy + b) + 1)
    xs = np.arange(math.floor(sx - b), math.ceil(sx + b) + 1)
    cy, cx = np.meshgrid(ys, xs, indexing="ij")
    keep = np.hypot(cx - sx, cy - sy) <= b
    cx, cy = cx[keep].astype(float), cy[keep].astype(float)
    phi = np.linspace(0, 2 * np.pi, _ANGLES_COARSE, endpoint=False)
    cos, sin = np.cos(phi), np.sin(phi)
    radii = np.arange(r_lo / f, r_hi / f + 0.5, 0.5)
    scores = np.full((len(radii), len(cx)), -np.inf)
    hs, ws = small.shape
    for k, rad in enumerate(radii):
        px = cx[:, None] + rad * cos[None, :]
        py = cy[:, None] + rad * sin[None, :]
        ix, iy = np.rint(px).astype(int), np.rint(py).astype(int)
        ok = (ix >= 0) & (ix < ws) & (iy >= 0) & (iy < hs)
        ixc, iyc = np.clip(ix, 0, ws - 1), np.clip(iy, 0, hs - 1)
        radial = gx[iyc, ixc] * cos[None, :] + gy[iyc, ixc] * sin[None, :]
        e = np.clip(-radial / scale, 0.0, 1.0) * ok
        # a circle reaching off the image is scored on its visible part, but needs most of it visible
        seen = ok.mean(axis=1)
        scores[k] = np.where(seen >= 0.7, e.sum(axis=1) / np.maximum(ok.sum(axis=1), 1), -np.inf)
    best_r = np.argmax(scores, axis=0)
    best = scores[best_r, np.arange(len(cx))]
    grid = np.full((len(ys), len(xs)), -np.inf)
    grid[keep] = best
    peaks = (grid == ndi.maximum_filter(grid, size=3, mode="constant", cval=-np.inf)) & np.isfinite(grid)
    out = []
    flat = np.full(grid.shape, -1)
    flat[keep] = np.arange(len(cx))
    for i, j in zip(*np.nonzero(peaks), strict=True):
        idx = flat[i, j]
        kr = best_r[idx]
        if kr in (0, len(radii) - 1) and len(radii) > 2 and r_lo / f > 3:
            continue  # the best radius at the end of the band: the true circle is in another band or none
        out.append((cx[idx] * f + off_x, cy[idx] * f + off_y, radii[kr] * f, float(best[idx])))
    return [c for c in out if c[3] > 0.05]


def _fine_fit(
    img: np.ndarray, centre: np.ndarray, r: float, reach: float
) -> tuple[Circle, float, float] | RefineFailure:
    """Rim points on rays from *centre* within *reach* of radius *r*, and a trimmed circle fit."""
    phi = np.linspace(0, 2 * np.pi, _ANGLES_FINE, endpoint=False)
    rs = np.arange(r - reach, r + reach + 0.25, 0.5)
    px = centre[0] + rs[None, :] * np.cos(phi)[:, None]
    py = centre[1] + rs[None, :] * np.sin(phi)[:, None]
    sigma = float(np.clip(r / 60, 1.0, 3.0))
    win = local_window(img, px.min(), px.max(), py.min(), py.max(), sigma)
    if win is None:
        return RefineFailure("the femoral head lies off the image")
    prof, inside = win.sample(px, py)
    rays = np.asarray(inside.all(axis=1))  # asarray: numpy's stubs allow a scalar for .all(axis=1)
    if rays.mean() < 0.6:
        return RefineFailure("the femoral head is too close to the image border")
    d = -np.gradient(prof, 0.5, axis=1)  # bright inside: the rim is a positive step outward
    peak = float(np.abs(d[rays]).max())
    spread = max(_ray_noise(d, rays), 0.02 * peak)
    if not peak > 0:
        return RefineFailure("no femoral-head rim near the click (the image is flat there)")
    # up to three rim candidates per ray: under the acetabulum the head's own edge is the inner,
    # often weaker, of two bright-to-dark steps (the roof's outer edge lies a few mm outside it)
    dz = np.where(rays[:, None], d, -np.inf)
    is_max = np.zeros_like(dz, dtype=bool)
    is_max[:, 1:-1] = (dz[:, 1:-1] >= dz[:, :-2]) & (dz[:, 1:-1] > dz[:, 2:])
    score = np.where(is_max, dz, -np.inf)
    order = np.argsort(-score, axis=1)[:, :3]
    cand_r = rs[order].ravel()
    cand_s = (np.take_along_axis(score, order, axis=1) / spread).ravel()
    cand_ray = np.repeat(np.arange(len(phi)), 3)
    use = np.isfinite(cand_s) & (cand_s > _RIM_MIN)
    if len(np.unique(cand_ray[use])) < 8:
        return RefineFailure("too few rim points on the femoral head's edge")
    pts = np.column_stack(
        [centre[0] + cand_r * np.cos(phi[cand_ray]), centre[1] + cand_r * np.sin(phi[cand_ray])]
    )[use]
    strength_all, ray_all = cand_s[use], cand_ray[use]
    keep = _ransac_inliers(pts, r, tol=1.5)
    if keep is None or len(np.unique(ray_all[keep])) < 8:
        return RefineFailure("the femoral-head rim points do not make a circle")
    circle = None
    for _ in range(4):
        try:
            circle = fit_circle(pts[keep], where="rim")
        except DegenerateGeometryError:
            return RefineFailure("the femoral-head rim points do not make a circle")
        res = np.abs(np.hypot(pts[:, 0] - circle.center[0], pts[:, 1] - circle.center[1]) - circle.radius)
        new = _one_per_ray(res, ray_all, 1.5)
        if new.sum() < 8:
            return RefineFailure("too few rim points agree on one circle")
        if np.array_equal(new, keep):
            break
        keep = new
    assert circle is not None
    support = float(keep.sum() / len(phi))
    return circle, support, float(np.median(strength_all[keep]))


def _ray_noise(d: np.ndarray, rays: np.ndarray) -> float:
    """Noise of the radial derivative *d* (rays x radii), robust to the rim itself.

    The rim runs across neighbouring rays at nearly the same radius, the
    noise does not: the spread (MAD) of each ray's difference from the mean
    of its two neighbours, scaled by ``sqrt(2/3)`` to one ray's noise.
    """
    both = rays & np.roll(rays, 1) & np.roll(rays, -1)
    if not both.any():
        both = rays
    res = (d - 0.5 * (np.roll(d, 1, axis=0) + np.roll(d, -1, axis=0)))[both]
    return 1.4826 * float(np.median(np.abs(res - np.median(res)))) / math.sqrt(1.5)


def _one_per_ray(res: np.ndarray, ray: np.ndarray, tol: float) -> np.ndarray:
    """Inliers (residual < *tol*), at most the best one per ray."""
    ok = res < tol
    out = np.zeros(len(res), dtype=bool)
    order = np.lexsort((res, ray))
    seen: set[int] = set()
    for i in order:
        if ok[i] and ray[i] not in seen:
            out[i] = True
            seen.add(int(ray[i]))
    return out


def _ransac_inliers(pts: np.ndarray, r_guess: float, tol: float) -> np.ndarray | None:
    """Rim points within *tol* of the best circle through three of them, by :func:`skimage.measure.ransac`.

    Circles whose radius differs from *r_guess* by more than 20 % are not
    counted. The generator is seeded: the same image gives the same fit.
    Returns the inlier mask, or None when no three points make such a circle.
    """

    def radius_ok(model: CircleModel, _data: np.ndarray) -> bool:
        return bool(abs(model.radius - r_guess) <= 0.2 * r_guess)

    with warnings.catch_warnings():
        # ransac warns when no sample passes radius_ok (its inliers are then None) and when its refit to
        # all inliers leaves the radius window; the caller refits the inliers and judges the radius itself
        warnings.filterwarnings("ignore", "No inliers found|Estimated model is not valid", UserWarning)
        _, inliers = ransac(pts, CircleModel, 3, tol, is_model_valid=radius_ok, max_trials=300, rng=0)
    return inliers


def _show_len(px: float, spacing: float | None) -> str:
    return f"{px:.1f} px ({px * spacing:.1f} mm)" if spacing else f"{px:.1f} px"


def _show_range(rng: tuple[float, float] | None, mm_per_px: float | Sequence[float] | None) -> str:
    spacing = mean_spacing(mm_per_px)
    if rng is None:
        if spacing is not None:
            return f"{FEMORAL_HEAD_RADIUS_MM[0]:g}-{FEMORAL_HEAD_RADIUS_MM[1]:g} mm radius"
        rng = FEMORAL_HEAD_RADIUS_PX
    text = f"{rng[0]:.0f}-{rng[1]:.0f} px radius"
    return text + (f" ({rng[0] * spacing:.1f}-{rng[1] * spacing:.1f} mm)" if spacing else "")
