"""The film the DICOM results belong to: its header, checked for what the results copy from it.

The Structured Report and the Secondary Capture go into the film's study: they copy its
Patient and Study modules (Study Instance UID, patient name and ID, birth date, sex, accession
number, study date, …) and reference its SOP Instance. So the film must be DICOM, carry the
UIDs, and be one image; a PNG or JPEG film has no study to put them in and is refused.

The copy is exact: every attribute keeps the film's value and bytes, in the film's Specific
Character Set, so that a PACS files the results under the film's patient and study. A value
the film holds that is not valid for its Value Representation (an anonymiser's hash as a birth
date) is copied as it is, and said in a note, never silently changed.
"""

from __future__ import annotations

import copy
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...landmarks.errors import SpinecheckError
from ...landmarks.imaging.header import read_dataset, sniff

__all__ = [
    "DicomExportError",
    "SourceFilm",
    "read_source_film",
    "ascii_text",
    "patient_orientation",
    "series_laterality",
]


class DicomExportError(SpinecheckError, ValueError):
    """The DICOM results cannot be made for this film or study (or highdicom is not installed)."""


#: Patient and Study attributes that highdicom's constructors convert or check, with their VR.
_CONVERTED = {
    "PatientName": "PN",
    "PatientID": "LO",
    "PatientBirthDate": "DA",
    "PatientSex": "CS",
    "AccessionNumber": "SH",
    "StudyID": "SH",
    "StudyDate": "DA",
    "StudyTime": "TM",
    "ReferringPhysicianName": "PN",
}
_SEXES = ("M", "F", "O", "")
_VR_WORDS = {
    "PN": "person name",
    "LO": "long string (at most 64 characters)",
    "SH": "short string (at most 16 characters)",
    "DA": "date (YYYYMMDD)",
    "TM": "time (HHMMSS.FFFFFF)",
    "CS": "sex (M, F or O)",
}
#: Body parts (CID 4031 defined terms) that are not paired: a film of them has no laterality.
_UNPAIRED = {
    "SPINE",
    "CSPINE",
    "TSPINE",
    "LSPINE",
    "SSPINE",
    "COCCYX",
    "WHOLESPINE",
    "CHEST",
    "ABDOMEN",
    "PELVIS",
    "NECK",
    "WHOLEBODY",
}
_DIRECTIONS = set("APRLHF")
_TEXT_VRS = {"SH", "LO", "ST", "LT", "UT", "PN", "UC"}


@dataclass(frozen=True, eq=False)
class SourceFilm:
    """A DICOM film's header, as the DICOM results copy and reference it.

    Attributes
    ----------
    path : str
    header : pydicom.Dataset
        The film's data set as read (its Pixel Data left in the file): what the
        results copy their Patient and Study modules from.
    evidence : pydicom.Dataset
        The same header with the attributes highdicom's constructors convert made
        acceptable to them (missing Type 2 attributes empty, invalid values empty);
        the results are built from it, then :attr:`header`'s own attributes are
        copied over it.
    notes : tuple of str
        What the copy could not make valid (the film's own invalid values).
    """

    path: str
    header: Any
    evidence: Any
    notes: tuple[str, ...] = ()

    @property
    def sop_class_uid(self) -> str:
        return str(self.header.SOPClassUID)

    @property
    def sop_instance_uid(self) -> str:
        return str(self.header.SOPInstanceUID)

    @property
    def study_instance_uid(self) -> str:
        return str(self.header.StudyInstanceUID)


def read_source_film(path: str | os.PathLike[str]) -> SourceFilm:
    """Read and check the header of the film the DICOM results belong to.

    Parameters
    ----------
    path : str or Path
        The film (DICOM, recognised by content).

    Returns
    -------
    SourceFilm

    Raises
    ------
    DicomExportError
        Not a DICOM file (a PNG, JPEG or TIFF film has no study); no SOP Class,
        SOP Instance or Study Instance UID; several frames.
    UnreadableImageError
        The file is missing or not readable.
    """
    from ...landmarks.imaging.pixel_decoding import collect_warnings

    p, where, kind = sniff(Path(path))
    if not kind.startswith("DICOM"):
        raise DicomExportError(
            f"{where}: is a {kind} picture, not a DICOM film; the DICOM results go into the film's DICOM "
            "study, and a picture has none (measure, plot and report take it)"
        )
    ds, notes = read_dataset(p, where, preamble=kind == "DICOM")
    with collect_warnings([]):  # pydicom's complaints about the values are said below, once each
        evidence = _checked(ds, where, notes)
    return SourceFilm(str(p), ds, evidence, tuple(dict.fromkeys(notes)))


