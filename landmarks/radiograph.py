"""Opening a radiograph: DICOM, PNG, JPEG or TIFF, with honest calibration.

:func:`load_radiograph` is the one entry point. It recognises DICOM by its
content (the ``DICM`` prefix, or a data set that starts at byte 0 as in old
files without preamble) and pictures by their signature, and returns a
:class:`Radiograph`: the stored pixel values exactly as stored, a display
image made on first use, and everything the header says about scale
(clinical.md §4), patient, projection and provenance. Anything it cannot open
raises :class:`~landmarks.errors.UnreadableImageError` (or
:class:`~landmarks.errors.MissingDecoderError`) with one line naming the file
and the problem.

:func:`choose_calibration` applies rule 1 of clinical.md §4 (a user
calibration always wins); :func:`radiograph_info` and :func:`format_info_text`
are what ``spinecheck info`` prints.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from landmarks.calibration import Calibration, CalibrationPlane
from landmarks.dicom_header import (
    calibration_from_dataset,
    parse_dicom_date,
    patient_from_dataset,
    patient_right_from_orientation,
    view_from_position,
)
from landmarks.display import DisplayTransform, VoiSource
from landmarks.errors import UnreadableImageError
from landmarks.model import ImageRef, PatientInfo
from landmarks.names import PatientRight, View
from landmarks.pixel_decoding import collect_warnings, decode_pixels

__all__ = [
    "ImageFormat",
    "Radiograph",
    "load_radiograph",
    "choose_calibration",
    "patient_right_of",
    "radiograph_info",
    "format_info_text",
]


class ImageFormat(str, enum.Enum):
    """The file format a radiograph was read from."""

    DICOM = "DICOM"
    PNG = "PNG"
    JPEG = "JPEG"
    TIFF = "TIFF"

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, eq=False)
class Radiograph:
    """One radiograph as the loader sees it.

    Attributes
    ----------
    path : str
    format : ImageFormat
    pixels : ndarray, shape (rows, columns)
        Stored values exactly as stored (no rescale, no inversion), in the
        stored integer type; read-only. Colour images are the only exception:
        their luma (see ``warnings``).
    calibration : Calibration
        The header's pixel spacing with its rule, source and plane
        (clinical.md §4 rules 2–5). A user calibration is applied on top with
        :func:`choose_calibration`.
    display_transform : DisplayTransform
        How :attr:`display` is made from :attr:`pixels`.
    photometric : str
        Photometric Interpretation as stored (pictures: ``MONOCHROME2``).
    bits_stored : int
    patient : PatientInfo
        Age and sex with their sources; unknown values are None.
    view : View or None
        From View Position: ``LATERAL``/``LL``/``RL`` lateral, ``AP``/``PA``
        ap, anything else None.
    view_position : str or None
        View Position (0018,5101) as stored.
    patient_orientation : tuple of str or None
        Patient Orientation (0020,0020): patient directions of the rows and
        of the columns.
    patient_right : PatientRight or None
        The image side of the patient's right, from Patient Orientation.
    sop_instance_uid, modality : str or None
    study_date : datetime.date or None
    transfer_syntax_uid, transfer_syntax : str or None
        UID and name; None for pictures.
    frames : int
        Frames in the file.
    frame : int or None
        The 0-based frame chosen from a multi-frame file.
    warnings : tuple of str
        What the loader noticed (malformed header values, conversions,
        library warnings). The calibration's own caveats are in
        ``calibration.warnings``.
    """

    path: str
    format: ImageFormat
    pixels: np.ndarray
    calibration: Calibration
    display_transform: DisplayTransform
    photometric: str = "MONOCHROME2"
    bits_stored: int = 16
    patient: PatientInfo = field(default_factory=PatientInfo)
    view: View | None = None
    view_position: str | None = None
    patient_orientation: tuple[str, ...] | None = None
    patient_right: PatientRight | None = None
    sop_instance_uid: str | None = None
    study_date: datetime.date | None = None
    modality: str | None = None
    transfer_syntax_uid: str | None = None
    transfer_syntax: str | None = None
    frames: int = 1
    frame: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        """Image height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def columns(self) -> int:
        """Image width in pixels."""
        return int(self.pixels.shape[1])

    @functools.cached_property
    def display(self) -> np.ndarray:
        """The display image: ``uint8``, ``(rows, columns)``, bone bright; read-only.

        Made on first use by :attr:`display_transform` (Modality LUT, VOI LUT
        or window or robust percentiles, MONOCHROME1 inverted) and kept.
        """
        out = self.display_transform.apply(self.pixels)
        if out.flags.writeable:
            out.setflags(write=False)
        return out

    @property
    def image_ref(self) -> ImageRef:
        """The reference a landmark file keeps to this image."""
        return ImageRef(self.path, self.sop_instance_uid, self.rows, self.columns)


