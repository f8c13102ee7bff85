"""Coronal parameters of AP/PA films (clinical.md §2), vectorised over studies.

Horizontal distances on an AP film are signed toward the patient's right when
the film says where that is (``patient_right``), else toward image right, and
the study carries a warning saying so. Point names ``left``/``right`` are
*image* left/right (formats.md §1).

Coronal curves
--------------
Each vertebra gets a tilt (degrees, counter-clockwise positive as displayed:
positive when its right side is higher):

``endplate`` (default)
    the superior and inferior endplates, each the line from its left to its
    right corner; a vertebra's tilt for curve detection is their mean, and a
    curve's Cobb angle is measured between the *superior* endplate of its upper
    end vertebra and the *inferior* endplate of its lower end vertebra.
``midline`` (SpineWeb/AASCE)
    the line joining the midpoints of the vertebra's left side and right side.

Curves are found on the sequence of tilts, top to bottom, as alternating
extremes (a zigzag with hysteresis ``min_curve_deg``): the end vertebrae are
the most tilted vertebrae bounding each curve; a reversal smaller than
``min_curve_deg`` does not start a new curve. When no reversal reaches it, the
annotated spine is one curve between its most tilted vertebrae (a curve below
the threshold is still measured and reported, never dropped). The apex is the vertebra whose
centre lies farthest from the line joining the end vertebrae's centres.

With the endplate method an end vertebra can lack a centre: the end is the vertebra
whose *endplate* tilts most, and one with only that endplate placed (its other two
corners missing, no ``centroid``) has that tilt but no centre. Such a curve keeps its
angle and ends, its apex is not known (-1 in :class:`~spinecheck.alignment.parameters.CurveTable`,
and a warning names the vertebra), and its convex side is told by its end tilts (the
endplate lines converge on the concave side) instead of by the apex.

Transitional anatomy (:mod:`spinecheck.landmarks.points.anatomy`): T13 and L6
take part in the curves where they are placed, and a spine without them has no
gap there. A sacralised vertebra is the top of the sacrum: neither it nor a
segment below it is a vertebra of the curves, and its superior endplate is the
sacral endplate of the CSVL (and of pelvic obliquity without iliac crests).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ...landmarks.points.anatomy import LevelRole
from ...landmarks.points.model import LandmarkTable
from ...landmarks.points.names import LEVELS, PatientRight, VocabularyEnum
from ..parameters import Constructions, CurveTable
from .plane import (
    NO_REASON,
    Inputs,
    Need,
    angle_from_horizontal_deg,
    coincide,
    column,
    has_reason,
    merge_reasons,
    per_level,
    wrap_deg,
)
from .sagittal import ParameterColumn

__all__ = [
    "CoronalResult",
    "coronal_parameters",
    "vertebra_tilts",
    "find_curves",
    "end_lines_px",
    "CobbMethod",
    "COBB_METHODS",
    "DEFAULT_MIN_CURVE_DEG",
]


class CobbMethod(VocabularyEnum):
    """How a coronal vertebra's tilt is measured (see the module notes).

    >>> CobbMethod(" Midline ") is CobbMethod.MIDLINE, CobbMethod.MIDLINE == "midline"
    (True, True)
    >>> CobbMethod.parse("apex", argument="cobb_method")
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidArgumentError: cobb_method: must be one of 'endplate', 'midline'; got 'apex'
    """

    ENDPLATE = "endplate"
    MIDLINE = "midline"


#: The values of :class:`CobbMethod`, in order.
COBB_METHODS: tuple[str, ...] = tuple(m.value for m in CobbMethod)
#: Smallest tilt reversal that makes a separate curve: the Scoliosis Research
#: Society's definition of scoliosis, a lateral curvature of 10 deg Cobb or more
#: [S]. A smaller reversal is not a curve of its own. User-selectable.
DEFAULT_MIN_CURVE_DEG = 10.0

_AP = ("left", "right")


def _side_sign(table: LandmarkTable) -> tuple[np.ndarray, np.ndarray]:
    """+1 where the patient's right is image right, -1 image left; known mask."""
    pr = table.patient_right
    right = np.asarray(pr == PatientRight.IMAGE_RIGHT, dtype=bool)  # str enum: "image_right" matches too
    left = np.asarray(pr == PatientRight.IMAGE_LEFT, dtype=bool)
    return np.where(left, -1.0, 1.0), right | left


