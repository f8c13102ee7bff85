"""What crosses the wire: queries, the films found, instances received whole or not at all, and what was stored.

A film fetched from an archive is written to a temporary file in the destination folder, checked,
and only then renamed to ``<SOP Instance UID>.dcm``: so a transfer cut short leaves nothing behind
(:func:`keep_received`). It is checked three ways: the transport said it was complete (the
protocol modules: HTTP length and the multipart closing boundary; DIMSE delivers only whole
datasets), it parses as DICOM with every element as long as its header says (pydicom reads a cut
file without complaint, so the lengths are compared here), and it is the instance asked for.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...landmarks.errors import InvalidArgumentError
from .server import PacsError

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "Level",
    "StudyQuery",
    "Found",
    "StoredInstance",
    "StoreReport",
    "OutgoingInstance",
    "read_outgoing",
    "keep_received",
    "check_complete",
    "check_uid",
    "staging_folder",
    "move_all",
    "json_value",
]

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class Level(str, Enum):
    """How deep a search goes: a row per study, per series or per instance (film)."""

    STUDY = "study"
    SERIES = "series"
    INSTANCE = "instance"


def check_uid(uid: str, argument: str) -> str:
    """*uid* if it is a DICOM UID (digits and dots, at most 64 characters), else an error naming *argument*.

    >>> check_uid("1.2.840.10008.1.2", "study_uid")
    '1.2.840.10008.1.2'
    >>> check_uid("1.2.x", "study_uid")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spinecheck.landmarks.errors.InvalidArgumentError: study_uid: must be a DICOM UID ...; got '1.2.x'
    """
    if not isinstance(uid, str) or len(uid) > 64 or not _UID.fullmatch(uid):
        raise InvalidArgumentError.about(
            argument,
            "{" + argument + "}: must be a DICOM UID (digits and dots, at most 64 characters); got {got!r}",
            got=uid,
        )
    return uid


@dataclass(frozen=True)
class StudyQuery:
    """What to look for; every field left empty matches everything.

    Attributes
    ----------
    patient_id : str or None
        Patient ID, matched exactly by the archive.
    modalities : tuple of str
        Series modalities to keep (``("CR", "DX")``), compared without case.
    body_part : str or None
        Body Part Examined to keep (``"SPINE"``), compared without case; a series that does not
        say is kept, since many archives leave it empty.
    date_from, date_to : str or None
        Study dates, ``YYYY-MM-DD``, both ends included.
    study_uid : str or None
        One study.
    level : Level
        A row per study, series or instance.

    Notes
    -----
    The patient, the dates and the study UID are sent to the archive; modality and body part are
    applied to the series the archive lists, so they mean the same on every archive (a study's
    ModalitiesInStudy and a multi-valued match are handled unevenly by archives).

    >>> StudyQuery(date_from="2024-01-31").dicom_date_range()
    '20240131-'
    """

    patient_id: str | None = None
    modalities: tuple[str, ...] = ()
    body_part: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    study_uid: str | None = None
    level: Level = Level.INSTANCE

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not _DATE.fullmatch(value):
                raise InvalidArgumentError.about(
                    name, "{" + name + "}: must be YYYY-MM-DD; got {got!r}", got=value
                )
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidArgumentError.about(
                "date_from",
                "{date_from} {a} is after {date_to} {b}",
                names={"date_to": "date_to"},
                a=self.date_from,
                b=self.date_to,
            )
        if self.study_uid is not None:
            check_uid(self.study_uid, "study_uid")
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "modalities", tuple(m.strip().upper() for m in self.modalities if m.strip()))

    def dicom_date_range(self) -> str | None:
        """The Study Date matching key (``YYYYMMDD-YYYYMMDD``, an open end left empty), or None."""
        if not self.date_from and not self.date_to:
            return None
        return f"{(self.date_from or '').replace('-', '')}-{(self.date_to or '').replace('-', '')}"

    def keeps_series(self, modality: str, body_part: str) -> bool:
        """Whether a series of this *modality* and *body_part* is among those asked for.

        >>> q = StudyQuery(modalities=("cr", "DX"), body_part="spine")
        >>> q.keeps_series("DX", "SPINE"), q.keeps_series("CT", "SPINE"), q.keeps_series("CR", "")
        (True, False, True)
        """
        if self.modalities and modality.upper() not in self.modalities:
            return False
        return not (self.body_part and body_part and body_part.upper() != self.body_part.upper())


@dataclass(frozen=True)
class Found:
    """One study, series or instance the archive holds (the deeper UIDs empty above the instance level)."""

    level: Level
    patient_id: str
    study_date: str
    study_description: str
    study_uid: str
    series_uid: str = ""
    modality: str = ""
    body_part: str = ""
    series_description: str = ""
    sop_uid: str = ""
    view_position: str = ""

    def series(self, series_uid: str, modality: str, body_part: str, description: str) -> Found:
        """A series of this study (the study's fields copied)."""
        return Found(
            Level.SERIES,
            self.patient_id,
            self.study_date,
            self.study_description,
            self.study_uid,
            series_uid,
            modality,
            body_part,
            description,
        )

    def as_dict(self) -> dict[str, str]:
        """The row as JSON-ready strings (``level`` by its value)."""
        return {k: (v.value if isinstance(v, Level) else v) for k, v in self.__dict__.items()}

    def line(self) -> str:
        """The row as one tab-separated line: the UIDs first (to copy), then what says which film it is."""
        uids = [self.study_uid, self.series_uid, self.sop_uid]
        depth = {Level.STUDY: 1, Level.SERIES: 2, Level.INSTANCE: 3}[self.level]
        words = [self.patient_id, self.study_date, self.modality, self.body_part, self.view_position]
        words += [self.series_description or self.study_description]
        return "\t".join(uids[:depth] + [w or "-" for w in words])


@dataclass(frozen=True)
class StoredInstance:
    """The archive's answer for one instance sent: stored (possibly with a warning) or failed, and why."""

    path: Path
    sop_instance_uid: str
    stored: bool
    detail: str = ""


@dataclass(frozen=True)
class StoreReport:
    """What a store did, instance by instance."""

    server: str
    instances: tuple[StoredInstance, ...]

    @property
    def failed(self) -> tuple[StoredInstance, ...]:
        return tuple(i for i in self.instances if not i.stored)

    def raise_for_failures(self) -> None:
        """One :class:`PacsError` naming every instance the archive did not store (and those it did)."""
        if not self.failed:
            return
        bad = "; ".join(f"'{i.path.name}' ({i.sop_instance_uid}): {i.detail}" for i in self.failed)
        good = [i.path.name for i in self.instances if i.stored]
        also = f"; stored: {', '.join(good)}" if good else "; nothing was stored"
        raise PacsError(f"{self.server}: did not store {bad}{also}")


@dataclass(frozen=True)
class OutgoingInstance:
    """A DICOM file checked before it is sent: its bytes and the UIDs the archive files it under."""

    path: Path
    data: bytes
    sop_class_uid: str
    sop_instance_uid: str
    study_uid: str
    transfer_syntax_uid: str


def read_outgoing(paths: list[str | os.PathLike[str]]) -> list[OutgoingInstance]:
    """Read and check every file before any is sent, so that one bad file sends none.

    Raises
    ------
    PacsError
        A file cannot be read, is not DICOM with its file meta information, is cut short, lacks
        a SOP Class, SOP Instance or Study Instance UID, or is listed twice.
    """
    if not paths:
        raise InvalidArgumentError.about("paths", "{paths}: no file to store")
    out: list[OutgoingInstance] = []
    for p in paths:
        path = Path(p)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise PacsError(f"file '{path}': cannot be read ({e.strerror or e}); nothing was sent") from None
        try:
            ds = check_complete(data, f"file '{path}'")
        except PacsError as e:
            raise PacsError(f"{e}; nothing was sent") from None
        uids = [str(ds.get(k, "") or "") for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID")]
        if not all(uids):
            raise PacsError(
                f"file '{path}': has no SOP Class, SOP Instance or Study Instance UID; nothing was sent"
            )
        if any(o.sop_instance_uid == uids[1] for o in out):
            raise PacsError(f"file '{path}': SOP Instance {uids[1]} is listed twice; nothing was sent")
        out.append(
            OutgoingInstance(path, data, uids[0], uids[1], uids[2], str(ds.file_meta.TransferSyntaxUID))
        )
    return out


def check_complete(data: bytes, what: str) -> Dataset:
    """Parse *data* as a DICOM file and check no element is cut short.

    Raises
    ------
    PacsError
        Not DICOM (no file meta information), a value shorter than its length says, an
        encapsulated Pixel Data without its end, or image attributes without Pixel Data.
    """
    import pydicom
    from pydicom.dataelem import RawDataElement

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # pydicom warns, then carries on, at a missing delimiter
            ds = pydicom.dcmread(io.BytesIO(data))
    except Exception as e:  # pydicom raises many kinds on a damaged stream
        raise PacsError(f"{what}: is not a complete DICOM file ({_first_line(e)})") from None
    undefined = 0xFFFFFFFF
    for elem in ds.elements():
        if isinstance(elem, RawDataElement) and elem.length != undefined and elem.value is not None:
            if len(elem.value) != elem.length:
                raise PacsError(
                    f"{what}: is cut short: element {elem.tag} holds {len(elem.value)} of its {elem.length} bytes"
                )
    if "Rows" in ds and "PixelData" not in ds and "FloatPixelData" not in ds:
        raise PacsError(f"{what}: is cut short: an image without its Pixel Data")
    return ds


def keep_received(data: bytes, folder: Path, expected: dict[str, str] | None, what: str) -> Path:
    """Check *data* and write it whole as ``folder/<SOP Instance UID>.dcm``, or write nothing.

    Parameters
    ----------
    data : bytes
        A DICOM file (with its file meta information), as received.
    folder : Path
        Where to keep it; it must exist.
    expected : dict, optional
        UIDs it must carry, by keyword (``{"SOPInstanceUID": ...}``): the archive sent the wrong
        instance otherwise.
    what : str
        The instance in words, for messages.

    Raises
    ------
    PacsError
        *data* is not a complete DICOM file, or not the one asked for.
    """
    ds = check_complete(data, what)
    for keyword, uid in (expected or {}).items():
        got = str(ds.get(keyword, "") or "")
        if got != uid:
            raise PacsError(f"{what}: the archive sent {keyword} {got or '(none)'}, not the {uid} asked for")
    sop = check_uid(str(ds.get("SOPInstanceUID", "") or ""), "SOPInstanceUID")
    target = folder / f"{sop}.dcm"
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{sop}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


@contextmanager
def staging_folder(folder: Path) -> Iterator[Path]:
    """A hidden folder inside *folder* to receive into, removed with whatever is left in it."""
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".spinecheck-fetch-"))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def move_all(received: list[Path], folder: Path) -> list[Path]:
    """Move the checked files *received* (in a staging folder) into *folder*, under the same names."""
    out = []
    for path in received:
        target = folder / path.name
        os.replace(path, target)
        out.append(target)
    return out


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def json_value(item: dict[str, Any], tag: str) -> str:
    """The first value of *tag* (``"0020000D"``) in a DICOM JSON object, as text ('' when absent).

    >>> json_value({"00100020": {"vr": "LO", "Value": ["P1"]}}, "00100020")
    'P1'
    >>> json_value({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^J"}]}}, "00100010")
    'DOE^J'
    >>> json_value({}, "00100020")
    ''
    """
    values = item.get(tag, {}).get("Value") or [""]
    first = values[0]
    if isinstance(first, dict):
        first = first.get("Alphabetic", "")
    return "" if first is None else str(first)
