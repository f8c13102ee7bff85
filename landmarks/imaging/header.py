"""What a radiograph's file says without decoding its pixels: size, scale, patient, view, provenance.

:func:`read_radiograph_header` reads a DICOM header (the Pixel Data stay in
the file: only where they start and how long they are is looked at) or a
picture's size (Pillow opens it without decoding), and returns a
:class:`RadiographHeader`: everything a landmark file is checked and merged
against (:func:`spinecheck.alignment.study.merge_image`). It applies exactly the rules
:func:`spinecheck.landmarks.imaging.radiograph.load_radiograph` applies, through the same
function (:func:`dicom_header`), and refuses the same files for the same
reasons, with one difference: broken *compressed* data are found only by
decoding.

The cheap check of the pixel data, without decoding:

- a DICOM file must have Pixel Data;
- uncompressed (native) syntaxes: the bytes present must be at least rows ×
  columns × samples × bits allocated / 8 × frames; a truncated file is refused
  naming the shortfall;
- encapsulated (compressed) syntaxes: the first fragment must be present, non
  empty and complete. A corrupt codestream inside a complete fragment is only
  found by decoding (:func:`~spinecheck.landmarks.imaging.radiograph.load_radiograph`).
- pictures (PNG, JPEG, TIFF): Pillow reads the header; the compressed data
  are not checked.
"""

from __future__ import annotations

import datetime
import functools
import io
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import UnreadableImageError, reason, shorten
from ..points.calibration import Calibration
from ..points.model import ImageRef, PatientInfo
from ..points.names import PatientRight, View, VocabularyEnum
from ..points.plane import ImagePlane
from .codestream import HEAD_BYTES, png_excess, stream_geometry, stream_mismatch
from .dicom_header import (
    calibration_from_dataset,
    dataset_value,
    modality_refusal,
    parse_dicom_date,
    patient_from_dataset,
    patient_right_from_orientation,
    view_from_position,
)
from .fast_header import PIXEL_TAGS, AfterThePixelData, read_partial_fast, tag_key
from .limits import check_pixel_count, guard_pillow
from .pixel_decoding import collect_warnings

__all__ = [
    "ImageFormat",
    "RadiographHeader",
    "read_radiograph_header",
    "looks_like_dicom",
    "read_sop_instance_uid",
    "dicom_header",
]


class ImageFormat(VocabularyEnum):
    """The file format a radiograph was read from."""

    DICOM = "DICOM"
    PNG = "PNG"
    JPEG = "JPEG"
    TIFF = "TIFF"


@dataclass(frozen=True)
class RadiographHeader:
    """What a radiograph's file says about it, pixels not decoded.

    The attributes of the same name of :class:`~spinecheck.landmarks.imaging.radiograph.Radiograph`
    mean the same and, for the same file, hold the same values.

    Attributes
    ----------
    path : str
    format : ImageFormat
    rows, columns : int
        Image height and width in pixels (Rows and Columns; a picture's size).
    calibration : Calibration
        The header's pixel spacing with its rule (clinical.md §4 rules 2–5).
    photometric : str
        Photometric Interpretation as stored (pictures: ``MONOCHROME2``).
    patient : PatientInfo
    view : View or None
    view_position : str or None
    patient_orientation : tuple of str or None
    patient_right : PatientRight or None
    sop_instance_uid, study_instance_uid, modality : str or None
    study_date : datetime.date or None
    acquisition_date : datetime.date or None
        The film's date when Study Date is absent (Acquisition Date).
    patient_id : str or None
    birth_date : datetime.date or None
        Patient ID and Patient's Birth Date, read only to tell whether two films are of one patient
        (``spinecheck compare``); never shown (left out of ``repr`` too). The Patient ID is
        written, or its keyed hash, only on request (``spinecheck batch --patient-identifiers``,
        ``--pseudonymise``); the birth date never.
    patient_name : str or None
        Patient's Name as stored (``Family^Given``), written only on request; left out of ``repr``.
    transfer_syntax_uid, transfer_syntax : str or None
        UID and name; None for pictures.
    frames : int
    frame : int or None
    plane : ImagePlane
        Where ITK-based tools (3D Slicer) place the pixels in patient space; unknown, with the
        reason, where spinecheck does not model it. Not a calibration.
    warnings : tuple of str
        What reading the header noticed. A decoded
        :class:`~spinecheck.landmarks.imaging.radiograph.Radiograph` adds what decoding and the
        display transform noticed.
    """

    path: str
    format: ImageFormat
    rows: int
    columns: int
    calibration: Calibration
    photometric: str = "MONOCHROME2"
    patient: PatientInfo = field(default_factory=PatientInfo)
    view: View | None = None
    view_position: str | None = None
    patient_orientation: tuple[str, ...] | None = None
    patient_right: PatientRight | None = None
    sop_instance_uid: str | None = None
    study_instance_uid: str | None = None
    study_date: datetime.date | None = None
    acquisition_date: datetime.date | None = None
    patient_id: str | None = field(default=None, repr=False)
    birth_date: datetime.date | None = field(default=None, repr=False)
    patient_name: str | None = field(default=None, repr=False)
    modality: str | None = None
    transfer_syntax_uid: str | None = None
    transfer_syntax: str | None = None
    frames: int = 1
    frame: int | None = None
    warnings: tuple[str, ...] = ()
    plane: ImagePlane = field(default_factory=ImagePlane.unknown)

    @property
    def image_ref(self) -> ImageRef:
        """The reference a landmark file keeps to this image."""
        return ImageRef(self.path, self.sop_instance_uid, self.rows, self.columns)


# ----------------------------------------------------------------------------- recognising a file

_PNG, _JPEG, _TIFF = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def sniff(path: str | Path) -> tuple[Path, str, str]:
    """Tell what a file is by content: ``(path, where, kind)``.

    *kind* is ``"DICOM"`` (with preamble), ``"DICOM-raw"`` (a data set from
    byte 0), ``"PNG"``, ``"JPEG"`` or ``"TIFF"``; *where* names the file in
    messages.

    Raises
    ------
    UnreadableImageError
        A folder, a missing, unreadable or empty file, or none of those kinds.
    """
    p, where, kind, f = _sniff_open(path)
    f.close()
    return p, where, kind


