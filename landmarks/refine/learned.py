"""Rough AP corner clicks moved part of the way to where the landmark model's refiner network puts them.

On a real AP film the edges alone do not say where annotators put corners
(:mod:`~spinecheck.landmarks.refine.endplate` declines on most of them). The landmark model's
refiner network (model 1.2; :func:`spinecheck.landmarks.detect.local.refine_frames`) learned it
from their annotations: given a vertebra's four rough corners it reads a close-up framed by them
(about two film pixels to one) and places the four corners where annotators would. Its corners
are about as close to the annotation as careful clicks (6.4-6.8 px median on held-out films,
against 5.9 px for clicks 5 px off in each direction), and their errors are not the clicks': after
the learned shape (:mod:`~spinecheck.landmarks.refine.shape`), moving each corner
:data:`MODEL_WEIGHT` of the way towards the model's corner lowered the median endplate-angle error
of clicks 5 px off by 24 % in cross-validation on aasce-train (1.69 to 1.29 deg), against 18 % for
the shape alone and 19 % for the model step alone (``bench/bench_refine.py --part f``). A model
without a refiner network (1.1) uses its local stage's corners, coarser (21 %).

A vertebra is refined when its four corners are placed; a model corner further from its click
than :data:`MAX_SHIFT_SHARE` of the vertebra's height, or with a confidence under
:data:`MIN_CONFIDENCE`, is not used (the click stays). With the refiner network, on the AASCE
films (first fold, held out) the median corner's confidence is 0.83 and a quarter fall under 0.70;
on a blank film all are under 0.01, on noise all under 0.07.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..io.aasce import AASCE_LEVELS
from .common import RefineFailure

__all__ = ["MODEL_WEIGHT", "MAX_SHIFT_SHARE", "MIN_CONFIDENCE", "refine_with_model"]

#: How far a corner moves towards the model's (on the first fold's films, after the shape: 0.3 best
#: of 0.3 to 1.0 for the refiner network; 0.2 to 0.4 about the same for 1.1's local stage).
MODEL_WEIGHT = 0.3
#: A model corner further than this share of the vertebra's height from its click is not used.
MAX_SHIFT_SHARE = 0.25
#: A model corner less confident than this is not used.
MIN_CONFIDENCE = 0.5
_CORNERS = ("sup.left", "sup.right", "inf.left", "inf.right")


def refine_with_model(
    image: np.ndarray, points: Mapping[str, Sequence[float]], names: Iterable[str] | None = None
) -> dict[str, tuple[tuple[float, float], float]] | RefineFailure:
    """Move the corners of each fully placed vertebra T1..L5 part of the way to the model's.

    Parameters
    ----------
    image : ndarray, shape (rows, columns)
        Grey AP film, bone bright.
    points : mapping of str to (x, y)
        The placed points (formats.md names).
    names : iterable of str, optional
        Refine only the vertebrae with a corner among these. Default: every vertebra.

    Returns
    -------
    dict or RefineFailure
        ``{name: ((x, y), confidence)}`` for each corner moved (the model's confidence for
        it), or a falsy :class:`RefineFailure` saying why none was: no vertebra has its four
        corners placed, or the shipped model has no local stage or cannot be read.
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
    try:
        model = load_model()
    except ModelIntegrityError as e:
        return RefineFailure(str(e))
    if model.local is None and model.refine is None:
        return RefineFailure(
            f"the landmark model {model.info.name} {model.info.version} has no refiner network or local stage"
        )
    clicks = np.array([[points[f"{lv}.{c}"] for c in _CORNERS] for lv in levels], dtype=float)
    xy, conf = place_corners(image, clicks, model)
    height = (
        np.linalg.norm(clicks[:, 2] - clicks[:, 0], axis=1)
        + np.linalg.norm(clicks[:, 3] - clicks[:, 1], axis=1)
    ) / 2
    out: dict[str, tuple[tuple[float, float], float]] = {}
    for v, level in enumerate(levels):
        for c, corner in enumerate(_CORNERS):
            shift = xy[v, c] - clicks[v, c]
            if float(np.hypot(*shift)) > MAX_SHIFT_SHARE * height[v] or conf[v, c] < MIN_CONFIDENCE:
                continue
            x, y = clicks[v, c] + MODEL_WEIGHT * shift
            out[f"{level}.{corner}"] = ((float(x), float(y)), float(conf[v, c]))
    if not out:
        return RefineFailure("the landmark model found no corner near the clicks with confidence")
    return out
