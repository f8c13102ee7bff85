"""Opening a radiograph: DICOM, PNG, JPEG or TIFF, with honest calibration.

:func:`load_radiograph` is the one entry point. It recognises DICOM by its
content (the ``DICM`` prefix, or a data set that starts at byte 0 as in old
files without preamble) and pictures by their signature, and returns a
:class:`Radiograph`: the stored pixel values exactly as stored, a display
image made on first use, and everything the header says about scale
(clinical.md §4), patient, projection and provenance. Anything it cannot open
raises :class:`~spinecheck.landmarks.errors.UnreadableImageError` (or
:class:`~spinecheck.landmarks.errors.MissingDecoderError`) with one line naming the file
and the problem.

:func:`read_radiograph_header` (:mod:`spinecheck.landmarks.imaging.header`) reads the
same header by the same rules without decoding the pixels, for when only size,
scale, patient and provenance are needed (``spinecheck batch`` by default).

:func:`choose_calibration` applies rule 1 of clinical.md §4 (a user
calibration always wins); :func:`radiograph_info` and :func:`format_info_text`
are what ``spinecheck info`` prints.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UnreadableImageError
from ..points.calibration import Calibration, CalibrationPlane
from ..points.model import ImageRef
from ..points.names import PatientRight
from .display import DisplayTransform, VoiSource
from .header import (
    ImageFormat,
    RadiographHeader,
    _guarded,
    _int,
    dicom_header,
    looks_like_dicom,
    one_line,
    picture_header,
    read_dataset,
    read_radiograph_header,
    read_sop_instance_uid,
    sniff,
    unique,
)
from .limits import guard_pillow
from .pixel_decoding import collect_warnings, decode_pixels

__all__ = [
    "ImageFormat",
    "Radiograph",
    "RadiographHeader",
    "load_radiograph",
    "read_radiograph_header",
    "looks_like_dicom",
    "read_sop_instance_uid",
    "choose_calibration",
    "patient_right_of",
    "radiograph_info",
    "describe_radiograph",
    "format_info_text",
]


#: What a decoded radiograph reads through to its header.
_HEADER_FIELDS = frozenset(
    {
        "path",
        "format",
        "calibration",
        "photometric",
        "patient",
        "view",
        "view_position",
        "patient_orientation",
        "patient_right",
        "sop_instance_uid",
        "study_instance_uid",
        "study_date",
        "acquisition_date",
        "patient_id",
        "patient_name",
        "birth_date",
        "modality",
        "transfer_syntax_uid",
        "transfer_syntax",
        "frames",
        "frame",
        "plane",
    }
)


@dataclass(frozen=True, eq=False)
class Radiograph:
    """One radiograph as the loader sees it: its header, its pixels and how to display them.

    Everything the header says (path, format, calibration, photometric,
    patient, view, view position, patient orientation, patient side, SOP
    and Study Instance UIDs, study date, modality, transfer syntax, frames, frame, image plane) is
    read through to :attr:`header`, a
    :class:`~spinecheck.landmarks.imaging.header.RadiographHeader`: a film read with
    or without its pixels says the same things.

    Attributes
    ----------
    header : RadiographHeader
        What the header alone says (what :func:`read_radiograph_header`
        returns for the file).
    pixels : ndarray, shape (rows, columns)
        Stored values exactly as stored (no rescale, no inversion), in the
        stored integer type; read-only. Colour images are the only exception:
        their luma (see ``warnings``).
    display_transform : DisplayTransform
        How :attr:`display` is made from :attr:`pixels`.
    bits_stored : int
    warnings : tuple of str
        What the loader noticed: the header's warnings, then what decoding and
        the display transform noticed. The calibration's own caveats are in
        ``calibration.warnings``.
    """

    header: RadiographHeader
    pixels: np.ndarray
    display_transform: DisplayTransform
    bits_stored: int = 16
    warnings: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        # only called for names the radiograph itself lacks: the header's fields
        if name in _HEADER_FIELDS:
            return getattr(self.header, name)
        raise AttributeError(f"'Radiograph' object has no attribute {name!r}")

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

    @functools.cached_property
    def analysis(self) -> np.ndarray:
        """The image that refinement works on: bone bright, every stored grey level kept; read-only.

        The display window quantises to 256 grey levels, and on a 12- to
        16-bit film that flattens faint edges (a femoral head seen through
        the pelvis on a lateral film is a few tens of stored levels).
        Refinement therefore reads the modality values, not the display:
        the stored values themselves when they are already bone bright and
        the modality rescale is increasing (no copy); otherwise the modality
        values as ``float32``, negated when the display inverts
        (MONOCHROME1). No window is applied, so nothing is clipped.
        """
        t = self.display_transform
        px = self.pixels
        if t.modality_lut is None and t.rescale[0] > 0 and not t.invert:
            return px
        sign = -1.0 if t.invert else 1.0
        out = np.empty(px.shape, dtype=np.float32)
        step = max(1, (1 << 22) // max(px.shape[1], 1))  # rows per block: about 4 M values
        for r in range(0, px.shape[0], step):
            out[r : r + step] = sign * t.modality_values(px[r : r + step])
        out.setflags(write=False)
        return out

    @property
    def image_ref(self) -> ImageRef:
        """The reference a landmark file keeps to this image."""
        return ImageRef(self.path, self.sop_instance_uid, self.rows, self.columns)


# ----------------------------------------------------------------------------- loading


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

    See Also
    --------
    read_radiograph_header : The same header, same rules, without decoding the pixels.

    Examples
    --------
    >>> from pydicom.data import get_testdata_file
    >>> r = load_radiograph(get_testdata_file("RG3_UNCR.dcm"))
    >>> r.rows, r.columns, r.calibration.calibrated, r.view
    (1760, 1760, False, <View.AP: 'ap'>)
    """
    p, where, kind = sniff(path)
    if kind.startswith("DICOM"):
        return _load_dicom(p, where, frame, preamble=kind == "DICOM")
    return _load_picture(p, where, frame, kind)


