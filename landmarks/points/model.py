"""Typed landmark containers: one study (:class:`LandmarkSet`) and many (:class:`LandmarkTable`).

Coordinates are always ``(x, y)`` image pixels: x = column, y = row, origin at
the centre of the top-left pixel, y growing downward.

A :class:`LandmarkTable` is columnar: one ``(N, 2)`` float array per point name,
NaN where a study lacks that point, so geometry over N studies is one NumPy
call. A single study is a table of one row (:meth:`LandmarkSet.to_table`).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field, replace
from itertools import chain
from types import MappingProxyType

import numpy as np

from ... import dataclass
from .anatomy import Anatomy, SpineLevels, check_anatomy, spine_levels
from .calibration import Calibration
from .circle import Circle
from .film import FilmIdentity
from .names import PatientRight, View, VocabularyEnum, level_index
from .operation import Operation
from .provenance import Provenance

__all__ = [
    "Sex",
    "PatientInfo",
    "ImageRef",
    "PointMove",
    "Refinement",
    "KEPT_CLICK",
    "LandmarkSet",
    "LandmarkTable",
]


class Sex(VocabularyEnum):
    F = "F"
    M = "M"
    O = "O"  # noqa: E741 - DICOM's own code for "other"


@dataclass(frozen=True)
class PatientInfo:
    """What is known of the patient, each item with its source.

    ``age_years`` is None when unknown: age-adjusted criteria are then not
    applied (clinical.md §3.3), never assumed.
    """

    age_years: float | None = None
    age_source: str | None = None
    sex: Sex | None = None
    sex_source: str | None = None

    def completed_by(self, other: PatientInfo) -> PatientInfo:
        """Return this information with each unknown item (and its source) taken from *other*.

        >>> PatientInfo(None, None, Sex.F, "landmark file").completed_by(PatientInfo(67.0, "DICOM PatientAge"))
        PatientInfo(age_years=67.0, age_source='DICOM PatientAge', sex=<Sex.F: 'F'>, sex_source='landmark file')
        """
        age = self if self.age_years is not None else other
        sex = self if self.sex is not None else other
        return PatientInfo(age.age_years, age.age_source, sex.sex, sex.sex_source)

    def to_json(self) -> dict:
        out: dict = {"age_years": self.age_years, "age_source": self.age_source}
        if self.sex is not None:
            out["sex"] = self.sex.value
            out["sex_source"] = self.sex_source
        return out


@dataclass(frozen=True)
class ImageRef:
    """The image a landmark set was placed on (all fields optional).

    ``study_date`` is the day the film was taken, as the landmark file states it
    (``"image": {"study_date": "YYYY-MM-DD"}``): the date ``spinecheck compare``
    uses for a film whose header gives none (a PNG or JPEG).
    """

    path: str | None = None
    sop_instance_uid: str | None = None
    rows: int | None = None
    columns: int | None = None
    study_date: datetime.date | None = None

    def completed_by(self, other: ImageRef) -> ImageRef:
        """Return this reference with each unknown field taken from *other*.

        >>> ImageRef("a.dcm").completed_by(ImageRef("b.dcm", "1.2", 100, 50))
        ImageRef(path='a.dcm', sop_instance_uid='1.2', rows=100, columns=50, study_date=None)
        """
        return ImageRef(
            self.path or other.path,
            self.sop_instance_uid or other.sop_instance_uid,
            self.rows if self.rows is not None else other.rows,
            self.columns if self.columns is not None else other.columns,
            self.study_date or other.study_date,
        )

    def to_json(self) -> dict:
        return {
            k: v
            for k, v in (
                ("path", self.path),
                ("sop_instance_uid", self.sop_instance_uid),
                ("rows", self.rows),
                ("columns", self.columns),
                ("study_date", self.study_date.isoformat() if self.study_date else None),
            )
            if v is not None
        }


@dataclass(frozen=True)
class PointMove:
    """How image-based refinement moved one point.

    Attributes
    ----------
    name : str
        The point name.
    original : tuple of float
        The rough point ``(x, y)`` in pixels, before refinement.
    refined : tuple of float
        Where refinement placed it, ``(x, y)`` pixels (the point now in the set).
    method : str
        The refiner that placed it (``"femoral_head"``, ``"endplate"``, ``"corner"``).
    confidence : float
        The refiner's confidence in ``[0, 1]``.

    Examples
    --------
    >>> PointMove("S1.sup.ant", (10.0, 20.0), (13.0, 24.0), "endplate", 0.8).distance_px
    5.0
    """

    name: str
    original: tuple[float, float]
    refined: tuple[float, float]
    method: str
    confidence: float

    @property
    def distance_px(self) -> float:
        """How far the point moved, in pixels."""
        return math.dist(self.original, self.refined)


#: The decline reason recorded when the user puts a refined point back at the click: a later
#: refinement (the annotation window's or ``spinecheck refine``'s) leaves such a point alone.
KEPT_CLICK = "user kept the click"


@dataclass(frozen=True)
class Refinement:
    """What refinement did to a landmark set: points moved and points left as placed.

    Attributes
    ----------
    moved : Mapping[str, PointMove]
        Point name to its move.
    declined : Mapping[str, str]
        Point name to why it was left where it was placed (the refiner
        declined, or the user kept the click).
    """

    moved: Mapping[str, PointMove] = field(default_factory=dict)
    declined: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "moved", MappingProxyType(dict(self.moved)))
        object.__setattr__(self, "declined", MappingProxyType(dict(self.declined)))

    def __bool__(self) -> bool:
        return bool(self.moved or self.declined)


class FloatPoints(dict[str, tuple[float, float]]):
    """Points whose every value is already a ``(float, float)`` tuple, as their reader made them.

    :class:`LandmarkSet` copies such a dict as it is (in C, the tuples shared) instead of making
    each point again with two ``float`` calls: some 115 000 instructions of a hundred-point film,
    15 % of parsing its landmark file (issue 17, 4). For readers that made every point themselves
    (:func:`~spinecheck.landmarks.io.landmark_file.parse_landmarks`); anything else is a plain dict.
    """


#: The fields of a :class:`LandmarkSet` that ``__post_init__`` keeps as given and its checks do not read
#: (``patient_right`` is parsed alone): :meth:`LandmarkSet.replace` changes them without the others.
_AS_GIVEN = frozenset(
    {
        "calibration",
        "patient",
        "image",
        "patient_right",
        "source",
        "warnings",
        "refinement",
        "operation",
        "provenance",
    }
)


@dataclass(frozen=True)
class LandmarkSet:
    """The named landmarks of one film.

    Attributes
    ----------
    view : View
    points : Mapping[str, tuple[float, float]]
        Point name to ``(x, y)`` pixels. Read-only.
    calibration : Calibration or None
        A calibration given with the landmarks (it overrides the image
        header). None when the landmark file says nothing about scale.
    patient : PatientInfo
    image : ImageRef
    patient_right : PatientRight or None
        AP films: on which side of the image the patient's right lies.
    circles : Mapping[str, Circle]
        Femoral-head (or other) circles, when given as circles.
    source : str or None
        Where the set was read from, for messages and reports.
    warnings : tuple of str
        Problems found while reading that do not stop measuring.
    refinement : Refinement or None
        Which points image-based refinement moved (and by how much) or left
        as placed, when the set went through refinement.
    skipped : tuple of str
        Points the annotator chose to skip (not visible, not needed), so a
        resumed annotation does not ask for them again.
    operation : Operation or None
        The operation a post-operative film records (date, UIV, LIV, fused
        levels); None when the film is not known to be operated.
    anatomy : Anatomy
        Transitional anatomy the points' names do not say (a sacralised
        vertebra); T13 and L6 are said by naming them
        (:mod:`spinecheck.landmarks.points.anatomy`).
    provenance : Provenance or None
        Who placed the points when a model did (``spinecheck detect``): the model, its
        confidence per point and per film, the points a person corrected. None: placed by hand.
    """

    view: View
    points: Mapping[str, tuple[float, float]]
    calibration: Calibration | None = None
    patient: PatientInfo = field(default_factory=PatientInfo)
    image: ImageRef = field(default_factory=ImageRef)
    patient_right: PatientRight | None = None
    circles: Mapping[str, Circle] = field(default_factory=dict)
    source: str | None = None
    warnings: tuple[str, ...] = ()
    refinement: Refinement | None = None
    skipped: tuple[str, ...] = ()
    operation: Operation | None = None
    anatomy: Anatomy = field(default_factory=Anatomy)
    provenance: Provenance | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", View.parse(self.view))
        check_anatomy(self.anatomy, self.points, where=f"landmarks {self.source!r}" if self.source else "")
        object.__setattr__(self, "skipped", tuple(self.skipped))
        if self.patient_right is not None:
            object.__setattr__(
                self, "patient_right", PatientRight.parse(self.patient_right, field="patient_right")
            )
        points = self.points
        object.__setattr__(
            self,
            "points",
            MappingProxyType(
                dict(points)
                if type(points) is FloatPoints
                else {k: (float(v[0]), float(v[1])) for k, v in points.items()}
            ),
        )
        object.__setattr__(self, "circles", MappingProxyType(dict(self.circles)))

    def __contains__(self, name: object) -> bool:
        return name in self.points

    def replace(self, **changes: object) -> LandmarkSet:
        """A copy with some fields changed.

        A copy that changes only fields :meth:`__post_init__` neither normalises nor checks
        (:data:`_AS_GIVEN`; ``patient_right`` is parsed) shares the other fields as they are:
        they were normalised and checked when this set was made (issue 17, 4: merging a film's
        header into its landmarks made every point again).
        """
        if changes.keys() <= _AS_GIVEN and type(self) is LandmarkSet:
            side = changes.get("patient_right")
            if side is not None:
                changes["patient_right"] = PatientRight.parse(side, field="patient_right")
            new = object.__new__(LandmarkSet)
            new.__dict__.update(self.__dict__, **changes)
            return new
        return replace(self, **changes)  # type: ignore[arg-type]

    def mirrored(self, width: float) -> LandmarkSet:
        """The same film flipped left–right: ``x -> width - 1 - x``.

        On an AP film, image left and right swap, so ``.left``/``.right``
        names swap too and ``patient_right`` follows.
        """

        def flip(p: tuple[float, float]) -> tuple[float, float]:
            return (width - 1 - p[0], p[1])

        def swap(name: str) -> str:
            if self.view is not View.AP:
                return name
            if name.endswith(".left"):
                return name[: -len("left")] + "right"
            if name.endswith(".right"):
                return name[: -len("right")] + "left"
            return name

        points = {swap(n): flip(p) for n, p in self.points.items()}
        circles = {swap(n): Circle(flip(c.center), c.radius, c.rms_px) for n, c in self.circles.items()}
        pr = self.patient_right
        if pr is not None:
            pr = PatientRight.IMAGE_LEFT if pr is PatientRight.IMAGE_RIGHT else PatientRight.IMAGE_RIGHT
        refinement = self.refinement
        if refinement is not None:
            refinement = Refinement(
                {
                    swap(n): replace(m, name=swap(n), original=flip(m.original), refined=flip(m.refined))
                    for n, m in refinement.moved.items()
                },
                {swap(n): why for n, why in refinement.declined.items()},
            )
        provenance = self.provenance
        if provenance is not None:
            names = {*provenance.point_confidence, *provenance.corrected}
            provenance = provenance.renamed({n: swap(n) for n in names})
        return replace(
            self,
            points=points,
            circles=circles,
            patient_right=pr,
            refinement=refinement,
            skipped=tuple(swap(n) for n in self.skipped),
            provenance=provenance,
        )

    def to_table(
        self, calibration: Calibration | None = None, patient: PatientInfo | None = None
    ) -> LandmarkTable:
        """Return this study as a one-row table (the measuring core works on tables)."""
        return LandmarkTable.from_sets([self], calibrations=[calibration], patients=[patient])


@dataclass(frozen=True)
class LandmarkTable:
    """Landmarks of N studies, columnar.

    Attributes
    ----------
    ids : tuple of str
        A label per study (image or file name).
    views : ndarray of object, shape (N,)
        :class:`View` per study.
    points : Mapping[str, ndarray]
        Point name to an ``(N, 2)`` float array of ``(x, y)`` pixels, NaN
        where a study lacks the point.
    mm_per_px : ndarray, shape (N, 2)
        ``(row, col)`` spacing; NaN where uncalibrated.
    calibrations : tuple of Calibration
        The provenance of each study's spacing.
    patients : tuple of PatientInfo
    patient_right : ndarray of object, shape (N,)
        :class:`PatientRight` or None per study.
    sets : tuple of LandmarkSet or None
        The source sets, when the table was built from sets.
    row_errors : ndarray of object, shape (N,), or None
        Per study: None, or why the study's row could not be read (a bad
        row of a wide CSV). Such a study is reported with status ``error``,
        never dropped.
    operations : tuple of (Operation or None), or None
        Per study, the operation its film records (None: not known to be
        operated); None when no study records one.
    sacralised : ndarray of object, shape (N,), or None
        Per study: the sacralised vertebra (``"L5"``, ``"L6"``) or None; None
        when no study records one.
    films : tuple of (FilmIdentity or None), or None
        Per study, what identifies its film (UIDs, date, and the patient's
        identifiers) when the film was read (:func:`spinecheck.alignment.study.merge_image`);
        None when no study's film was read.
    """

    ids: tuple[str, ...]
    views: np.ndarray
    points: Mapping[str, np.ndarray]
    mm_per_px: np.ndarray
    calibrations: tuple[Calibration, ...]
    patients: tuple[PatientInfo, ...]
    patient_right: np.ndarray
    sets: tuple[LandmarkSet, ...] | None = None
    row_errors: np.ndarray | None = None
    operations: tuple[Operation | None, ...] | None = None
    sacralised: np.ndarray | None = None
    films: tuple[FilmIdentity | None, ...] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def spine(self) -> SpineLevels:
        """Which levels play which part in each study's spine (T13, L6, a sacralised vertebra).

        >>> t = LandmarkSet("lateral", {"T13.inf.ant": (5, 9)}, anatomy=Anatomy("L5")).to_table()
        >>> t.spine().of("last thoracic").tolist(), t.spine().of("sacrum").tolist()
        (['T13'], ['L5'])
        """
        return spine_levels(self.points, len(self), self.sacralised)

    def operation(self, i: int) -> Operation | None:
        """The operation study *i*'s film records, or None."""
        return None if self.operations is None else self.operations[i]

    def film(self, i: int) -> FilmIdentity:
        """What identifies study *i*'s film: its header's word when it was read, else its landmark file's.

        >>> t = LandmarkSet("lateral", {}, image=ImageRef("a.dcm", "1.2.3")).to_table()
        >>> t.film(0).sop_instance_uid, t.film(0).study_instance_uid, t.film(0).date.date
        ('1.2.3', None, None)
        """
        if self.films is not None and self.films[i] is not None:
            return self.films[i]  # type: ignore[return-value]
        if self.sets is None:
            return FilmIdentity()
        image = self.sets[i].image
        return FilmIdentity.of(image.sop_instance_uid, image.study_date, name=image.path or self.ids[i])

    @property
    def operated(self) -> np.ndarray:
        """``(N,)`` bool: which films record an operation (post-operative films).

        >>> from spinecheck.landmarks.points.names import LEVELS
        >>> t = LandmarkSet("lateral", {}, operation=Operation(uiv="T10")).to_table()
        >>> t.operated.tolist(), LEVELS[t.uiv_index[0]], t.liv_index.tolist()
        ([True], 'T10', [-1])
        """
        if self.operations is None:
            return np.zeros(len(self), dtype=bool)
        return np.array([op is not None for op in self.operations], dtype=bool)

    @property
    def uiv_index(self) -> np.ndarray:
        """``(N,)`` int: the UIV's position in :data:`LEVELS`, -1 where not recorded."""
        return self._level_indices("uiv")

    @property
    def liv_index(self) -> np.ndarray:
        """``(N,)`` int: the LIV's position in :data:`LEVELS`, -1 where not recorded."""
        return self._level_indices("liv")

    def _level_indices(self, item: str) -> np.ndarray:
        out = np.full(len(self), -1, dtype=int)
        for i, op in enumerate(self.operations or ()):
            level = getattr(op, item) if op is not None else None
            if level is not None:
                out[i] = level_index(level)
        return out

    def study(self, i: int) -> LandmarkSet:
        """Study *i* as a :class:`LandmarkSet`: its source set, or one built from its row.

        A row of a wide CSV becomes a set with the row's points (those it has), view,
        calibration, patient and side.

        >>> t = LandmarkSet("lateral", {"S1.sup.ant": (10, 20)}).to_table()
        >>> t.study(0).points["S1.sup.ant"]
        (10.0, 20.0)
        """
        if self.sets is not None:
            return self.sets[i]
        points = {
            n: (float(a[i, 0]), float(a[i, 1])) for n, a in self.points.items() if np.isfinite(a[i]).all()
        }
        cal = self.calibrations[i]
        return LandmarkSet(
            self.views[i],
            points,
            calibration=cal if cal.calibrated else None,
            patient=self.patients[i],
            patient_right=self.patient_right[i],
            source=self.ids[i],
            operation=self.operation(i),
            anatomy=Anatomy(None if self.sacralised is None else self.sacralised[i]),
        )

    @property
    def warnings(self) -> tuple[tuple[str, ...], ...]:
        """Per study: the reader's warnings (from the source sets)."""
        if self.sets is None:
            return tuple(() for _ in self.ids)
        return tuple(s.warnings for s in self.sets)

    def point(self, name: str) -> np.ndarray:
        """``(N, 2)`` pixels of *name*, all NaN when no study has it."""
        got = self.points.get(name)
        if got is None:
            return np.full((len(self), 2), np.nan)
        return got

    def has(self, name: str) -> np.ndarray:
        """``(N,)`` bool: which studies have point *name*."""
        got = self.points.get(name)
        if got is None:
            return np.zeros(len(self), dtype=bool)
        # coordinate by coordinate: a reduction along an axis of two pays its set-up per study
        return np.isfinite(got[:, 0]) & np.isfinite(got[:, 1])

    @property
    def age_years(self) -> np.ndarray:
        """``(N,)`` ages in years, NaN where unknown."""
        return np.array([np.nan if p.age_years is None else p.age_years for p in self.patients], dtype=float)

    @property
    def calibrated(self) -> np.ndarray:
        """``(N,)`` bool: which studies have a pixel spacing."""
        return np.isfinite(self.mm_per_px).all(axis=1)

    def subset(self, index: np.ndarray | Sequence[int], names: Iterable[str] | None = None) -> LandmarkTable:
        """The studies at *index* (an integer or boolean array), optionally only the points *names*."""
        idx = np.arange(len(self))[np.asarray(index)]
        keep = self.points if names is None else {k: self.points[k] for k in names if k in self.points}

        def pick(values: Sequence) -> tuple:
            # through an object array: a C loop, not a Python one per study (a large table's half is 50 000)
            return tuple(np.fromiter(values, dtype=object, count=len(values))[idx].tolist())

        return LandmarkTable(
            ids=pick(self.ids),
            views=self.views[idx],
            points={k: _rows_of(v, idx) for k, v in keep.items()},
            mm_per_px=self.mm_per_px[idx],
            calibrations=pick(self.calibrations),
            patients=pick(self.patients),
            patient_right=self.patient_right[idx],
            sets=None if self.sets is None else pick(self.sets),
            row_errors=None if self.row_errors is None else self.row_errors[idx],
            operations=None if self.operations is None else pick(self.operations),
            sacralised=None if self.sacralised is None else self.sacralised[idx],
            films=None if self.films is None else pick(self.films),
        )

    @classmethod
    def from_sets(
        cls,
        sets: Iterable[LandmarkSet],
        *,
        calibrations: Sequence[Calibration | None] | None = None,
        patients: Sequence[PatientInfo | None] | None = None,
        ids: Sequence[str] | None = None,
    ) -> LandmarkTable:
        """Stack landmark sets into a table.

        *calibrations* and *patients*, when given, replace the sets' own
        (None keeps the set's); a set without calibration is uncalibrated.
        """
        sets = tuple(sets)
        n = len(sets)
        names = sorted({name for s in sets for name in s.points})
        # One block, (name, study, xy), filled a study at a time: a point at a time cost ~0.3 µs
        # of NumPy per point, as much as the rest of reading a landmark file (issue 17, 4).
        block = np.full((len(names), n, 2), np.nan)
        row = {name: k for k, name in enumerate(names)}
        for i, s in enumerate(sets):
            m = len(s.points)
            if m:
                at = np.fromiter(map(row.__getitem__, s.points), np.intp, count=m)
                xy = np.fromiter(chain.from_iterable(s.points.values()), float, count=2 * m)
                block[at, i] = xy.reshape(m, 2)
        points = dict(zip(names, block, strict=True))
        cals = []
        pats = []
        for i, s in enumerate(sets):
            c = calibrations[i] if calibrations is not None else None
            cals.append(c if c is not None else (s.calibration or Calibration.none()))
            p = patients[i] if patients is not None else None
            pats.append(p if p is not None else s.patient)
        spacing = np.array(
            [c.mm_per_px if c.mm_per_px else (math.nan, math.nan) for c in cals], dtype=float
        ).reshape(n, 2)
        return cls(
            ids=tuple(ids)
            if ids is not None
            else tuple(s.source or s.image.path or f"study {i + 1}" for i, s in enumerate(sets)),
            views=np.array([s.view for s in sets], dtype=object),
            points=points,
            mm_per_px=spacing,
            calibrations=tuple(cals),
            patients=tuple(pats),
            patient_right=np.array([s.patient_right for s in sets], dtype=object),
            sets=sets,
            operations=tuple(s.operation for s in sets)
            if any(s.operation is not None for s in sets)
            else None,
            sacralised=np.array([s.anatomy.sacralised for s in sets], dtype=object)
            if any(s.anatomy for s in sets)
            else None,
        )


def _rows_of(xy: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The rows *idx* of an ``(N, 2)`` point array, each coordinate contiguous, as a wide CSV's points are.

    A coordinate at a time: a gather of 8-byte items from a contiguous column, where a
    gather of whole rows (16 bytes from two columns a table apart) took some twice as long,
    and the geometry then reads each coordinate of the copy contiguously too. *idx* holds
    rows of the table only, so ``mode="clip"`` changes no index; it spares the copy through
    a buffer that ``take`` makes into *out* to be able to raise.
    """
    out = np.empty((xy.shape[1], len(idx)), dtype=xy.dtype)
    for j in range(xy.shape[1]):
        np.take(xy[:, j], idx, out=out[j], mode="clip")
    return out.T
