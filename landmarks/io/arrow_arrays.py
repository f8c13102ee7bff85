"""Arrow arrays made from NumPy and read back into it through their buffers, without pandas.

``pyarrow.array``, ``pyarrow.scalar``, ``Array.to_numpy`` and ``Array.to_pylist`` ask
pyarrow's pandas shim whether their values are pandas objects, and that imports pandas
(some 0.5 s) the first time. The wide landmark CSV is read by Arrow and the measure
table written through it, and neither needs pandas: these helpers build arrays from
their buffers and read the buffers back.

Examples
--------
>>> import numpy as np
>>> texts(strings(["a", "", "é"]))
['a', '', 'é']
>>> float_values(floats(np.array([1.5, 2.0, 3.0]), np.array([True, False, True]))).tolist()
[1.5, nan, 3.0]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "strings",
    "string_scalar",
    "numbers",
    "floats",
    "bools",
    "texts",
    "repeated_texts",
    "float_values",
    "bool_values",
    "object_references",
]


def strings(items: Sequence[str]) -> pa.Array:
    """*items* as an Arrow ``large_string`` array (no nulls)."""
    import pyarrow as pa

    data = "".join(items).encode()
    lengths = (
        np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        if len(data) == sum(map(len, items))  # ASCII: a character is a byte
        else np.fromiter((len(t.encode()) for t in items), dtype=np.int64, count=len(items))
    )
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_string(), len(items), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def string_scalar(text: str) -> pa.Scalar:
    """*text* as an Arrow ``large_string`` scalar."""
    return strings([text])[0]


def numbers(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """A NumPy array of numbers as an Arrow array of the same width (*kind*), no nulls."""
    import pyarrow as pa

    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(np.ascontiguousarray(values))])


def floats(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Float64 *values* as an Arrow array, null where *valid* is False."""
    import pyarrow as pa

    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    data = pa.py_buffer(np.ascontiguousarray(values, dtype=np.float64))
    return pa.Array.from_buffers(pa.float64(), len(values), [bitmap, data])


def bools(mask: np.ndarray) -> pa.Array:
    """A boolean NumPy array as an Arrow boolean array."""
    import pyarrow as pa

    return pa.Array.from_buffers(
        pa.bool_(), len(mask), [None, pa.py_buffer(np.packbits(mask, bitorder="little"))]
    )


#: Row b: the eight items a validity byte b stands for (least significant bit first), 1.0 where
#: the bit is set, NaN where it is not.
_BYTE_FACTORS = np.where(
    np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little") == 1, 1.0, np.nan
)