def _load_dicom(p: Path, where: str, frame: int | None, *, preamble: bool) -> Radiograph:
    ds, notes = read_dataset(p, where, preamble=preamble)
    return _decoded(ds, dicom_header(ds, p, where, frame, notes), where, frame)


def _decoded(ds: Any, header: RadiographHeader, where: str, frame: int | None) -> Radiograph:
    """The radiograph of a data set whose header was read: its pixels decoded, its display resolved."""
    photometric = header.photometric
    pixel_notes: list[str] = []
    with collect_warnings(pixel_notes, "pydicom: "):
        pixels = decode_pixels(ds, where=where, frame=frame if header.frames > 1 else None)
        if pixels.ndim == 3 or photometric not in ("MONOCHROME1", "MONOCHROME2"):
            pixels = _grey_of_colour(pixels, ds, photometric, pixel_notes, where)
            display = DisplayTransform(
                VoiSource.AS_STORED if pixels.dtype == np.uint8 else VoiSource.PERCENTILES
            )
        else:
            display = _guarded(
                lambda: DisplayTransform.from_dataset(ds),
                DisplayTransform(),
                "display attributes",
                pixel_notes,
            )
        display = display.resolved(pixels)
    if pixels.flags.writeable:
        pixels.setflags(write=False)
    return _radiograph(
        header, pixels, display, _int(ds.get("BitsStored"), pixels.dtype.itemsize * 8), pixel_notes
    )


def _radiograph(
    header: RadiographHeader,
    pixels: np.ndarray,
    display: DisplayTransform,
    bits_stored: int,
    pixel_notes: list[str],
) -> Radiograph:
    """A decoded radiograph: its header's values, the pixels, and what decoding noticed."""
    return Radiograph(
        header,
        pixels,
        display,
        bits_stored,
        unique([*header.warnings, *pixel_notes, *display.notes]),
    )


def _grey_of_colour(
    pixels: np.ndarray, ds: Any, photometric: str, notes: list[str], where: str
) -> np.ndarray:
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        try:
            pixels = apply_color_lut(pixels, ds)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            # no Palette Color Lookup Table, or one whose descriptor or data do not fit
            raise UnreadableImageError(
                f"{where}: Photometric Interpretation is PALETTE COLOR, but its palette cannot be applied "
                f"({one_line(exc)}); expected the Palette Color Lookup Table Module (PS3.3 C.7.9)"
            ) from None
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
    pixel_notes: list[str] = []
    fmt = kind
    try:
        with guard_pillow(), collect_warnings(notes, "Pillow: "), Image.open(p) as img:
            fmt = "JPEG" if img.format == "MPO" else str(img.format)
            header = picture_header(img, p, where, frame, notes)
            with collect_warnings(pixel_notes, "Pillow: "):
                pixels = _picture_pixels(img, pixel_notes)
    except UnreadableImageError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
        raise UnreadableImageError(f"{where}: cannot read the {fmt} file ({one_line(exc)})") from exc
    pixels.setflags(write=False)
    voi = VoiSource.AS_STORED if pixels.dtype == np.uint8 else VoiSource.PERCENTILES
    display = DisplayTransform(voi).resolved(pixels)
    return _radiograph(header, pixels, display, pixels.dtype.itemsize * 8, pixel_notes)


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
    >>> from spinecheck.landmarks.imaging.dicom_header import header_calibration
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


def patient_right_of(r: Radiograph | RadiographHeader) -> PatientRight | None:
    """Return the image side of the patient's right from the header (None when not stated)."""
    return r.patient_right


# ----------------------------------------------------------------------------- info