def _sniff_open(path: str | Path) -> tuple[Path, str, str, BinaryIO]:
    """:func:`sniff`, and the file it read, still open: a header read opens each film once.

    The caller closes the file. Opening a film a second time cost some 5 system calls and a
    buffered reader's making a film (issue 17, 4).
    """
    p = Path(path)
    where = f"image '{path}'"
    try:
        f = open(p, "rb")
    except OSError as exc:
        raise _cannot_read(p, where, exc) from None
    try:
        head = f.read(132)
        kind = _kind(head, where)
    except OSError as exc:
        f.close()
        raise _cannot_read(p, where, exc) from None
    except BaseException:
        f.close()
        raise
    return p, where, kind, f


def _cannot_read(p: Path, where: str, exc: OSError) -> UnreadableImageError:
    """The error of a file that cannot be opened or read: missing, a folder, or why."""
    if isinstance(exc, FileNotFoundError):
        return UnreadableImageError(f"{where}: no such file")
    if p.is_dir():  # a folder is told only here: one system call less for every file
        return UnreadableImageError(f"{where}: is a folder; expected an image file")
    return UnreadableImageError(f"{where}: cannot be read ({exc.strerror or exc})")


def _kind(head: bytes, where: str) -> str:
    """What a file starting with *head* (its first 132 bytes) is: :func:`sniff`'s *kind*."""
    if not head:
        raise UnreadableImageError(f"{where}: the file is empty")
    if head[128:132] == b"DICM":
        return "DICOM"
    if head.startswith(_PNG):
        return "PNG"
    if head.startswith(_JPEG):
        return "JPEG"
    if head[:4] in _TIFF:
        return "TIFF"
    if _starts_like_dicom(head):
        return "DICOM-raw"
    # the file's own bytes are never shown: it may be anything (a link to a secret, issue 13)
    raise UnreadableImageError(
        f"{where}: not a DICOM, PNG, JPEG or TIFF file (no 'DICM' at byte 128, no image signature)"
    )


def looks_like_dicom(head: bytes) -> bool:
    """Tell DICOM by content from the first 132 bytes of a file, as :func:`load_radiograph` does.

    Parameters
    ----------
    head : bytes
        The start of the file (132 bytes, or fewer for a short file).

    Returns
    -------
    bool
        True for ``DICM`` at byte 128, or a data set without preamble whose
        first tag is (0002,xxxx) or (0008,xxxx), little endian.

    Examples
    --------
    >>> looks_like_dicom(bytes(128) + b"DICM"), looks_like_dicom(b"GIF89a" + bytes(126))
    (True, False)
    """
    return head[128:132] == b"DICM" or _starts_like_dicom(head)


def _starts_like_dicom(head: bytes) -> bool:
    """Tell a data set without preamble: first tag (0002,xxxx) or (0008,xxxx), little endian."""
    if len(head) < 8:
        return False
    group, element = int.from_bytes(head[0:2], "little"), int.from_bytes(head[2:4], "little")
    return group in (0x0002, 0x0008) and element < 0x0100


def read_sop_instance_uid(path: str | Path) -> str | None:
    """The SOP Instance UID of a DICOM file, reading the header only (no pixel data).

    Returns None when the file is not readable DICOM or has no UID: the
    caller falls back to other ways of identifying the image.
    """
    import warnings

    import pydicom

    try:
        with open(path, "rb") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a header that only half parses still gives no UID, quietly
            head = f.read(132)
            if not looks_like_dicom(head):
                return None
            f.seek(0)
            ds = pydicom.dcmread(
                f, force=head[128:132] != b"DICM", stop_before_pixels=True, specific_tags=["SOPInstanceUID"]
            )
        return _text(ds.get("SOPInstanceUID"))
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - an unreadable header simply gives no UID
        return None


# ----------------------------------------------------------------------------- reading a header


def read_radiograph_header(path: str | Path, *, frame: int | None = None) -> RadiographHeader:
    """Read what a radiograph's file says about it, without decoding its pixels.

    Parameters
    ----------
    path : str or Path
        The file: DICOM (recognised by content) or PNG/JPEG/TIFF.
    frame : int, optional
        0-based frame of a multi-frame file (required for those).

    Returns
    -------
    RadiographHeader
        The same values as the same attributes of
        :func:`~spinecheck.landmarks.imaging.radiograph.load_radiograph`'s result.

    Raises
    ------
    UnreadableImageError
        As :func:`~spinecheck.landmarks.imaging.radiograph.load_radiograph` does, except that
        broken compressed pixel data (in a complete first fragment) are not
        noticed: that needs decoding.

    Notes
    -----
    The Pixel Data of a DICOM file are not read (dcmread defers values over
    1 MiB): only their length is compared with Rows × Columns × Samples per
    Pixel × Bits Allocated / 8 × Number of Frames for uncompressed syntaxes,
    and the first fragment's presence for compressed ones.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> h = read_radiograph_header(get_testdata_file("RG3_UNCR.dcm"))
    >>> h.rows, h.columns, h.calibration.calibrated, h.view
    (1760, 1760, False, <View.AP: 'ap'>)
    """
    p, where, kind, f = _sniff_open(path)
    if kind.startswith("DICOM"):
        ds, notes = read_dataset(p, where, preamble=kind == "DICOM", file=f)
        return dicom_header(ds, p, where, frame, notes)
    f.close()
    from PIL import Image

    notes = []
    fmt = kind
    try:
        with guard_pillow(), collect_warnings(notes, "Pillow: "), Image.open(p) as img:
            fmt = "JPEG" if img.format == "MPO" else str(img.format)
            return picture_header(img, p, where, frame, notes)
    except UnreadableImageError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
        raise UnreadableImageError(f"{where}: cannot read the {fmt} file ({one_line(exc)})") from exc


#: Values larger than this are read from the file only when used (dcmread's defer_size).
_DEFER_BYTES = 1 << 20