def _chunks(array: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    # asked once: ``chunks`` makes a list of new Python objects for the chunks each time it is read
    chunks = getattr(array, "chunks", None)
    return [array] if chunks is None else chunks


def _bits(buffer: pa.Buffer, offset: int, n: int) -> np.ndarray:
    """Bits ``offset .. offset + n`` of an Arrow bitmap, as booleans."""
    first, skip = divmod(offset, 8)
    packed = np.frombuffer(buffer, dtype=np.uint8, count=(skip + n + 7) // 8, offset=first)
    return np.unpackbits(packed, count=skip + n, bitorder="little")[skip:].view(bool)


def texts(array: pa.Array | pa.ChunkedArray) -> list[str]:
    """The items of a ``string`` or ``large_string`` array without nulls, as Python strings.

    Raises
    ------
    ValueError
        The array holds a null (an empty text and a missing one are not told apart here).
    """
    import pyarrow as pa

    out: list[str] = []
    for chunk in _chunks(array):
        if chunk.null_count:
            raise ValueError(f"texts: the array holds {chunk.null_count} nulls; expected none")
        n = len(chunk)
        wide = pa.types.is_large_string(chunk.type)
        _, offsets_buffer, data = chunk.buffers()[:3]
        offsets = (
            np.frombuffer(
                offsets_buffer,
                dtype=np.int64 if wide else np.int32,
                count=n + 1,
                offset=(8 if wide else 4) * chunk.offset,
            ).tolist()
            if n
            else [0]
        )
        raw = memoryview(data if data is not None else b"")[offsets[0] : offsets[-1]]
        text = str(raw, "utf-8")
        start = offsets[0]
        if len(text) == len(raw):  # ASCII: byte offsets are character offsets
            out += [text[a - start : b - start] for a, b in itertools.pairwise(offsets)]
        else:
            out += [str(raw[a - start : b - start], "utf-8") for a, b in itertools.pairwise(offsets)]
    return out


def repeated_texts(array: pa.Array | pa.ChunkedArray) -> list[str]:
    """The items of a string array of few distinct texts, as Python strings: one object per text.

    Like :func:`texts`, but each distinct text is made once and the list is taken
    from those by each item's code (Arrow's dictionary encoding), without a Python
    step per item. For a column such as a view or a sex.

    >>> items = repeated_texts(strings(["ap", "lateral", "ap"]))
    >>> items, items[0] is items[2]
    (['ap', 'lateral', 'ap'], True)
    """
    import pyarrow.compute as pc

    out: list[str] = []
    for chunk in _chunks(array):
        if chunk.null_count:
            raise ValueError(f"repeated_texts: the array holds {chunk.null_count} nulls; expected none")
        encoded = pc.dictionary_encode(chunk)
        codes = encoded.indices
        index = np.frombuffer(codes.buffers()[1], dtype=np.int32, count=len(codes), offset=4 * codes.offset)
        out += np.array(texts(encoded.dictionary), dtype=object)[index].tolist()
    return out


def float_values(array: pa.Array | pa.ChunkedArray, out: np.ndarray | None = None) -> np.ndarray:
    """The items of a float64 array as NumPy floats, NaN where null (written into *out* if given).

    A chunk with nulls is multiplied by its validity bitmap read as 1.0 (valid) or NaN
    (null), eight items per byte of the bitmap: the rows of :data:`_BYTE_FACTORS` taken
    by the bitmap's bytes (``take``, a copy of 64 bytes per byte, where fancy indexing
    took half as long again and a masked copy or ``putmask`` more). ``x * 1.0`` is ``x``
    exactly (``-0.0`` and infinities included).

    >>> import numpy as np
    >>> float_values(floats(np.array([-0.0, 2.0, np.inf] * 3), np.array([True, False, True] * 3))).tolist()
    [-0.0, nan, inf, -0.0, nan, inf, -0.0, nan, inf]
    """
    out = np.empty(len(array)) if out is None else out
    at = 0
    for chunk in _chunks(array):
        n = len(chunk)
        validity, data = chunk.buffers()[:2]
        if n:
            items = np.frombuffer(data, dtype=np.float64, count=n, offset=8 * chunk.offset)
            if chunk.null_count:
                first, skip = divmod(chunk.offset, 8)
                bitmap = np.frombuffer(validity, dtype=np.uint8, count=(skip + n + 7) // 8, offset=first)
                factors = _BYTE_FACTORS.take(bitmap, axis=0).reshape(-1)[skip : skip + n]
                np.multiply(items, factors, out=out[at : at + n])
            else:
                np.copyto(out[at : at + n], items)
        at += n
    return out


def bool_values(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The items of a boolean array as NumPy booleans, False where null."""
    parts = [np.zeros(0, dtype=bool)]
    for chunk in _chunks(array):
        n = len(chunk)
        validity, data = chunk.buffers()[:2]
        values = _bits(data, chunk.offset, n) if n else np.zeros(0, dtype=bool)
        if chunk.null_count:
            values &= _bits(validity, chunk.offset, n)
        parts.append(values)
    return np.concatenate(parts)


def object_references(values: np.ndarray) -> np.ndarray:
    """The references of an object array's cells as integers, one per cell: equal where the object is the same.

    No Python call per cell. The integers stand for the objects only while *values* holds them;
    an array of another dtype is first made an object array (whose new objects are then told
    apart).

    Examples
    --------
    >>> a = np.array([None, "x", None], dtype=object)
    >>> (object_references(a) == id(None)).tolist()
    [True, False, True]
    """
    return np.frombuffer(np.ascontiguousarray(values, dtype=object).data, dtype=np.uintp)