# ----------------------------------------------------------------------------- loading

_PNG, _JPEG, _TIFF = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def load_radiograph(path: str | Path, *, frame: int | None = None) -> Radiograph:
    """Open a radiograph: DICOM (CR, DX, secondary capture) or PNG/JPEG/TIFF.

    Parameters
    ----------
    path : str or Path
        The file. DICOM is recognised by content, whatever the name.
    frame : int, optional
        0-based frame of a multi-frame file (required for those).

    Returns
    -------
    Radiograph

    Raises
    ------
    UnreadableImageError
        Missing, empty, truncated, corrupt or unrecognised file; a DICOM file
        without pixel data; a multi-frame file without ``frame``.
    MissingDecoderError
        The pixel data need a decoder that is not installed (the message
        names the package).

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> r = load_radiograph(get_testdata_file("RG3_UNCR.dcm"))
    >>> r.rows, r.columns, r.calibration.calibrated, r.view
    (1760, 1760, False, <View.AP: 'ap'>)
    """
    p = Path(path)
    where = f"image '{path}'"
    if p.is_dir():
        raise UnreadableImageError(f"{where}: is a folder; expected an image file")
    try:
        with p.open("rb") as f:
            head = f.read(132)
    except FileNotFoundError:
        raise UnreadableImageError(f"{where}: no such file") from None
    except OSError as exc:
        raise UnreadableImageError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise UnreadableImageError(f"{where}: the file is empty")
    if head[128:132] == b"DICM":
        return _load_dicom(p, where, frame, preamble=True)
    kind = (
        "PNG"
        if head.startswith(_PNG)
        else "JPEG"
        if head.startswith(_JPEG)
        else ("TIFF" if head[:4] in _TIFF else None)
    )
    if kind is not None:
        return _load_picture(p, where, frame, kind)
    if _starts_like_dicom(head):
        return _load_dicom(p, where, frame, preamble=False)
    raise UnreadableImageError(
        f"{where}: not a DICOM, PNG, JPEG or TIFF file (no 'DICM' at byte 128, no image signature; "
        f"it starts with 0x{head[:8].hex()})"
    )


#: Values larger than this are read from the file only when used (dcmread's defer_size).
_DEFER_BYTES = 1 << 20


def _starts_like_dicom(head: bytes) -> bool:
    """Tell a data set without preamble: first tag (0002,xxxx) or (0008,xxxx), little endian."""
    if len(head) < 8:
        return False
    group, element = int.from_bytes(head[0:2], "little"), int.from_bytes(head[2:4], "little")
    return group in (0x0002, 0x0008) and element < 0x0100


