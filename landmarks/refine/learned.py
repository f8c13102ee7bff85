"""Rough AP corners ended at a blend of the click, the learned shape's corner and the refiner network's.

On a real AP film the edges alone do not say where annotators put corners
(:mod:`~spinecheck.landmarks.refine.endplate` declines on most of them). Two things learned from
their annotations do: the spine's shape (:mod:`~spinecheck.landmarks.refine.shape`, from every
placed corner) and the landmark model's refiner network (model 1.2;
:func:`spinecheck.landmarks.detect.local.refine_frames`), which, given a vertebra's four rough
corners, reads a close-up framed by them (about two film pixels to one) and places the four
corners where annotators would. :func:`refine_ap_corners` (the AP path of ``spinecheck refine``
and of the annotation window) runs the shape, then the network on the vertebrae framed by the
shape's corners, and ends each corner at

    ``CLICK_WEIGHT * click + SHAPE_WEIGHT * shape + MODEL_WEIGHT * network``

(:func:`blend_corner`), the shape's corner standing in for the network's where the network's is
not usable, and the click for the shape's where the shape declined. Each estimate is about as
close to the annotation as a careful click (the network's corners 6.4-6.8 px median on held-out
films, against 5.9 px for clicks 5 px off in each direction), and averaging gains most where the
errors are independent: the network's and the shape's angle errors correlate (0.46; the network
reads a close-up framed by the shape), the click's with neither, so the click keeps a weight of
its own. Refine rule 2 (since 2026-12, with model 1.2's weights unchanged): cross-validated by
patient on aasce-train (453 films, 3 repeats), clicks 5 px off, the median endplate-angle error
falls from 1.69 to 1.23 deg (27 % lower), against 1.29 deg (24 %) for rule 1 (model 1.2 as first
shipped: the shape's corner moved ``MODEL_WEIGHT`` of the way to the network's, the click left
out) and 1.39 deg (18 %) for the shape alone (``bench/bench_refine.py --part f``, which prints
them on the same clicks). A model without a refiner network (1.1) uses its local stage's corners,
coarser.

A vertebra is read by the network when its four corners are placed; a network corner further
from the vertebra's (shaped) corner than :data:`MAX_SHIFT_SHARE` of the vertebra's height, or with
a confidence under :data:`MIN_CONFIDENCE`, is not used. With the refiner network, on the AASCE
films (first fold, held out) the median corner's confidence is 0.83 and a quarter fall under 0.70;
on a blank film all are under 0.01, on noise all under 0.07.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..io.aasce import AASCE_LEVELS
from ..points.model import PointMove
from .common import RefineFailure
from .shape import SHAPE_NAMES, ShapeFit, ShapeModel, refine_with_shape

if TYPE_CHECKING:
    from ..detect.inference import LandmarkModel

__all__ = [
    "CLICK_WEIGHT",
    "SHAPE_WEIGHT",
    "MODEL_WEIGHT",
    "MAX_SHIFT_SHARE",
    "MIN_CONFIDENCE",
    "blend_corner",
    "refine_with_model",
    "refine_ap_corners",
]

#: The click's weight in a refined AP corner. The three weights were chosen on the first fold's
#: held-out films (0 to 0.6 for the click, 0 to 1 for the shape, in steps of 0.1); chosen instead
#: on the other four folds for each fold (nested), the pooled reduction was 27.1 % against 27.3 %.
#: On the corners whose network corner is not used, 0.3 click + 0.7 shape placed endplates better
#: than the shape alone too (1.35 against 1.39 deg on the same films).
CLICK_WEIGHT = 0.3
#: The learned shape's weight (the click's, where the shape declined).
SHAPE_WEIGHT = 0.4
#: The refiner network's weight (the shape's, where the network's corner is not used); rule 1
#: moved the shape's corner this share of the way to the network's (0.3 best of 0.3 to 1.0).
MODEL_WEIGHT = 0.3
#: A network corner further than this share of the vertebra's height from its corner is not used.
MAX_SHIFT_SHARE = 0.25
#: A network corner less confident than this is not used.
MIN_CONFIDENCE = 0.5
_CORNERS = ("sup.left", "sup.right", "inf.left", "inf.right")


def blend_corner(
    click: Sequence[float], shape: Sequence[float] | None = None, model: Sequence[float] | None = None
) -> tuple[float, float]:
    """Where a refined AP corner ends: the weighted mean of the click, the shape's corner and the network's.

    Parameters
    ----------
    click : (x, y)
        The user's click.
    shape : (x, y), optional
        The learned shape's corner; the click stands in for it when absent (the shape declined).
    model : (x, y), optional
        The refiner network's corner; the shape's stands in for it when absent (not usable).

    Returns
    -------
    (x, y)

    Examples
    --------
    >>> blend_corner((0.0, 0.0), (10.0, 0.0), (0.0, 10.0))  # 0.3 click + 0.4 shape + 0.3 model
    (4.0, 3.0)
    >>> blend_corner((0.0, 0.0), (10.0, 0.0))  # no network corner: 0.3 click + 0.7 shape
    (7.0, 0.0)
    >>> blend_corner((0.0, 0.0), None, (0.0, 10.0))  # no shape: 0.7 click + 0.3 model
    (0.0, 3.0)
    """
    c = (float(click[0]), float(click[1]))
    s = c if shape is None else (float(shape[0]), float(shape[1]))
    m = s if model is None else (float(model[0]), float(model[1]))
    return (
        CLICK_WEIGHT * c[0] + SHAPE_WEIGHT * s[0] + MODEL_WEIGHT * m[0],
        CLICK_WEIGHT * c[1] + SHAPE_WEIGHT * s[1] + MODEL_WEIGHT * m[1],
    )


def refine_with_model(
    image: np.ndarray,
    points: Mapping[str, Sequence[float]],
    names: Iterable[str] | None = None,
    *,
    model: LandmarkModel | None = None,
) -> dict[str, tuple[tuple[float, float], float]] | RefineFailure:
    """The refiner network's corners for each fully placed vertebra T1..L5, where usable.

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey AP film, bone bright.
    points : mapping of str to (x, y)
        The placed points (formats.md names); a vertebra's four frame its close-up.
    names : iterable of str, optional
        Only the vertebrae with a corner among these. Default: every vertebra.
    model : LandmarkModel, optional
        Default: the shipped model (cross-validation passes each fold's own networks).

    Returns
    -------
    dict or RefineFailure
        ``{name: ((x, y), confidence)}``: the network's corner and its confidence, for each
        corner within :data:`MAX_SHIFT_SHARE` of its vertebra's height of the placed corner and
        at least :data:`MIN_CONFIDENCE` confident (not blended: :func:`blend_corner` does that);
        or a falsy :class:`RefineFailure` saying why there is none: no vertebra has its four
        corners placed, the model has no refiner network or local stage or cannot be read, or
        no corner is near and confident.
    """
    from ..detect.inference import ModelIntegrityError, load_model, place_corners

    wanted = None if names is None else set(names)
    levels = [
        level
        for level in AASCE_LEVELS
        if all(f"{level}.{c}" in points for c in _CORNERS)
        and (wanted is None or any(f"{level}.{c}" in wanted for c in _CORNERS))
    ]
    if not levels:
        return RefineFailure("the landmark model refines a vertebra T1-L5 once its four corners are placed")
    if model is None:
        try:
            model = load_model()
        except ModelIntegrityError as e:
            return RefineFailure(str(e))
    if model.local is None and model.refine is None:
        return RefineFailure(
            f"the landmark model {model.info.name} {model.info.version} has no refiner network or local stage"
        )
    placed = np.array([[points[f"{lv}.{c}"] for c in _CORNERS] for lv in levels], dtype=float)
    xy, conf = place_corners(image, placed, model)
    height = (
        np.linalg.norm(placed[:, 2] - placed[:, 0], axis=1)
        + np.linalg.norm(placed[:, 3] - placed[:, 1], axis=1)
    ) / 2
    out: dict[str, tuple[tuple[float, float], float]] = {}
    for v, level in enumerate(levels):
        for c, corner in enumerate(_CORNERS):
            shift = xy[v, c] - placed[v, c]
            if float(np.hypot(*shift)) > MAX_SHIFT_SHARE * height[v] or conf[v, c] < MIN_CONFIDENCE:
                continue
            out[f"{level}.{corner}"] = ((float(xy[v, c, 0]), float(xy[v, c, 1])), float(conf[v, c]))
    if not out:
        return RefineFailure("the landmark model found no corner near the clicks with confidence")
    return out


def refine_ap_corners(
    image: np.ndarray,
    points: Mapping[str, Sequence[float]],
    names: Iterable[str],
    *,
    clicks: Mapping[str, Sequence[float]] | None = None,
    max_shift_px: float | None = None,
    shape_model: ShapeModel | None = None,
    model: LandmarkModel | None = None,
) -> dict[str, PointMove]:
    """Refine AP corners T1..L5 by the learned shape and the refiner network, blended with the clicks.

    The shape (:func:`~spinecheck.landmarks.refine.shape.refine_with_shape`, every placed corner
    as evidence) moves the named corners, unless it declines (fewer than 24 placed) or would put
    one outside the image; the network then reads each vertebra with a named corner and its four
    placed, framed by the shape's corners (:func:`refine_with_model`); each named corner ends at
    :func:`blend_corner` of its click, its shape corner and its network corner.

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey AP film, bone bright.
    points : mapping of str to (x, y)
        Every placed point, where it is now.
    names : iterable of str
        The corners to refine (others are evidence only).
    clicks : mapping of str to (x, y), optional
        The user's click for a corner where it is not the placed point (a point refined before:
        the refinement record's original), so that refining again stays anchored to the click.
    max_shift_px : float, optional
        Bounds the shape's move.
    shape_model, model : optional
        The learned shape and the landmark model; default the shipped ones (cross-validation
        passes each fold's own).

    Returns
    -------
    dict of str to PointMove
        A move for each named corner that the shape or the network placed: from its click,
        method ``shape+model`` (confidence: the network's for that corner), ``shape`` (the
        shape's) or ``model`` (the shape declined; the network's). Empty when neither applies.
    """
    rows, cols = np.shape(image)[:2]

    def inside(xy: Sequence[float]) -> bool:
        return -0.5 <= xy[0] <= cols - 0.5 and -0.5 <= xy[1] <= rows - 0.5

    wanted = [n for n in dict.fromkeys(names) if n in SHAPE_NAMES and n in points]
    if not wanted:
        return {}
    placed = dict(points)
    fit = refine_with_shape(points, model=shape_model, max_shift_px=max_shift_px, names=wanted)
    shaped = {}
    if isinstance(fit, ShapeFit) and all(inside(xy) for xy in fit.points.values()):
        shaped = dict(fit.points)
    placed.update(shaped)
    found = refine_with_model(image, placed, names=wanted, model=model)
    networked = {n: v for n, v in (found or {}).items() if n in wanted and inside(v[0])}
    moves: dict[str, PointMove] = {}
    for n in wanted:
        if n not in shaped and n not in networked:
            continue
        click = clicks[n] if clicks is not None and n in clicks else points[n]
        click = (float(click[0]), float(click[1]))
        net = networked.get(n)
        # the shape's corner is the placed point where the shape declined (the click, unless refined before)
        xy = blend_corner(click, placed[n], None if net is None else net[0])
        if net is None:
            moves[n] = PointMove(n, click, xy, "shape", fit.confidence if isinstance(fit, ShapeFit) else 0.0)
        else:
            moves[n] = PointMove(n, click, xy, "shape+model" if n in shaped else "model", net[1])
    return moves
