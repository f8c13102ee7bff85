"""Decoding DICOM pixel data through pydicom's plugins, with errors that say why.

:func:`decode_pixels` returns one frame's stored values exactly as pydicom
decodes them (unused high bits cleared, no rescale), without copying
uncompressed data it does not have to. It raises
:class:`~landmarks.errors.MissingDecoderError` naming the transfer syntax and
the package to install when no plugin can decode it, and
:class:`~landmarks.errors.UnreadableImageError` with the decoding problem in
one line when the data are broken; for JPEG 2000 the codestream is walked to
say which marker is wrong and where.

Decoders (see :data:`DECODER_PACKAGES`): ``pylibjpeg-openjpeg`` (MIT) for
JPEG 2000 and HTJ2K, ``pyjpegls`` (MIT) for JPEG-LS, ``python-gdcm``
(Apache-2.0 wrapper of the BSD GDCM) for JPEG Lossless and 12-bit JPEG, RLE and
deflate built into pydicom, Pillow for 8-bit JPEG. ``pylibjpeg-libjpeg``
(GPL-3.0) is an optional alternative for the JPEG family.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from landmarks.errors import MissingDecoderError, UnreadableImageError

__all__ = [
    "DECODER_PACKAGES",
    "decode_pixels",
    "decoder_available",
    "collect_warnings",
    "j2k_codestream_problem",
]

_JPEG_LOSSLESS = "python-gdcm (BSD) or pylibjpeg-libjpeg (GPL-3.0), e.g. pip install python-gdcm"
_J2K = "pylibjpeg and pylibjpeg-openjpeg (MIT), e.g. pip install pylibjpeg pylibjpeg-openjpeg"
#: Transfer syntax UID -> what to install when pydicom has no decoder for it.
DECODER_PACKAGES: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "pillow or python-gdcm, e.g. pip install pillow",
    "1.2.840.10008.1.2.4.51": _JPEG_LOSSLESS,
    "1.2.840.10008.1.2.4.57": _JPEG_LOSSLESS,
    "1.2.840.10008.1.2.4.70": _JPEG_LOSSLESS,
    "1.2.840.10008.1.2.4.80": "pyjpegls (MIT), e.g. pip install pyjpegls",
    "1.2.840.10008.1.2.4.81": "pyjpegls (MIT), e.g. pip install pyjpegls",
    "1.2.840.10008.1.2.4.90": _J2K,
    "1.2.840.10008.1.2.4.91": _J2K,
    "1.2.840.10008.1.2.4.92": _J2K,
    "1.2.840.10008.1.2.4.93": _J2K,
    "1.2.840.10008.1.2.4.201": "pylibjpeg and pylibjpeg-openjpeg>=2.4 (MIT)",
    "1.2.840.10008.1.2.4.202": "pylibjpeg and pylibjpeg-openjpeg>=2.4 (MIT)",
    "1.2.840.10008.1.2.4.203": "pylibjpeg and pylibjpeg-openjpeg>=2.4 (MIT)",
    "1.2.840.10008.1.2.5": "pylibjpeg-rle (MIT), e.g. pip install pylibjpeg pylibjpeg-rle",
}


#: Plugin tried first, where pydicom's own order is not the best: for JPEG 2000 pylibjpeg-openjpeg peaks
#: at about 4.1 x the decoded array, Pillow at 4.7 x and GDCM at 5.6 x (bench/bench_load.py, 7200 x 3000).
_PREFERRED_PLUGIN = {
    uid: "pylibjpeg"
    for uid in (
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.92",
        "1.2.840.10008.1.2.4.93",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    )
}


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"pydicom: {record.getMessage()}")


@contextlib.contextmanager
def collect_warnings(sink: list[str], prefix: str = "") -> Iterator[None]:
    """Record warnings (and pydicom log warnings) into *sink* instead of showing them.

    Radiograph readers report what the libraries complain about in the
    radiograph's ``warnings``; a library warning never reaches the user as
    a traceback. (``warnings.catch_warnings`` is process-wide: load images
    in processes, not threads, if warnings must not mix.)
    """
    handler = _ListHandler(sink)
    logger = logging.getLogger("pydicom")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.removeHandler(handler)
    for w in caught:
        text = f"{prefix}{_one_line(str(w.message))}"
        if text not in sink:
            sink.append(text)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def decoder_available(transfer_syntax_uid: str) -> bool:
    """Tell whether pydicom can decode pixel data in this transfer syntax here."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    try:
        return bool(get_decoder(UID(transfer_syntax_uid)).is_available)
    except NotImplementedError:
        return False