def _load_dicom(p: Path, where: str, frame: int | None, *, preamble: bool) -> Radiograph:
    import pydicom
    from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    notes: list[str] = []
    with collect_warnings(notes, "pydicom: "):
        try:
            # Large values (the Pixel Data) stay in the file until used: the JPEG 2000 decoder
            # streams its codestream from there instead of holding a copy (issue 3, memory).
            ds = pydicom.dcmread(p, force=not preamble, defer_size=_DEFER_BYTES)
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever pydicom stumbles on, the file is unreadable
            raise UnreadableImageError(f"{where}: not a readable DICOM file ({_one_line(exc)})") from exc
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise UnreadableImageError(_without_pixels(ds, p, where, notes))
    if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):
        implicit = ds.original_encoding[0] if ds.original_encoding[0] is not None else True
        ts = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        ds.file_meta = getattr(ds, "file_meta", pydicom.dataset.FileMetaDataset())
        ds.file_meta.TransferSyntaxUID = ts
        notes.append(f"no File Meta Information: transfer syntax taken as {ts.name}, as read")
    ts = ds.file_meta.TransferSyntaxUID

    frames = _int(ds.get("NumberOfFrames"), 1)
    if frames > 1 and frame is None:
        raise UnreadableImageError(
            f"{where}: multi-frame image ({frames} frames); spinecheck measures one "
            f"radiograph: choose one with frame= (0..{frames - 1})"
        )
    if frame is not None and not (isinstance(frame, int) and 0 <= frame < frames):
        raise UnreadableImageError(
            f"{where}: frame={frame!r} is out of range; the file has {frames} "
            f"frame{'s' if frames > 1 else ''} (0..{frames - 1})"
        )

    with collect_warnings(notes, "pydicom: "):
        pixels = decode_pixels(ds, where=where, frame=frame if frames > 1 else None)
        photometric = str(ds.get("PhotometricInterpretation", "") or "MONOCHROME2").strip().upper()
        if pixels.ndim == 3 or photometric not in ("MONOCHROME1", "MONOCHROME2"):
            pixels = _grey_of_colour(pixels, ds, photometric, notes)
            display = DisplayTransform(
                VoiSource.AS_STORED if pixels.dtype == np.uint8 else VoiSource.PERCENTILES
            )
        else:
            display = _guarded(
                lambda: DisplayTransform.from_dataset(ds), DisplayTransform(), "display attributes", notes
            )
        display = display.resolved(pixels)
        calibration = _guarded(
            lambda: calibration_from_dataset(ds),
            Calibration.none("pixel spacing attributes unreadable"),
            "pixel spacing",
            notes,
        )
        reading = _guarded(lambda: patient_from_dataset(ds), None, "patient attributes", notes)
        view_position = _text(ds.get("ViewPosition"))
        orientation = _values(ds.get("PatientOrientation"))
        sop_instance_uid, modality = _text(ds.get("SOPInstanceUID")), _text(ds.get("Modality"))
        study_date = parse_dicom_date(ds.get("StudyDate"))
    if pixels.flags.writeable:
        pixels.setflags(write=False)
    return Radiograph(
        path=str(p),
        format=ImageFormat.DICOM,
        pixels=pixels,
        calibration=calibration,
        display_transform=display,
        photometric=photometric,
        bits_stored=_int(ds.get("BitsStored"), pixels.dtype.itemsize * 8),
        patient=reading.patient if reading else PatientInfo(),
        view=view_from_position(view_position),
        view_position=view_position,
        patient_orientation=orientation,
        patient_right=patient_right_from_orientation(orientation),
        transfer_syntax_uid=str(ts),
        transfer_syntax=UID(str(ts)).name,
        frames=frames,
        frame=frame if frames > 1 else None,
        warnings=_unique(notes + list(reading.warnings if reading else ()) + list(display.notes)),
        sop_instance_uid=sop_instance_uid,
        modality=modality,
        study_date=study_date,
    )


def _without_pixels(ds: Any, p: Path, where: str, notes: list[str]) -> str:
    """Say why a DICOM file has no pixel data: truncated, damaged, or not an image."""
    from pydicom.uid import UID

    ended = [n for n in notes if "End of file" in n]
    if ended:
        return f"{where}: the DICOM file is truncated ({ended[0].removeprefix('pydicom: ')})"
    sop = ds.get("SOPClassUID") or getattr(ds, "file_meta", {}).get("MediaStorageSOPClassUID")
    name = UID(str(sop)).name if sop else ""
    if len(ds) == 0 or "Image" in name or "Rows" in ds:
        return (
            f"{where}: DICOM file{f' ({name})' if name else ''} without pixel data after "
            f"{len(ds)} elements in {p.stat().st_size} bytes: truncated or damaged"
        )
    return (
        f"{where}: DICOM file without pixel data (no (7FE0,0010) Pixel Data); it is "
        f"{f'a {name} object' if name else 'a DICOM object'}, not an image"
    )


def _guarded(read: Any, fallback: Any, what: str, notes: list[str]) -> Any:
    try:
        return read()
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed header attribute never stops loading
        notes.append(f"{what} unreadable ({_one_line(exc)}): ignored")
        return fallback


