"""One numeric variable out of a MATLAB .mat file (v4, v5 to v7.2), read in Python alone.

A landmark file comes from anywhere, and scipy's reader is Cython that trusts the
sizes a file states: a .mat label with a few flipped bytes killed the process with
SIGSEGV inside ``scipy.io.loadmat`` (issue 13, the fuzzing campaign), where a damaged
file must be one line. This reader checks every size against the bytes that are
there before it takes them, so a damaged file is a :class:`MatFileError` that says
where, never a fault.

Formats (MathWorks, *MAT-File Format*, R2024a: "Level 5 MAT-File Format" and
"Level 4 MAT-File Format"):

- **Level 5** (v5 to v7.2): a 128-byte header (text, subsystem offset, version
  0x0100, endian indicator ``IM`` little / ``MI`` big), then data elements: an
  8-byte tag (type, byte count; a *small* element packs both in 4 bytes and its
  data in the next 4), the data, padding to 8 bytes. A variable is an
  ``miMATRIX`` (array flags: class, complex and logical bits; dimensions; name;
  real part; imaginary part), stored as is or zlib-compressed in an
  ``miCOMPRESSED`` element (v7). Values are column-major, and may be stored in a
  smaller type than their class (a double class held as ``miUINT8``).
- **Level 4**: per variable, five 32-bit integers (type MOPT, rows, columns,
  imaginary flag, name length with its NUL), the name, the real and imaginary
  parts, column-major; the byte order is whichever makes MOPT valid.
- v7.3 files are HDF5 (version 0x0200): refused, with the way out.

Only what a landmark file needs is read: numeric and logical arrays; a cell,
struct, object, char or sparse variable is described, not read.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["MatFileError", "MatVariable", "read_mat_variable"]

#: Bytes a .mat file, or one compressed variable inflated, may hold here: a landmark file is kilobytes.
MAX_MAT_BYTES = 256 * 1024 * 1024
#: Level 5 data types with a NumPy type (miINT8 ... miUINT64).
_MI_NUMERIC = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
_MI_MATRIX, _MI_COMPRESSED = 14, 15
#: Level 5 array classes with a NumPy type (mxDOUBLE_CLASS ... mxUINT64_CLASS).
_MX_NUMERIC = {6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8"}
_MX_OTHER = {1: "cell array", 2: "struct", 3: "object", 4: "char array", 5: "sparse matrix"}
#: Level 4 precisions (the P digit of MOPT).
_V4_TYPES = {0: "f8", 1: "f4", 2: "i4", 3: "i2", 4: "u2", 5: "u1"}


class MatFileError(ValueError):
    """A file that is not a .mat file this reader can read; the message says why and where."""


@dataclass(frozen=True)
class MatVariable:
    """What a .mat file holds under one name.

    Attributes
    ----------
    value : ndarray or None
        The numeric (or logical: bool) array, shaped as stored; None when the
        variable is not numeric or is absent.
    kind : str
        ``"float64 array"`` and the like, ``"char array"``, ``"cell array"``,
        ``"struct"``, ...; ``""`` when absent.
    names : tuple of str
        Every variable in the file, in file order.
    """

    value: np.ndarray | None
    kind: str
    names: tuple[str, ...]


def read_mat_variable(data: bytes, name: str) -> MatVariable:
    """Read variable *name* from the bytes of a .mat file.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str

    Returns
    -------
    MatVariable

    Raises
    ------
    MatFileError
        Not a .mat file, a v7.3 (HDF5) one (the message starts ``"v7.3"``), or a
        damaged one: a size beyond the data, a broken compressed element.

    Examples
    --------
    >>> import io, scipy.io
    >>> buffer = io.BytesIO()
    >>> scipy.io.savemat(buffer, {"p2": np.arange(6.0).reshape(3, 2), "q": "text"}, do_compression=True)
    >>> v = read_mat_variable(buffer.getvalue(), "p2")
    >>> v.value.tolist(), v.kind, v.names
    ([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], 'float64 array', ('p2', 'q'))
    >>> read_mat_variable(buffer.getvalue(), "q").kind
    'char array'
    >>> try:
    ...     read_mat_variable(b"not a mat file", "p2")
    ... except MatFileError as e:
    ...     print(e)
    14 bytes, shorter than a MATLAB 5 header (128 bytes) and not a MATLAB 4 file
    """
    if len(data) > MAX_MAT_BYTES:
        raise MatFileError(f"{len(data)} bytes, more than a landmark file holds (at most {MAX_MAT_BYTES})")
    if len(data) >= 4 and 0 in data[:4]:
        return _level4(data, name)
    if len(data) < 128:
        raise MatFileError(
            f"{len(data)} bytes, shorter than a MATLAB 5 header (128 bytes) and not a MATLAB 4 file"
        )
    order = {b"IM": "<", b"MI": ">"}.get(bytes(data[126:128]))
    if order is None:
        raise MatFileError("no MATLAB 5 header: its endian indicator is neither 'IM' nor 'MI'")
    (version,) = struct.unpack(order + "H", data[124:126])
    if version == 0x0200:
        raise MatFileError("v7.3 (HDF5) file")
    if version != 0x0100:
        raise MatFileError(f"MATLAB 5 header with version 0x{version:04X} (expected 0x0100)")
    found: MatVariable | None = None
    names: list[str] = []
    for kind, at, body in _elements(data, 128, len(data), order):
        if kind == _MI_COMPRESSED:
            body, at = _inflate(body, at), 0
            inner = list(_elements(body, 0, len(body), order))
            if len(inner) != 1 or inner[0][0] != _MI_MATRIX:
                raise MatFileError(f"the compressed element at byte {at} does not hold one variable")
            kind, _, body = inner[0]
        if kind != _MI_MATRIX:
            continue  # not a variable (MATLAB writes none at the top level; skipped as scipy does)
        variable, value = _matrix(body, order, name, at)
        names.append(variable)
        if variable == name and found is None:
            found = value
    if found is None:
        return MatVariable(None, "", tuple(names))
    return MatVariable(found.value, found.kind, tuple(names))


def _elements(data: bytes, pos: int, end: int, order: str):
    """``(type, offset, data)`` of each Level 5 data element in ``data[pos:end]``."""
    while pos < end:
        if end - pos < 8:
            raise MatFileError(f"a data element at byte {pos} is cut short ({end - pos} of 8 tag bytes)")
        first, count = struct.unpack(order + "II", data[pos : pos + 8])
        if first >> 16:  # small data element: count and type in 4 bytes, the data in the next 4
            count, kind = first >> 16, first & 0xFFFF
            if count > 4:
                raise MatFileError(f"a small data element at byte {pos} claims {count} bytes (at most 4)")
            yield kind, pos, data[pos + 4 : pos + 4 + count]
            pos += 8
            continue
        start = pos + 8
        if count > end - start:
            raise MatFileError(f"the data element at byte {pos} claims {count} bytes; {end - start} follow")
        yield first, pos, data[start : start + count]
        pos = start + count + (0 if first == _MI_COMPRESSED else -count % 8)


def _inflate(body: bytes, at: int) -> bytes:
    inflate = zlib.decompressobj()
    try:
        out = inflate.decompress(body, MAX_MAT_BYTES)
    except zlib.error as e:
        raise MatFileError(str(e)) from None
    if inflate.unconsumed_tail:
        raise MatFileError(f"the compressed element at byte {at} inflates to more than {MAX_MAT_BYTES} bytes")
    return out


def _matrix(body: bytes, order: str, wanted: str, at: int) -> tuple[str, MatVariable]:
    """The name of the miMATRIX *body* (at byte *at*), and its value when it is *wanted*."""
    parts = _elements(body, 0, len(body), order)
    flags, dims, name = (next(parts, None) for _ in range(3))
    if flags is None or dims is None or name is None:
        raise MatFileError(f"the variable at byte {at} lacks its array flags, dimensions or name")
    if flags[0] != 6 or len(flags[2]) != 8 or dims[0] != 5 or len(dims[2]) % 4 or name[0] not in (1, 2):
        raise MatFileError(f"the variable at byte {at} has malformed array flags, dimensions or name")
    (word,) = struct.unpack(order + "I", flags[2][:4])
    cls, is_complex, is_logical = word & 0xFF, bool(word & 0x800), bool(word & 0x200)
    shape = struct.unpack(f"{order}{len(dims[2]) // 4}i", dims[2])
    text = bytes(name[2]).decode("latin-1")
    if text != wanted:
        return text, MatVariable(None, "", ())
    if cls not in _MX_NUMERIC:
        return text, MatVariable(None, _MX_OTHER.get(cls, f"class {cls} variable"), ())
    if len(shape) < 2 or min(shape) < 0:
        raise MatFileError(f"variable {text!r} has dimensions {list(shape)}")
    count = math.prod(shape)
    real = _values(next(parts, None), order, count, f"variable {text!r}'s real part")
    if is_complex:
        real = real + 1j * _values(next(parts, None), order, count, f"variable {text!r}'s imaginary part")
    elif is_logical:
        real = real.astype(bool)
    else:
        real = real.astype(_MX_NUMERIC[cls])
    value = real.reshape(shape, order="F")
    return text, MatVariable(value, f"{value.dtype} array", ())


def _values(part: tuple | None, order: str, count: int, what: str) -> np.ndarray:
    if part is None:
        raise MatFileError(f"{what} is missing")
    kind, at, data = part
    if kind not in _MI_NUMERIC:
        raise MatFileError(f"{what} (byte {at}) has data type {kind}, not a number type")
    dtype = np.dtype(order + _MI_NUMERIC[kind])
    if len(data) != count * dtype.itemsize:
        raise MatFileError(
            f"{what} holds {len(data)} bytes; {count} values of {dtype.name} need {count * dtype.itemsize}"
        )
    return np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="))


def _level4(data: bytes, wanted: str) -> MatVariable:
    """A MATLAB Level 4 file: variable after variable, each with a 20-byte header."""
    pos, names, found = 0, [], None
    while pos < len(data):
        if len(data) - pos < 20:
            raise MatFileError(
                f"the MATLAB 4 variable at byte {pos} is cut short ({len(data) - pos} of 20 header bytes)"
            )
        for order in ("<", ">"):
            mopt, rows, cols, imag, namlen = struct.unpack(order + "5i", data[pos : pos + 20])
            m, o, p, t = mopt // 1000, mopt // 100 % 10, mopt // 10 % 10, mopt % 10
            if 0 <= mopt < 5000 and m == (0 if order == "<" else 1) and o == 0:
                break
        else:
            raise MatFileError(f"no MATLAB 4 variable header at byte {pos} (and no MATLAB 5 header)")
        if p not in _V4_TYPES or t not in (0, 1, 2) or rows < 0 or cols < 0 or not 0 < namlen <= 4096:
            raise MatFileError(f"the MATLAB 4 variable header at byte {pos} is malformed")
        dtype = np.dtype(order + _V4_TYPES[p])
        size = rows * cols * dtype.itemsize * (2 if imag else 1)
        start = pos + 20 + namlen
        if start + size > len(data):
            raise MatFileError(
                f"the MATLAB 4 variable at byte {pos} claims {size} bytes; {len(data) - start} follow"
            )
        text = bytes(data[pos + 20 : start]).split(b"\0")[0].decode("latin-1")
        names.append(text)
        if text == wanted and found is None:
            if t != 0:
                found = MatVariable(None, "char array" if t == 1 else "sparse matrix", ())
            else:
                values = np.frombuffer(data[start : start + size], dtype=dtype).astype(
                    dtype.newbyteorder("=")
                )
                if imag:
                    values = values[: rows * cols] + 1j * values[rows * cols :]
                value = values.reshape((rows, cols), order="F")
                found = MatVariable(value, f"{value.dtype} array", ())
        pos = start + size
    if found is None:
        return MatVariable(None, "", tuple(names))
    return MatVariable(found.value, found.kind, tuple(names))
