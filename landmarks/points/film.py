"""What identifies a film: its UIDs, the day it was taken, and (kept apart) its patient's identifiers.

:class:`FilmIdentity` is what a study's row in a table joins on (formats.md §3:
``sop_instance_uid``, ``study_instance_uid``, ``study_date``), built from the
landmark file's image reference and, when the film was read, its header
(:meth:`FilmIdentity.of`). :func:`film_date` is the one rule for a film's date,
used by the batch table and by ``spinecheck compare``:

- the landmark file's ``image.study_date`` when it gives one (the landmark
  file's word wins, as for calibration and age; the way to date a PNG film);
- else the DICOM Study Date; else the Acquisition Date;
- never the Content Date (it can be the day of a later export), nor the date of
  an operation the film records (the day of surgery, not of the film).

The patient's identifiers (Patient ID, Patient's Name) are personal data: they are
kept out of ``repr`` and written only where a caller asks for them.
"""

from __future__ import annotations

import datetime
from dataclasses import field
from typing import NamedTuple

from ... import dataclass

__all__ = ["FilmDate", "FilmIdentity", "film_date"]


class FilmDate(NamedTuple):
    """A film's date, who says so, and a note when its header disagrees."""

    date: datetime.date | None
    source: str | None
    note: str | None = None


def film_date(
    stated: datetime.date | None,
    study_date: datetime.date | None = None,
    acquisition_date: datetime.date | None = None,
    *,
    name: str = "film",
) -> FilmDate:
    """The day a film was taken, and who says so (the rule of the module notes).

    Parameters
    ----------
    stated : datetime.date or None
        The landmark file's ``image.study_date``.
    study_date, acquisition_date : datetime.date or None
        The DICOM header's Study Date and Acquisition Date.
    name : str
        How a note names the film (its file name).

    Returns
    -------
    FilmDate
        The date (None when nothing says), its source in words, and a note when
        the landmark file's date differs from the header's.

    Examples
    --------
    >>> d = datetime.date
    >>> film_date(None, d(2024, 3, 1), d(2024, 3, 2))
    FilmDate(date=datetime.date(2024, 3, 1), source='DICOM Study Date', note=None)
    >>> film_date(None, None, d(2024, 3, 2)).source
    'DICOM Acquisition Date'
    >>> film_date(d(2024, 1, 5), d(2024, 3, 1), name="a.dcm").note
    "a.dcm: the landmark file's image.study_date is 56 days before the DICOM Study Date (dates not shown); the landmark file's date is used"
    """  # noqa: E501 - a doctest's output is one line
    header = ((study_date, "DICOM Study Date"), (acquisition_date, "DICOM Acquisition Date"))
    from_header = next(((d, s) for d, s in header if d is not None), (None, None))
    if stated is None:
        return FilmDate(*from_header)
    note = None
    if from_header[0] is not None and from_header[0] != stated:
        # a note reaches warnings and tables, where no date is ever shown (issue 13): the gap says enough
        days = (from_header[0] - stated).days
        note = (
            f"{name}: the landmark file's image.study_date is {abs(days)} day{'s' if abs(days) != 1 else ''} "
            f"{'before' if days > 0 else 'after'} the {from_header[1]} (dates not shown); the landmark file's "
            "date is used"
        )
    return FilmDate(stated, "landmark file image.study_date", note)


@dataclass(frozen=True)
class FilmIdentity:
    """What identifies one film, for joining its results with other tables.

    Attributes
    ----------
    sop_instance_uid : str or None
        The film's SOP Instance UID: the header's, else the landmark file's ``image.sop_instance_uid``
        (when both say, they are the same: a film is checked against its landmarks).
    study_instance_uid : str or None
        The header's Study Instance UID (None for pictures and landmark files alone).
    date : FilmDate
        The day the film was taken (:func:`film_date`).
    patient_id, patient_name : str or None
        The header's Patient ID and Patient's Name (as stored, ``Family^Given``): personal data,
        left out of ``repr`` and written only on request.
    """

    sop_instance_uid: str | None = None
    study_instance_uid: str | None = None
    date: FilmDate = FilmDate(None, None)
    patient_id: str | None = field(default=None, repr=False)
    patient_name: str | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls,
        sop_instance_uid: str | None,
        stated_date: datetime.date | None,
        header: object | None = None,
        *,
        name: str = "film",
    ) -> FilmIdentity:
        """The identity of a film from its landmark file's image reference and, if read, its header.

        Parameters
        ----------
        sop_instance_uid : str or None
            The landmark file's ``image.sop_instance_uid``.
        stated_date : datetime.date or None
            The landmark file's ``image.study_date``.
        header : RadiographHeader, Radiograph or None
            The film's header (anything with the attributes of
            :class:`~spinecheck.landmarks.imaging.header.RadiographHeader`); None when no film was read.
        name : str
            How a date note names the film.

        Examples
        --------
        >>> FilmIdentity.of("1.2.3", datetime.date(2024, 5, 6))
        FilmIdentity(sop_instance_uid='1.2.3', study_instance_uid=None, date=FilmDate(date=datetime.date(2024, 5, 6), source='landmark file image.study_date', note=None))
        """  # noqa: E501 - a doctest's output is one line

        def said(attr: str) -> object:
            return getattr(header, attr, None) if header is not None else None

        return cls(
            sop_instance_uid=_text(said("sop_instance_uid")) or sop_instance_uid,
            study_instance_uid=_text(said("study_instance_uid")),
            date=film_date(stated_date, said("study_date"), said("acquisition_date"), name=name),  # type: ignore[arg-type]
            patient_id=_text(said("patient_id")),
            patient_name=_text(said("patient_name")),
        )


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None
