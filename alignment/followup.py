"""Follow-up: two or more films of one patient put in time order, checked, and tabulated.

:func:`compare_studies` takes the films of a comparison (each a measured study and,
when there is one, its radiograph's header) and returns a :class:`FollowUp`: the films
in time order with their dates, the interval between them, and whether they are of one
patient. :func:`series_table` turns it into a :class:`SeriesTable`, every parameter of
the films' view (and each coronal curve by region) over time: what ``spinecheck
compare`` draws, and writes with ``--table``.

Decisions (the issue is silent on them):

- **Same patient.** Patient ID, sex and birth date are compared on every pair of films
  that both state them (Patient ID and birth date from the DICOM header; sex as the
  report has it, from the landmark file or the header). One that differs refuses the
  comparison unless *allow_different_patients* is given; the message names the field,
  never the values, and the birth date is never shown anywhere. A field no two films
  state is reported "not checked", so a comparison of PNG films says that their
  identity was not verified rather than implying it was.
- **The film's date** is the landmark file's ``image.study_date`` when it gives one (the
  landmark file's word wins, as for calibration and age), else the header's Study Date,
  else its Acquisition Date. Content Date is not used: it can be the day of a later
  export. A landmark-file date that disagrees with the header is kept and the
  disagreement is noted. The operation date of a post-operative film is the day of
  surgery, not of the film, and is never taken as a film date.
- **Order.** When every film has a date, the films are ordered by date (films of the
  same day keep the order given, and the page says so); when one has none, the order
  given is kept and the page says which film is undated.
- **Interval.** Whole days, and completed calendar months (a month is complete on the
  same day of the month, or on the last day of a shorter month: 31 January to
  28 February is one month), written as years and months.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..landmarks.errors import InvalidArgumentError, InvalidLandmarksError, SpinecheckError
from ..landmarks.points.film import FilmDate, film_date
from ..landmarks.points.names import LEVELS, View
from .criteria.assessment import CriterionColumn
from .geometry.regions import REGIONS, regional_curves
from .parameters import CORONAL, PARAMETERS, SAGITTAL
from .postop import junctional_series
from .study import Study

if TYPE_CHECKING:
    from ..landmarks.imaging.header import RadiographHeader
    from ..landmarks.imaging.radiograph import Radiograph

__all__ = [
    "DifferentPatientsError",
    "Film",
    "FilmDate",
    "Interval",
    "IdentityCheck",
    "FollowUp",
    "SeriesRow",
    "SeriesTable",
    "IDENTITY_FIELDS",
    "compare_studies",
    "series_table",
]

#: What must agree between the films of one patient, as the messages name it.
IDENTITY_FIELDS: tuple[str, ...] = ("Patient ID", "sex", "birth date")


class DifferentPatientsError(SpinecheckError, ValueError):
    """The films of a comparison are of different patients (an identity field differs)."""


# ----------------------------------------------------------------------------- one film


@dataclass(frozen=True)
class Film:
    """One film of a comparison: a measured study (one of its rows) and what its header says.

    Attributes
    ----------
    study : Study
        From :func:`~spinecheck.alignment.study.load_study`.
    index : int
        Which study of *study*.
    header : RadiographHeader or Radiograph or None
        The film's header (a decoded :class:`~spinecheck.landmarks.imaging.radiograph.Radiograph`
        reads through to it), for its date, Patient ID and birth date; None when there is
        no image (the landmark file alone).
    """

    study: Study
    index: int = 0
    header: RadiographHeader | Radiograph | None = None

    @property
    def name(self) -> str:
        """The film as messages name it: its image file's name, else its landmark file's."""
        image = self.study.image_sources[self.index] or getattr(self.header, "path", None)
        return Path(
            str(image or self.study.landmark_sources[self.index] or self.study.table.ids[self.index])
        ).name

    @property
    def view(self) -> View:
        return View.parse(self.study.measurements.views[self.index])

    @property
    def operation_date(self) -> datetime.date | None:
        """The day of the operation the film records (a post-operative film), if it says."""
        operation = self.study.table.operation(self.index)
        return None if operation is None else operation.date

    def identity(self) -> dict[str, object]:
        """The identity fields this film states (:data:`IDENTITY_FIELDS`); unknown ones are absent."""
        out: dict[str, object] = {}
        pid = getattr(self.header, "patient_id", None)
        if pid:
            out["Patient ID"] = pid.strip()
        sex = self.study.table.patients[self.index].sex
        if sex is not None:
            out["sex"] = sex
        birth = getattr(self.header, "birth_date", None)
        if birth is not None:
            out["birth date"] = birth
        return out

    def date(self) -> FilmDate:
        """The day the film was taken, and who says so (see the module notes).

        The one rule of :func:`~spinecheck.landmarks.points.film.film_date`, which the batch
        table's ``study_date`` follows too.
        """
        stated = self.study.table.study(self.index).image.study_date
        study_date, acquisition_date = (
            getattr(self.header, a, None) for a in ("study_date", "acquisition_date")
        )
        return film_date(stated, study_date, acquisition_date, name=self.name)


# ----------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class Interval:
    """The time between two films: whole days and completed calendar months.

    Examples
    --------
    >>> d = datetime.date
    >>> Interval.between(d(2020, 1, 31), d(2020, 2, 29)).text()  # the last day of a shorter month
    '29 days (1 month)'
    >>> Interval.between(d(2019, 3, 15), d(2020, 5, 14)).text()
    '426 days (1 year 1 month)'
    >>> Interval.between(d(2021, 6, 1), d(2021, 6, 1)).text()
    '0 days'
    """

    days: int
    months: int

    @classmethod
    def between(cls, start: datetime.date, end: datetime.date) -> Interval:
        """From *start* to *end* (not before *start*)."""
        if end < start:
            raise InvalidArgumentError.about(
                "end",
                "{end}: {got} is before the start {start_}",
                got=end.isoformat(),
                start_=start.isoformat(),
            )
        months = (end.year - start.year) * 12 + end.month - start.month
        anniversary = min(start.day, calendar.monthrange(end.year, end.month)[1])
        if end.day < anniversary:
            months -= 1
        return cls((end - start).days, months)

    def text(self) -> str:
        """``"426 days (1 year 1 month)"``; only the days under one month."""
        days = f"{self.days} day{'s' if self.days != 1 else ''}"
        if self.months < 1:
            return days
        years, months = divmod(self.months, 12)
        parts = [f"{years} year{'s' if years != 1 else ''}"] if years else []
        parts += [f"{months} month{'s' if months != 1 else ''}"] if months else []
        return f"{days} ({' '.join(parts)})"


# ----------------------------------------------------------------------------- the comparison


class IdentityCheck(NamedTuple):
    """How one identity field compares across the films.

    Attributes
    ----------
    field : str
        One of :data:`IDENTITY_FIELDS`.
    status : str
        ``"same"`` (every film that states it agrees, at least two do), ``"differs"``
        or ``"not checked"`` (fewer than two films state it).
    films : tuple of int
        The films (positions in time order) that state it; for ``"differs"``, the first
        pair that disagrees.
    """

    field: str
    status: str
    films: tuple[int, ...]

    def text(self, total: int) -> str:
        """The check in words, films numbered from 1; never the values."""
        numbers = [str(k + 1) for k in self.films]
        which = ", ".join(numbers[:-1]) + f" and {numbers[-1]}" if len(numbers) > 1 else "".join(numbers)
        if self.status == "differs":
            return f"{self.field}: differs (films {which})"
        if self.status == "same":
            also = "" if len(self.films) == total else f" (films {which}; not stated on the others)"
            return f"{self.field}: the same{also}"
        stated = f" (stated on film {which} only)" if self.films else " (stated on no film)"
        return f"{self.field}: not checked{stated}"


@dataclass(frozen=True)
class FollowUp:
    """Films of one patient in time order (:func:`compare_studies`).

    Attributes
    ----------
    films : tuple of Film
        In time order (see :attr:`by_date`).
    given : tuple of int
        Each film's position among the films as given.
    dates : tuple of FilmDate
        Per film, in time order.
    by_date : bool
        Ordered by date (every film has one); else in the order given.
    view : View
        The view every film shares.
    identity : tuple of IdentityCheck
        One per :data:`IDENTITY_FIELDS`.
    different_patients_allowed : bool
        The films were compared although an identity field differs.
    notes : tuple of str
        The order used and why, films of the same day, dates that disagree, identity
        fields that differ.
    """

    films: tuple[Film, ...]
    given: tuple[int, ...]
    dates: tuple[FilmDate, ...]
    by_date: bool
    view: View
    identity: tuple[IdentityCheck, ...]
    different_patients_allowed: bool
    notes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.films)

    @property
    def dated(self) -> bool:
        """Every film has a date."""
        return all(d.date is not None for d in self.dates)

    def interval(self, a: int, b: int) -> Interval | None:
        """From film *a* to film *b* (positions in time order); None when either is undated."""
        da, db = self.dates[a].date, self.dates[b].date
        if da is None or db is None:
            return None
        return Interval.between(da, db) if db >= da else None

    def days_from_first(self) -> np.ndarray:
        """``(F,)`` days from the first film, NaN for an undated film (or when the first is)."""
        first = self.dates[0].date
        return np.array(
            [np.nan if first is None or d.date is None else float((d.date - first).days) for d in self.dates]
        )

    def date_line(self, k: int) -> str:
        """Film *k*'s date and its interval from the film before and the first, in words."""
        d = self.dates[k]
        if d.date is None:
            return "date unknown"
        words = f"{d.date.isoformat()} ({d.source})"
        if k > 0:
            previous = self.interval(k - 1, k)
            if previous is not None:
                words += f"; {previous.text()} after film {k}"
            first = self.interval(0, k)
            if k > 1 and first is not None:
                words += f", {first.text()} after film 1"
        since = self.since_operation(k)
        if since is not None:
            words += f"; {since.text()} after the operation ({self.films[k].operation_date})"
        return words

    def since_operation(self, k: int) -> Interval | None:
        """From the operation film *k* records to the film; None when either date is unknown or the film is earlier."""
        day, operated = self.dates[k].date, self.films[k].operation_date
        if day is None or operated is None or day < operated:
            return None
        return Interval.between(operated, day)

    def identity_line(self) -> str:
        """The patient check in one line."""
        text = "; ".join(c.text(len(self)) for c in self.identity)
        if self.different_patients_allowed:
            text = f"DIFFERENT PATIENTS compared on request: {text}"
        return f"Same patient? {text}"