def read_dataset(
    p: Path, where: str, *, preamble: bool, file: BinaryIO | None = None
) -> tuple[Any, list[str]]:
    """``pydicom.dcmread`` with the Pixel Data left in the file; the data set and pydicom's complaints.

    Reading stops at the first top-level element after the Pixel Data whose tag is not above
    the one before it (:class:`~.fast_header.AfterThePixelData`): bytes appended to a file are not read
    as elements one by one (zero bytes are an element of 8 bytes each: 0.3 s per MiB). *file*: *p*
    opened ``"rb"`` (:func:`_sniff_open`'s), read from its start instead of opening *p*, and closed.
    """
    read_partial = _pydicom().read_partial

    notes: list[str] = []
    # one collection for the reading and the conversions, its warnings put in the notes between them
    collection = collect_warnings(notes, "pydicom: ")
    with collection as heard:
        try:
            # Large values (the Pixel Data) stay in the file until used: a header-only read never
            # reads them, and the JPEG 2000 decoder streams its codestream from there (issue 3).
            with open(p, "rb") if file is None else file as fp:
                if file is not None:
                    fp.seek(0)  # where sniffing left it
                size = os.fstat(fp.fileno()).st_size
                # pydicom's reader where the fast one is not sure to read as it does (fast_header)
                ds = (
                    read_partial_fast(fp, size, AfterThePixelData(fp, size), _DEFER_BYTES)
                    if preamble
                    else None
                )
                if ds is None:
                    fp.seek(0)
                    stop = AfterThePixelData(fp, size)
                    ds = read_partial(fp, stop, defer_size=_DEFER_BYTES, force=not preamble)
                rest = size - fp.tell()
        except MemoryError:
            beyond = _length_beyond_the_file(p, size, preamble)
            if beyond is None:
                raise  # memory ran out reading what the file holds
            raise UnreadableImageError(f"{where}: not a readable DICOM file ({beyond})") from None
        except Exception as exc:  # noqa: BLE001 - whatever pydicom stumbles on, the file is unreadable
            # RecursionError (sequences nested beyond Python's stack) is one of them
            raise UnreadableImageError(
                f"{where}: not a readable DICOM file ({shorten(one_line(exc), 300)})"
            ) from exc
        collection.flush()
        if rest > 0:
            notes.append(f"{rest} bytes after the data set's last element ignored (not DICOM elements)")
        # converting a value pydicom only warns about (an Accession Number longer than SH allows) is a
        # note, never a dropped element, whatever the caller's warnings filter says (-W error, pytest)
        silent = _silent_conversions()
        _drop_unreadable(ds, notes, heard, silent)
        if getattr(ds, "file_meta", None) is not None:  # a damaged meta group warns on first use too
            _drop_unreadable(ds.file_meta, notes, heard, silent)
    return ds, notes


class _BeyondTheFile(Exception):
    """A read asked for more bytes than the file holds after the place it reads from."""

    def __init__(self, asked: int, left: int) -> None:
        super().__init__(f"an element declares {asked} bytes, the file holds {max(0, left)} after it")


