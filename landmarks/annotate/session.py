"""Guided landmark placement: the state of an annotation that walks a protocol.

:class:`AnnotationSession` is the state, with no drawing: the protocol step to
place next, the points placed (``(x, y)`` full-resolution image pixels: x =
column, y = row, origin at the centre of the top-left pixel, y down), the
points skipped, what refinement did to each point, and an undo history. Every
change is written at once, atomically, to the landmark file
(:func:`~spinecheck.landmarks.io.landmark_file.write_landmarks`): a crash loses at most the
click in progress. A session opened on an existing file resumes it at the first
step neither placed nor skipped.

Each click is refined by an injected *refiner* (by default
:func:`spinecheck.landmarks.refine.points.refine_point`): the point moves to the refined
position at once and the session goes on to the next step; until the next
change the user may *accept* the move (``Enter``) or *keep the click* (``k``),
which puts the point back where it was clicked and records the decline.

The window over a session is :class:`spinecheck.landmarks.annotate.window.AnnotationWindow`;
this module draws nothing, so it is driven and tested without Matplotlib.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ... import _library_logger
from ..errors import InvalidArgumentError, InvalidLandmarksError
from ..io.atomic import stale_temporaries
from ..io.checks import check_same_image
from ..io.landmark_file import write_landmarks
from ..io.read import read_landmarks
from ..points.anatomy import Anatomy
from ..points.calibration import Calibration
from ..points.circle import Circle
from ..points.facing import anterior_direction
from ..points.model import KEPT_CLICK, ImageRef, LandmarkSet, PatientInfo, PointMove, Refinement
from ..points.names import PatientRight, View, check_point_name
from ..points.operation import Operation, OperationProblem
from ..points.provenance import Provenance
from .protocol import Protocol, Step, get_protocol

__all__ = [
    "AnnotationSession",
    "Review",
    "Refiner",
    "LiveParameters",
    "KEPT_CLICK",
    "default_refiner",
    "stale_temporary_files",
]

_log = _library_logger(__name__)

#: ``refiner(image, name, points, *, view, mm_per_px) -> RefinedPoints | RefineFailure``: a
#: truthy result has ``moves`` (name to :class:`PointMove`), ``circles`` and ``confidence``;
#: a falsy one has ``reason``.
Refiner = Callable[..., Any]
#: ``detector() -> LandmarkSet``: the points a landmark model finds on the film, with their
#: provenance (``spinecheck annotate --detect``, key ``d``); it raises a ``SpinecheckError`` when the
#: model cannot read the film.
Detector = Callable[[], LandmarkSet]
#: ``live(landmarks, calibration, *, parameters) -> lines``: the parameters computable so far, one per
#: line; *parameters* (a protocol's ids) says which.
LiveParameters = Callable[..., Sequence[str]]

#: A refined circle is kept only when its centre is the point (landmark files require 1 px).
_CIRCLE_TOLERANCE_PX = 1.0


def default_refiner() -> Refiner:
    """Return :func:`spinecheck.landmarks.refine.points.refine_point`, imported on first use.

    Raises
    ------
    ImportError
        The refinement module is not available.
    """
    from ..refine.points import refine_point

    return refine_point


def stale_temporary_files(path: str | os.PathLike[str]) -> list[Path]:
    """Temporary files an interrupted :func:`write_landmarks` of *path* left beside it.

    They are never read (the landmark file is replaced in one step, so it is
    always whole), and the next save removes them (those of a process that
    still runs excepted: :func:`~spinecheck.landmarks.io.atomic.stale_temporaries`).
    """
    return stale_temporaries(path)


@dataclass(frozen=True)
class Review:
    """What refinement did to the last click, for the user to accept or override.

    Attributes
    ----------
    name : str
        The point clicked.
    click : tuple of float
        Where it was clicked, ``(x, y)`` pixels.
    moves : Mapping[str, PointMove]
        The moves applied: the clicked point and any partner the refiner
        moved with it (the other corner of an endplate).
    circles : Mapping[str, Circle]
        Circles the refiner fitted (femoral heads).
    confidence : float or None
        The refiner's confidence; None when it did not refine.
    failure : str or None
        Why the point was left at the click, when it was.
    kept : bool
        The user chose to keep the click.
    applies : bool
        False when no refiner handles this kind of point (a centroid): it was
        placed as clicked by design, and the window does not flag it.
    """

    name: str
    click: tuple[float, float]
    moves: Mapping[str, PointMove] = field(default_factory=dict)
    circles: Mapping[str, Circle] = field(default_factory=dict)
    confidence: float | None = None
    failure: str | None = None
    kept: bool = False
    applies: bool = True

    @property
    def refined(self) -> tuple[float, float] | None:
        """Where the clicked point was moved, or None when it was not."""
        move = self.moves.get(self.name)
        return None if move is None else move.refined


@dataclass(frozen=True)
class _State:
    """The file content of a session at one moment (copied on every change, never mutated)."""

    points: Mapping[str, tuple[float, float]]  # in placement order
    skipped: tuple[str, ...] = ()
    moved: Mapping[str, PointMove] = field(default_factory=dict)
    declined: Mapping[str, str] = field(default_factory=dict)
    circles: Mapping[str, Circle] = field(default_factory=dict)
    clicks: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Undo:
    state: _State
    review: Review | None
    review_before: _State | None


class AnnotationSession:
    """The state of one guided annotation, saved after every change.

    Parameters
    ----------
    path : str or path-like
        The landmark file (``spinecheck-landmarks/1``). When it exists (and
        *resume* is true) the session continues it.
    protocol : Protocol or str
        What to place, in which order (:mod:`spinecheck.landmarks.annotate.protocol`).
    image : ndarray, shape (rows, columns), optional
        The image given to the refiner: bone bright, full resolution, every
        stored grey level (``Radiograph.analysis``, not the 8-bit display).
        Required when *refiner* is given.
    image_ref : ImageRef, optional
        The film (path, SOP Instance UID, rows, columns), recorded in the file;
        a resumed file must match it. Rows and columns bound the clicks.
    calibration : Calibration, optional
        A user calibration to record in the file (it overrides the header
        when measuring). None keeps the resumed file's, if any.
    header_calibration : Calibration, optional
        The image header's spacing: with *calibration*, decides the
        ``mm_per_px`` given to the refiner and the live parameters.
    patient_right : PatientRight or str, optional
        AP films: recorded unless the resumed file states it.
    refiner : callable, optional
        See :data:`Refiner`; None places points exactly where clicked.
    resume : bool
        False refuses an existing *path* instead of continuing it.
    operation : Operation, optional
        The operation a post-operative film follows, recorded in the file (its
        items replace a resumed file's). With the resumed file's, it adds the
        endplates of the junctional angles at its UIV and LIV to a lateral
        protocol (:meth:`Protocol.with_junctions`).
    detector : callable, optional
        See :data:`Detector`: what :meth:`detect` fills the points from.

    Raises
    ------
    InvalidLandmarksError
        The existing file is of another view or another image, or unreadable.
    FileExistsError
        *path* exists and *resume* is false.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "case.landmarks.json")
    >>> s = AnnotationSession(path, "lateral-core", image_ref=ImageRef(rows=100, columns=50))
    >>> s.current.name
    'FH.left'
    >>> print(s.place((20, 80)))
    placed FH.left at (20.0, 80.0)
    >>> print(s.skip())
    skipped FH.right
    >>> AnnotationSession(path, "lateral-core").current.name  # resumed
    'S1.sup.ant'
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        protocol: Protocol | str,
        *,
        image: np.ndarray | None = None,
        image_ref: ImageRef | None = None,
        calibration: Calibration | None = None,
        header_calibration: Calibration | None = None,
        patient_right: PatientRight | str | None = None,
        refiner: Refiner | None = None,
        resume: bool = True,
        operation: Operation | None = None,
        detector: Detector | None = None,
    ) -> None:
        self.path = Path(path)
        self.protocol = protocol if isinstance(protocol, Protocol) else get_protocol(protocol)
        self.view: View = self.protocol.view
        if refiner is not None and image is None:
            raise InvalidArgumentError.about(
                "refiner",
                "AnnotationSession: a {refiner} needs the {image} (Radiograph.analysis)",
                names={"image": "image"},
            )
        if image is not None and np.asarray(image).ndim != 2:
            raise InvalidArgumentError.about(
                "image",
                "AnnotationSession: {image} must be 2-D (rows, columns); got {got}",
                got=np.shape(image),
            )
        self.image = image
        ref = image_ref or ImageRef()
        if image is not None and ref.rows is None and ref.columns is None:
            ref = ImageRef(ref.path, ref.sop_instance_uid, int(image.shape[0]), int(image.shape[1]))
        self.image_ref = ref
        self.refiner = refiner
        self.header_calibration = header_calibration
        self.calibration = calibration
        self.patient_right = (
            PatientRight.parse(patient_right, field="patient_right") if patient_right is not None else None
        )
        self.patient = PatientInfo()
        self.operation: Operation | None = None  # a resumed file's, written back as it was
        self.anatomy = Anatomy()  # a resumed file's (a sacralised vertebra), written back as it was
        self.detector = detector
        # who placed the points, when a model did; and where the model put those no person has moved
        self.provenance: Provenance | None = None
        self._model_xy: dict[str, tuple[float, float]] = {}
        self.resumed = False
        self.saved_at: datetime.datetime | None = None
        self.dirty = False
        self._state = _State(points={})
        self._undo: list[_Undo] = []
        self._review: Review | None = None
        self._review_before: _State | None = None
        self._cursor: str | None = None
        if self.path.exists():
            if not resume:
                raise FileExistsError(
                    f"landmarks file '{self.path}' exists; resume it, or choose another output with -o"
                )
            self._resume(read_landmarks(self.path))
        if operation is not None:
            base = self.operation or Operation()
            try:
                self.operation = base.replaced(operation.source or "annotation", **operation.items())
            except OperationProblem as e:
                raise InvalidLandmarksError(
                    f"landmarks file '{self.path}': the operation given does not fit the file's: "
                    f'"operation.{e.item}" {e}'
                ) from None
        if self.operation is not None:
            self.protocol = self.protocol.with_junctions(self.operation.uiv, self.operation.liv)

    # ------------------------------------------------------------------------------------------ resume

    def _resume(self, s: LandmarkSet) -> None:
        where = f"landmarks file '{self.path}'"
        if s.view is not self.view:
            raise InvalidLandmarksError(
                f"{where}: is a {s.view.value} film's landmarks, but this annotation is {self.view.value} "
                f"(protocol {self.protocol.name!r}); choose another output with -o"
            )
        mine, theirs = self.image_ref, s.image
        check_same_image(s, mine, where, advice="; choose another output with -o")
        self.image_ref = mine.completed_by(theirs)  # this film's path: the one being annotated now
        refinement = s.refinement or Refinement()
        clicks = {
            n: refinement.moved[n].original if n in refinement.moved else xy for n, xy in s.points.items()
        }
        self._state = _State(
            points=dict(s.points),
            skipped=tuple(s.skipped),
            moved=dict(refinement.moved),
            declined=dict(refinement.declined),
            circles=dict(s.circles),
            clicks=clicks,
        )
        if self.calibration is None:
            self.calibration = s.calibration
        if s.patient_right is not None:
            self.patient_right = s.patient_right
        self.patient = s.patient
        self.operation = s.operation
        self.anatomy = s.anatomy
        self._take_provenance(s)
        self.resumed = True
        self.saved_at = datetime.datetime.fromtimestamp(self.path.stat().st_mtime)

    # ------------------------------------------------------------------------------------------ settings

    def set_calibration(self, calibration: Calibration | None) -> str:
        """Record a user calibration (a line, a ball; None removes it); save.

        It overrides the image header in every measurement, as a landmark
        file's calibration does (clinical.md, calibration rule 1).
        """
        self.calibration = calibration
        self._save()
        if calibration is None or not calibration.calibrated:
            return "calibration removed: " + (
                "the image header's spacing is used" if self.header_calibration else "distances in pixels"
            )
        return f"calibrated: {calibration.rule.removeprefix('user calibration: ')}"

    def set_patient_right(self, side: PatientRight | str | None) -> str:
        """AP films: record on which side of the image the patient's right lies (None: unknown); save."""
        if self.view is not View.AP:
            raise InvalidLandmarksError(
                "the patient's right is recorded on AP films; on a lateral film the corners you place say "
                "which way the patient faces"
            )
        self.patient_right = PatientRight.parse(side, field="patient_right") if side is not None else None
        self._save()
        if self.patient_right is None:
            return "patient's right: not recorded (sides are reported as image sides)"
        return f"patient's right is on the {self.patient_right.value.replace('_', ' ')}"

    # ------------------------------------------------------------------------------------------ reading

    @property
    def points(self) -> Mapping[str, tuple[float, float]]:
        """Placed points, name to ``(x, y)`` pixels, in the order they were placed."""
        return MappingProxyType(dict(self._state.points))

    @property
    def skipped(self) -> tuple[str, ...]:
        """Points the user skipped."""
        return self._state.skipped

    @property
    def refinement(self) -> Refinement:
        """What refinement did: points moved, and points left at the click with the reason."""
        return Refinement(self._state.moved, self._state.declined)

    @property
    def circles(self) -> Mapping[str, Circle]:
        """Circles fitted by refinement (femoral heads)."""
        return MappingProxyType(dict(self._state.circles))

    @property
    def review(self) -> Review | None:
        """The last refinement, until the next change; None when there is nothing to review."""
        return self._review

    @property
    def can_undo(self) -> bool:
        """True when there is a change of this session to undo."""
        return bool(self._undo)

    @property
    def effective_calibration(self) -> Calibration | None:
        """The spacing measurements use: the user calibration if any, else the header's."""
        if self.calibration is not None and self.calibration.calibrated:
            return self.calibration
        return self.header_calibration

    @property
    def mm_per_px(self) -> tuple[float, float] | None:
        """``(row, col)`` millimetres per pixel given to the refiner, or None."""
        cal = self.effective_calibration
        return None if cal is None else cal.mm_per_px

    @property
    def current(self) -> Step | None:
        """The step to place now: the one chosen with :meth:`goto`, else the first neither placed nor skipped.

        None when every step is placed or skipped.
        """
        if self._cursor is not None:
            return self.protocol.step(self._cursor)
        for step in self.protocol.steps:
            if step.name not in self._state.points and step.name not in self._state.skipped:
                return step
        return None

    @property
    def index(self) -> int | None:
        """Position of the current step in the protocol (None when done or off the protocol)."""
        step = self.current
        if step is None or step.name not in self.protocol:
            return None
        return self.protocol.index(step.name)

    @property
    def done(self) -> bool:
        """True when every step is placed or skipped."""
        return self.current is None

    def counts(self) -> tuple[int, int, int]:
        """``(placed, skipped, to do)`` over the protocol's steps."""
        placed = sum(s.name in self._state.points for s in self.protocol.steps)
        skipped = sum(s.name in self._state.skipped for s in self.protocol.steps)
        return placed, skipped, len(self.protocol) - placed - skipped

    def anterior_side(self) -> str | None:
        """Lateral films: ``"image right"`` or ``"image left"`` as the placed corners say; else None."""
        if self.view is not View.LATERAL:
            return None
        facing = anterior_direction(self._state.points)
        return None if facing is None else ("image right" if facing > 0 else "image left")

    @property
    def landmarks(self) -> LandmarkSet:
        """The landmark set as it is (and as it is saved)."""
        st = self._state
        refinement = Refinement(st.moved, st.declined)
        return LandmarkSet(
            view=self.view,
            points=st.points,
            calibration=self.calibration,
            patient=self.patient,
            image=self.image_ref,
            patient_right=self.patient_right if self.view is View.AP else None,
            circles=st.circles,
            source=str(self.path),
            refinement=refinement if refinement else None,
            skipped=st.skipped,
            operation=self.operation,
            anatomy=self.anatomy,
            provenance=self._provenance_now(),
        )

    def nearest_point(self, xy: tuple[float, float], max_distance_px: float = math.inf) -> str | None:
        """The placed point closest to *xy* (image pixels), if within *max_distance_px*."""
        best, best_d = None, max_distance_px
        for name, p in self._state.points.items():
            d = math.dist(p, xy)
            if d <= best_d:
                best, best_d = name, d
        return best

    # ------------------------------------------------------------------------------------------ changes

    def place(self, xy: tuple[float, float]) -> str:
        """Place the current point at *xy* (``(x, y)`` full-resolution pixels), refine it, save.

        Returns
        -------
        str
            What happened, for the status line.

        Raises
        ------
        InvalidLandmarksError
            *xy* is not finite or lies outside the image, or every step is done.
        """
        step = self.current
        if step is None:
            raise InvalidLandmarksError(
                "every point of the protocol is placed or skipped; re-place one with goto(name)"
            )
        click = self._check_xy(xy)
        name = step.name
        before = self._state
        points = {n: p for n, p in before.points.items() if n != name}
        points[name] = click
        moved = {n: m for n, m in before.moved.items() if n != name}
        declined = {n: r for n, r in before.declined.items() if n != name}
        circles = {n: c for n, c in before.circles.items() if n != name}
        clicks = {**before.clicks, name: click}
        review = Review(name, click)
        if self.refiner is not None:
            review = self._refine(name, click, points, moved, declined, circles, clicks)
        self._change(
            _State(
                points=points,
                skipped=tuple(n for n in before.skipped if n != name),
                moved=moved,
                declined=declined,
                circles=circles,
                clicks=clicks,
            ),
            review=review if self.refiner is not None else None,
            review_before=before,
        )
        return self._placed_message(review)

    def accept(self) -> str:
        """Accept the last refinement (it is already applied): the review ends, nothing changes."""
        review = self._review
        if review is None or not review.moves:
            return "nothing to accept: the last point was not moved by refinement"
        self._review = self._review_before = None
        return f"accepted the refined {review.name}"

    def keep_click(self) -> str:
        """Put the last refined point back where it was clicked; record the decline; save.

        Partner points the refiner moved with it go back too.
        """
        review, before = self._review, self._review_before
        if review is None or before is None or review.kept:
            return "nothing to override: press k right after placing a point"
        if not review.moves:
            why = f" ({review.failure})" if review.failure else ""
            return f"{review.name} is already where you clicked{why}"
        name, click = review.name, review.click
        points = {n: p for n, p in before.points.items() if n != name}
        points[name] = click
        self._change(
            _State(
                points=points,
                skipped=tuple(n for n in before.skipped if n != name),
                moved={n: m for n, m in before.moved.items() if n != name},
                declined={**{n: r for n, r in before.declined.items() if n != name}, name: KEPT_CLICK},
                circles={n: c for n, c in before.circles.items() if n != name},
                clicks={**before.clicks, name: click},
            ),
            review=Review(name, click, kept=True),
            review_before=None,
        )
        return f"kept your click for {name}"

    def skip(self) -> str:
        """Skip the current point (a placed one is removed); save."""
        step = self.current
        if step is None:
            return "nothing to skip: every point is placed or skipped"
        name = step.name
        st = self._state
        self._change(
            _State(
                points={n: p for n, p in st.points.items() if n != name},
                skipped=(*(n for n in st.skipped if n != name), name),
                moved={n: m for n, m in st.moved.items() if n != name},
                declined={n: r for n, r in st.declined.items() if n != name},
                circles={n: c for n, c in st.circles.items() if n != name},
                clicks={n: c for n, c in st.clicks.items() if n != name},
            )
        )
        return f"skipped {name}"

    def fill(self, detected: LandmarkSet) -> str:
        """Load the points a model found, for the person to check and correct; save.

        Every point of *detected* that this session has neither placed nor skipped is
        placed where the model put it (not refined: the model placed it); a person's
        points are kept. The file records the model's provenance, and a point the
        person later moves or re-places is listed as corrected. One undo takes the
        whole fill back.

        Parameters
        ----------
        detected : LandmarkSet
            The model's points (``(x, y)`` pixels of this film), with their provenance.

        Returns
        -------
        str
            What happened, for the status line.

        Raises
        ------
        InvalidLandmarksError
            *detected* is of another view or of another image.
        """
        where = "the detected landmarks"
        if detected.view is not self.view:
            raise InvalidLandmarksError(
                f"{where} are of an {detected.view.value} film, but this annotation is {self.view.value}"
            )
        check_same_image(detected, self.image_ref, where)
        before = self._state
        new = {
            n: self._check_xy(xy)
            for n, xy in detected.points.items()
            if n not in before.points and n not in before.skipped
        }
        if not new:
            return "every point the model found is already placed or skipped: nothing filled"
        self._take_provenance(detected, only=new)
        self._change(
            _State(
                points={**before.points, **new},
                skipped=before.skipped,
                moved=dict(before.moved),
                declined=dict(before.declined),
                circles=dict(before.circles),
                clicks={**before.clicks, **new},
            )
        )
        kept = len(detected.points) - len(new)
        low = self.provenance.low_points() if self.provenance else ()
        low_text = (
            f"; {len(low)} of low confidence (check them first: {', '.join(low[:3])}...)" if low else ""
        )
        kept_text = f"; your {kept} points kept" if kept else ""
        return f"filled {len(new)} points found by the model{kept_text}{low_text}: check each, press r to re-place"

    def detect(self) -> str:
        """Fill the points the session's :data:`Detector` finds (:meth:`fill`); say why not when it cannot."""
        if self.detector is None:
            return "no landmark model in this session"
        return self.fill(self.detector())

    def undo(self) -> str:
        """Undo the last change of this session (placing, skipping, keeping a click); save."""
        if not self._undo:
            if self.resumed:
                return "nothing to undo since the file was opened; press r to re-place a point"
            return "nothing to undo"
        entry = self._undo.pop()
        undone = _describe_change(entry.state, self._state)
        self._state = entry.state
        self._review, self._review_before = entry.review, entry.review_before
        self._cursor = None
        self._save()
        return f"undid {undone}"

    def goto(self, name: str | None) -> str:
        """Make *name* the point to place next (to re-place or place out of order); None cancels."""
        if name is None:
            self._cursor = None
            return "back to the list"
        check_point_name(name, self.view)
        self._cursor = name
        if name in self._state.points:
            return f"re-placing {name}: click its new position (esc cancels)"
        return f"now placing {name}"

    def step_by(self, delta: int) -> str:
        """Move to the step *delta* places before (negative) or after the current one, placed or not."""
        names = self.protocol.names
        i = self.index
        if i is None:
            i = len(names) if delta < 0 else -1
        j = min(max(i + delta, 0), len(names) - 1)
        return self.goto(names[j])

    def save(self) -> Path:
        """Write the landmark file now (atomically); return its path."""
        try:
            write_landmarks(self.landmarks, self.path)
        except BaseException:
            self.dirty = True
            raise
        self.dirty = False
        self.saved_at = datetime.datetime.now()
        return self.path

    # ------------------------------------------------------------------------------------------ helpers

    def _change(
        self, new: _State, *, review: Review | None = None, review_before: _State | None = None
    ) -> None:
        self._undo.append(_Undo(self._state, self._review, self._review_before))
        self._state = new
        self._review, self._review_before = review, review_before if review is not None else None
        self._cursor = None
        self._save()

    def _save(self) -> None:
        self.save()

    def _take_provenance(self, s: LandmarkSet, only: Mapping[str, Any] | None = None) -> None:
        """Remember *s*'s provenance, and where its model put the points no person corrected."""
        p = s.provenance
        if p is None:
            return
        names = [n for n in s.points if n in p.point_confidence and n not in p.corrected]
        if only is not None:
            names = [n for n in names if n in only]
            mine = {n: c for n, c in p.point_confidence.items() if n in only}
            p = dataclasses.replace(p, point_confidence=mine, corrected=())
        self._model_xy.update((n, s.points[n]) for n in names)
        if self.provenance is None or only is None:
            self.provenance = p
        else:  # a second fill: the model's confidence of the points it placed now, the corrections kept
            merged = {**self.provenance.point_confidence, **p.point_confidence}
            self.provenance = dataclasses.replace(
                p, point_confidence=merged, corrected=self.provenance.corrected
            )

    def _provenance_now(self) -> Provenance | None:
        """The provenance to save: the model's points a person moved since are listed as corrected."""
        p = self.provenance
        if p is None:
            return None
        points = self._state.points
        present = [n for n in self._model_xy if n in points]
        if not present and not any(n in points for n in p.corrected):
            return None  # the model's points were all undone or removed
        return p.with_corrected(n for n in present if points[n] != self._model_xy[n])

    def _check_xy(self, xy: tuple[float, float]) -> tuple[float, float]:
        try:
            x, y = (float(v) for v in xy)
        except (TypeError, ValueError):
            raise InvalidLandmarksError(f"a click must be (x, y) pixels; got {xy!r}") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise InvalidLandmarksError(f"a click must be finite (x, y) pixels; got ({x!r}, {y!r})")
        rows, cols = self.image_ref.rows, self.image_ref.columns
        if (cols is not None and not -0.5 <= x <= cols - 0.5) or (
            rows is not None and not -0.5 <= y <= rows - 0.5
        ):
            raise InvalidLandmarksError(
                f"({x:.1f}, {y:.1f}) lies outside the image ({cols} x {rows} px); click on the film"
            )
        return (x, y)

    def _inside(self, xy: tuple[float, float]) -> bool:
        try:
            self._check_xy(xy)
        except InvalidLandmarksError:
            return False
        return True

    def _refine(
        self,
        name: str,
        click: tuple[float, float],
        points: dict[str, tuple[float, float]],
        moved: dict[str, PointMove],
        declined: dict[str, str],
        circles: dict[str, Circle],
        clicks: dict[str, tuple[float, float]],
    ) -> Review:
        """Run the refiner on the new click and apply its moves to the given dicts (in place)."""
        try:
            result = self.refiner(  # type: ignore[misc]
                self.image, name, MappingProxyType(dict(points)), view=self.view, mm_per_px=self.mm_per_px
            )
        except Exception as e:  # a refiner bug must not lose the annotation: keep the click, say why
            _log.warning("refinement of %s failed", name, exc_info=True)
            result = None
            reason = f"refinement error: {type(e).__name__}: {e}"
        else:
            reason = str(getattr(result, "reason", "")) or "refinement found nothing"
        if not result:
            declined[name] = reason
            return Review(name, click, failure=reason, applies=bool(getattr(result, "applies", True)))
        applied: dict[str, PointMove] = {}
        for n, m in dict(getattr(result, "moves", {}) or {}).items():
            refined = (float(m.refined[0]), float(m.refined[1]))
            if n not in points:
                _log.info("refiner moved %s, which is not placed; ignored", n)
                continue
            if n != name and declined.get(n) == KEPT_CLICK:
                continue  # the user kept that click on purpose: a partner refinement does not move it
            if not self._inside(refined):
                _log.info("refiner moved %s outside the image; ignored", n)
                continue
            original = click if n == name else clicks.get(n, points[n])
            confidence = float(getattr(m, "confidence", getattr(result, "confidence", 0.0)))
            move = PointMove(n, original, refined, str(m.method), min(max(confidence, 0.0), 1.0))
            points[n] = refined
            moved[n] = move
            declined.pop(n, None)
            applied[n] = move
        fitted: dict[str, Circle] = {}
        for n, c in dict(getattr(result, "circles", {}) or {}).items():
            if n in points and math.dist(c.center, points[n]) <= _CIRCLE_TOLERANCE_PX:
                circles[n] = fitted[n] = c
        confidence = float(getattr(result, "confidence", 0.0))
        if name not in applied:
            failure = "the refiner did not move this point"
            declined[name] = failure
            return Review(name, click, applied, fitted, confidence, failure)
        return Review(name, click, applied, fitted, confidence)

    def _placed_message(self, review: Review) -> str:
        x, y = review.click
        if review.refined is None and not review.applies:
            return (
                f"placed {review.name} at ({x:.1f}, {y:.1f}), as clicked (only heads and corners are refined)"
            )
        if review.refined is None:
            tail = f" (not refined: {review.failure})" if review.failure else ""
            return f"placed {review.name} at ({x:.1f}, {y:.1f}){tail}"
        move = review.moves[review.name]
        partners = [n for n in review.moves if n != review.name]
        also = f"; also moved {', '.join(partners)}" if partners else ""
        return (
            f"refined {review.name}: moved {move.distance_px:.1f} px ({move.method}, confidence "
            f"{move.confidence:.2f}){also}; enter accepts, k keeps your click"
        )


def _describe_change(before: _State, after: _State) -> str:
    """Name the change from *before* to *after* (the thing an undo reverts)."""
    added = [n for n in after.points if n not in before.points]
    if len(added) > 1:
        return f"filling {len(added)} points"
    if added:
        return f"placing {added[0]}"
    newly_skipped = [n for n in after.skipped if n not in before.skipped]
    if newly_skipped:
        return f"skipping {newly_skipped[0]}"
    kept = [n for n, why in after.declined.items() if why == KEPT_CLICK and before.declined.get(n) != why]
    if kept:
        return f"keeping your click for {kept[0]}"
    changed = [n for n, p in after.points.items() if before.points.get(n) != p]
    if changed:
        return f"moving {changed[0]}"
    return "the last change"