def compare_studies(
    films: Sequence[Film],
    *,
    allow_different_patients: bool = False,
    by_date: bool = True,
) -> FollowUp:
    """Put the films of one patient in time order, after checking they can be compared.

    Parameters
    ----------
    films : sequence of Film
        Two or more, as given (e.g. on the command line).
    allow_different_patients : bool
        Compare the films even when their Patient ID, sex or birth date differ (the
        page then says so); otherwise such films are refused.
    by_date : bool
        Order the films by their dates when every film has one; False keeps the order
        given whatever the dates.

    Returns
    -------
    FollowUp

    Raises
    ------
    InvalidArgumentError
        Fewer than two films.
    InvalidLandmarksError
        A film could not be measured, or the films are not all of one view.
    DifferentPatientsError
        An identity field differs between two films (and *allow_different_patients* is
        not given); the message names the field and the films, not the values.
    """
    films = tuple(films)
    if len(films) < 2:
        raise InvalidArgumentError.about(
            "films", "{films}: a comparison needs at least two films; got {n}", n=len(films)
        )
    for k, f in enumerate(films, 1):
        status, error = f.study.status(f.index)
        if status != "ok":
            raise InvalidLandmarksError(f"film {k} '{f.name}': {error}")
    views = [f.view for f in films]
    if len(set(views)) > 1:
        odd = next(k for k, v in enumerate(views) if v is not views[0])
        raise InvalidLandmarksError(
            f"film 1 '{films[0].name}' is {_a(views[0])} film but film {odd + 1} '{films[odd].name}' is "
            f"{_a(views[odd])} film: every film of a comparison must be of the same view"
        )
    dates = [f.date() for f in films]
    notes: list[str] = []
    undated = [k for k, d in enumerate(dates) if d.date is None]
    order = list(range(len(films)))
    if by_date and not undated:
        order.sort(key=lambda k: dates[k].date or datetime.date.min)
        notes.append(
            "films ordered by date"
            + ("" if order == sorted(order) else " (they were given in another order)")
        )
    elif undated:
        names = ", ".join(f"'{films[k].name}'" for k in undated)
        notes.append(f"films in the order given: no date for {names}")
    else:
        notes.append("films in the order given")
    films = tuple(films[k] for k in order)
    dates = [dates[k] for k in order]
    for k in range(1, len(films)):
        if dates[k].date is not None and dates[k].date == dates[k - 1].date:
            notes.append(f"films {k} and {k + 1} have the same date: kept in the order given")
    notes += [d.note for d in dates if d.note]
    for k, (f, d) in enumerate(zip(films, dates, strict=True), 1):
        if d.date is not None and f.operation_date is not None and d.date < f.operation_date:
            notes.append(f"film {k} '{f.name}' is dated before the operation it records ({f.operation_date})")
    identity = _identity(films)
    differ = [c for c in identity if c.status == "differs"]
    if differ and not allow_different_patients:
        a, b = differ[0].films
        raise DifferentPatientsError.about(
            "allow_different_patients",
            "films '{a}' and '{b}' are of different patients: {fields} {differ} (values not shown); compare "
            "films of one patient, or give {allow_different_patients} if this is intended",
            a=films[a].name,
            b=films[b].name,
            fields=" and ".join(c.field for c in differ),
            differ="differs" if len(differ) == 1 else "differ",
        )
    if differ:
        notes.append(
            "compared although "
            + " and ".join(c.field for c in differ)
            + (" differs" if len(differ) == 1 else " differ")
        )
    return FollowUp(
        films,
        tuple(order),
        tuple(dates),
        by_date and not undated,
        views[0],
        identity,
        bool(differ),
        tuple(notes),
    )


