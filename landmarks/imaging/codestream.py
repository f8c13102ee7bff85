"""What a compressed pixel stream says about its own size, checked before a decoder sees it.

Native decoders trust their input's header and the caller's buffer size in
ways that can take the process down: GDCM aborts (SIGABRT, a C++ exception
it does not catch) on a JPEG-LS film whose Rows disagree with its stream,
and the Rust RLE decoder panics on one Rows short. So, before any decoder
runs, the stream's own header is read here and compared with the data set's
Rows, Columns, Samples per Pixel and Bits Allocated; a disagreement is
refused with one line that names both.

- JPEG (ISO/IEC 10918-1 B.2.2) and JPEG-LS (ISO/IEC 14495-1 C.2.2): the frame
  header (SOFn, or SOF55 for JPEG-LS): precision P, lines Y, samples per line
  X, components Nf. Y = 0 (lines given later by a DNL marker) is not checked.
- JPEG 2000 (ISO/IEC 15444-1 A.5.1): the SIZ segment: Xsiz − XOsiz by
  Ysiz − YOsiz reference grid, Csiz components, each component's precision;
  a JP2 file is read inside its codestream (``jp2c``) box.
- PNG (ISO/IEC 15948, 11.2.2 and 8.2): IHDR's width, height, bit depth, colour
  type and interlace method fix the size of the decompressed image data exactly;
  Pillow reads a PNG whose IHDR declares fewer rows than its IDAT data hold as a
  prefix of the picture (a 1 × 360 film from 900 rows of data), so the data are
  inflated and counted (:func:`png_excess`, in chunks, nothing kept), as a DICOM
  with Rows below its data is refused.
- RLE (DICOM PS3.5 G.3.1): the 64-byte header: the number of segments
  (samples × bytes per sample) and their offsets (the first at 64, ascending,
  inside the fragment). RLE says nothing of rows and columns: a wrong Rows is
  caught when the decoder's panic is (:func:`~spinecheck.landmarks.imaging.pixel_decoding.decode_pixels`).

A precision below Bits Stored is allowed (encoders often write the bits they
used), one above Bits Allocated is not: the samples would not fit. A JPEG or
JPEG-LS sample has at most 16 bits (P, ISO/IEC 10918-1 B.2.2; ISO/IEC 14495-1
C.2.2), so its Bits Allocated is 8 or 16; any other is refused: GDCM aborts the
process on a JPEG stream under Bits Allocated 32 (the real ``RG2_JPLL``, and
8-bit baseline and lossless films alike). JPEG 2000 samples reach 38 bits, so
Bits Allocated 32 over a 16-bit JPEG 2000 stream stays (it decodes to the same
values).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["StreamGeometry", "png_excess", "stream_geometry", "stream_mismatch"]

#: JPEG (10918) syntaxes: processes 1 to 14 (.50 to .70), most of them retired but still met.
_JPEG = frozenset(f"1.2.840.10008.1.2.4.{n}" for n in range(50, 71))
_RLE = "1.2.840.10008.1.2.5"
_JPEG_LS = frozenset({"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"})
_J2K = frozenset(
    {
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.92",
        "1.2.840.10008.1.2.4.93",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    }
)
#: JPEG frame headers: SOF0..SOF15 less DHT (C4), JPG (C8) and DAC (CC); SOF55 (F7) for JPEG-LS.
_SOF = frozenset({*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}) | {0xF7}
#: Markers without a length (ISO/IEC 10918-1 B.1.1.3): TEM, RST0..7, SOI, EOI.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})
#: How many bytes of the frame's start are read to find its header.
HEAD_BYTES = 1 << 16


@dataclass(frozen=True)
class StreamGeometry:
    """What a compressed stream's own header says about the image it holds.

    Attributes
    ----------
    kind : str
        ``"JPEG"``, ``"JPEG-LS"``, ``"JPEG 2000"`` or ``"RLE"``.
    rows, columns : int or None
        Lines and samples per line (None where the format does not say: RLE,
        or a JPEG with its lines in a DNL marker).
    samples : int or None
        Components (JPEG family); segments / bytes per sample for RLE.
    precision : int or None
        Bits per sample (the largest of the components'); None for RLE.
    segments : int or None
        RLE only: the number of segments its header declares.
    """

    kind: str
    rows: int | None = None
    columns: int | None = None
    samples: int | None = None
    precision: int | None = None
    segments: int | None = None


def stream_geometry(
    head: bytes, transfer_syntax_uid: str, length: int | None = None
) -> StreamGeometry | str | None:
    r"""Read the size a compressed frame declares; a problem (str) when its header is broken.

    Parameters
    ----------
    head : bytes
        The start of the frame's first fragment (:data:`HEAD_BYTES` are enough).
    transfer_syntax_uid : str
    length : int, optional
        The whole first fragment's length in bytes (RLE offsets must be inside it);
        ``len(head)`` when not given.

    Returns
    -------
    StreamGeometry, str or None
        None for a syntax that is not compressed or not one of these families
        (deflate, MPEG): nothing to check.

    Examples
    --------
    >>> sof = bytes.fromhex("ffd8ffc3000b10") + (2140).to_bytes(2, "big") + (1760).to_bytes(2, "big") + b"\x01"
    >>> g = stream_geometry(sof + bytes(3), "1.2.840.10008.1.2.4.70")
    >>> g.rows, g.columns, g.samples, g.precision
    (2140, 1760, 1, 16)
    >>> stream_geometry(b"\x00" * 64, "1.2.840.10008.1.2.5")
    'its RLE header declares 0 segments (expected 1 to 15)'
    """
    ts = str(transfer_syntax_uid)
    if ts == _RLE:
        return _rle(head, len(head) if length is None else length)
    if ts in _J2K:
        return _j2k(head)
    if ts in _JPEG or ts in _JPEG_LS:
        return _jpeg(head, "JPEG-LS" if ts in _JPEG_LS else "JPEG")
    return None


def stream_mismatch(
    geometry: StreamGeometry, *, rows: int, columns: int, samples: int, bits_allocated: int
) -> str | None:
    """Say how a stream's own header disagrees with the data set's, or return None.

    Examples
    --------
    >>> stream_mismatch(StreamGeometry("JPEG-LS", 2140, 1760, 1, 16), rows=2141, columns=1760,
    ...                 samples=1, bits_allocated=16)
    'its JPEG-LS stream holds 2140 rows × 1760 columns, but Rows × Columns say 2141 × 1760'
    >>> stream_mismatch(StreamGeometry("JPEG", 2140, 1760, 1, 10), rows=2140, columns=1760,
    ...                 samples=1, bits_allocated=32)
    "its JPEG stream's samples are stored in 8 or 16 bits, but Bits Allocated says 32"
    """
    kind = geometry.kind
    if geometry.rows is not None and geometry.columns is not None:
        if (geometry.rows, geometry.columns) != (rows, columns):
            return (
                f"its {kind} stream holds {geometry.rows} rows × {geometry.columns} columns, but Rows × "
                f"Columns say {rows} × {columns}"
            )
    elif geometry.columns is not None and geometry.columns != columns:
        return f"its {kind} stream holds {geometry.columns} columns, but Columns says {columns}"
    if kind == "RLE":
        per_sample = max(1, bits_allocated // 8)
        if geometry.segments != samples * per_sample:
            return (
                f"its RLE header declares {geometry.segments} segments, but Samples per Pixel {samples} × "
                f"{per_sample} bytes per sample (Bits Allocated {bits_allocated}) need {samples * per_sample}"
            )
        return None
    if geometry.samples is not None and geometry.samples != samples:
        return f"its {kind} stream has {geometry.samples} components, but Samples per Pixel says {samples}"
    if geometry.precision is not None and geometry.precision > bits_allocated:
        return f"its {kind} stream has {geometry.precision}-bit samples, more than Bits Allocated {bits_allocated}"
    if kind in ("JPEG", "JPEG-LS") and bits_allocated not in (8, 16):
        return f"its {kind} stream's samples are stored in 8 or 16 bits, but Bits Allocated says {bits_allocated}"
    return None


def _rle(head: bytes, length: int) -> StreamGeometry | str:
    if len(head) < 64:
        return f"its RLE header is cut short: {len(head)} of 64 bytes"
    segments, *offsets = struct.unpack("<16I", head[:64])
    if not 1 <= segments <= 15:
        return f"its RLE header declares {segments} segments (expected 1 to 15)"
    used = offsets[:segments]
    if used[0] != 64:
        return f"its RLE header puts the first segment at byte {used[0]} (expected 64)"
    for k in range(1, segments):
        if not used[k - 1] < used[k] < length:
            return (
                f"its RLE header puts segment {k + 1} at byte {used[k]}, not after segment {k} (byte "
                f"{used[k - 1]}) and inside the {length}-byte fragment"
            )
    return StreamGeometry("RLE", segments=segments)


def _jpeg(head: bytes, kind: str) -> StreamGeometry | str:
    if head[:2] != b"\xff\xd8":
        return f"its {kind} stream does not start with SOI (0xFFD8) but 0x{head[:2].hex().upper()}"
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return f"its {kind} stream has no marker at byte {pos} of its header (0x{head[pos]:02X})"
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        (size,) = struct.unpack(">H", head[pos + 2 : pos + 4])
        if marker in _SOF:
            if size < 8 or pos + 10 > len(head):
                return f"its {kind} frame header at byte {pos} is cut short"
            precision, lines, per_line, components = struct.unpack(">BHHB", head[pos + 4 : pos + 10])
            return StreamGeometry(kind, lines or None, per_line, components, precision)
        if marker == 0xDA:
            return f"its {kind} stream starts its scan (SOS) before any frame header (SOF)"
        if size < 2:
            return f"its {kind} stream has a marker segment of length {size} at byte {pos}"
        pos += 2 + size
    return f"its {kind} frame header (SOF) is not within the stream's first {len(head)} bytes"


def _j2k(head: bytes) -> StreamGeometry | str:
    data = head
    if data[4:12] == b"jP  \r\n\x87\n":
        at = data.find(b"jp2c")
        if at < 0:
            return "its JP2 file has no codestream (jp2c) box in its first bytes"
        data = data[at + 4 :]
    if data[:4] != b"\xff\x4f\xff\x51":
        return "its JPEG 2000 codestream does not start with SOC and SIZ (0xFF4F 0xFF51)"
    if len(data) < 42:
        return "its JPEG 2000 SIZ segment is cut short"
    (lsiz, _rsiz, xsiz, ysiz, xo, yo, _xt, _yt, _xto, _yto, csiz) = struct.unpack(">HHIIIIIIIIH", data[4:42])
    if csiz < 1 or len(data) < 42 + 3 * csiz or lsiz != 38 + 3 * csiz:
        return f"its JPEG 2000 SIZ segment (length {lsiz}) does not hold its {csiz} components"
    if xsiz <= xo or ysiz <= yo:
        return f"its JPEG 2000 SIZ segment declares an empty image ({xsiz}×{ysiz} from offset {xo}, {yo})"
    precision = max((data[42 + 3 * c] & 0x7F) + 1 for c in range(csiz))
    return StreamGeometry("JPEG 2000", ysiz - yo, xsiz - xo, csiz, precision)


#: PNG channels by colour type (ISO/IEC 15948 11.2.2): greyscale, truecolour, indexed, grey + alpha, RGBA.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
#: Adam7 passes (x0, y0, dx, dy), ISO/IEC 15948 8.2.
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
#: Bytes inflated at a time while counting a PNG's image data.
_PNG_CHUNK_BYTES = 1 << 20


def png_excess(fp: BinaryIO) -> str | None:
    r"""Say how a PNG's image data overrun what its IHDR declares, or return None.

    Parameters
    ----------
    fp : binary file
        At the start of the PNG file (left wherever reading stopped).

    Returns
    -------
    str or None
        None when the data fit, are short (the decoder says so) or cannot be read
        here (not a PNG, a broken chunk or zlib stream: the decoder's own error
        names it).

    Notes
    -----
    The decompressed data of a non-interlaced image are ``height`` rows of one
    filter byte and ``ceil(width × bits per pixel / 8)`` bytes; an interlaced one
    the same for each of the seven Adam7 passes' sub-images (ISO/IEC 15948 8.2).
    Counting stops at the first byte beyond that size: the work is bounded by the
    declared size, the memory by :data:`_PNG_CHUNK_BYTES`.

    Examples
    --------
    >>> import io
    >>> def chunk(kind, data):
    ...     return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    >>> ihdr = struct.pack(">IIBBBBB", 4, 1, 8, 0, 0, 0, 0)  # 4 x 1, 8-bit greyscale
    >>> png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(5 * 3)))
    >>> png_excess(io.BytesIO(png))
    'its image data hold more than the 5 bytes its IHDR (4 × 1 pixels, 8 bits per pixel) declares'
    """
    if fp.read(8) != b"\x89PNG\r\n\x1a\n":
        return None
    expected, said, counted = None, "", 0
    inflate = zlib.decompressobj()
    while True:
        head = fp.read(8)
        if len(head) < 8:
            return None
        length, kind = struct.unpack(">I4s", head)
        if kind == b"IHDR":
            data = fp.read(length)
            if length != 13 or len(data) != 13:
                return None
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data)
            if colour not in _PNG_CHANNELS or not width or not height:
                return None
            bits = _PNG_CHANNELS[colour] * depth
            expected = _png_data_bytes(width, height, bits, bool(interlace))
            said = f"its IHDR ({width} × {height} pixels, {bits} bits per pixel) declares"
            fp.seek(4, 1)
        elif kind == b"IDAT" and expected is not None:
            left = length
            while left:
                piece = fp.read(min(left, _PNG_CHUNK_BYTES))
                if not piece:
                    return None
                left -= len(piece)
                try:
                    while piece:
                        counted += len(inflate.decompress(piece, _PNG_CHUNK_BYTES))
                        piece = inflate.unconsumed_tail
                        if counted > expected:
                            return f"its image data hold more than the {expected} bytes {said}"
                except zlib.error:
                    return None
            fp.seek(4, 1)
        elif kind == b"IEND":
            return None
        else:
            fp.seek(length + 4, 1)


def _png_data_bytes(width: int, height: int, bits: int, interlaced: bool) -> int:
    """Decompressed size of a PNG's image data: filter byte + packed samples per row, per Adam7 pass."""
    if not interlaced:
        return height * (1 + (width * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        w, h = max(0, (width - x0 + dx - 1) // dx), max(0, (height - y0 + dy - 1) // dy)
        if w and h:
            total += h * (1 + (w * bits + 7) // 8)
    return total