def _checked(ds: Any, where: str, notes: list[str]) -> Any:
    """The film's UIDs and frames checked; the evidence copy made (see :class:`SourceFilm`)."""
    for keyword, name in (
        ("SOPClassUID", "SOP Class UID"),
        ("SOPInstanceUID", "SOP Instance UID"),
        ("StudyInstanceUID", "Study Instance UID"),
    ):
        if not str(ds.get(keyword, "") or "").strip():
            raise DicomExportError(f"{where}: has no {name}; the DICOM results must reference the film by it")
    frames = ds.get("NumberOfFrames", 1)
    if int(frames or 1) > 1:
        raise DicomExportError(
            f"{where}: holds {int(frames)} frames; the DICOM results are made for single-frame films"
        )
    evidence = copy.deepcopy(ds)  # the Pixel Data stay deferred: nothing large is copied
    for keyword, vr in _CONVERTED.items():
        value = ds.get(keyword)
        valid = _valid(vr, value)
        if keyword not in ds or not valid:
            setattr(evidence, keyword, "")
        if not valid:
            shown = str(value) if len(str(value)) <= 40 else str(value)[:39] + "…"
            notes.append(
                f"the film's {_name(keyword)} {shown!r} is not a valid {_VR_WORDS[vr]}; "
                "the DICOM results copy it as the film has it"
            )
    if "SpecificCharacterSet" not in ds and _has_non_ascii(ds):
        notes.append(
            "the film's text holds characters outside the default character repertoire and no Specific "
            "Character Set says which; the DICOM results copy them byte for byte, as the film has them"
        )
    return evidence


def _valid(vr: str, value: Any) -> bool:
    """Whether *value* is valid for *vr*, as highdicom's constructors check it (empty is valid)."""
    if value is None or value == "":
        return True
    if vr == "CS":
        return str(value) in _SEXES
    from pydicom import config
    from pydicom.valuerep import validate_value

    try:
        validate_value(vr, value if vr != "PN" else str(value), config.RAISE)
    except ValueError:
        return False
    return True


def _has_non_ascii(ds: Any) -> bool:
    """Whether a text attribute of *ds*'s top level holds a byte outside ASCII."""
    for elem in ds:
        if elem.VR in _TEXT_VRS and elem.value is not None:
            values = elem.value if isinstance(elem.value, (list, tuple)) else [elem.value]
            if any(not str(v).isascii() for v in values):
                return True
    return False


def _name(keyword: str) -> str:
    from pydicom.datadict import dictionary_description, tag_for_keyword

    tag = tag_for_keyword(keyword)
    return dictionary_description(tag) if tag is not None else keyword


def patient_orientation(header: Any) -> list[str] | None:
    """The film's Patient Orientation when it is two valid directions (``["A", "F"]``), else None."""
    value = header.get("PatientOrientation")
    if value is None:
        return None
    values = str(value).split("\\") if isinstance(value, str) else [str(v) for v in value]
    if len(values) != 2 or not all(v and set(v) <= _DIRECTIONS for v in values):
        return None
    return values


def series_laterality(header: Any) -> str | None:
    """The Laterality (0020,0060) a series derived from the film takes: ``"R"``, ``"L"``, ``""`` or None (absent).

    The film's own Laterality when it has one; absent when its Body Part Examined is a part
    of the trunk or spine, which is not paired; its Image Laterality when that is R or L; else
    empty, the Type 2C value for "unknown" (also for Image Laterality U without a body part:
    the derived image has no Image Laterality to tell a reader the part is unpaired).

    >>> from pydicom import Dataset
    >>> spine, hip = Dataset(), Dataset()
    >>> spine.BodyPartExamined, spine.ImageLaterality, hip.BodyPartExamined = "SPINE", "R", "HIP"
    >>> series_laterality(spine), series_laterality(hip)
    (None, '')
    """
    lat = str(header.get("Laterality", "") or "").strip()
    if lat in ("R", "L"):
        return lat
    if str(header.get("BodyPartExamined", "") or "").strip().upper() in _UNPAIRED:
        return None
    image_lat = str(header.get("ImageLaterality", "") or "").strip()
    return image_lat if image_lat in ("R", "L") else ""


#: spinecheck's own text is ASCII, so it fits the film's character set whatever that is.
_ASCII = {
    "°": " deg",
    "–": "-",
    "—": "-",
    "−": "-",
    "≥": ">=",
    "≤": "<=",
    "×": "x",
    "…": "...",
    "·": "*",
    "±": "+/-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "→": "->",
    "µ": "u",
}


def ascii_text(text: str) -> str:
    """*text* in ASCII: symbols spelt out, accents dropped.

    >>> ascii_text("PI–LL ≥ 10°, Müller")
    'PI-LL >= 10 deg, Muller'
    """
    spelt = "".join(_ASCII.get(c, c) for c in text)
    return unicodedata.normalize("NFKD", spelt).encode("ascii", "ignore").decode("ascii")
