"""Honest refusal: a film the model cannot read confidently gets no confident number.

The network always returns 68 points, on a chest film, a hip, a lateral spine or a blank page
alike. :func:`read_detection` judges a :class:`~spinecheck.landmarks.detect.inference.Detection`
before anything is written or measured, and either refuses the film in one line
(:class:`FilmRefused`) or turns the detection into a landmark set whose provenance records the
model and its confidence, with the low-confidence points and film flagged
(:meth:`~spinecheck.landmarks.points.provenance.Provenance.flags`) so that ``measure``, the
report and the batch table show them.

The rules, each a refusal:

1. *The header says lateral.* The model reads AP films only.
2. *Film confidence* below :data:`REFUSE_FILM_CONFIDENCE`: the heatmaps are spread or
   multi-peaked over most of the spine (a film without a spine, a blank or noise image).
3. *Replaced vertebrae*: the model's own plausibility step had to replace more than
   :data:`MAX_REPLACED_LEVELS` of the 17 vertebrae by their neighbours.
4. *Implausible spine*: the detected corners, checked as a person's would be
   (:func:`~spinecheck.landmarks.points.sanity.check_landmarks`: corner order, tilt and length
   among neighbours, order along the spine), leave more than :data:`MAX_IMPLAUSIBLE_LEVELS`
   vertebrae suspect.
5. *Vertebrae not widening downward*: the lumbar endplates (L1-L5) are not wider than the upper
   thoracic ones (T1-T4) by at least :data:`MIN_WIDENING`. On the 481 labelled films of
   aasce-train the ratio's median is 1.44, its 5th percentile 1.12 (the lowest are mislabelled
   files); on the films the cross-validation folds' networks never saw, their detections gave
   at least 1.13. A film upside down, whose "T1" the network put on a lumbar vertebra, gives
   about 0.6, and a chest film, where it finds a column of equal "vertebrae", about 1.0.

The limits were set on the cross-validation folds' first-stage networks (``python -m
spinecheck.landmarks.detect.training --fold K``) reading the films they never saw: film
confidence 0.30 at the 1st percentile (median 0.58), at most 5 vertebrae replaced (3 at the
95th percentile), at most 3 suspect; against 0.00-0.03 for a blank, a noise and a hip film,
0.18-0.19 for generated lateral films and 0.00 for an AP film upside down. With the local stage
(model 1.1; a vertebra counts as replaced when no close-up placed it apart from its neighbours or
it broke the column) the folds' two stages on the same films: film confidence 0.22 at the 1st
percentile (median 0.55; the film confidence is the first stage's), 3 vertebrae replaced at the
95th percentile (7 at most), 4.2 % of the 453 films refused.

A film that passes but has fewer suspect vertebrae, or points below
:data:`~spinecheck.landmarks.points.provenance.LOW_POINT_CONFIDENCE`, is kept with its flags:
the measuring code withholds what a suspect vertebra carries, as it does for a person's points.

A mirrored AP film is no reason to refuse: image left and right are names of the image
(formats.md §1), and the detection names its corners by the image it was given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpinecheckError
from ..io.aasce import AASCE_LEVELS
from ..points.model import ImageRef, LandmarkSet
from ..points.names import LEVELS, View
from ..points.provenance import ModelInfo, Provenance, ProvenanceKind
from ..points.sanity import check_landmarks
from .inference import Detection

__all__ = [
    "REFUSE_FILM_CONFIDENCE",
    "MAX_REPLACED_LEVELS",
    "MAX_IMPLAUSIBLE_LEVELS",
    "MIN_WIDENING",
    "FilmRefused",
    "Reading",
    "landmarks_of",
    "read_detection",
]

#: Below this film confidence (0 to 1) the film is refused, not flagged.
REFUSE_FILM_CONFIDENCE = 0.25
#: More vertebrae than this replaced by the model's plausibility step: refused.
MAX_REPLACED_LEVELS = 4
#: More vertebrae than this suspect to the plausibility checks of a person's landmarks: refused.
MAX_IMPLAUSIBLE_LEVELS = 3
#: The lumbar endplates' median width over the upper thoracic ones' must reach this.
MIN_WIDENING = 1.1

_UPPER = ("T1", "T2", "T3", "T4")
_LUMBAR = ("L1", "L2", "L3", "L4", "L5")
_WHAT = "an AP whole-spine film, T1 to L5, head up"


class FilmRefused(SpinecheckError, ValueError):
    """The model cannot read the film confidently: no landmarks are written from it."""


@dataclass(frozen=True)
class Reading:
    """What :func:`read_detection` made of a detection.

    Attributes
    ----------
    landmarks : LandmarkSet
        The 68 corners (``view`` AP, ``(x, y)`` film pixels) with their
        :class:`~spinecheck.landmarks.points.provenance.Provenance`; kept even when refused, for
        a person to look at (``spinecheck annotate --detect`` shows them).
    refusal : str or None
        Why the film is refused (one line, without the file's name), or None.
    flags : tuple of str
        The low-confidence flags of a film that is not refused (the provenance's flags and the
        plausibility step's replacements); they are also among ``landmarks.warnings``.
    """

    landmarks: LandmarkSet
    refusal: str | None
    flags: tuple[str, ...]

    def __bool__(self) -> bool:
        return self.refusal is None

    def check(self, where: str) -> LandmarkSet:
        """The landmarks, or :class:`FilmRefused` naming *where* (``"'a.jpg'"``) and the reason."""
        if self.refusal is not None:
            raise FilmRefused(f"{where}: {self.refusal}")
        return self.landmarks


def landmarks_of(detection: Detection, image: ImageRef | None = None) -> LandmarkSet:
    """The detection as an AP landmark set whose provenance records the model and its confidence.

    Parameters
    ----------
    detection : Detection
    image : ImageRef, optional
        The film the points belong to (path, SOP Instance UID); its size is the detection's.

    Returns
    -------
    LandmarkSet
        ``(x, y)`` film pixels, formats.md names; the provenance's flags among its warnings.
    """
    model = detection.model
    provenance = Provenance(
        ProvenanceKind.MODEL,
        # a network loaded from a file (a cross-validation fold's) has no version: its SHA-256 tells it
        ModelInfo(model.name, model.version or "unversioned", model.sha256),
        float(detection.film_confidence),
        {n: float(c) for n, c in detection.point_confidence.items()},
    )
    ref = image if image is not None else ImageRef()
    ref = ImageRef(
        path=ref.path,
        sop_instance_uid=ref.sop_instance_uid,
        rows=detection.rows,
        columns=detection.columns,
        study_date=ref.study_date,
    )
    flags = provenance.flags()
    if detection.replaced:
        flags += (
            f"the model replaced {len(detection.replaced)} vertebra(e) that broke the column by their "
            f"neighbours: {', '.join(detection.replaced)} (check them)",
        )
    return LandmarkSet(
        View.AP,
        {n: (float(x), float(y)) for n, (x, y) in detection.points.items()},
        image=ref,
        provenance=provenance,
        warnings=flags,
    )


def read_detection(
    detection: Detection, *, image: ImageRef | None = None, header_view: View | None = None
) -> Reading:
    """Judge a detection: refuse the film (the module's rules) or keep its landmarks with flags.

    Parameters
    ----------
    detection : Detection
        What the model found on the film.
    image : ImageRef, optional
        Recorded in the landmark set (:func:`landmarks_of`).
    header_view : View, optional
        The view the film's header states (DICOM View Position); a lateral film is refused.

    Returns
    -------
    Reading
        Truthy when the film is read; else ``refusal`` says why in one line.
    """
    s = landmarks_of(detection, image)
    refusal = _refusal(detection, s, header_view)
    return Reading(s, refusal, () if refusal else s.warnings)


def _refusal(detection: Detection, s: LandmarkSet, header_view: View | None) -> str | None:
    if header_view is not None and View.parse(header_view) is View.LATERAL:
        return f"the film's header says it is a lateral film; the landmark model reads {_WHAT}"
    confidence = float(detection.film_confidence)
    if confidence < REFUSE_FILM_CONFIDENCE:
        return (
            f"the landmark model cannot read this film (film confidence {confidence:.2f}, below "
            f"{REFUSE_FILM_CONFIDENCE:.2f}); it reads {_WHAT}: place the points with 'spinecheck annotate'"
        )
    if len(detection.replaced) > MAX_REPLACED_LEVELS:
        return (
            f"the landmark model's corners do not form a spine: {len(detection.replaced)} of "
            f"{len(AASCE_LEVELS)} vertebrae broke the column ({', '.join(detection.replaced)}); it reads "
            f"{_WHAT}: place the points with 'spinecheck annotate'"
        )
    found = check_landmarks(s.to_table())
    suspect = [LEVELS[j] for j in np.flatnonzero(found.bad[0])]
    if len(suspect) > MAX_IMPLAUSIBLE_LEVELS:
        return (
            f"the landmark model's corners are implausible at {len(suspect)} vertebrae "
            f"({', '.join(suspect)}: {found.problems[0]}); it reads {_WHAT}: place the points with "
            "'spinecheck annotate'"
        )
    widening = _widening(s)
    if widening < MIN_WIDENING:
        return (
            f"the landmark model's lumbar vertebrae are not wider than its upper thoracic ones "
            f"(width ratio {widening:.2f}, expected at least {MIN_WIDENING:g}): is it a spine, and is the film "
            f"upside down? The model reads {_WHAT}"
        )
    return None


def _widening(s: LandmarkSet) -> float:
    """Median L1-L5 endplate width over median T1-T4 endplate width, in pixels (NaN if unknown)."""

    def widths(levels: tuple[str, ...]) -> list[float]:
        out = []
        for level in levels:
            for endplate in ("sup", "inf"):
                left = s.points.get(f"{level}.{endplate}.left")
                right = s.points.get(f"{level}.{endplate}.right")
                if left is not None and right is not None:
                    out.append(float(np.hypot(right[0] - left[0], right[1] - left[1])))
        return out

    upper, lumbar = widths(_UPPER), widths(_LUMBAR)
    if not upper or not lumbar or np.median(upper) <= 0:
        return float("nan")
    return float(np.median(lumbar) / np.median(upper))