def vertebra_tilts(table: LandmarkTable, method: CobbMethod | str = "endplate") -> dict[str, np.ndarray]:
    """Tilts of every level C2..S1 (:data:`LEVELS`), in degrees, image frame (right side higher = positive).

    Returns
    -------
    dict with ``sup``, ``inf``, ``mid`` : ndarray, shape (N, 26)
        Superior endplate, inferior endplate and the vertebra's tilt used for
        curve detection (NaN where not annotated, and from a sacralised
        vertebra down: that is sacrum); ``centre_x``, ``centre_y`` : (N, 26) body
        centres in millimetres (x right, y down).
    """
    method = CobbMethod.parse(method, argument="method")
    n, k = len(table), len(LEVELS)
    sup = np.full((n, k), np.nan)
    inf = np.full((n, k), np.nan)
    mid = np.full((n, k), np.nan)
    cx = np.full((n, k), np.nan)
    cy = np.full((n, k), np.nan)
    point = _FramePoints(table)
    present = {name.split(".", 1)[0] for name in table.points}
    for j, level in enumerate(LEVELS):
        if level not in present:  # no point of this level in any study: its tilts and centre stay NaN
            continue
        if method == "midline":
            mid[:, j] = _tilt(*_tilt_line(point, level, "sup", method))
        else:
            sup[:, j] = _tilt(*_tilt_line(point, level, "sup", method))
            inf[:, j] = _tilt(*_tilt_line(point, level, "inf", method))
            mid[:, j] = (sup[:, j] + inf[:, j]) / 2
        centre = _centre(point, level)
        cx[:, j], cy[:, j] = centre[0], -centre[1]
    if table.sacralised is not None:  # a sacralised vertebra and what lies below it are sacrum, not curve
        for level in set(table.sacralised.tolist()) - {None}:
            rows = np.equal(table.sacralised, level)
            for tilt in (sup, inf, mid):
                tilt[rows, LEVELS.index(level) :] = np.nan
    if method == "midline":
        sup = inf = mid
    return {"sup": sup, "inf": inf, "mid": mid, "centre_x": cx, "centre_y": cy}