def _a(view: View) -> str:
    return "an AP" if view is View.AP else "a lateral"


def _identity(films: Sequence[Film]) -> tuple[IdentityCheck, ...]:
    stated = [f.identity() for f in films]
    out = []
    for name in IDENTITY_FIELDS:
        having = [k for k, s in enumerate(stated) if name in s]
        pair = next(
            (
                (a, b)
                for i, a in enumerate(having)
                for b in having[i + 1 :]
                if stated[a][name] != stated[b][name]
            ),
            None,
        )
        if pair is not None:
            out.append(IdentityCheck(name, "differs", pair))
        else:
            out.append(IdentityCheck(name, "same" if len(having) >= 2 else "not checked", tuple(having)))
    return tuple(out)


# ----------------------------------------------------------------------------- the series table


@dataclass(frozen=True, eq=False)
class SeriesRow:
    """One parameter (or one region's coronal curve) over the films of a follow-up.

    Attributes
    ----------
    key : str
        The parameter id (``"PI"``), or the region (``"MT"``) for a curve row.
    name : str
        In words (``"pelvic incidence"``, ``"main thoracic curve"``).
    values : ndarray, shape (F,)
        Per film in time order; NaN where not measured.
    units : tuple of str
        Per film: ``deg``, ``mm``, or ``px`` for a length on an uncalibrated film.
    details : tuple of (str or None)
        Per film: a curve's levels (``"T5-T11 apex T8"``), or why a value is missing.
    targets : ndarray, shape (F,)
        The age-adjusted target of each film (NaN where none).
    curve : bool
        A region's coronal curve (its details are the curve's levels), not a parameter.
    criterion : CriterionColumn or None
        For PJA and DJA on a series with an operation: PJK (DJK) of each film against the
        pre-operative film (:func:`~spinecheck.alignment.postop.junctional_series`), column *k*
        judging film *k*; None for the other rows (their criteria are each film's own).
    """

    key: str
    name: str
    values: np.ndarray
    units: tuple[str, ...]
    details: tuple[str | None, ...]
    targets: np.ndarray
    curve: bool = False
    criterion: CriterionColumn | None = None

    @property
    def unit(self) -> str:
        """The films' common unit, or ``"mm/px"`` when calibrated and uncalibrated films mix."""
        return "/".join(dict.fromkeys(self.units))

    def change(self, a: int = 0, b: int = -1) -> float | None:
        """Film *b* minus film *a* (default: last minus first); None when either is missing or units differ."""
        va, vb = float(self.values[a]), float(self.values[b])
        if not (np.isfinite(va) and np.isfinite(vb)) or self.units[a] != self.units[b]:
            return None
        return vb - va