def _grey_of_colour(pixels: np.ndarray, ds: Any, photometric: str, notes: list[str]) -> np.ndarray:
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        pixels = apply_color_lut(pixels, ds)
        notes.append("PALETTE COLOR image: palette applied and converted to greyscale (ITU-R BT.601 luma)")
    elif pixels.ndim == 3:
        notes.append(f"{photometric} colour image converted to greyscale (ITU-R BT.601 luma)")
    if pixels.ndim != 3:
        return pixels
    if np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 0], pixels[..., 2]):
        return np.ascontiguousarray(pixels[..., 0])
    out = np.empty(pixels.shape[:2], dtype=pixels.dtype)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    step = max(1, (1 << 20) // max(1, pixels.shape[1]))
    for r in range(0, pixels.shape[0], step):
        out[r : r + step] = np.rint(pixels[r : r + step].astype(np.float32) @ weights)
    return out


def _load_picture(p: Path, where: str, frame: int | None, kind: str) -> Radiograph:
    from PIL import Image

    notes: list[str] = []
    fmt = kind
    try:
        with collect_warnings(notes, "Pillow: "), Image.open(p) as img:
            fmt = "JPEG" if img.format == "MPO" else str(img.format)
            frames = int(getattr(img, "n_frames", 1))
            if frames > 1 and frame is None:
                raise UnreadableImageError(
                    f"{where}: {fmt} with {frames} pages; choose one with frame= (0..{frames - 1})"
                )
            if frame is not None and not (isinstance(frame, int) and 0 <= frame < frames):
                raise UnreadableImageError(
                    f"{where}: frame={frame!r} is out of range; the file has {frames} "
                    f"page{'s' if frames > 1 else ''} (0..{frames - 1})"
                )
            if frame:
                img.seek(frame)
            dpi = img.info.get("dpi")
            orientation = img.getexif().get(0x0112)
            pixels = _picture_pixels(img, notes)
    except UnreadableImageError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
        raise UnreadableImageError(f"{where}: cannot read the {fmt} file ({_one_line(exc)})") from exc
    if orientation not in (None, 1):
        notes.append(f"EXIF Orientation {orientation} ignored: pixels and landmarks are as stored")
    if dpi:
        shown = "×".join(f"{float(d):g}" for d in dpi)
        reason = (
            f"{fmt} image: no pixel spacing (its {shown} dpi tag is not a patient spacing, "
            "clinical.md §4 rule 5)"
        )
    else:
        reason = f"{fmt} image: no pixel spacing"
    pixels.setflags(write=False)
    voi = VoiSource.AS_STORED if pixels.dtype == np.uint8 else VoiSource.PERCENTILES
    display = DisplayTransform(voi).resolved(pixels)
    return Radiograph(
        path=str(p),
        format=ImageFormat(fmt),
        pixels=pixels,
        calibration=Calibration.none(reason),
        display_transform=display,
        photometric="MONOCHROME2",
        bits_stored=pixels.dtype.itemsize * 8,
        frames=frames,
        frame=frame if frames > 1 else None,
        warnings=_unique(notes),
    )


def _picture_pixels(img: Any, notes: list[str]) -> np.ndarray:
    mode = img.mode
    if mode in ("L", "F") or mode.startswith("I;16"):
        arr = np.asarray(img)
        return arr.astype(arr.dtype.newbyteorder("=")) if not arr.dtype.isnative else arr
    if mode == "I":
        arr = np.asarray(img)
        return arr.astype(np.uint16) if arr.size and arr.min() >= 0 and arr.max() <= 0xFFFF else arr
    if mode == "LA":
        notes.append("alpha channel ignored")
        return np.asarray(img.getchannel("L"))
    if mode in ("RGB", "RGBA"):
        rgb = np.asarray(img.convert("RGB"))
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
            notes.append(f"{mode} image with equal channels read as greyscale")
            return np.ascontiguousarray(rgb[..., 0])
    notes.append(f"{mode} image converted to greyscale (ITU-R 601-2 luma)")
    return np.asarray(img.convert("L"))


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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# ----------------------------------------------------------------------------- calibration and side


def choose_calibration(user: Calibration | None, header: Calibration) -> Calibration:
    """Rule 1 of clinical.md §4: a user calibration always wins over the header.

    Parameters
    ----------
    user : Calibration or None
        From the landmark file or the command line (line, ball, mm_per_px).
    header : Calibration
        :attr:`Radiograph.calibration`.

    Returns
    -------
    Calibration
        *header* when there is no user calibration; otherwise *user*, whose
        ``rule`` also records the header calibration it overrides (and
        ``extra["overridden"]`` its JSON).

    Examples
    --------
    >>> from landmarks.dicom_header import header_calibration
    >>> c = choose_calibration(Calibration.from_line((0, 0), (0, 400), 100.0),
    ...                        header_calibration(imager_pixel_spacing=[0.3, 0.3]))
    >>> c.mm_per_px, c.rule.split("; ")[1]
    ((0.25, 0.25), 'overrides the image header: 0.3 mm/px from ImagerPixelSpacing (detector)')
    """
    if user is None or not user.calibrated:
        return header
    if header.calibrated:
        row, col = header.mm_per_px  # type: ignore[misc]
        shown = f"{row:.6g}" if row == col else f"{row:.6g}\\{col:.6g}"
        overridden = (
            f"overrides the image header: {shown} mm/px from {header.source.value} ({header.plane.value})"
        )
    else:
        overridden = f"the image header has no usable spacing ({header.rule})"
    return dataclasses.replace(
        user, rule=f"{user.rule}; {overridden}", extra={**user.extra, "overridden": header.to_json()}
    )


def patient_right_of(r: Radiograph) -> PatientRight | None:
    """Return the image side of the patient's right from the header (None when not stated)."""
    return r.patient_right


# ----------------------------------------------------------------------------- info


def radiograph_info(r: Radiograph) -> dict:
    """Describe a radiograph as ``spinecheck info --format json`` prints it (formats.md §4).

    Returns
    -------
    dict
        JSON-ready: ``rows``, ``columns``, ``photometric``,
        ``transfer_syntax`` (name; None for pictures), ``mm_per_px``
        (``[row, col]`` or None), ``spacing_source``, ``spacing_plane``,
        ``age_years``, ``age_source``, ``sex``, ``view``, and ``path``,
        ``format``, ``modality``, ``sop_instance_uid``, ``study_date``
        (ISO), ``view_position``, ``patient_orientation``,
        ``patient_right``, ``bits_stored``, ``dtype``, ``frames``,
        ``frame``, ``transfer_syntax_uid``, ``spacing_rule``,
        ``spacing_warnings``, ``display``, ``sex_source`` and ``warnings``
        (the loader's and the calibration's).
    """
    cal = r.calibration
    return {
        "path": r.path,
        "format": r.format.value,
        "rows": r.rows,
        "columns": r.columns,
        "photometric": r.photometric,
        "transfer_syntax": r.transfer_syntax,
        "transfer_syntax_uid": r.transfer_syntax_uid,
        "mm_per_px": list(cal.mm_per_px) if cal.mm_per_px else None,
        "spacing_source": cal.source.value,
        "spacing_plane": cal.plane.value,
        "spacing_rule": cal.rule,
        "age_years": r.patient.age_years,
        "age_source": r.patient.age_source,
        "sex": r.patient.sex.value if r.patient.sex else None,
        "sex_source": r.patient.sex_source,
        "view": r.view.value if r.view else None,
        "view_position": r.view_position,
        "patient_orientation": list(r.patient_orientation) if r.patient_orientation else None,
        "patient_right": r.patient_right.value if r.patient_right else None,
        "modality": r.modality,
        "sop_instance_uid": r.sop_instance_uid,
        "study_date": r.study_date.isoformat() if r.study_date else None,
        "bits_stored": r.bits_stored,
        "dtype": r.pixels.dtype.name,
        "frames": r.frames,
        "frame": r.frame,
        "display": r.display_transform.describe(),
        "spacing_warnings": list(cal.warnings),
        "warnings": list(dict.fromkeys([*r.warnings, *cal.warnings])),
    }


_SOURCE_WORDS = {
    "PixelSpacing": "Pixel Spacing",
    "ImagerPixelSpacing": "Imager Pixel Spacing",
    "ImagerPixelSpacing/ERMF": "Imager Pixel Spacing / ERMF",
}


def _calibration_line(info: dict) -> str:
    spacing = info.get("mm_per_px")
    if not spacing:
        return f"none — {info.get('spacing_rule') or 'no pixel spacing'}"
    row, col = spacing
    mm = f"{row:.4g} mm/px" if row == col else f"{row:.4g} × {col:.4g} mm/px (row × column)"
    source = info.get("spacing_source") or ""
    words = _SOURCE_WORDS.get(source, source)
    plane = info.get("spacing_plane")
    if plane == CalibrationPlane.DETECTOR.value:
        return f"{mm} at the detector ({words}) — distances overstated by the radiographic magnification"
    if plane == CalibrationPlane.PATIENT_ESTIMATE.value:
        return f"{mm} in the patient, ERMF-corrected estimate ({words})"
    if plane == CalibrationPlane.PATIENT_CALIBRATED.value:
        return f"{mm} in the patient, calibrated ({words})"
    return f"{mm}, {plane} ({source})"


def format_info_text(info: dict) -> str:
    r"""Format a :func:`radiograph_info` dict as the human-readable ``spinecheck info`` block.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> text = format_info_text(radiograph_info(load_radiograph(get_testdata_file("RG1_UNCI.dcm"))))
    >>> print(text.splitlines()[4])
    Calibration  none — Pixel Spacing '0.000\0.000' is zero: distances in pixels, no millimetre thresholds
    """
    kind = info.get("format") or "image"
    if kind == "DICOM":
        ts, uid = info.get("transfer_syntax"), info.get("transfer_syntax_uid")
        kind = " ".join(x for x in ("DICOM", info.get("modality")) if x) + (f", {ts} ({uid})" if ts else "")
    pixels = (
        f"{info.get('rows')} rows × {info.get('columns')} columns, "
        f"{info.get('bits_stored')} bits stored ({info.get('dtype')}), {info.get('photometric')}"
    )
    if (info.get("frames") or 1) > 1:
        pixels += f", frame {info.get('frame')} of {info.get('frames')} (0-based)"

    age = info.get("age_years")
    age_text = (
        f"{age:g} years ({info.get('age_source')})"
        if age is not None
        else "unknown — age-adjusted criteria will not be applied"
    )
    sex = info.get("sex")
    sex_text = f"{sex} ({info.get('sex_source')})" if sex else "unknown"
    view, position = info.get("view"), info.get("view_position")
    if view:
        view_text = f"{'AP/PA' if view == 'ap' else view} (View Position {position})"
    elif position:
        view_text = f"unknown (View Position {position!r} is not AP, PA, LL, RL or LATERAL)"
    else:
        view_text = "unknown (no View Position)"
    orientation = info.get("patient_orientation")
    if orientation:
        side = {
            "image_left": "patient's right on the image left",
            "image_right": "patient's right on the image right",
        }.get(info.get("patient_right") or "")
        orientation_text = "\\".join(orientation) + (f" — {side}" if side else "")
    else:
        orientation_text = "not given"

    rows = [
        ("Image", str(info.get("path"))),
        ("Format", kind),
        ("Pixels", pixels),
        ("Display", str(info.get("display"))),
        ("Calibration", _calibration_line(info)),
    ]
    if info.get("mm_per_px"):
        rows.append(("", f"rule: {info.get('spacing_rule')}"))
    rows += [
        ("Age", age_text),
        ("Sex", sex_text),
        ("View", view_text),
        ("Orientation", orientation_text),
        ("Study date", str(info.get("study_date") or "not given")),
        ("SOP Instance", str(info.get("sop_instance_uid") or "not given")),
    ]
    if info.get("format") != "DICOM":
        rows = [row for row in rows if row[0] not in ("Study date", "SOP Instance", "Orientation")]
    lines = [f"{label:<12} {value}".rstrip() for label, value in rows]
    shown = set(info.get("spacing_warnings") or ())  # already said on the calibration line
    warnings = [w for w in info.get("warnings") or [] if w not in shown]
    if warnings:
        lines.append("Warnings")
        lines += [f"  - {w}" for w in warnings]
    return "\n".join(lines)