def decode_pixels(ds: Any, *, where: str, frame: int | None = None) -> np.ndarray:
    """Decode the stored values of one frame of *ds*, as pydicom does.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        With file meta (Transfer Syntax UID) and Pixel Data.
    where : str
        How to name the file in messages.
    frame : int, optional
        0-based frame index of a multi-frame image (None for the only frame).

    Returns
    -------
    ndarray
        ``(rows, columns)`` (or ``(rows, columns, samples)``) of the stored
        integer type. Read-only when it is a view of the file's bytes.

    Raises
    ------
    MissingDecoderError
        No installed plugin decodes the transfer syntax; names the package.
    UnreadableImageError
        The transfer syntax is not an image syntax pydicom decodes, or the
        data are broken or short.
    """
    from pydicom.pixels import get_decoder, pixel_array

    ts = ds.file_meta.TransferSyntaxUID
    label = f"{ts.name} ({ts})" if ts.name != ts else str(ts)
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise UnreadableImageError(
            f"{where}: pixel data in transfer syntax {label}, which is not a still-image syntax spinecheck "
            "can decode (expected uncompressed, RLE, JPEG, JPEG-LS or JPEG 2000)"
        ) from None
    if not decoder.is_available:
        package = DECODER_PACKAGES.get(str(ts), "a pydicom pixel-data plugin for it")
        raise MissingDecoderError(
            f"{where}: no decoder installed for its pixel data, {label}; install {package}"
        )

    options: dict[str, Any] = {}
    if not ts.is_encapsulated and ds.get("BitsStored") == ds.get("BitsAllocated"):
        options["view_only"] = True  # nothing to correct: no copy of the film's bytes
    preferred = _PREFERRED_PLUGIN.get(str(ts))
    if preferred in decoder.available_plugins:
        try:
            return pixel_array(ds, index=frame, decoding_plugin=preferred, **options)
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001, S110 - every installed plugin gets its turn below
            pass
    try:
        with _quiet_native_stderr(enabled=preferred in decoder.available_plugins):
            return pixel_array(ds, index=frame, **options)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - every decoder failure is an unreadable image
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        if lines and lines[0].startswith("Unable to decode as exceptions were raised by all"):
            lines[0] = "decoders said:"
            problem = lines[0] + " " + "; ".join(lines[1:])
        else:
            problem = _one_line(" ".join(lines)) or type(exc).__name__
            short = re.search(r"less than expected \((\d+) vs (\d+) bytes\)", problem)
            if short:
                problem = f"the pixel data are truncated: {short[1]} of {short[2]} bytes present"
        if ts.is_encapsulated and "2000" in ts.name:
            found = _j2k_problem_of(ds, frame)
            if found:
                problem = f"{found}; {problem}"
        raise UnreadableImageError(f"{where}: cannot decode the {label} pixel data: {problem}") from exc


@contextlib.contextmanager
def _quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Silence file descriptor 2 while native decoders retry a stream that already failed.

    GDCM's OpenJPEG prints its complaints straight to the process's stderr,
    which would break the one-line ``error:`` contract; what the decoders say
    still reaches the error message through their exceptions.
    """
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (e.g. under some test runners)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _j2k_problem_of(ds: Any, frame: int | None) -> str | None:
    from pydicom.encaps import get_frame

    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        data = get_frame(ds.PixelData, frame or 0, number_of_frames=frames)
    except Exception:  # noqa: BLE001 - the diagnosis is a bonus; the decoders' own words remain
        return None
    return j2k_codestream_problem(data)


_J2K_MARKERS = {
    0xFF4F: "SOC",
    0xFF51: "SIZ",
    0xFF52: "COD",
    0xFF53: "COC",
    0xFF5C: "QCD",
    0xFF5D: "QCC",
    0xFF5E: "RGN",
    0xFF5F: "POC",
    0xFF55: "TLM",
    0xFF57: "PLM",
    0xFF58: "PLT",
    0xFF60: "PPM",
    0xFF61: "PPT",
    0xFF63: "CRG",
    0xFF64: "COM",
    0xFF90: "SOT",
    0xFF93: "SOD",
    0xFFD9: "EOC",
    0xFF50: "CAP",
    0xFF59: "CPF",
}


def _marker_name(marker: int) -> str:
    name = _J2K_MARKERS.get(marker)
    return f"{name} marker (0x{marker:04X})" if name else f"bytes 0x{marker:04X}"


def j2k_codestream_problem(data: bytes) -> str | None:
    r"""Say what is structurally wrong with a JPEG 2000 codestream, or return None.

    Walks the main header's marker segments and the tile-parts by their
    lengths (Psot), as a decoder does, and names the first marker that is
    not where the standard (ISO/IEC 15444-1 Annex A) allows it.

    Examples
    --------
    >>> j2k_codestream_problem(b"\x00\x01")
    'the codestream does not start with SOC (0xFF4F) but 0x0001'
    """
    if data[4:12] == b"jP  \r\n\x87\n":  # a JP2 file: look inside its codestream box
        at = data.find(b"jp2c")
        if at < 0:
            return "a JP2 file without a codestream (jp2c) box"
        data = data[at + 4 :]
    if data[:2] != b"\xff\x4f":
        return f"the codestream does not start with SOC (0xFF4F) but 0x{data[:2].hex().upper()}"
    pos = 2
    while True:  # main header, up to the first tile-part
        if pos + 4 > len(data):
            return f"the codestream ends inside its main header at byte {len(data)} (truncated)"
        marker = int.from_bytes(data[pos : pos + 2], "big")
        if marker == 0xFF90:
            break
        if marker not in _J2K_MARKERS or marker in (0xFF4F, 0xFF93, 0xFFD9):
            return f"unexpected {_marker_name(marker)} at byte {pos} of the codestream's main header"
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    tile_parts = 0
    while pos + 2 <= len(data):
        marker = int.from_bytes(data[pos : pos + 2], "big")
        if marker == 0xFFD9:
            return None
        if marker != 0xFF90:
            return (
                f"unexpected {_marker_name(marker)} at byte {pos} of the codestream, after tile-part "
                f"{tile_parts}, where a tile-part (SOT, 0xFF90) or the end of the codestream "
                "(EOC, 0xFFD9) was expected"
            )
        if pos + 12 > len(data):
            return f"the codestream ends inside tile-part {tile_parts + 1}'s header (truncated)"
        psot = int.from_bytes(data[pos + 6 : pos + 10], "big")
        if psot == 0:  # the last tile-part runs to EOC
            return None
        if pos + psot > len(data):
            return (
                f"tile-part {tile_parts + 1} at byte {pos} claims {psot} bytes but only "
                f"{len(data) - pos} remain (truncated)"
            )
        pos += psot
        tile_parts += 1
    return f"the codestream ends after {tile_parts} tile-parts without EOC (0xFFD9) (truncated)"