@dataclass(frozen=True)
class SeriesTable:
    """Every parameter of a follow-up's view, and each coronal curve by region, over time."""

    followup: FollowUp
    rows: tuple[SeriesRow, ...]

    def row(self, key: str) -> SeriesRow:
        """The row of parameter (or curve region) *key*."""
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(f"no row {key!r}; rows are {', '.join(r.key for r in self.rows)}")


def series_table(followup: FollowUp) -> SeriesTable:
    """Every parameter of the films' view over time, then (AP films) each region's curve.

    Curves are matched by region (:mod:`~spinecheck.alignment.geometry.regions`): the
    ``MT`` row holds each film's main thoracic curve, whatever its end vertebrae, which
    the row's details give.

    Returns
    -------
    SeriesTable
    """
    films = followup.films
    ids = SAGITTAL if followup.view is View.LATERAL else CORONAL
    # PJA and DJA at the levels of the operation on every film, so that each value spans the same
    # vertebrae, with PJK and DJK against the pre-operative film (post-operative series only)
    junctions = {j.parameter: j for j in junctional_series([(f.study, f.index) for f in films])}
    rows = []
    for pid in ids:
        if pid in junctions:
            j = junctions[pid]
            at = f" at {j.levels}" if j.levels else ""
            rows.append(
                SeriesRow(
                    pid,
                    f"{PARAMETERS[pid].name}{at} (the operation of film {j.operated_film + 1})",
                    j.values,
                    ("deg",) * len(films),
                    j.reasons,
                    np.full(len(films), np.nan),
                    criterion=j.criterion,
                )
            )
            continue
        reported = [f.study.measurements.reported(pid, f.index) for f in films]
        rows.append(
            SeriesRow(
                pid,
                PARAMETERS[pid].name,
                np.array([np.nan if r.value is None else r.value for r in reported], dtype=float),
                tuple(r.unit for r in reported),
                tuple(r.reason for r in reported),
                np.array([_target(f, pid) for f in films], dtype=float),
            )
        )
    if followup.view is View.AP:
        rows.extend(_curve_rows(films))
    return SeriesTable(followup, tuple(rows))