class _Bounded:
    """A file whose reads may not ask for more than it holds (:class:`_BeyondTheFile` instead)."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f, self._size = f, size

    def read(self, n: int = -1) -> bytes:
        if n is not None and n > 0 and n > self._size - self._f.tell():
            raise _BeyondTheFile(n, self._size - self._f.tell())
        return self._f.read(n)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _length_beyond_the_file(p: Path, size: int, preamble: bool) -> str | None:
    """Why reading *p* ran out of memory, where an element's length runs past the end of the file; else None.

    pydicom reads a value by asking for the bytes its length declares, all at once: a flipped bit
    in the length of an element inside a sequence (where no ``stop_when`` is asked) made it allocate
    gigabytes for a file of kilobytes. Read again (only after a MemoryError, so the fast path pays
    nothing) through a file that refuses such a read.
    """
    with open(p, "rb") as f:
        try:
            _pydicom().read_partial(
                _Bounded(f, size), AfterThePixelData(f, size), defer_size=_DEFER_BYTES, force=not preamble
            )
        except _BeyondTheFile as exc:
            return str(exc)
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001 - another complaint: the MemoryError stands as it was
            return None
    return None


@functools.cache
def _pydicom() -> Any:
    """The pydicom names read for every film, imported once: an import in a function costs 1-2 µs a call.

    pydicom itself is imported on first use, not with this module (start-up, issue 17, 5).
    """
    import logging
    from types import SimpleNamespace

    from pydicom import config
    from pydicom import hooks as hooks_module
    from pydicom.datadict import dictionary_VR
    from pydicom.dataelem import DataElement
    from pydicom.dataset import FileMetaDataset
    from pydicom.filereader import read_partial
    from pydicom.hooks import hooks
    from pydicom.multival import MultiValue
    from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    return SimpleNamespace(
        MultiValue=MultiValue,
        config=config,
        dictionary_VR=dictionary_VR,
        DataElement=DataElement,
        FileMetaDataset=FileMetaDataset,
        read_partial=read_partial,
        hooks=hooks,
        hooks_module=hooks_module,
        UID=UID,
        ExplicitVRLittleEndian=ExplicitVRLittleEndian,
        ImplicitVRLittleEndian=ImplicitVRLittleEndian,
        logger=logging.getLogger("pydicom"),
    )


def _drop_unreadable(
    ds: Any, notes: list[str], heard: Callable[[], int], silent: dict[tuple, Any], depth: int = 0
) -> None:
    """Convert every element now; one pydicom cannot (an unknown VR, a bad value) is dropped with a note.

    pydicom converts an element's raw bytes on first use, wherever that is; an unknown
    Value Representation would then raise ``NotImplementedError`` from deep inside a reader.

    An element whose raw form (:func:`_raw_key`) is in *silent* was converted before without a
    warning, a log record or an error (*heard*, the warning capture's count, did not move), and
    would be converted the same way again: it is not converted again. One that
    :func:`dicom_header` reads (:data:`_READ_BY_HEADER`) gets a copy of the element converted
    then; any other stays raw for pydicom to convert, silently, if anything uses it.
    """
    charset = getattr(ds, "original_character_set", None)
    charset = tuple(charset) if isinstance(charset, list) else charset
    # The data set's own dict, read and written by tag: what get_item(tag, keep_deferred=True) and
    # ds[tag] = element do for a public element of a data set just read, without their checks per
    # element (a copy is only made for an element the header reads, none of them private). A
    # pydicom that keeps its elements otherwise gets those public calls.
    elements = _own_dict(ds)
    if elements is not None:
        tags, get, put = list(elements), elements.__getitem__, elements.__setitem__
    else:
        tags, get, put = list(ds.keys()), functools.partial(ds.get_item, keep_deferred=True), ds.__setitem__
    missing = _MISSING
    plain = _plain_hooks()
    raw_class, converted_class, longest = _raw_class(), _pydicom().DataElement, _SILENT_LONGEST
    new_element, element_class = _new_element, _pydicom().DataElement
    for tag in tags:
        if tag in PIXEL_TAGS:
            continue
        raw = get(tag)
        if raw.__class__ is raw_class:
            # _raw_key of most of a film's elements, written out: a call less for each (some 55 a film)
            _, vr, length, value, _, implicit, little, is_raw = raw[:8]
            key = (
                (int(tag), vr, value, little, implicit, charset)
                if is_raw
                and charset is not None
                and value is not None
                and length != 0xFFFFFFFF
                and len(value) <= longest
                else None
            )
        elif raw.__class__ is converted_class and raw.VR != "SQ":
            # converted already (the meta group's Group Length and Transfer Syntax UID): ds[tag]
            # would return it as it is, with nothing to hear and nothing to remember
            continue
        else:
            key = _raw_key(tag, raw, charset)
        converted: Any = silent.get(key, missing) if key is not None else missing
        if converted is not missing:
            if converted is not None:
                # _copy of the conversion remembered (_template), written out: some 20 a film
                template, state, multi = converted
                if state is None:
                    put(tag, _copy(template, raw.value_tell))
                    continue
                copy = new_element(element_class)
                copy.__dict__.update(state)
                copy.file_tell = raw.value_tell
                if multi:
                    copy._value = _copy_multi_value(copy._value)
                put(tag, copy)
            continue
        uid = _uid_key(tag, raw) if plain else None
        if uid is not None and uid in silent:  # the same UID under another tag (a film's SOP Instance UID)
            continue
        before = heard()
        try:
            element = ds[tag]
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - pydicom's conversion errors have many types
            del ds[tag]
            notes.append(f"element {tag} unreadable ({shorten(one_line(exc), 200)}): ignored")
            continue
        if element.VR == "SQ":
            if depth < 16:
                for item in element.value:
                    _drop_unreadable(item, notes, heard, silent, depth + 1)
        elif heard() == before:
            if len(silent) >= _SILENT_MOST:
                silent.clear()
            if key is not None and _context_free(tag, key[1]):
                shared = int(tag) in _read_by_header() and _shareable(element.value)
                silent[key] = _template(_copy(element, None)) if shared else None
            if uid is not None:
                silent[uid] = None


_MISSING = object()


def _converted_value(ds: Any, tag: int) -> Any:
    """The value of *ds*'s element *tag* where it is converted already (nothing to hear); else :data:`_MISSING`.

    :func:`_drop_unreadable` converts every element a header reads, or copies its conversion:
    reading one then says nothing, and a film's warnings need not be listened for around it
    (some 4 µs a time, issue 17, 4). An element absent, raw or deferred, or a data set kept
    otherwise than in pydicom's own dict, gives :data:`_MISSING`.
    """
    elements = _own_dict(ds)
    element = elements.get(tag_key(tag)) if elements is not None else None
    if element is not None and element.__class__ is _pydicom().DataElement:
        return element.value
    return _MISSING


@functools.cache
def _raw_class() -> Any:
    """The raw element class of pydicom, a named tuple read by position in :func:`_raw_key`.

    Where its fields are not in the order of pydicom 3.0 (tag, VR, length, value, value_tell,
    is_implicit_VR, is_little_endian, is_raw), a class no element is of: :func:`_raw_key` reads
    them by name then.
    """
    from pydicom.dataelem import RawDataElement

    order = ("tag", "VR", "length", "value", "value_tell", "is_implicit_VR", "is_little_endian", "is_raw")
    return RawDataElement if RawDataElement._fields[:8] == order else type("NoRawElement", (), {})


def _holds(ds: Any, tag: int) -> bool:
    """``tag in ds``: by the data set's own dict where it has one (pydicom's `in` makes a Tag first)."""
    elements = _own_dict(ds)
    return tag_key(tag) in elements if elements is not None else tag in ds


def _own_dict(ds: Any) -> dict | None:
    """The dict a pydicom data set keeps its elements in, by tag; None where it has no such dict.

    ``Dataset._dict`` is pydicom's own (3.0 has it): a pydicom without it is read through the
    public calls, with the same results.
    """
    elements = getattr(ds, "_dict", None)
    return elements if isinstance(elements, dict) else None


@functools.cache
def _immutable() -> tuple[type, ...]:
    """Values a copied element may share with the one it was copied from (a multi-value's items too)."""
    from pydicom.valuerep import PersonName

    return (str, int, float, bytes, type(None), PersonName)


def _shareable(value: Any) -> bool:
    """Whether copies of an element holding *value* may share it (:func:`_copy`).

    An immutable value, or a multi-value of immutable items as pydicom makes it (its list is copied).
    """
    if isinstance(value, _immutable()):
        return True
    return (
        value.__class__ is _pydicom().MultiValue
        and value.__dict__.keys() == _MULTI_VALUE_ATTRIBUTES
        and all(isinstance(item, _immutable()) for item in value)
    )


def _copy(element: Any, tell: int | None) -> Any:
    """A new element of *element*'s tag, VR and (:func:`_shareable`) value, at *tell* in its file.

    A copy of an element this function made takes its attributes as they are (some 20 a film:
    0.5 µs each, against 0.9 for pydicom's constructor); any other is made by the constructor. A
    multi-value is a new one holding the same items: converting Pixel Spacing's two numbers again
    cost some 20 µs a film (issue 17, 4).
    """
    pd = _pydicom()
    if element.__class__ is pd.DataElement and element.__dict__.keys() == _ELEMENT_ATTRIBUTES:
        copy = _new_element(pd.DataElement)
        copy.__dict__.update(element.__dict__)
        copy.file_tell = tell
        if copy._value.__class__ is pd.MultiValue:
            copy._value = _copy_multi_value(copy._value)
        return copy
    value = element.value
    if value.__class__ is pd.MultiValue:
        value = _copy_multi_value(value)
    return pd.DataElement(
        element.tag, element.VR, value, tell, element.is_undefined_length, already_converted=True
    )


def _template(element: Any) -> tuple[Any, dict | None, bool]:
    """A converted element as :func:`_drop_unreadable` remembers it, to copy it quickly.

    ``(element, state, multi)``: *state* is the attributes a copy takes (:func:`_copy`'s first
    case: an element it made, of the attributes :data:`_ELEMENT_ATTRIBUTES`), None where a copy
    is made by :func:`_copy` itself; *multi*, whether the value is a multi-value (each copy has
    its own). The element is the one kept, never given out: its attributes do not change.
    """
    pd = _pydicom()
    if element.__class__ is pd.DataElement and element.__dict__.keys() == _ELEMENT_ATTRIBUTES:
        return element, element.__dict__, element._value.__class__ is pd.MultiValue
    return element, None, False


def _copy_multi_value(value: Any) -> Any:
    """A new pydicom multi-value holding *value*'s items (a :func:`_shareable` one's: not converted again)."""
    copy = _new_element(value.__class__)
    copy.__dict__.update(value.__dict__)
    copy._list = list(value._list)
    return copy


_new_element = object.__new__
#: What pydicom's DataElement sets when made (3.0): a copy of one that holds anything else is made anew.
_ELEMENT_ATTRIBUTES = frozenset(
    ("tag", "VR", "validation_mode", "_value", "file_tell", "is_undefined_length", "private_creator")
)
#: What pydicom's MultiValue holds (3.0): its items' constructor and their list.
_MULTI_VALUE_ATTRIBUTES = frozenset(("_constructor", "_list"))


#: The elements :func:`dicom_header` (and what it calls) reads, by keyword.
_READ_BY_HEADER = (
    "AcquisitionDate",
    "BitsAllocated",
    "Columns",
    "ContentDate",
    "EstimatedRadiographicMagnificationFactor",
    "ImageOrientationPatient",
    "ImagePositionPatient",
    "ImagerPixelSpacing",
    "MediaStorageSOPClassUID",
    "Modality",
    "NominalScannedPixelSpacing",
    "NumberOfFrames",
    "PatientAge",
    "PatientBirthDate",
    "PatientID",
    "PatientName",
    "PatientOrientation",
    "PatientSex",
    "PhotometricInterpretation",
    "PixelSpacing",
    "PixelSpacingCalibrationDescription",
    "PixelSpacingCalibrationType",
    "Rows",
    "SOPClassUID",
    "SOPInstanceUID",
    "SamplesPerPixel",
    "StudyDate",
    "StudyInstanceUID",
    "TransferSyntaxUID",
    "ViewPosition",
)


@functools.cache
def _read_by_header() -> frozenset[int]:
    from pydicom.datadict import tag_for_keyword

    return frozenset(int(tag_for_keyword(k)) for k in _READ_BY_HEADER)  # type: ignore[arg-type]


#: Raw values longer than this (bytes) are converted every time, never remembered.
_SILENT_LONGEST = 1024
#: Most raw forms remembered as silent; past it the set starts again (about 30 MB at most).
_SILENT_MOST = 100_000
#: The pydicom settings that conversion reads (valuerep, values, dataelem, hooks); a change empties the set.
_CONVERSION_SETTINGS = (
    "allow_DS_float",
    "convert_wrong_length_to_UN",
    "data_element_callback",
    "datetime_conversion",
    "replace_un_with_known_vr",
    "use_DS_decimal",
    "use_DS_numpy",
    "use_IS_numpy",
    "use_none_as_empty_text_VR_value",
    "use_none_as_empty_value",
    "_use_future",
)
_silent: dict[tuple, Any] = {}
_silent_under: list[Any] = [None]


def _silent_conversions() -> dict[tuple, Any]:
    """The raw forms this process has seen convert silently, under pydicom's settings of now.

    Each maps to a copy of its converted element where :func:`dicom_header` reads it (as
    :func:`_template` keeps it), else None.

    A batch's films share most of their header values (modality, manufacturer, sizes, spacing,
    the codes of their sequences): each is converted once per process, not once per film.
    """
    pd = _pydicom()
    config, hooks = pd.config, pd.hooks
    settings = (
        tuple(getattr(config, name, None) for name in _CONVERSION_SETTINGS),
        config.settings.reading_validation_mode,
        config.settings.writing_validation_mode,
        repr(getattr(config, "data_element_callback_kwargs", None)),
        hooks.raw_element_vr,
        hooks.raw_element_value,
        repr(hooks.raw_element_kwargs),
        pd.logger.getEffectiveLevel(),  # a log record below it is not heard
    )
    if settings != _silent_under[0]:
        _silent.clear()
        _silent_under[0] = settings
    return _silent


def _raw_key(tag: Any, raw: Any, charset: Any) -> tuple | None:
    """What a raw element's conversion depends on, its tag included; None: not remembered.

    Already converted elements, deferred values, values of undefined length or over
    :data:`_SILENT_LONGEST` bytes, and data sets without an original character set have none.
    """
    if charset is None:
        return None
    if raw.__class__ is _raw_class():  # most of a film's elements: their fields read by position
        if not raw[7]:  # is_raw
            return None
        _, vr, length, value, _, implicit, little = raw[:7]
    elif getattr(raw, "is_raw", False):
        vr, length, value = raw.VR, raw.length, raw.value
        implicit, little = raw.is_implicit_VR, raw.is_little_endian
    else:
        return None
    if value is None or length == 0xFFFFFFFF or len(value) > _SILENT_LONGEST:
        return None
    return (int(tag), vr, value, little, implicit, charset)


def _uid_key(tag: Any, raw: Any) -> tuple | None:
    """The key of a raw UID element's conversion whatever its tag; None: not such an element.

    A UID (explicit VR ``UI``, a public tag) converts the same way under every tag and in every
    character set: its bytes are ASCII, stripped of trailing NULs and spaces, made a UID and
    validated, all without the tag, under pydicom's own conversion hooks. A film records its SOP
    Instance UID twice, in its data set and its meta group (Media Storage SOP Instance UID), and
    it is different in every film: the second is known silent once the first was, which saved a
    conversion by pydicom (some 15 % of :func:`_drop_unreadable`'s time a film, issue 17, 4). A
    caller's hook or element callback may look at the tag: none is taken then (:func:`_plain_hooks`).
    """
    if raw.__class__ is not _raw_class() or raw[1] != "UI" or not raw[7]:
        return None
    value = raw[3]
    if value is None or len(value) > _SILENT_LONGEST or (int(tag) >> 16) % 2 == 1:
        return None
    return ("UI", value, raw[6])


def _plain_hooks() -> bool:
    """Whether pydicom converts raw elements with its own hooks, without an element callback."""
    pd = _pydicom()
    hooks, config, module = pd.hooks, pd.config, pd.hooks_module
    return (
        hooks.raw_element_vr is module.raw_element_vr
        and hooks.raw_element_value is module.raw_element_value
        and not hooks.raw_element_kwargs
        and not config.data_element_callback
    )


def _context_free(tag: Any, vr: str | None) -> bool:
    """Whether an element's conversion depends on its tag, VR and bytes only, not on other elements.

    Not so: a private element whose VR is looked up by its creator (implicit VR or UN), and an
    element whose VR the dictionary leaves ambiguous (``US or SS``: read from Pixel
    Representation), or a sequence.
    """
    if vr not in (None, "UN"):
        return vr != "SQ"
    if (int(tag) >> 16) % 2 == 1:
        return False
    try:
        known = _pydicom().dictionary_VR(tag)
    except KeyError:
        return vr == "UN"  # stays UN whatever the data set holds
    return " or " not in known and known != "SQ"


def dicom_header(ds: Any, p: Path, where: str, frame: int | None, notes: list[str]) -> RadiographHeader:
    """Interpret a DICOM data set's header: the one set of rules both loaders use.

    Checks that there are pixel data (and, without decoding, that they are
    all there), that *frame* fits the file, and reads calibration, patient,
    view, side and provenance. May set *ds*'s Transfer Syntax UID when the
    file has no File Meta Information (as read). *notes* (pydicom's
    complaints so far) are extended with this header's.

    Raises
    ------
    UnreadableImageError
        A Modality that is no projection radiograph (CT, MR, ...; see
        :func:`modality_refusal`), no pixel data, a truncated file, no
        fragment, a multi-frame file without *frame*, or *frame* out of range.
    """
    pd = _pydicom()
    UID = pd.UID  # noqa: N806 - pydicom's class

    modality = _converted_value(ds, 0x00080060)  # Modality
    if modality is _MISSING:  # not converted yet: pydicom may complain
        with collect_warnings(notes, "pydicom: "):
            modality = dataset_value(ds, "Modality")
    refusal = modality_refusal(modality)
    if refusal is not None:  # a CT or MR slice has pixels, but is no film to measure
        raise UnreadableImageError(f"{where}: {refusal}")
    own = _own_dict(ds)
    held = own if own is not None else ds  # `in` on the data set converts each tag first
    if not any(tag_key(tag) in held for tag in PIXEL_TAGS):  # Pixel Data, Float or Double Float Pixel Data
        raise UnreadableImageError(_without_pixels(ds, p, where, notes))
    # elements are looked up by tag: by keyword, pydicom looks the keyword up first (some 3 µs a time)
    if not _holds(getattr(ds, "file_meta", {}), 0x00020010):  # Transfer Syntax UID
        implicit = ds.original_encoding[0] if ds.original_encoding[0] is not None else True
        ts = pd.ImplicitVRLittleEndian if implicit else pd.ExplicitVRLittleEndian
        ds.file_meta = getattr(ds, "file_meta", pd.FileMetaDataset())
        ds.file_meta.TransferSyntaxUID = ts
        notes.append(f"no File Meta Information: transfer syntax taken as {ts.name}, as read")
    ts = dataset_value(ds.file_meta, "TransferSyntaxUID")

    frames = _int(dataset_value(ds, "NumberOfFrames"), 1)
    if frames > 1 and frame is None:
        raise UnreadableImageError(
            f"{where}: multi-frame image ({frames} frames); spinecheck measures one "
            f"radiograph: choose one with --frame (0..{frames - 1})"
        )
    if frame is not None and not (isinstance(frame, int) and 0 <= frame < frames):
        raise UnreadableImageError(
            f"{where}: frame {frame!r} is out of range; the file has {frames} "
            f"frame{'s' if frames > 1 else ''} (0..{frames - 1})"
        )
    rows, columns = _int(dataset_value(ds, "Rows"), 0), _int(dataset_value(ds, "Columns"), 0)
    if rows <= 0 or columns <= 0:
        raise UnreadableImageError(
            f"{where}: Rows {dataset_value(ds, 'Rows')!r} and Columns {dataset_value(ds, 'Columns')!r} "
            "must be positive numbers"
        )
    check_pixel_count(where, rows, columns, _int(dataset_value(ds, "SamplesPerPixel"), 1), frames)
    uid, known = _transfer_syntax_uid(str(ts), UID)
    if not known:
        raise UnreadableImageError(
            f"{where}: Transfer Syntax UID (0002,0010) {shorten(str(ts))!r} is not a DICOM transfer syntax "
            "(expected e.g. 1.2.840.10008.1.2.1, Explicit VR Little Endian)"
        )
    _check_pixel_data(ds, p, where, uid, (rows, columns), frames)

    with collect_warnings(notes, "pydicom: "):
        calibration = _guarded(
            lambda: calibration_from_dataset(ds),
            Calibration.none("pixel spacing attributes unreadable"),
            "pixel spacing",
            notes,
        )
        reading = _guarded(lambda: patient_from_dataset(ds), None, "patient attributes", notes)
        view_position = _text(dataset_value(ds, "ViewPosition"))
        orientation = _values(dataset_value(ds, "PatientOrientation"))
        sop_instance_uid = _text(dataset_value(ds, "SOPInstanceUID"))
        modality = _text(dataset_value(ds, "Modality"))
        study_instance_uid = _text(dataset_value(ds, "StudyInstanceUID"))
        patient_name = _text(dataset_value(ds, "PatientName"))
        study_date = parse_dicom_date(dataset_value(ds, "StudyDate"))
        acquisition_date = parse_dicom_date(dataset_value(ds, "AcquisitionDate"))
        patient_id = _text(dataset_value(ds, "PatientID"))
        birth_date = parse_dicom_date(dataset_value(ds, "PatientBirthDate"))
        photometric = str(dataset_value(ds, "PhotometricInterpretation", "") or "MONOCHROME2").strip().upper()
        plane = _guarded(
            lambda: _dicom_plane(ds, frames),
            ImagePlane.unknown("image plane attributes unreadable"),
            "image plane",
            notes,
        )
    return RadiographHeader(
        path=str(p),
        format=ImageFormat.DICOM,
        rows=rows,
        columns=columns,
        calibration=calibration,
        photometric=photometric,
        patient=reading.patient if reading else PatientInfo(),
        view=view_from_position(view_position),
        view_position=view_position,
        patient_orientation=orientation,
        patient_right=patient_right_from_orientation(orientation),
        sop_instance_uid=sop_instance_uid,
        study_instance_uid=study_instance_uid,
        study_date=study_date,
        acquisition_date=acquisition_date,
        patient_id=patient_id,
        birth_date=birth_date,
        patient_name=patient_name,
        modality=modality,
        transfer_syntax_uid=str(ts),
        transfer_syntax=uid.name,
        frames=frames,
        frame=frame if frames > 1 else None,
        warnings=unique(notes + list(reading.warnings if reading else ())),
        plane=plane,
    )


#: Transfer Syntax UIDs made before without a word from pydicom: (UID, whether a transfer syntax).
_SYNTAX_UIDS: dict[str, tuple[Any, bool]] = {}


def _transfer_syntax_uid(text: str, uid_class: Any) -> tuple[Any, bool]:
    """The pydicom UID of *text* and whether it names a transfer syntax; what it says is not kept.

    A UID made silently (no warning, no log record) is made once per process: a batch's films
    share a few syntaxes. One pydicom complains about is made again each time, so that any
    collection of warnings around this one hears its log records every time.
    """
    made = _SYNTAX_UIDS.get(text)
    if made is not None:
        return made
    # pydicom warns on a malformed UID; the caller refuses it
    with collect_warnings([], "pydicom: ") as heard:
        uid = uid_class(text)
        made = (uid, uid.is_transfer_syntax)
        silent = heard() == 0
    if silent and len(_SYNTAX_UIDS) < 64:
        _SYNTAX_UIDS[text] = made
    return made


def _dicom_plane(ds: Any, frames: int) -> ImagePlane:
    """Where ITK/GDCM (3D Slicer) put the pixels: the attributes :meth:`ImagePlane.from_dicom` reads."""
    return ImagePlane.from_dicom(
        dataset_value(ds, "SOPClassUID") or getattr(ds, "file_meta", {}).get("MediaStorageSOPClassUID"),
        imager_pixel_spacing=dataset_value(ds, "ImagerPixelSpacing"),
        pixel_spacing=dataset_value(ds, "PixelSpacing"),
        nominal_scanned_pixel_spacing=dataset_value(ds, "NominalScannedPixelSpacing"),
        image_position=dataset_value(ds, "ImagePositionPatient"),
        image_orientation=dataset_value(ds, "ImageOrientationPatient"),
        frames=frames,
    )


_ITEM, _SEQUENCE_END = 0xE000FFFE, 0xE0DDFFFE
#: The Value Length of an element of undefined length (PS3.5 7.1.1).
_UNDEFINED_LENGTH = 0xFFFFFFFF


def _check_pixel_data(ds: Any, p: Path, where: str, ts: Any, size_px: tuple[int, int], frames: int) -> None:
    """Refuse Pixel Data that are visibly short, without decoding them (see the module notes)."""
    own = _own_dict(ds)
    if own is not None:  # what `in` and get_item(keep_deferred=True) find, without their Tag()
        raw = own.get(tag_key(0x7FE00010))
        if raw is None:
            return  # float pixel data: pydicom checks them when decoding
    elif 0x7FE00010 not in ds:  # Pixel Data
        return
    else:
        raw = ds.get_item(0x7FE00010, keep_deferred=True)
    value = getattr(raw, "value", None)
    tell = getattr(raw, "value_tell", None)
    in_file_at: int | None = tell if value is None else None  # where a deferred value starts in the file
    size = p.stat().st_size
    label = f"{ts.name} ({ts})" if ts.name != ts else str(ts)
    if not ts.is_encapsulated:
        allocated = _int(dataset_value(ds, "BitsAllocated"), 0)
        samples = _int(dataset_value(ds, "SamplesPerPixel"), 1)
        if allocated <= 0:
            return  # pydicom says what is wrong when decoding
        expected = (size_px[0] * size_px[1] * samples * allocated * frames + 7) // 8
        declared = int(getattr(raw, "length", 0) or 0)
        present = min(declared, max(0, size - in_file_at)) if in_file_at is not None else len(value or b"")
        shape = (
            f"{label}: {size_px[0]} rows × {size_px[1]} columns × {samples} samples × {allocated} bits "
            f"allocated × {frames} frames"
        )
        if present < expected:
            raise UnreadableImageError(
                f"{where}: the pixel data are truncated: {present} of {expected} bytes present ({shape})"
            )
        row_bytes = (size_px[1] * samples * allocated + 7) // 8
        if declared - expected >= max(2, row_bytes):
            # whole rows more than Rows says: Rows (or Columns, or the bits) cannot be trusted
            raise UnreadableImageError(
                f"{where}: the pixel data hold {declared} bytes, {declared - expected} more than the header's "
                f"size needs ({shape}): Rows, Columns or Bits Allocated disagree with the data"
            )
        return
    declared = int(getattr(raw, "length", 0) or 0)
    if in_file_at is not None and declared != _UNDEFINED_LENGTH and declared > size - in_file_at:
        # encapsulated Pixel Data of a defined length (PS3.5 A.4 asks for an undefined one) that runs
        # past the end of the file: a decoder would first read, and allocate, all it declares
        raise UnreadableImageError(
            f"{where}: the pixel data are truncated: the element declares {declared} bytes, the file holds "
            f"{max(0, size - in_file_at)} after its start ({label})"
        )
    problem = None
    try:
        if in_file_at is not None:
            with open(p, "rb") as f:
                problem = _first_fragment_problem(f, in_file_at, size)
        else:
            data = bytes(value or b"")
            problem = _first_fragment_problem(io.BytesIO(data), 0, len(data))
    except OSError as exc:
        problem = f"cannot be read ({reason(exc)})"
    if problem:
        raise UnreadableImageError(f"{where}: the pixel data {problem} ({label})")
    _check_stream_header(ds, p, where, ts, label, size_px, in_file_at, value)


def _check_stream_header(
    ds: Any, p: Path, where: str, ts: Any, label: str, size_px: tuple[int, int], at: int | None, value: Any
) -> None:
    """Refuse a first fragment whose own header disagrees with the data set (:mod:`.codestream`).

    Native decoders can abort the process on such a stream, so this runs before any of them.
    """
    try:
        if at is not None:
            with open(p, "rb") as f:
                f.seek(at + 4)
                (bot,) = struct.unpack("<I", f.read(4))
                f.seek(at + 8 + bot + 4)
                (length,) = struct.unpack("<I", f.read(4))
                head = f.read(min(length, HEAD_BYTES))
        else:
            data = memoryview(bytes(value or b""))
            (bot,) = struct.unpack("<I", data[4:8])
            (length,) = struct.unpack("<I", data[12 + bot : 16 + bot])
            head = bytes(data[16 + bot : 16 + bot + min(length, HEAD_BYTES)])
    except (OSError, struct.error) as exc:
        raise UnreadableImageError(
            f"{where}: the pixel data cannot be read ({reason(exc)}) ({label})"
        ) from exc
    geometry = stream_geometry(head, str(ts), length)
    if geometry is None:
        return
    if isinstance(geometry, str):
        raise UnreadableImageError(f"{where}: the pixel data are damaged: {geometry} ({label})")
    mismatch = stream_mismatch(
        geometry,
        rows=size_px[0],
        columns=size_px[1],
        samples=_int(dataset_value(ds, "SamplesPerPixel"), 1),
        bits_allocated=_int(dataset_value(ds, "BitsAllocated"), 16),
    )
    if mismatch:
        raise UnreadableImageError(f"{where}: the pixel data disagree with the header: {mismatch} ({label})")


def _first_fragment_problem(f: Any, at: int, end: int) -> str | None:
    """What is wrong with the first fragment of encapsulated Pixel Data starting at *at*, or None."""
    f.seek(at)
    head = f.read(8)
    if len(head) < 8 or struct.unpack("<I", head[:4])[0] != _ITEM:
        return "are damaged: no Basic Offset Table item where the fragments start"
    (bot,) = struct.unpack("<I", head[4:])
    f.seek(at + 8 + bot)
    head = f.read(8)
    if len(head) < 8:
        return "are truncated: the file ends before the first fragment"
    tag, length = struct.unpack("<II", head)
    if tag == _SEQUENCE_END:
        return "are empty: no fragment after the Basic Offset Table"
    if tag != _ITEM or length in (0, 0xFFFFFFFF):
        return "are damaged: the first fragment is not a fragment item of defined, non-zero length"
    start = at + 16 + bot
    if start + length > end:
        return f"are truncated: {max(0, end - start)} of the first fragment's {length} bytes present"
    return None


def _without_pixels(ds: Any, p: Path, where: str, notes: list[str]) -> str:
    """Say why a DICOM file has no pixel data: truncated, damaged, or not an image."""
    from pydicom import config
    from pydicom.uid import UID

    ended = [n for n in notes if "End of file" in n]
    if ended:
        return f"{where}: the DICOM file is truncated ({ended[0].removeprefix('pydicom: ')})"
    sop = dataset_value(ds, "SOPClassUID") or getattr(ds, "file_meta", {}).get("MediaStorageSOPClassUID")
    uid = UID(str(sop), validation_mode=config.IGNORE) if sop else None  # validating warns
    name = uid.name if uid is not None and uid.is_valid else ""  # a damaged UID is not shown
    if len(ds) == 0 or "Image" in name or "Rows" in ds:
        return (
            f"{where}: DICOM file{f' ({name})' if name else ''} without pixel data after "
            f"{len(ds)} elements in {p.stat().st_size} bytes: truncated or damaged"
        )
    return (
        f"{where}: DICOM file without pixel data (no (7FE0,0010) Pixel Data); it is "
        f"{f'a {name} object' if name else 'a DICOM object'}, not an image"
    )


def picture_header(img: Any, p: Path, where: str, frame: int | None, notes: list[str]) -> RadiographHeader:
    """Interpret an open Pillow image's header (nothing decoded): size, pages, dpi, orientation.

    The one set of rules both loaders use for pictures. Call it inside
    ``collect_warnings(notes)``; the caller seeks to *frame*.

    Raises
    ------
    UnreadableImageError
        A multi-page file without *frame*, or *frame* out of range.
    """
    fmt = "JPEG" if img.format == "MPO" else str(img.format)
    frames = int(getattr(img, "n_frames", 1))
    if frames > 1 and frame is None:
        raise UnreadableImageError(
            f"{where}: {fmt} with {frames} pages; choose one with --frame (0..{frames - 1})"
        )
    if frame is not None and not (isinstance(frame, int) and 0 <= frame < frames):
        raise UnreadableImageError(
            f"{where}: frame {frame!r} is out of range; the file has {frames} "
            f"page{'s' if frames > 1 else ''} (0..{frames - 1})"
        )
    if frame:
        img.seek(frame)
    dpi = img.info.get("dpi")
    orientation = img.getexif().get(0x0112)
    own = []
    if orientation not in (None, 1):
        own.append(f"EXIF Orientation {orientation} ignored: pixels and landmarks are as stored")
    if dpi:
        shown = "×".join(f"{float(d):g}" for d in dpi)
        reason = (
            f"{fmt} image: no pixel spacing (its {shown} dpi tag is not a patient spacing, "
            "only how to print it)"
        )
    else:
        reason = f"{fmt} image: no pixel spacing"
    columns, rows = img.size
    check_pixel_count(where, int(rows), int(columns), len(img.getbands()), frames)
    if fmt == "PNG":  # Pillow reads a prefix of data longer than IHDR says (a DICOM's Rows are checked too)
        with open(p, "rb") as fp:
            excess = png_excess(fp)
        if excess:
            raise UnreadableImageError(f"{where}: the pixel data disagree with the header: {excess}")
    tags = getattr(img, "tag_v2", None) or {}  # a TIFF's tags, by number
    resolution = (tags[282], tags[283]) if 282 in tags and 283 in tags else None
    plane = ImagePlane.from_picture(
        fmt,
        jfif_unit=img.info.get("jfif_unit"),
        jfif_density=img.info.get("jfif_density"),
        tiff_resolution=resolution,
        tiff_resolution_unit=tags.get(296),
        frames=frames,
    )
    return RadiographHeader(
        path=str(p),
        format=ImageFormat(fmt),
        rows=int(rows),
        columns=int(columns),
        calibration=Calibration.none(reason),
        frames=frames,
        frame=frame if frames > 1 else None,
        warnings=unique(notes + own),
        plane=plane,
    )


# ----------------------------------------------------------------------------- small helpers


def _guarded(read: Any, fallback: Any, what: str, notes: list[str]) -> Any:
    try:
        return read()
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed header attribute never stops loading
        notes.append(f"{what} unreadable ({one_line(exc)}): ignored")
        return fallback


def _int(raw: Any, default: int) -> int:
    try:
        return int(raw) if raw not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _text(raw: Any) -> str | None:
    text = str(raw).strip() if raw is not None else ""
    return text or None


def _values(raw: Any) -> tuple[str, ...] | None:
    if raw is None or raw == "":
        return None
    items = [raw] if isinstance(raw, str) else list(raw)
    values = tuple(str(v).strip() for v in items)
    return values if any(values) else None


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def unique(items: list[str]) -> tuple[str, ...]:
    """*items* without repeats, in order."""
    return tuple(dict.fromkeys(items))