#: Transfer syntaxes whose pixel data the header reader checks as far as decoding would for their
#: size: uncompressed (the byte count) and JPEG 2000 (the codestream's own SIZ marker, :mod:`.codestream`).
#: RLE says no size in its header, and the JPEG family may put its lines in a DNL marker: decoded.
_SIZE_CHECKED_BY_HEADER = frozenset(
    {
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    }
)
_HEADER_ONLY = (
    "no: the display is the header's window as given (decoding also checks that it holds the pixels); "
    "the header's size was checked against the pixel data"
)


def describe_radiograph(path: str | Path, *, frame: int | None = None) -> dict:
    """What ``spinecheck info`` prints about a file: :func:`radiograph_info`, decoding only when needed.

    A DICOM greyscale film whose header gives its display window (Window Center/Width or a VOI
    LUT) in a transfer syntax whose size the header reader checks (uncompressed, JPEG 2000) is
    described from its header alone, the pixels left in the file; any other file is decoded, as
    :func:`load_radiograph` decodes it. ``pixels_decoded`` and ``pixels_decoded_why`` say which.

    Parameters
    ----------
    path : str or Path
    frame : int, optional
        0-based frame of a multi-frame file.

    Returns
    -------
    dict
        The keys of :func:`radiograph_info`. Described from the header, ``dtype`` is the type
        decoding gives and ``display`` the header's window as read (decoding also checks that the
        window holds the pixels, and falls back on percentiles when it holds under 1 %); the
        warnings are the header's.

    Raises
    ------
    UnreadableImageError, MissingDecoderError
        As :func:`load_radiograph`; a header-only description does not notice a broken
        codestream inside a complete first fragment (:func:`read_radiograph_header`).
    """
    p, where, kind = sniff(path)
    if not kind.startswith("DICOM"):
        return radiograph_info(_load_picture(p, where, frame, kind))
    ds, notes = read_dataset(p, where, preamble=kind == "DICOM")
    header = dicom_header(ds, p, where, frame, notes)
    described = _header_info(ds, header)
    if described is not None:
        return described
    r = _decoded(ds, header, where, frame)
    info = radiograph_info(r)
    if r.display_transform.voi is VoiSource.PERCENTILES and r.display_transform.window is not None:
        info["pixels_decoded_why"] = "yes: the display window comes from the pixels' percentiles"
    else:
        info["pixels_decoded_why"] = (
            f"yes: the header alone does not vouch for pixel data in {header.transfer_syntax}"
            if str(header.transfer_syntax_uid) not in _SIZE_CHECKED_BY_HEADER
            else "yes"
        )
    return info


def _header_info(ds: Any, header: RadiographHeader) -> dict | None:
    """:func:`radiograph_info` from the header alone; None when the pixels must be decoded."""
    from pydicom.pixels.utils import pixel_dtype

    if (
        header.photometric not in ("MONOCHROME1", "MONOCHROME2")
        or _int(ds.get("SamplesPerPixel"), 1) != 1
        or _int(ds.get("BitsAllocated"), 0) not in (8, 16)
        or "PixelData" not in ds
        or str(header.transfer_syntax_uid) not in _SIZE_CHECKED_BY_HEADER
    ):
        return None
    notes: list[str] = []
    with collect_warnings(notes, "pydicom: "):
        display = _guarded(lambda: DisplayTransform.from_dataset(ds), None, "display attributes", notes)
        if display is None or display.voi not in (VoiSource.WINDOW, VoiSource.VOI_LUT):
            return None
        dtype = _guarded(lambda: pixel_dtype(ds), None, "pixel type", notes)
    if dtype is None or notes:
        return None  # what decoding would say about them is for decoding to say
    warnings = unique([*header.warnings, *display.notes])
    return _info(header, display, _int(ds.get("BitsStored"), dtype.itemsize * 8), dtype.name, warnings, False)


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
        ``spacing_warnings``, ``display``, ``sex_source``, ``warnings``
        (the loader's and the calibration's), and ``pixels_decoded`` (True
        here) with ``pixels_decoded_why`` (see :func:`describe_radiograph`).
    """
    return _info(r.header, r.display_transform, r.bits_stored, r.pixels.dtype.name, r.warnings, True)


def _info(
    r: RadiographHeader, display: DisplayTransform, bits_stored: int, dtype: str, warnings: Any, decoded: bool
) -> dict:
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
        "bits_stored": bits_stored,
        "dtype": dtype,
        "frames": r.frames,
        "frame": r.frame,
        "display": display.describe(),
        "pixels_decoded": decoded,
        "pixels_decoded_why": "yes" if decoded else _HEADER_ONLY,
        "spacing_warnings": list(cal.warnings),
        "warnings": list(dict.fromkeys([*warnings, *cal.warnings])),
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
        ("Decoded", str(info.get("pixels_decoded_why") or "yes")),
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