def _target(film: Film, pid: str) -> float:
    """The age-adjusted target of *pid* on *film* (NaN where none was applied)."""
    for c in film.study.assessment.columns:
        if c.parameter == pid and c.target is not None and c.criterion_set.kind == "targets":
            value = float(c.target[film.index])
            if c.applied[film.index] and np.isfinite(value):
                return value
    return np.nan


def _curve_rows(films: Sequence[Film]) -> list[SeriesRow]:
    """Each region's curve per film, matched by region."""
    per_film = [(f, regional_curves(f.study.measurements.curves)) for f in films]
    rows = []
    for j, region in enumerate(REGIONS):
        values: list[float] = []
        details: list[str | None] = []
        for f, regional in per_film:
            curves, i = f.study.measurements.curves, f.index
            k = int(regional[j].curve[i]) if curves.angle_deg.shape[1] else -1
            if k < 0:
                values.append(np.nan)
                details.append(None)
                continue
            values.append(float(curves.angle_deg[i, k]))
            withheld = None if curves.withheld is None else curves.withheld[i, k]
            levels = (
                f"{_level(curves.upper[i, k])}-{_level(curves.lower[i, k])} apex {_level(curves.apex[i, k])}"
            )
            details.append(levels + (f" withheld ({withheld})" if withheld is not None else ""))
        rows.append(
            SeriesRow(
                region.region.value,
                f"{region.region.words} curve",
                np.array(values, dtype=float),
                ("deg",) * len(films),
                tuple(details),
                np.full(len(films), np.nan),
                curve=True,
            )
        )
    return rows


def _level(index: int) -> str:
    return LEVELS[int(index)] if index >= 0 else "?"
