"""Semi-automatic landmark refinement: rough clicks to image evidence, within a bound.

:func:`refine_point` is what the annotation window calls right after a point
is placed; :func:`refine_landmarks` is the headless pass of ``spinecheck
refine``. Both dispatch to the refiners by point name:

- a corner T1..L5 of an AP film once at least 24 of them are placed, or its vertebra's four:
  :func:`~spinecheck.landmarks.refine.learned.refine_ap_corners`, which ends it at a weighted mean
  of the click, where the spine's shape learned from annotators' corners on real films puts it
  (:func:`~spinecheck.landmarks.refine.shape.refine_with_shape`; ``spinecheck refine`` moves them
  all together, the window the one just placed) and, when the corner's vertebra has its four
  placed, where the landmark model's refiner network puts it
  (:func:`~spinecheck.landmarks.refine.learned.refine_with_model`; method ``shape+model``,
  ``shape`` when the network's corner is unsure or far, ``model`` when the shape declined);
- ``FH.left``, ``FH.right``, ``FH``: :func:`~spinecheck.landmarks.refine.femoral_head.refine_femoral_head`; on a
  lateral film with both ``FH.left`` and ``FH.right`` placed,
  :func:`~spinecheck.landmarks.refine.femoral_head.refine_femoral_head_pair`, which moves both (the two heads
  superimpose a few mm apart, so a lone head may land on either of them until the second is placed);
- an endplate corner whose partner (same level and endplate, other corner) is
  placed: :func:`~spinecheck.landmarks.refine.endplate.refine_endplate`, which moves both;
- a lone corner: :func:`~spinecheck.landmarks.refine.corner.refine_corner`;
- anything else (centroids, iliac crests) is not refined.

Every refiner returns a fit or a falsy :class:`RefineFailure` with its reason,
and never moves a point further than its bound. Points are ``(x, y)`` image
pixels, x = column, y = row, y down. The image is assumed upright (head at the
top), as the landmark names are: the body is below a superior endplate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..errors import InvalidArgumentError
from ..points.anatomy import levels_of_spine
from ..points.circle import Circle
from ..points.facing import anterior_direction
from ..points.model import KEPT_CLICK, LandmarkSet, PointMove, Refinement
from ..points.names import FEMORAL_HEADS, View
from .common import RefineFailure, check_image
from .corner import CornerFit, corner_bound_px, refine_corner
from .endplate import EndplateFit, endplate_bound_px, refine_endplate
from .femoral_head import (
    FemoralHeadFit,
    FemoralHeadPair,
    refine_femoral_head,
    refine_femoral_head_pair,
)
from .learned import refine_ap_corners
from .shape import SHAPE_NAMES

__all__ = [
    "RefineFailure",
    "RefinedPoints",
    "refine_point",
    "refine_landmarks",
    "FemoralHeadFit",
    "EndplateFit",
    "CornerFit",
    "refine_femoral_head",
    "refine_femoral_head_pair",
    "FemoralHeadPair",
    "refine_endplate",
    "refine_corner",
    "endplate_bound_px",
    "corner_bound_px",
]


@dataclass(frozen=True)
class RefinedPoints:
    """What one refinement moved (truthy).

    Attributes
    ----------
    moves : Mapping[str, PointMove]
        Point name to its move (click to refined point, method, confidence):
        one point, both corners of an endplate, or both femoral heads of a
        lateral film.
    circles : Mapping[str, Circle]
        ``{"FH.left": Circle(...)}`` for a femoral head (both heads for a
        lateral pair); else empty.
    confidence : float
        The refiner's confidence in ``[0, 1]``.
    """

    moves: Mapping[str, PointMove]
    circles: Mapping[str, Circle] = field(default_factory=dict)
    confidence: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "moves", MappingProxyType(dict(self.moves)))
        object.__setattr__(self, "circles", MappingProxyType(dict(self.circles)))

    def __bool__(self) -> bool:
        return True


def _parts(name: str) -> tuple[str, str, str] | None:
    """``("L3", "sup", "ant")`` for a corner name, else None."""
    bits = name.split(".")
    if len(bits) == 3 and bits[1] in ("sup", "inf") and bits[2] in ("ant", "post", "left", "right"):
        return bits[0], bits[1], bits[2]
    return None


_PARTNER = {"ant": "post", "post": "ant", "left": "right", "right": "left"}
_HEAD_PAIR = ("FH.left", "FH.right")


def _head_pair(name: str, points: Mapping[str, Sequence[float]], view: View) -> tuple[str, str] | None:
    """``("FH.left", "FH.right")`` when *name* is one of them on a lateral film and both are placed."""
    if view is View.LATERAL and name in _HEAD_PAIR and all(n in points for n in _HEAD_PAIR):
        return _HEAD_PAIR
    return None


def _lone_corner_frame(
    points: Mapping[str, Sequence[float]], level: str, endplate: str, corner: str, view: View
) -> tuple[int | None, float]:
    """``(body_x, tilt_deg)`` for :func:`refine_corner` from the other placed points.

    The tilt is the direction of the nearest endplate whose two corners are
    placed (at least 8 px apart, and less than 75 degrees from level): the
    body's other endplate, else one of the adjacent levels' of this spine
    (the nearest across a disc first); else level (0 degrees, searched +-6): a search of
    every tilt finds more wrong corners than it mends when nothing tells it
    (``bench_refine.py --part d``). ``body_x`` says whether the body lies
    toward image right (+1) or left (-1) of the corner: from the corner's
    name on an AP film, and on a lateral film from where the patient faces
    (:func:`~spinecheck.landmarks.points.facing.anterior_direction`: a posterior corner has
    the body toward the front), None when that is not known yet.
    """
    if view is View.AP:
        body_x: int | None = 1 if corner == "left" else -1
        first, second = "left", "right"
    else:
        facing = anterior_direction(points)
        body_x = None if facing is None else facing * (1 if corner == "post" else -1)
        first, second = "post", "ant"
    other = "inf" if endplate == "sup" else "sup"
    spine = levels_of_spine([*points, f"{level}."])  # a T13 or L6 nobody placed is not a neighbour
    i = spine.index(level)
    near = [spine[j] for j in (i - 1, i + 1) if 0 <= j < len(spine)]
    across = "sup" if endplate == "inf" else "inf"  # the facing endplate across the disc
    candidates = [(level, other)] + [(lv, across) for lv in near] + [(lv, endplate) for lv in near]
    for lv, ep in candidates:
        a, b = points.get(f"{lv}.{ep}.{first}"), points.get(f"{lv}.{ep}.{second}")
        if a is None or b is None or math.dist(a, b) < 8.0:  # too short to tell a direction
            continue
        tilt = (math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) + 90.0) % 180.0 - 90.0
        if abs(tilt) < 75.0:
            return body_x, tilt
    return body_x, 0.0


def refine_point(
    image: np.ndarray,
    name: str,
    points: Mapping[str, Sequence[float]],
    *,
    view: View | str,
    mm_per_px: float | Sequence[float] | None = None,
    max_shift_px: float | None = None,
) -> RefinedPoints | RefineFailure:
    """Refine the point *name* just placed, using the points already placed.

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey image, bone bright (``Radiograph.analysis``: every stored grey level, not the 8-bit display).
    name : str
        The point just placed; must be in *points*.
    points : Mapping[str, (x, y)]
        Every point placed so far, pixels.
    view : View or str
        ``"lateral"`` or ``"ap"``.
    mm_per_px : float or (row, col), optional
        Pixel spacing: bounds and the femoral-head radius prior in mm.
    max_shift_px : float, optional
        Overrides each refiner's default bound.

    Returns
    -------
    RefinedPoints or RefineFailure
        For an endplate corner whose partner is placed, both corners move; so
        do both femoral heads on a lateral film once both are placed (a
        lone ``FH.left`` may land on either superimposed head: placing
        ``FH.right`` refits the pair).

    Raises
    ------
    InvalidArgumentError
        *image* is not 2-D or *name* is not in *points*.

    Examples
    --------
    >>> img = np.zeros((80, 120)); img[40:, 20:100] = 100.0
    >>> out = refine_point(img, "L1.sup.right", {"L1.sup.left": (30, 37), "L1.sup.right": (90, 43)}, view="ap")
    >>> sorted(out.moves), [abs(m.refined[1] - 39.5) < 0.5 for m in out.moves.values()]
    (['L1.sup.left', 'L1.sup.right'], [True, True])
    >>> refine_point(img, "L1.centroid", {"L1.centroid": (60, 60)}, view="ap").reason
    '"L1.centroid": centroids are not refined (only femoral heads and endplate corners are)'
    """
    img = check_image(image)
    view = View.parse(view)
    if name not in points:
        raise InvalidArgumentError.about(
            "name", 'refine_point: {name} "{got}" is not among the placed points', got=name
        )
    click = (float(points[name][0]), float(points[name][1]))
    pair = _head_pair(name, points, view)
    if pair is not None:
        clicks = [(float(points[n][0]), float(points[n][1])) for n in pair]
        both = refine_femoral_head_pair(img, clicks, mm_per_px=mm_per_px, max_shift_px=max_shift_px)
        if isinstance(both, RefineFailure):
            return both
        moves = {
            n: PointMove(n, c, f.circle.center, "femoral_head", f.confidence)
            for n, c, f in zip(pair, clicks, both.fits, strict=True)
        }
        return RefinedPoints(
            moves, {n: f.circle for n, f in zip(pair, both.fits, strict=True)}, both.confidence
        )
    if name in FEMORAL_HEADS:
        avoid = [points[n] for n in FEMORAL_HEADS if n != name and n in points]
        fit = refine_femoral_head(img, click, mm_per_px=mm_per_px, max_shift_px=max_shift_px, avoid=avoid)
        if isinstance(fit, RefineFailure):
            return fit
        centre = fit.circle.center
        move = PointMove(name, click, centre, "femoral_head", fit.confidence)
        return RefinedPoints({name: move}, {name: fit.circle}, fit.confidence)
    parts = _parts(name)
    if parts is None:
        kind = "centroids" if name.endswith(".centroid") else "such points"
        return RefineFailure(
            f'"{name}": {kind} are not refined (only femoral heads and endplate corners are)', applies=False
        )
    if view is View.AP and name in SHAPE_NAMES:
        # a real AP film's corner: where annotators put it, from the spine's learned shape once
        # enough corners are placed to tell it (the edges alone do not say where corners go) and
        # the refiner network once its vertebra's four are placed, blended with the click
        learned = refine_ap_corners(img, points, [name], max_shift_px=max_shift_px)
        if name in learned:
            return RefinedPoints({name: learned[name]}, {}, learned[name].confidence)
    level, endplate, corner = parts
    partner = f"{level}.{endplate}.{_PARTNER[corner]}"
    body_y = 1 if endplate == "sup" else -1
    if partner in points:
        first, second = (name, partner) if corner in ("left", "ant") else (partner, name)
        a = (float(points[first][0]), float(points[first][1]))
        b = (float(points[second][0]), float(points[second][1]))
        ep = refine_endplate(
            img,
            a,
            b,
            body_side="below" if body_y > 0 else "above",
            mm_per_px=mm_per_px,
            max_shift_px=max_shift_px,
        )
        if isinstance(ep, RefineFailure):
            return ep
        moves = {
            first: PointMove(first, a, ep.corners[0], "endplate", ep.confidence),
            second: PointMove(second, b, ep.corners[1], "endplate", ep.confidence),
        }
        return RefinedPoints(moves, {}, ep.confidence)
    body_x, tilt = _lone_corner_frame(points, level, endplate, corner, view)
    cf = refine_corner(
        img,
        click,
        body_x=body_x,
        body_y=body_y,
        tilt_deg=tilt,
        mm_per_px=mm_per_px,
        max_shift_px=max_shift_px,
    )
    if isinstance(cf, RefineFailure):
        return cf
    return RefinedPoints({name: PointMove(name, click, cf.point, "corner", cf.confidence)}, {}, cf.confidence)


def refine_landmarks(
    image: np.ndarray,
    landmarks: LandmarkSet,
    *,
    mm_per_px: float | Sequence[float] | None = None,
    max_shift_px: float | None = None,
    names: Iterable[str] | None = None,
) -> LandmarkSet:
    """Refine every refinable point of a landmark set (the headless pass).

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey image, bone bright.
    landmarks : LandmarkSet
    mm_per_px : float or (row, col), optional
        Pixel spacing; default the set's own calibration, if any.
    max_shift_px : float, optional
        Overrides each refiner's default bound.
    names : iterable of str, optional
        Only these points (an endplate is refined when either corner is named,
        and then both may move). Default: all.

    Returns
    -------
    LandmarkSet
        The points moved, ``circles`` with the fitted femoral heads, and
        ``refinement`` recording every point moved (from where, method,
        confidence) and every point of the selection left as placed, with
        the reason. A previous refinement record is kept for points not
        refined this time.

    Raises
    ------
    InvalidArgumentError
        *image* is not 2-D, or a name in *names* is not in the set.

    Examples
    --------
    >>> img = np.zeros((80, 120)); img[40:, 20:100] = 100.0
    >>> s = LandmarkSet("ap", {"L1.sup.left": (30, 37), "L1.sup.right": (90, 43), "L1.centroid": (60, 60)})
    >>> out = refine_landmarks(img, s)
    >>> sorted(out.refinement.moved), round(out.points["L1.sup.left"][1], 1)  # the edge: rows 39 | 40
    (['L1.sup.left', 'L1.sup.right'], 39.5)
    >>> out.refinement.declined["L1.centroid"]
    '"L1.centroid": centroids are not refined (only femoral heads and endplate corners are)'
    """
    img = check_image(image)
    if mm_per_px is None and landmarks.calibration is not None and landmarks.calibration.calibrated:
        mm_per_px = landmarks.calibration.mm_per_px
    old = landmarks.refinement or Refinement()
    # a point the user put back at the click stays there unless asked for by name
    kept = {n for n, why in old.declined.items() if why == KEPT_CLICK}
    wanted = [n for n in landmarks.points if n not in kept] if names is None else list(dict.fromkeys(names))
    missing = [n for n in wanted if n not in landmarks.points]
    if missing:
        raise InvalidArgumentError.about(
            "names",
            "refine_landmarks: {names} {got} not in the landmark set",
            got=", ".join(repr(n) for n in missing),
        )
    kept -= set(wanted)
    rows, cols = img.shape
    rough = dict(landmarks.points)
    points = dict(rough)
    circles = dict(landmarks.circles)
    moved: dict[str, PointMove] = {}
    declined: dict[str, str] = {}
    done: set[str] = set()
    if landmarks.view is View.AP:
        # the corners T1-L5 together: the spine's learned shape (declined when too few are placed),
        # the refiner network on each vertebra with four placed, blended with the user's clicks
        corners = [n for n in wanted if n in SHAPE_NAMES and n not in kept]
        clicks = {n: old.moved[n].original for n in corners if n in old.moved}
        for n, m in refine_ap_corners(img, rough, corners, clicks=clicks, max_shift_px=max_shift_px).items():
            moved[n] = m
            points[n] = m.refined
            done.add(n)
    for name in wanted:
        if name in done:
            continue
        # each refiner sees the rough points (a refined neighbour must not steer the next fit)
        result = refine_point(
            img, name, rough, view=landmarks.view, mm_per_px=mm_per_px, max_shift_px=max_shift_px
        )
        if result and not all(
            -0.5 <= x <= cols - 0.5 and -0.5 <= y <= rows - 0.5
            for x, y in (m.refined for m in result.moves.values())
        ):
            result = RefineFailure("the fit would place a point outside the image; kept the click(s)")
        if isinstance(result, RefinedPoints):
            for n, m in result.moves.items():
                if n in kept:
                    continue
                if n in old.moved:  # refined before: the click it came from is the first one
                    m = PointMove(n, old.moved[n].original, m.refined, m.method, m.confidence)
                moved[n] = m
                points[n] = m.refined
                done.add(n)
            circles.update({n: c for n, c in result.circles.items() if n not in kept})
        else:
            parts = _parts(name)
            group = [name]
            if parts is not None:
                partner = f"{parts[0]}.{parts[1]}.{_PARTNER[parts[2]]}"
                if partner in rough:
                    group.append(partner)
            if _head_pair(name, rough, landmarks.view) is not None:
                group = list(_HEAD_PAIR)
            for n in group:
                if n not in kept:
                    declined[n] = result.reason
                    done.add(n)
    keep_moved = {n: m for n, m in old.moved.items() if n not in done}
    keep_declined = {n: r for n, r in old.declined.items() if n not in done}
    return landmarks.replace(
        points=points,
        circles=circles,
        refinement=Refinement({**keep_moved, **moved}, {**keep_declined, **declined}),
    )