def _tilt_line(
    point: Callable[[str], np.ndarray], level: str, endplate: str, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """The line a vertebra's superior (or inferior) tilt is measured on, as its ``(left, right)`` ends.

    ``endplate``: that endplate; ``midline``: the line joining the midpoints
    of the vertebra's left and right sides, for both. *point* gives a point
    by name (``(2, N)`` frame points, or the ``(N, 2)`` pixels of some studies).
    """
    if method == "midline":
        left = (point(f"{level}.sup.left") + point(f"{level}.inf.left")) / 2
        return left, (point(f"{level}.sup.right") + point(f"{level}.inf.right")) / 2
    return point(f"{level}.{endplate}.left"), point(f"{level}.{endplate}.right")


def end_lines_px(table: LandmarkTable, curves: CurveTable) -> np.ndarray:
    """The lines each curve's Cobb angle was measured between, in image pixels (``CurveTable.end_lines_px``).

    The lines of :func:`vertebra_tilts` (the same rule, :func:`_tilt_line`),
    made from the pixels of the end vertebrae only, one level at a time: the
    *curves* of the studies of *table* (a row per study, its upper and lower
    end vertebrae), ``(N, K, 2, 2, 2)``, NaN where a curve pads.
    """
    n, k = curves.angle_deg.shape
    out = np.full((n * k, 2, 2, 2), np.nan)  # (study, curve) flattened
    # a line's four numbers, each written by a scatter of single items (scattering (2, 2) blocks: 50 -> 37 ms)
    items = out.reshape(n * k, 8)
    for which, endplate, ends in ((0, "sup", curves.upper), (1, "inf", curves.lower)):
        flat = np.flatnonzero(ends >= 0)
        if not len(flat):
            continue
        levels = ends.ravel()[flat].astype(np.int16)  # small ints: a radix sort
        order = np.argsort(levels, kind="stable")
        flat, levels = flat[order], levels[order]
        starts = np.flatnonzero(np.r_[True, levels[1:] != levels[:-1]])
        for a, b in zip(starts, [*starts[1:], len(levels)], strict=True):
            at = flat[a:b]
            line = _tilt_line(_pixels(table, at // max(k, 1)), LEVELS[levels[a]], endplate, curves.method)
            for end in (0, 1):  # left, right: (x, y) each
                for axis in (0, 1):
                    items[at, 4 * which + 2 * end + axis] = line[end][:, axis]
    return out.reshape(n, k, 2, 2, 2)


def _pixels(table: LandmarkTable, rows: np.ndarray) -> Callable[[str], np.ndarray]:
    """The ``(x, y)`` pixels of a point, by name, in these *rows* of *table*."""
    return lambda name: table.point(name)[rows]


def _tilt(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Tilt of the line left -> right, ``(2, N)`` points; NaN for zero-length lines."""
    t = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))  # angle_from_horizontal_deg
    return np.where((left[0] == right[0]) & (left[1] == right[1]), np.nan, t)


class _FramePoints:
    """Points of a table as ``(2, N)`` arrays ``(a, s)`` in millimetres (pixels where uncalibrated).

    ``a`` toward image right, ``s`` up: :func:`~spinecheck.alignment.geometry.plane.to_frame`
    with a sign of +1. One all-NaN array stands for every point no study has.
    """

    def __init__(self, table: LandmarkTable) -> None:
        self.table = table
        spacing = np.where(np.isfinite(table.mm_per_px), table.mm_per_px, 1.0)
        self.col, self.row = spacing[:, 1], spacing[:, 0]
        self.missing = np.full((2, len(table)), np.nan)
        self.cache: dict[str, np.ndarray] = {}

    def given(self, name: str) -> np.ndarray | None:
        """The point *name*, or None when no study has it."""
        got = self.cache.get(name)
        if got is None and name in self.table.points:
            xy = self.table.points[name]
            got = self.cache[name] = np.stack([xy[:, 0] * self.col, -xy[:, 1] * self.row])
        return got

    def __call__(self, name: str) -> np.ndarray:
        got = self.given(name)
        return self.missing if got is None else got


def _centre(point: _FramePoints, level: str) -> np.ndarray:
    """``(2, N)`` body centres: the explicit centroid, else the mean of the four corners (``Inputs.centre``)."""
    c = [point(f"{level}.{e}.{side}") for e in ("sup", "inf") for side in _AP]
    four = (c[0] + c[1] + c[2] + c[3]) / 4
    explicit = point.given(f"{level}.centroid")
    if explicit is None:
        return four
    return np.where(np.isfinite(explicit).all(axis=0), explicit, four)


#: Curves worked on at a time by :func:`find_curves` (each a row of every level): bounds the
#: temporaries of a million-study table, and keeps them in cache.
_CURVE_BLOCK = 1 << 14


def find_curves(
    tilts: dict[str, np.ndarray],
    min_curve_deg: float = DEFAULT_MIN_CURVE_DEG,
    method: CobbMethod | str = "endplate",
) -> CurveTable:
    """Coronal curves from vertebral tilts, for N studies at once.

    Parameters
    ----------
    tilts : dict
        The output of :func:`vertebra_tilts`.
    min_curve_deg : float
        Hysteresis of the extreme detection (see the module notes).
    method : CobbMethod or str
        The method *tilts* were measured with; how the end vertebrae are chosen.

    Returns
    -------
    CurveTable
        Curves top to bottom, padded with NaN / -1; its ``method`` is the
        method's string value.
    """
    method = CobbMethod.parse(method, argument="method").value
    # levels nobody placed (no tilt, no centre in any study) take no part: the work is on the others
    used = np.flatnonzero(
        np.logical_or.reduce([np.isfinite(tilts[key]).any(axis=0) for key in _TILT_KEYS], axis=0)
    )
    # a run of levels (the usual table) is a view of the tilts; levels left out take a copy
    cols = slice(used[0], used[-1] + 1) if len(used) and used[-1] - used[0] + 1 == len(used) else used
    sup, inf, mid, cx, cy = (tilts[key][:, cols] for key in _TILT_KEYS)
    n, k = mid.shape
    turning = _turning_points(mid, min_curve_deg)
    per_study = np.maximum(turning.sum(axis=1) - 1, 0)  # curves: one between each two turning points
    kmax = int(per_study.max(initial=0))
    angle = np.full((n, kmax), np.nan)
    upper = np.full((n, kmax), -1)
    lower = np.full((n, kmax), -1)
    apex = np.full((n, kmax), -1)
    convex = np.zeros((n, kmax), dtype=bool)
    if kmax == 0:
        return CurveTable(angle, upper, lower, apex, convex, method)
    # each study's turning points in order, padded with k (one more column: the turning point after the
    # last curve's lower end)
    order = np.full((n, k + 1), k)
    order[:, :k] = np.where(turning, np.arange(k), k)
    order.sort(axis=1)
    # every curve of every study, one row each: (study, curve number)
    study = np.repeat(np.arange(n), per_study)
    number = np.arange(len(study)) - np.repeat(np.cumsum(per_study) - per_study, per_study)
    rounded = (np.round(sup, 9), np.round(inf, 9)) if method == "endplate" else None
    levels = np.arange(k)
    for start in range(0, len(study), _CURVE_BLOCK):
        r, c = study[start : start + _CURVE_BLOCK], number[start : start + _CURVE_BLOCK]
        u, lo = order[r, c], order[r, c + 1]
        s, i_ = sup[r], inf[r]
        if rounded is not None:
            prev_end = np.where(c >= 1, order[r, np.maximum(c - 1, 0)], -1)
            u, lo = _refine_ends(s, i_, rounded[0][r], rounded[1][r], prev_end, order[r, c + 2], u, lo)
        at = np.arange(len(r))
        angle[r, c] = np.abs(wrap_deg(s[at, u] - i_[at, lo]))
        upper[r, c] = used[u]
        lower[r, c] = used[lo]
        # apex: farthest centre from the chord joining the end vertebrae's centres
        cxr, cyr = cx[r], cy[r]
        x0, y0, x1, y1 = cxr[at, u], cyr[at, u], cxr[at, lo], cyr[at, lo]
        dx, dy = x1 - x0, y1 - y0
        norm = np.hypot(dx, dy)
        dev = ((cxr - x0[:, None]) * dy[:, None] - (cyr - y0[:, None]) * dx[:, None]) / np.where(
            norm == 0, 1, norm
        )[:, None]
        inside = (levels[None, :] >= u[:, None]) & (levels[None, :] <= lo[:, None]) & np.isfinite(dev)
        score = np.where(inside, np.abs(dev), -1.0)
        ap = score.argmax(axis=1)
        # no chord (an end vertebra without a centre: its other endplate not placed) leaves no finite
        # score: the apex is not known (-1), and the convex side is told by the end tilts instead
        found = score[at, ap] >= 0
        apex[r, c] = np.where(found, used[ap], -1)
        # x right, y down, chord pointing down: dev > 0 puts the apex to image right of the chord;
        # the endplate lines converge on the concave side, so a positive Cobb difference is convex right
        convex[r, c] = np.where(found, dev[at, ap] > 0, wrap_deg(s[at, u] - i_[at, lo]) > 0)
    return CurveTable(angle, upper, lower, apex, convex, method)


_TILT_KEYS = ("sup", "inf", "mid", "centre_x", "centre_y")


def _turning_points(mid: np.ndarray, min_curve_deg: float) -> np.ndarray:
    """``(N, K)`` bool: the vertebrae where each study's tilts turn (a zigzag with hysteresis)."""
    n, k = mid.shape
    turning = np.zeros((n, k), dtype=bool)
    rows = np.arange(n)
    # state: 0 = no swing yet, +1 rising, -1 falling
    state = np.zeros(n, dtype=int)
    lo_val = np.full(n, np.inf)
    hi_val = np.full(n, -np.inf)
    lo_idx = np.full(n, -1)
    hi_idx = np.full(n, -1)
    ext_val = np.full(n, np.nan)
    ext_idx = np.full(n, -1)
    for j in range(k):
        t = mid[:, j]
        ok = np.isfinite(t)
        if not ok.any():  # a level no study has changes nothing below
            continue
        # before the first swing: track running low and high
        s0 = ok & (state == 0)
        new_lo = s0 & (t < lo_val)
        lo_val = np.where(new_lo, t, lo_val)
        lo_idx = np.where(new_lo, j, lo_idx)
        new_hi = s0 & (t > hi_val)
        hi_val = np.where(new_hi, t, hi_val)
        hi_idx = np.where(new_hi, j, hi_idx)
        up = s0 & (t - lo_val >= min_curve_deg) & (lo_idx < j)
        down = s0 & ~up & (hi_val - t >= min_curve_deg) & (hi_idx < j)
        turning[rows[up], lo_idx[up]] = True
        turning[rows[down], hi_idx[down]] = True
        state = np.where(up, 1, np.where(down, -1, state))
        ext_val = np.where(up | down, t, ext_val)
        ext_idx = np.where(up | down, j, ext_idx)
        # during a swing: extend it, or record its extreme when it reverses
        rising = ok & (state == 1) & ~(up | down)
        falling = ok & (state == -1) & ~(up | down)
        extend = (rising & (t > ext_val)) | (falling & (t < ext_val))
        reverse = (rising & (ext_val - t >= min_curve_deg)) | (falling & (t - ext_val >= min_curve_deg))
        turning[rows[reverse], ext_idx[reverse]] = True
        state = np.where(reverse, -state, state)
        ext_val = np.where(extend | reverse, t, ext_val)
        ext_idx = np.where(extend | reverse, j, ext_idx)
    swung = state != 0
    turning[rows[swung], ext_idx[swung]] = True
    # no reversal reached the threshold: the annotated spine is one (small) curve
    # between its most tilted vertebrae
    flat = ~swung & (lo_idx >= 0) & (hi_idx >= 0) & (lo_idx != hi_idx)
    turning[rows[flat], lo_idx[flat]] = True
    turning[rows[flat], hi_idx[flat]] = True
    return turning


def _refine_ends(
    sup: np.ndarray,
    inf: np.ndarray,
    sup_rounded: np.ndarray,
    inf_rounded: np.ndarray,
    prev_end: np.ndarray,
    next_end: np.ndarray,
    u: np.ndarray,
    lo: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Endplate method: the end vertebrae whose *endplates* are most tilted (SRS definition).

    The turning points come from the vertebrae's mean tilt. The upper end
    vertebra is the one whose superior endplate tilts most toward the curve's
    concavity, searched between the previous turning point and the lower
    turning point; the lower end, the one whose inferior endplate tilts most
    the other way, searched between the upper turning point and the next one.
    Where the ends so found break the definition (a vertebra between them with
    a superior endplate tilted beyond the upper end's, or an inferior endplate
    beyond the lower end's), the curve takes the pair of largest angle, in the
    same zones, that obeys it (:func:`_cobb_pair`); none: the ends as found.
    One row per curve: its study's tilts (*sup*, *inf*, and the same rounded
    to 1e-9 deg), the turning points before and after it (-1 and the level
    count where there is none) and its turning points *u*, *lo*.
    """
    n, k = sup.shape
    rows = np.arange(n)
    levels = np.arange(k)[None, :]
    sign = np.sign(np.nan_to_num(wrap_deg(sup[rows, u] - inf[rows, lo])))[:, None]
    up_zone = (levels > prev_end[:, None]) & (levels < lo[:, None])
    low_zone = (levels > u[:, None]) & (levels < np.minimum(next_end, k)[:, None])
    # Tilts equal to 1e-9 deg are a tie, which goes to the first (most cranial) vertebra: without the
    # rounding, rounding noise of the coordinates (a mirrored film) would break the tie either way.
    # (Rounding commutes with the sign, +-1 or 0: the tilts are rounded once for every curve.)
    up_score = np.where(up_zone & np.isfinite(sup), sign * sup_rounded, -np.inf)
    low_score = np.where(low_zone & np.isfinite(inf), -sign * inf_rounded, -np.inf)
    best_u = up_score.argmax(axis=1)
    best_lo = low_score.argmax(axis=1)
    ok = (best_u < best_lo) & np.isfinite(up_score[rows, best_u]) & np.isfinite(low_score[rows, best_lo])
    u, lo = np.where(ok, best_u, u), np.where(ok, best_lo, lo)
    # The two searches are apart: a lower end found past the lower turning point can take in a vertebra
    # of the next curve whose superior endplate tilts beyond the upper end's (and the other way round),
    # which the definition forbids. Those curves take the largest angle of the pairs that obey it.
    up_tilt, low_tilt = sign * sup_rounded, -sign * inf_rounded  # NaN where not placed
    span = (levels >= u[:, None]) & (levels <= lo[:, None])
    # fmax passes over NaN: a tilt not placed tilts beyond nothing (nor does an end without one break it)
    broken = np.flatnonzero(
        (np.fmax.reduce(up_tilt, axis=1, where=span, initial=-np.inf) > up_tilt[rows, u])
        | (np.fmax.reduce(low_tilt, axis=1, where=span, initial=-np.inf) > low_tilt[rows, lo])
    )
    for start in range(0, len(broken), _PAIR_BLOCK):
        b = broken[start : start + _PAIR_BLOCK]
        up_b, low_b = up_tilt[b], low_tilt[b]
        found, a, c = _cobb_pair(
            np.where(np.isnan(up_b), -np.inf, up_b),
            np.where(np.isnan(low_b), -np.inf, low_b),
            up_zone[b],
            low_zone[b],
        )
        u[b[found]], lo[b[found]] = a[found], c[found]
    return u, lo


#: Curves whose every pair of ends :func:`_cobb_pair` weighs at a time: (curves, levels, levels) arrays.
_PAIR_BLOCK = 1024


def _cobb_pair(
    up_tilt: np.ndarray, low_tilt: np.ndarray, up_zone: np.ndarray, low_zone: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ends of largest angle that obey the Cobb definition, one curve a row: (found, upper, lower).

    A pair (a, c), a above c, a in *up_zone* and c in *low_zone*, obeys it when no vertebra from a to
    c has a superior endplate tilted beyond a's (*up_tilt*, toward the curve's concavity) nor an
    inferior endplate tilted beyond c's (*low_tilt*, the other way), missing tilts -inf. Its angle
    is ``up_tilt[a] + low_tilt[c]``; of equal angles, the most cranial pair. A row without such a
    pair is not found.
    """
    n, k = up_tilt.shape
    later = np.triu(np.ones((k, k), dtype=bool))  # [a, c]: c at or below a
    # the most tilted endplates from a down to c, each kind: running maxima along c
    most_up = np.maximum.accumulate(np.where(later, up_tilt[:, None, :], -np.inf), axis=2)
    most_low = np.maximum.accumulate(np.where(later, low_tilt[:, None, :], -np.inf), axis=2)
    allowed = (
        np.triu(np.ones((k, k), dtype=bool), 1)  # a strictly above c
        & up_zone[:, :, None]
        & low_zone[:, None, :]
        & np.isfinite(up_tilt)[:, :, None]
        & np.isfinite(low_tilt)[:, None, :]
        & (most_up <= up_tilt[:, :, None])
        & (most_low <= low_tilt[:, None, :])
    )
    angle = np.where(allowed, up_tilt[:, :, None] + low_tilt[:, None, :], -np.inf).reshape(n, k * k)
    best = angle.argmax(axis=1)
    return np.isfinite(angle[np.arange(n), best]), best // k, best % k


def _warn_unknown_apex(
    curves: CurveTable, tilts: dict[str, np.ndarray], warnings: dict[int, list[str]]
) -> None:
    """A warning for each curve whose apex is not known, naming its end vertebrae without a centre."""
    for i, k in zip(*np.nonzero(np.isfinite(curves.angle_deg) & (curves.apex < 0)), strict=True):
        ends = [int(curves.upper[i, k]), int(curves.lower[i, k])]
        bare = [LEVELS[j] for j in ends if not np.isfinite(tilts["centre_x"][i, j])]
        warnings.setdefault(int(i), []).append(
            f"curve {LEVELS[ends[0]]}-{LEVELS[ends[1]]}: apex not known: no body centre of "
            + ", ".join(bare)
            + " (its four corners, or its centroid, are needed)"
        )


class CoronalResult(NamedTuple):
    """What :func:`coronal_parameters` measured on N AP films.

    Attributes
    ----------
    columns : dict of str to ParameterColumn
        ``C7_CSVL`` (mm, px), ``Cobb_max`` (deg), ``PO`` (deg).
    curves : CurveTable
        With the lines each Cobb angle was measured between (``end_lines_px``),
        unless they were not asked for.
    warnings : dict of int to list of str
        Study index to its warnings (studies without any are absent).
    constructions : Constructions
        The S1 endplate midpoint (the CSVL is the vertical through it) and the
        C7 body centre, in image pixels.
    """

    columns: dict[str, ParameterColumn]
    curves: CurveTable
    warnings: dict[int, list[str]]
    constructions: Constructions


def coronal_parameters(
    table: LandmarkTable,
    *,
    cobb_method: CobbMethod | str = "endplate",
    min_curve_deg: float = DEFAULT_MIN_CURVE_DEG,
    suspect: np.ndarray | None = None,
    end_lines: bool = True,
) -> CoronalResult:
    """Every coronal parameter of clinical.md §2 for N AP films.

    Parameters
    ----------
    table : LandmarkTable
        AP films only.
    cobb_method : CobbMethod or {"endplate", "midline"}
    min_curve_deg : float
    suspect : ndarray of bool, shape (N, len(LEVELS)), optional
        Vertebrae that failed the plausibility checks
        (:func:`~spinecheck.landmarks.points.sanity.check_landmarks`): the curves
        are found without their tilts, as if they were not annotated, so that a
        mislabelled vertebra cannot move the ends of a curve that does not span
        it (a curve that spans it is the caller's to withhold).
    end_lines : bool
        Whether the curves carry the lines their angles were measured between
        (:func:`end_lines_px`); a caller that measures a large table a block at
        a time makes them once, for the whole.

    Returns
    -------
    CoronalResult
        The parameter columns, the curves, the warnings and the constructions.
    """
    side, side_known = _side_sign(table)
    warnings: dict[int, list[str]] = {}
    inp = Inputs(table, side)
    px = Inputs(table, side, pixels=True)
    out: dict[str, ParameterColumn] = {}
    spine = table.spine()
    # the sacral endplate: S1 superior, or a sacralised vertebra's superior endplate
    s1_left, s1_right, s1_left_px, s1_right_px, has_s1, r_s1 = per_level(
        spine.of(LevelRole.SACRUM),
        lambda lv: (
            inp.p(f"{lv}.sup.left"),
            inp.p(f"{lv}.sup.right"),
            px.p(f"{lv}.sup.left"),
            px.p(f"{lv}.sup.right"),
            inp.has(f"{lv}.sup.left") & inp.has(f"{lv}.sup.right"),
            inp.reasons([Need.point(f"{lv}.sup.left"), Need.point(f"{lv}.sup.right")]),
        ),
    )

    r_csvl = merge_reasons(inp.reasons([Need.centre("C7", _AP)]), r_s1)
    csvl = (s1_left[:, 0] + s1_right[:, 0]) / 2
    csvl_px = (s1_left_px[:, 0] + s1_right_px[:, 0]) / 2
    c7_px = px.centre("C7", _AP)
    v_px, r_geom = column(c7_px[:, 0] - csvl_px, r_csvl)
    reason = merge_reasons(
        r_geom, np.where(~table.calibrated, "no calibration: distance in pixels only", NO_REASON)
    )
    out["C7_CSVL"] = ParameterColumn(
        np.where(has_reason(reason), np.nan, inp.centre("C7", _AP)[:, 0] - csvl), reason, v_px
    )

    crest = inp.has("IC.left") & inp.has("IC.right")
    left = np.where(crest[:, None], inp.p("IC.left"), s1_left)
    right = np.where(crest[:, None], inp.p("IC.right"), s1_right)
    # in the side-signed frame, "toward the patient's right" is +a: the angle of the line
    # from the patient-left point to the patient-right point, up positive
    a_left = np.where((side > 0)[:, None], left, right)
    a_right = np.where((side > 0)[:, None], right, left)
    po = wrap_deg(angle_from_horizontal_deg(a_left, a_right))
    sacrum = spine.of(LevelRole.SACRUM).astype(str)
    r_po = np.where(
        crest | has_s1,
        NO_REASON,
        "missing landmarks: IC.left and IC.right (or " + sacrum + ".sup.left and " + sacrum + ".sup.right)",
    ).astype(object)
    r_po = merge_reasons(
        r_po,
        np.where(coincide(left, right), "degenerate geometry: the pelvic line has zero length", NO_REASON),
    )
    out["PO"] = ParameterColumn(*column(po, r_po))
    for i in np.flatnonzero(~crest & ~has_reason(r_po)):
        warnings.setdefault(int(i), []).append(
            f"pelvic obliquity from the {sacrum[i]} endplate (iliac crests not annotated)"
        )

    cobb_method = CobbMethod.parse(cobb_method, argument="cobb_method")
    tilts = vertebra_tilts(table, cobb_method)
    k_levels = len(LEVELS)
    trusted = tilts
    if suspect is not None and suspect.any():
        trusted = {
            k: np.where(suspect, np.nan, v) if k in ("sup", "inf", "mid") else v for k, v in tilts.items()
        }
    curves = find_curves(trusted, min_curve_deg, cobb_method)
    if end_lines:
        curves = dataclasses.replace(curves, end_lines_px=end_lines_px(table, curves))
    _warn_unknown_apex(curves, tilts, warnings)
    cobb_max = np.max(
        np.where(np.isfinite(curves.angle_deg), curves.angle_deg, -np.inf), axis=1, initial=-np.inf
    )
    annotated = np.isfinite(tilts["mid"]).sum(axis=1)
    r_cobb = np.where(
        annotated < 2, "missing landmarks: at least two vertebrae with all four corners", NO_REASON
    )
    r_cobb = merge_reasons(
        r_cobb,
        np.where(
            np.isfinite(cobb_max) | (annotated < 2),
            NO_REASON,
            "no curve: every annotated vertebra has the same tilt",
        ),
    )
    out["Cobb_max"] = ParameterColumn(np.where(has_reason(r_cobb), np.nan, cobb_max), r_cobb)
    present = np.isfinite(tilts["mid"])
    in_spine = spine.in_spine()  # a T13 or L6 nobody placed is no gap: most spines have neither
    first = present.argmax(axis=1)
    last = k_levels - 1 - present[:, ::-1].argmax(axis=1)
    span = (np.arange(k_levels) >= first[:, None]) & (np.arange(k_levels) <= last[:, None])
    gapped = (annotated >= 2) & (span & in_spine & ~present).any(axis=1)
    for i in np.flatnonzero(gapped):
        missing = [LEVELS[j] for j in range(first[i], last[i] + 1) if in_spine[i, j] and not present[i, j]]
        warnings.setdefault(int(i), []).append(
            "curves measured on the annotated levels only; not annotated between them: " + ", ".join(missing)
        )
    unknown = (
        "patient side unknown (no patient_right): C7-CSVL and pelvic obliquity are signed toward image right"
    )
    for row in np.flatnonzero(~side_known).tolist():
        warnings.setdefault(row, []).append(unknown)
    constructions = Constructions.of(
        len(table),
        s1_mid=px.pixels((s1_left_px + s1_right_px) / 2),
        c7_centre=px.pixels(c7_px),
    )
    return CoronalResult(out, curves, warnings, constructions)
