"""Many studies in one CSV: the wide landmark table (formats.md §1, "readers also accept").

One row per image. Columns: ``image``, ``view``, then ``<name>.x`` and
``<name>.y`` per point (image pixels: x = column, y = row, origin at the
centre of the top-left pixel, y down; an empty cell = point absent). Optional
extension columns: ``mm_per_px_row`` and ``mm_per_px_col`` (both or neither),
``age_years``, ``sex`` (F/M/O), ``patient_right`` (image_left/image_right),
``sacralised`` (L5/L6: the vertebra fused into the sacrum, the JSON's
``"anatomy": {"sacralised": ...}``) and, for post-operative films, the operation:
``uiv``, ``liv`` (levels), ``operation_date`` (YYYY-MM-DD) and ``fused`` (the
fused levels, top to bottom, separated by spaces); a row with none of the four
is not known to be operated. Other columns are ignored, unless they look like a
misspelt known column.

A problem with the header stops the read (:class:`InvalidLandmarksError`
naming the file and the column). A problem with one row never does: the row
keeps its place, its coordinates are NaN and ``row_errors[i]`` says which
line, which column and what came in, so a batch reports it as an error
instead of losing it.

Reading is built for tables of a million rows; see :func:`read_wide_csv`, Notes.
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from ..errors import InvalidLandmarksError, shorten
from ..points.anatomy import SACRALISABLE
from ..points.calibration import PLAUSIBLE_MM_PER_PX, Calibration, implausible_spacing
from ..points.model import LandmarkTable, PatientInfo, Sex
from ..points.names import (
    FEMORAL_HEADS,
    ILIAC_CRESTS,
    LEVELS,
    Corner,
    PatientRight,
    View,
    closest_point_names,
    parse_point_name,
)
from ..points.operation import Operation, OperationProblem
from .arrow_arrays import (
    bool_values,
    float_values,
    numbers,
    repeated_texts,
    string_scalar,
    strings,
    texts,
)
from .atomic import write_text_atomic
from .csv_cells import neutralise_cell, restore_cell

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "TABLE_SOURCE",
    "EXTENSION_COLUMNS",
    "read_wide_csv",
    "write_landmark_table",
    "landmark_table_to_csv",
]

#: ``age_source``/``sex_source`` of patient data read from a wide CSV.
TABLE_SOURCE = "landmark table"
#: Optional columns besides ``image``, ``view`` and the coordinates.
EXTENSION_COLUMNS: tuple[str, ...] = (
    "mm_per_px_row",
    "mm_per_px_col",
    "age_years",
    "sex",
    "patient_right",
    "sacralised",
    "uiv",
    "liv",
    "operation_date",
    "fused",
)
#: The operation's columns and the item of :class:`Operation` each holds.
_OPERATION_COLUMNS = {"operation_date": "date", "uiv": "uiv", "liv": "liv", "fused": "fused"}
_OPERATION_COLUMN_OF = {item: column for column, item in _OPERATION_COLUMNS.items()}

_REQUIRED = ("image", "view")
_MAX_AGE_YEARS = 130
_NO_CALIBRATION = Calibration.none("no mm_per_px in the landmark table")
_NO_PATIENT = PatientInfo()
_VIEWS = {"lateral": View.LATERAL, "ap": View.AP}
#: The view of a row whose "view" cell cannot be read (that row is an error anyway).
_UNREADABLE_VIEW = View.LATERAL
#: Extension columns read as numbers, with the coordinates.
_NUMERIC_COLUMNS = ("mm_per_px_row", "mm_per_px_col", "age_years")
_UNITS = {"mm_per_px_row": "mm per pixel", "mm_per_px_col": "mm per pixel", "age_years": "years"}
_SIDES = {"image_left": PatientRight.IMAGE_LEFT, "image_right": PatientRight.IMAGE_RIGHT}
_SEX_CODES: dict[Sex | None, int] = {None: 0, Sex.F: 1, Sex.M: 2, Sex.O: 3}
_BOM = b"\xef\xbb\xbf"
#: Bytes of a row that holds no study (spreadsheets export blank rows as a line of commas).
_BLANK_BYTES = b", \t"
#: Bytes Arrow parses per block, blocks in parallel (raised to hold the longest line). Each block
#: is a chunk of every column, each chunk a step in Python: a block of 2 MB (some 2 000 rows) is
#: long enough for that step to be a small part of its time, and a piece holds a block per core.
_BLOCK_BYTES = 1 << 21
#: Bytes of lines read by Arrow at a time: Arrow's table of a piece and its working memory come
#: on top of the file's bytes and the result (with 8 MB, some 80 MB at the peak of a read).
_PIECE_BYTES = 1 << 23
#: Bytes scanned at a time for line breaks and quotes (bounds the scan's temporary memory).
_SCAN_BYTES = 1 << 24
#: A file of this many bytes or more gives its freed memory back after the read (_release_free_memory).
_RELEASE_BYTES = 1 << 24
#: Cells that Arrow's cast and ``float()`` read alike (the cast is checked to be finite).
_PLAIN_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


# ----------------------------------------------------------------------------------------------- reading


def read_wide_csv(source: str | os.PathLike[str] | TextIO, *, name: str | None = None) -> LandmarkTable:
    r"""Read a wide landmark CSV.

    Parameters
    ----------
    source : str, path-like or text stream
        The file, or an open text stream (e.g. :class:`io.StringIO`).
    name : str, optional
        How messages name the source (default: the path, or ``"<stream>"``).

    Returns
    -------
    LandmarkTable
        ``ids`` = the ``image`` column; ``points[name]`` an ``(N, 2)`` array
        of ``(x, y)`` pixels, NaN where empty; ``calibrations[i]`` is
        :meth:`Calibration.from_spacing` (source "user mm_per_px") where the
        row gives a spacing, else uncalibrated; ``patients[i]`` carries the
        row's age/sex with source ``"landmark table"``; ``row_errors[i]`` is
        None or a one-line message. Identical rows share their
        :class:`Calibration` and :class:`PatientInfo` objects. A row whose
        view cannot be read has ``views[i]`` lateral (a table holds a View
        per study) and its row error.

    Raises
    ------
    InvalidLandmarksError
        The file cannot be read, or its header is wrong: no ``image`` or
        ``view`` column, a duplicate column, ``<name>.x`` without
        ``<name>.y``, an unknown point name (with the closest valid names),
        only one of the two spacing columns.

    Notes
    -----
    Header names are checked against the names valid on either view; each
    row is then checked against its own view (a lateral row with a value in
    an ``.left``/``.right`` column is a row error, and vice versa).

    Lines end at ``\n``, ``\r\n`` or ``\r``; a line that is empty or holds
    only commas, spaces and tabs holds no study and is skipped. A cell is a
    number as ``float()`` reads it after :meth:`str.strip` (``12``, ``-3.5``,
    ``.5``, ``1e3``), finite and in ASCII digits, or empty (absent).

    Speed: rows are cut, and the numeric columns (coordinates, spacing,
    age) converted to float64, by :func:`pyarrow.csv.read_csv` (C++,
    correctly rounded, blocks in parallel), 8 MB of lines at a time
    straight into one array; cells are never touched one by one in Python.
    The line breaks are found with NumPy first, so that each row keeps its
    line number. A cell Arrow refuses, or reads as NaN or infinity, sends
    the read through a second pass that takes the numeric columns as text:
    plain numbers (digits, sign, point, exponent) are cast by Arrow, the
    few others read with ``float()``, which also words their errors. A row
    with the wrong number of cells is cut again by :func:`csv.reader` for
    its message. A file in which a quoted cell spans lines is cut by
    :func:`csv.reader` alone. Unusual rows cost time, never correctness.

    Memory: the file's bytes, the result (8 bytes per numeric cell) and
    Arrow's table of one piece; what the read freed is given back to the
    system before it returns (a file of 16 MB or more).

    Examples
    --------
    >>> import io
    >>> t = read_wide_csv(io.StringIO(
    ...     "image,view,S1.sup.ant.x,S1.sup.ant.y,mm_per_px_row,mm_per_px_col\n"
    ...     "a.dcm,lateral,1620.5,5305,0.15,0.15\n"
    ...     "b.dcm,lateral,12a,7,,\n"))
    >>> t.ids, t.point("S1.sup.ant")[0].tolist(), t.mm_per_px[0].tolist()
    (('a.dcm', 'b.dcm'), [1620.5, 5305.0], [0.15, 0.15])
    >>> print(t.row_errors[1])
    landmark table '<stream>', line 3: column "S1.sup.ant.x" must be a number (pixels) or empty; got '12a'
    """
    name, data = _read_source(source, name)
    where = f"landmark table {name!r}"
    large = len(data) >= _RELEASE_BYTES
    table = _Reader(where, data).read()
    if large:
        del data
        _release_free_memory()
    return table


# ----------------------------------------------------------------------------------------------- writing


def landmark_table_to_csv(table: LandmarkTable) -> str:
    r"""Return the wide CSV text of *table* (see :func:`write_landmark_table`).

    Examples
    --------
    >>> import io
    >>> t = read_wide_csv(io.StringIO("image,view,C7.centroid.x,C7.centroid.y\nx.dcm,lateral,1.5,2\n"))
    >>> print(landmark_table_to_csv(t), end="")
    image,view,C7.centroid.x,C7.centroid.y
    x.dcm,lateral,1.5,2.0
    """
    n = len(table)
    if table.row_errors is not None:
        bad = [i for i, e in enumerate(table.row_errors) if e is not None]
        if bad:
            raise InvalidLandmarksError(
                f"cannot write a landmark table with unread rows: {len(bad)} row(s) have errors, the "
                f"first {table.ids[bad[0]]!r}: {table.row_errors[bad[0]]}; keep only the good rows with "
                "table.subset(table.row_errors == None)"
            )
    views = []
    for i, v in enumerate(table.views):
        if v is None:
            raise InvalidLandmarksError(
                f"cannot write the landmark table: study {table.ids[i]!r} has no view"
            )
        views.append(View.parse(v).value)
    header = ["image", "view"]
    # an id that a spreadsheet would run as a formula is neutralised; the reader restores it
    columns: list[list[str]] = [[_quote(neutralise_cell(str(i))) for i in table.ids], views]
    for pname in sorted(table.points, key=_name_order):
        xy = np.asarray(table.points[pname], dtype=float).reshape(n, 2)
        header += [f"{pname}.x", f"{pname}.y"]
        columns += [_format_floats(xy[:, 0]), _format_floats(xy[:, 1])]
    spacing = np.asarray(table.mm_per_px, dtype=float).reshape(n, 2)
    if np.isfinite(spacing).any():
        header += ["mm_per_px_row", "mm_per_px_col"]
        columns += [_format_floats(spacing[:, 0]), _format_floats(spacing[:, 1])]
    ages = [p.age_years for p in table.patients]
    if any(a is not None for a in ages):
        header.append("age_years")
        columns.append(["" if a is None else repr(float(a)) for a in ages])
    sexes = [p.sex for p in table.patients]
    if any(s is not None for s in sexes):
        header.append("sex")
        columns.append(["" if s is None else Sex(s).value for s in sexes])
    if any(p is not None for p in table.patient_right):
        header.append("patient_right")
        columns.append(["" if p is None else PatientRight.parse(p).value for p in table.patient_right])
    if table.sacralised is not None and any(v is not None for v in table.sacralised):
        header.append("sacralised")
        columns.append(["" if v is None else str(v) for v in table.sacralised])
    operations = table.operations or (None,) * n
    for i, op in enumerate(operations):
        if op is not None and not op.to_json():
            raise InvalidLandmarksError(
                f"cannot write the landmark table: study {table.ids[i]!r} records an operation with no "
                "date and no levels, which the wide CSV cannot hold (its operation columns are empty "
                "for a film not known to be operated)"
            )
    for column, item in _OPERATION_COLUMNS.items():
        cells = [_operation_cell(op, item) for op in operations]
        if any(cells):
            header.append(column)
            columns.append([_quote(c) for c in cells])
    lines = [",".join(_quote(h) for h in header)]
    lines.extend(map(",".join, zip(*columns, strict=True)))
    return "\n".join(lines) + "\n"


def write_landmark_table(table: LandmarkTable, path: str | os.PathLike[str]) -> None:
    """Write *table* as a wide CSV, atomically (temporary file + :func:`os.replace`).

    Columns: ``image``, ``view``, the points in anatomical order (top to
    bottom), then ``mm_per_px_row``/``mm_per_px_col``, ``age_years``,
    ``sex``, ``patient_right`` and ``sacralised`` when any study has them. Floats are
    written with :func:`repr`, so reading back gives the same numbers; NaN
    is an empty cell.

    Raises
    ------
    InvalidLandmarksError
        A row has a read error (``row_errors``) or no view: such a row cannot
        be written faithfully. Nothing is written.
    OSError
        The file cannot be written; an existing file is left intact.

    Notes
    -----
    A spacing is written as ``mm_per_px`` whatever its source, so it reads
    back as a user calibration; patient data read back with the source
    ``"landmark table"``.
    """
    write_text_atomic(path, landmark_table_to_csv(table))


# ----------------------------------------------------------------------------------------------- the reader


@dataclass(frozen=True)
class _Plan:
    """What each header column holds."""

    n_cols: int
    numeric_cols: tuple[int, ...]  # header positions of the numeric columns (coordinates, spacing, age)
    numeric_names: tuple[str, ...]  # their header names
    points: tuple[tuple[str, int, int], ...]  # point name, numeric position of x, of y
    numeric_fields: dict[str, int]  # "mm_per_px_row", "mm_per_px_col", "age_years": numeric position
    fields: dict[str, int]  # "image", "view", "sex", "patient_right": header position


@dataclass(frozen=True)
class _Parsed:
    """The rows Arrow read, in file order (rows with a wrong number of cells left out)."""

    values: np.ndarray  # (rows, numeric columns) float64, NaN where empty
    cells: dict[str, list[str]]  # the text of each of plan.fields
    errors: dict[int, str]  # row: what is wrong with a numeric cell
    skipped: int  # rows left out for their number of cells


class _Reader:
    def __init__(self, where: str, data: bytes, *, piece: _Piece | None = None, line_offset: int = 0) -> None:
        self.where = where
        self.data = data
        # a piece of a larger table (the header, then some of its lines): its lines are numbered
        # line_offset on from the file's, and what only the whole file can decide raises _NotAPiece
        self.piece = piece
        self.line_offset = line_offset
        self.plan: _Plan  # set from the header by _read_lines or _read_records
        # set by _read_lines or _read_records, one entry per study
        self.linenos: Sequence[int] | np.ndarray = []  # each study's line in the file
        self.values = np.zeros((0, 0))
        self.cells: dict[str, list[str]] = {}
        self.errors: dict[int, str] = {}
        self.raw_fields: dict[int, list[str]] = {}  # cells of rows cut by the csv module
        self.spans: tuple[np.ndarray, np.ndarray] | None = None  # (start, end) byte offsets of each row

    # -- header

    def _plan(self, header: list[str]) -> _Plan:
        where = self.where
        header = [h.strip() for h in header]
        if len(header) == 1 and ";" in header[0]:
            raise InvalidLandmarksError(
                f"{where}: the header is one column {header[0][:60]!r}; columns must be separated by "
                "commas, not semicolons"
            )
        seen: dict[str, int] = {}
        for j, h in enumerate(header):
            if h and h in seen:
                raise InvalidLandmarksError(
                    f'{where}: column "{h}" appears twice in the header (columns {seen[h] + 1} and {j + 1})'
                )
            seen[h] = j
        for req in _REQUIRED:
            if req not in seen:
                alike = [h for h in header if h.lower() == req]
                hint = f' (found "{alike[0]}": column names are case-sensitive)' if alike else ""
                raise InvalidLandmarksError(
                    f'{where}: the header has no "{req}" column{hint}; expected '
                    f'"image,view,<name>.x,<name>.y,..."; got {",".join(header)[:120]!r}'
                )
        coords: dict[str, dict[str, int]] = {}
        known = set(_REQUIRED) | set(EXTENSION_COLUMNS)
        for j, h in enumerate(header):
            if not h or h in known:
                continue
            stem, dot, axis = h.rpartition(".")
            if dot and axis in ("x", "y"):
                if parse_point_name(stem) is None:
                    raise InvalidLandmarksError(f'{where}: column "{h}": {_unknown_point(stem)}')
                coords.setdefault(stem, {})[axis] = j
            elif dot and axis in ("X", "Y"):
                raise InvalidLandmarksError(
                    f'{where}: column "{h}": coordinate columns end in lower-case ".x"/".y"; '
                    f'did you mean "{stem}.{axis.lower()}"?'
                )
            elif parse_point_name(h) is not None:
                raise InvalidLandmarksError(
                    f'{where}: column "{h}" is a point name; give its coordinates as two columns '
                    f'"{h}.x" and "{h}.y"'
                )
            else:
                close = difflib.get_close_matches(h, sorted(known), n=1, cutoff=0.8)
                if close:
                    raise InvalidLandmarksError(f'{where}: unknown column "{h}"; did you mean "{close[0]}"?')
        for stem, axes in coords.items():
            for have, lack in (("x", "y"), ("y", "x")):
                if have in axes and lack not in axes:
                    raise InvalidLandmarksError(
                        f'{where}: column "{stem}.{have}" has no matching "{stem}.{lack}" column'
                    )
        if ("mm_per_px_row" in seen) != ("mm_per_px_col" in seen):
            have, lack = ("mm_per_px_row", "mm_per_px_col")[:: 1 if "mm_per_px_row" in seen else -1]
            raise InvalidLandmarksError(
                f'{where}: column "{have}" has no matching "{lack}" column; give both or neither'
            )
        # spacing and age are numbers too: they are converted with the coordinates
        numeric_ext = [h for h in _NUMERIC_COLUMNS if h in seen]
        numeric_cols = tuple(
            sorted([j for axes in coords.values() for j in axes.values()] + [seen[h] for h in numeric_ext])
        )
        pos = {j: k for k, j in enumerate(numeric_cols)}
        points = tuple((stem, pos[axes["x"]], pos[axes["y"]]) for stem, axes in coords.items())
        fields = {h: seen[h] for h in (*_REQUIRED, *EXTENSION_COLUMNS) if h in seen and seen[h] not in pos}
        return _Plan(
            n_cols=len(header),
            numeric_cols=numeric_cols,
            numeric_names=tuple(header[j] for j in numeric_cols),
            points=points,
            numeric_fields={h: pos[seen[h]] for h in numeric_ext},
            fields=fields,
        )

    # -- rows

    def read(self) -> LandmarkTable:
        data = self.data
        starts, ends = _line_spans(data)
        last = len(starts)
        # blank lines that end the file are dropped; a piece's last lines end the file only in the last piece
        while (
            (self.piece is None or self.piece.last)
            and last
            and not data[starts[last - 1] : ends[last - 1]].decode().strip()
        ):
            last -= 1
        if not last or not data[starts[0] : ends[0]].decode().strip():
            raise InvalidLandmarksError(
                f'{self.where}: has no header line; expected "image,view,<name>.x,<name>.y,..." '
                "on the first line"
            )
        starts, ends = starts[:last], ends[:last]
        if b'"' in data and _has_odd_quote_line(data, ends):
            # a quoted cell spans lines: the csv module must cut the whole text
            self._whole_file()
            self._read_records(self._csv_records())
        elif not self._read_lines(starts, ends):
            # a quote Arrow reads across lines but the csv module within one (a"b,"c): line by line
            self._whole_file()
            self._read_records(self._line_records(starts, ends))
        return self._finish()

    def _whole_file(self) -> None:
        """A piece is read as the whole file is only where Arrow cuts its lines; else _NotAPiece."""
        if self.piece is not None:
            raise _NotAPiece(f"{self.where}: a line that Arrow does not cut as one row")

    def _read_lines(self, starts: np.ndarray, ends: np.ndarray) -> bool:
        """Read a table whose rows are its lines, with Arrow; False (nothing set) when Arrow cuts otherwise."""
        data = self.data
        plan = self.plan = self._plan(next(csv.reader([data[starts[0] : ends[0]].decode()])))
        lines = np.flatnonzero(ends[1:] > starts[1:]) + 1  # Arrow skips empty lines, as we do
        if not len(lines):
            self.values = np.zeros((0, len(plan.numeric_cols)))
            self.cells = {f: [] for f in plan.fields}
            return True
        begin, end = starts[lines], ends[lines]
        # pieces of whole lines, each cut by Arrow into blocks (each holding a whole line) read in parallel
        offsets = np.arange(begin[0] + _PIECE_BYTES, end[-1], _PIECE_BYTES)
        cuts = [0, *sorted(set(np.searchsorted(begin, offsets).tolist()) - {0, len(lines)}), len(lines)]
        pieces = [memoryview(data)[begin[a] : end[b - 1]] for a, b in itertools.pairwise(cuts)]
        block = max(_BLOCK_BYTES, 2 * int((end - begin).max()) + 2)
        # a piece of a table measured in pieces shares the cores with the other pieces' processes
        parsed = _parse_with_arrow(pieces, len(lines), plan, block, threads=self.piece is None)
        if parsed is None:
            return False
        # which lines Arrow read, and which it left out for their number of cells
        whole = np.ones(len(lines), dtype=bool)
        if parsed.skipped:
            spans = zip(begin.tolist(), end.tolist(), strict=True)
            whole[:] = [_count_cells(data[a:b]) == plan.n_cols for a, b in spans]
        if np.count_nonzero(whole) != len(parsed.values) or np.count_nonzero(~whole) != parsed.skipped:
            return False
        # a line of commas, spaces and tabs holds no study
        blank = np.isin(np.frombuffer(data, np.uint8)[begin], np.frombuffer(_BLANK_BYTES, np.uint8))
        for i in np.flatnonzero(blank).tolist():
            blank[i] = not data[begin[i] : end[i]].translate(None, _BLANK_BYTES)
        keep = np.flatnonzero(~blank)
        self.linenos = lines[keep] + 1
        self.spans = (begin[keep], end[keep])
        row, read = (np.cumsum(whole) - 1)[keep], whole[keep]  # each study's row in Arrow's table, if read
        if read.all() and len(keep) == len(parsed.values):
            self.values, self.cells, self.errors = parsed.values, parsed.cells, parsed.errors
            return True
        self.values = np.full((len(plan.numeric_cols), len(keep)), np.nan).T
        for k in range(self.values.shape[1]):  # column by column: each is contiguous
            self.values[read, k] = parsed.values[row[read], k]
        pairs = list(zip(row.tolist(), read.tolist(), strict=True))
        self.cells = {f: [c[i] if ok else "" for i, ok in pairs] for f, c in parsed.cells.items()}
        study = dict(zip(row[read].tolist(), np.flatnonzero(read).tolist(), strict=True))
        self.errors = {study[i]: message for i, message in parsed.errors.items() if i in study}
        for r in np.flatnonzero(~read).tolist():
            self._wrong_count(r, next(csv.reader([data[self.spans[0][r] : self.spans[1][r]].decode()]), []))
        return True

    def _line_records(self, starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, list[str]]]:
        """Cut each line with the csv module: (line number, cells) per line that holds a study."""
        records = []
        for n, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True), start=1):
            line = self.data[a:b]
            if n == 1 or line.translate(None, _BLANK_BYTES):
                records.append((n, next(csv.reader([line.decode()]))))
        return records

    def _read_records(self, records: list[tuple[int, list[str]]]) -> None:
        """Read the table from the header's and the rows' cells, cut by the csv module."""
        if not records:  # e.g. one unclosed quote: the csv module finds no cell at all
            raise InvalidLandmarksError(
                f'{self.where}: has no header line; expected "image,view,<name>.x,<name>.y,..." '
                "on the first line"
            )
        plan = self.plan = self._plan(records[0][1])
        body = records[1:]
        n = len(body)
        self.linenos = [lineno for lineno, _ in body]
        self.spans = None
        self.errors = {}
        self.cells = {f: [""] * n for f in plan.fields}
        rows: list[list[str]] = []
        for r, (_, fields) in enumerate(body):
            if len(fields) == plan.n_cols:
                for f, j in plan.fields.items():
                    self.cells[f][r] = fields[j]
                self.raw_fields[r] = fields
            else:
                self._wrong_count(r, fields)
                fields = [""] * plan.n_cols  # its numbers are not read
            rows.append(fields)
        self.values = np.full((len(plan.numeric_cols), n), np.nan).T
        for k, j in enumerate(plan.numeric_cols):
            self.values[:, k], bad = _text_to_numbers(strings([f[j] for f in rows]))
            for r, token in bad:
                self.errors.setdefault(r, _cell_message(plan.numeric_names[k], token))

    def _wrong_count(self, r: int, fields: list[str]) -> None:
        """Row *r* has the wrong number of cells: a row error; its text cells are read as far as they go."""
        plan = self.plan
        self.errors[r] = (
            f"has {len(fields)} fields but the header has {plan.n_cols} columns; "
            "check for a missing or extra comma (or an unquoted comma in the image path)"
        )
        padded = (fields + [""] * plan.n_cols)[: plan.n_cols]
        for f, j in plan.fields.items():
            self.cells[f][r] = padded[j]
        self.raw_fields[r] = padded

    def _csv_records(self) -> list[tuple[int, list[str]]]:
        """Cut the whole text with the csv module: (first line, cells) per non-blank record.

        A record that spans lines but has the wrong number of cells is most
        likely an unclosed quote that swallowed the rows after it; its lines
        are then cut one by one, so that only the faulty row is lost.
        """
        text = self.data.decode()
        reader = csv.reader(io.StringIO(text))
        spans: list[tuple[int, int, list[str]]] = []
        start = 1
        try:
            for fields in reader:
                spans.append((start, reader.line_num, fields))
                start = reader.line_num + 1
        except csv.Error as e:
            raise InvalidLandmarksError(
                f"{self.where}, line {reader.line_num}: is not valid CSV: {e}"
            ) from None
        physical: list[str] = []
        out: list[tuple[int, list[str]]] = []
        for first, last, fields in spans:
            if out and last > first and len(fields) != len(out[0][1]):
                physical = physical or text.split("\n")
                pieces = [(n, next(csv.reader([physical[n - 1]]), [])) for n in range(first, last + 1)]
            else:
                pieces = [(first, fields)]
            out.extend((n, cells) for n, cells in pieces if any(c.strip() for c in cells))
        return out

    def _finish(self) -> LandmarkTable:
        plan, where, values, errors = self.plan, self.where, self.values, self.errors
        n = len(self.linenos)

        column = self.cells.__getitem__
        ids = tuple(map(str.strip, column("image")))
        if "'" in "".join(ids):  # as written (csv_cells): only a name with a quote can have been neutralised
            ids = tuple(map(restore_cell, ids))
        if "" in ids:
            for r, image in enumerate(ids):
                if not image:
                    errors.setdefault(r, 'column "image" is empty; expected the image file or id')
        views = self._convert(column("view"), _parse_view)
        views_arr = np.array(views, dtype=object).reshape(n)
        sexes = self._convert(column("sex"), _parse_sex) if "sex" in plan.fields else [None] * n
        sides = (
            self._convert(column("patient_right"), _parse_side) if "patient_right" in plan.fields else None
        )
        sacralised = (
            self._convert(column("sacralised"), _parse_sacralised) if "sacralised" in plan.fields else None
        )
        mm_per_px, calibrations = self._spacing(values)
        ages = self._ages(values)
        operations = self._operations() if set(_OPERATION_COLUMNS) & set(plan.fields) else None
        if sacralised is not None:
            self._check_sacralised(values, sacralised)

        self._check_views(values, views_arr)
        self._check_half_points(values)
        self._check_endplates(values)

        patients: list[PatientInfo] = [_NO_PATIENT] * n
        if ages is not None or "sex" in plan.fields:
            patients = _patients(np.full(n, np.nan) if ages is None else ages, sexes)
        patient_right = np.full(n, None, dtype=object)
        if sides is not None:
            patient_right[:] = sides
            patient_right[views_arr != View.AP] = None  # a side is told on AP films only
        row_errors = np.full(n, None, dtype=object)
        for r, message in errors.items():
            row_errors[r] = f"{where}, line {int(self.linenos[r]) + self.line_offset}: {message}"
            values[r] = np.nan
            mm_per_px[r] = np.nan
            calibrations[r] = _NO_CALIBRATION
            patients[r] = _NO_PATIENT
            patient_right[r] = None
            if sacralised is not None:
                sacralised[r] = None
            if operations is not None:
                operations[r] = None
        if None in views:
            # a table holds a View per study; the row error says the real one could not be read
            views_arr[np.array([v is None for v in views_arr], dtype=bool)] = _UNREADABLE_VIEW
        return LandmarkTable(
            ids=ids,
            views=views_arr,
            points=_point_arrays(values, plan.points),
            mm_per_px=mm_per_px,
            calibrations=tuple(calibrations),
            patients=tuple(patients),
            patient_right=patient_right,
            sets=None,
            row_errors=row_errors,
            operations=tuple(operations) if operations and any(op is not None for op in operations) else None,
            sacralised=np.array(sacralised, dtype=object).reshape(n)
            if sacralised is not None and any(v is not None for v in sacralised)
            else None,
        )

    def _operations(self) -> list[Operation | None]:
        """Each row's operation, from its operation columns (None where they are all empty)."""
        columns = [c for c in _OPERATION_COLUMNS if c in self.plan.fields]
        raw = list(zip(*(self.cells[c] for c in columns), strict=True))

        def parse(cells: tuple[str, ...]) -> Operation | None:
            items: dict[str, object] = {
                _OPERATION_COLUMNS[c]: v.strip() for c, v in zip(columns, cells, strict=True)
            }
            if not any(items.values()):
                return None
            if "fused" in items:
                items["fused"] = str(items["fused"]).split()
            try:
                return Operation.checked(**items, source=TABLE_SOURCE)  # type: ignore[arg-type]
            except OperationProblem as e:
                raise ValueError(f'column "{_OPERATION_COLUMN_OF[e.item]}" {e}') from None

        return self._convert(raw, parse)

    def _raw_cell(self, r: int, field: str) -> str:
        """Return the text of row *r*'s numeric cell *field* as it came in (for messages)."""
        fields = self.raw_fields.get(r)
        if fields is None and self.spans is not None:
            fields = next(csv.reader([self.data[self.spans[0][r] : self.spans[1][r]].decode()]), [])
        fields = fields or []
        j = self.plan.numeric_cols[self.plan.numeric_fields[field]]
        return _shorten(fields[j]) if j < len(fields) else ""

    def _spacing(self, values: np.ndarray) -> tuple[np.ndarray, list[Calibration]]:
        """Each row's ``(row, col)`` mm/px (NaN when absent or bad) and its shared Calibration."""
        n = len(values)
        mm = np.full((n, 2), np.nan)
        calibrations = [_NO_CALIBRATION] * n
        if "mm_per_px_row" not in self.plan.numeric_fields:
            return mm, calibrations
        r = values[:, self.plan.numeric_fields["mm_per_px_row"]]
        c = values[:, self.plan.numeric_fields["mm_per_px_col"]]
        r_nan, c_nan = np.isnan(r), np.isnan(c)
        for i in np.flatnonzero(r_nan != c_nan).tolist():
            empty, given = (
                ("mm_per_px_row", "mm_per_px_col") if r_nan[i] else ("mm_per_px_col", "mm_per_px_row")
            )
            self.errors.setdefault(
                i, f'column "{empty}" is empty but "{given}" is given; give both spacings or neither'
            )
        given = ~r_nan & ~c_nan
        for i in np.flatnonzero(given & ((r <= 0) | (c <= 0))).tolist():
            column = "mm_per_px_row" if r[i] <= 0 else "mm_per_px_col"
            self.errors.setdefault(
                i, f'column "{column}" must be a number > 0 (mm per pixel); got {self._raw_cell(i, column)!r}'
            )
        low, high = PLAUSIBLE_MM_PER_PX
        positive = given & (r > 0) & (c > 0)
        for i in np.flatnonzero(positive & ((r < low) | (r > high) | (c < low) | (c > high))).tolist():
            column = "mm_per_px_row" if not low <= r[i] <= high else "mm_per_px_col"
            self.errors.setdefault(
                i,
                f'column "{column}" is {implausible_spacing(r[i], c[i])}; got {self._raw_cell(i, column)!r}',
            )
        ok = positive & (r >= low) & (r <= high) & (c >= low) & (c <= high)
        if not ok.any():
            return mm, calibrations
        mm[ok, 0], mm[ok, 1] = r[ok], c[ok]
        pairs = mm[ok]
        if (pairs == pairs[0]).all():  # the usual table: one spacing for all
            distinct, codes = pairs[:1], np.zeros(len(pairs), dtype=np.intp)
        else:
            # (row, col) as one complex number: sorted as np.unique(axis=0) sorts the pairs, without its
            # row-by-row comparisons (0.2 s on 100 000 rows)
            z = np.empty(len(pairs), dtype=complex)
            z.real, z.imag = pairs[:, 0], pairs[:, 1]
            keys, codes = np.unique(z, return_inverse=True)
            distinct = np.stack([keys.real, keys.imag], axis=1)
        # Python floats: a row of NumPy scalars each took 3.5x the time (8 ms for 600 spacings)
        shared = [Calibration.from_spacing((a, b), where=TABLE_SOURCE) for a, b in distinct.tolist()]
        lookup = [*shared, _NO_CALIBRATION]
        index = np.full(n, len(shared), dtype=np.intp)
        index[ok] = codes.ravel()
        return mm, list(map(lookup.__getitem__, index.tolist()))

    def _ages(self, values: np.ndarray) -> np.ndarray | None:
        """Each row's age in years (NaN where empty), or None without an age column; bad ages are row errors."""
        if "age_years" not in self.plan.numeric_fields:
            return None
        a = values[:, self.plan.numeric_fields["age_years"]]
        for i in np.flatnonzero((a < 0) | (a > _MAX_AGE_YEARS)).tolist():
            self.errors.setdefault(
                i,
                f'column "age_years" must be a number of years from 0 to {_MAX_AGE_YEARS} or empty; '
                f"got {self._raw_cell(i, 'age_years')!r}",
            )
        return a

    def _convert(self, raw: Sequence[Any], parse: Callable[[Any], Any]) -> list[Any]:
        """Convert one column through a cache of its distinct values; bad values become row errors."""
        cache: dict[Any, tuple[Any, str | None]] = {}
        for value in set(raw):
            try:
                cache[value] = (parse(value), None)
            except ValueError as e:
                cache[value] = (None, str(e))
        if any(message is not None for _, message in cache.values()):
            for r, value in enumerate(raw):
                message = cache[value][1]
                if message is not None:
                    self.errors.setdefault(r, message)
        parsed = {value: result for value, (result, _) in cache.items()}
        return list(map(parsed.__getitem__, raw))  # a C loop: a column of a million rows

    def _check_views(self, values: np.ndarray, views: np.ndarray) -> None:
        """Flag rows with values for corners of the other view."""
        plan = self.plan
        for view, foreign in ((View.LATERAL, _AP_ONLY), (View.AP, _LATERAL_ONLY)):
            cols = [k for name, jx, jy in plan.points if _corner_kind(name) == foreign for k in (jx, jy)]
            if not cols:
                continue
            given = np.zeros(len(values), dtype=bool)
            for k in cols:  # column by column: each is contiguous
                given |= np.isfinite(values[:, k])
            for r in np.flatnonzero(given & (views == view)).tolist():
                k = next(k for k in cols if math.isfinite(values[r, k]))
                name = plan.numeric_names[k].rsplit(".", 1)[0]
                other = "an AP" if view is View.LATERAL else "a lateral"
                self.errors.setdefault(
                    r,
                    f'point "{name}" is {other} landmark but the row\'s view is "{view.value}" '
                    f'(column "{plan.numeric_names[k]}" = {values[r, k]:g}); check the "view" column',
                )

    def _check_sacralised(self, values: np.ndarray, sacralised: list[str | None]) -> None:
        """A row with a sacralised L5 and an L6 point: a row error (L6 would lie in the sacrum)."""
        cols = [k for name, jx, jy in self.plan.points if name.startswith("L6.") for k in (jx, jy)]
        if not cols:
            return
        l5 = np.array([v == "L5" for v in sacralised], dtype=bool)
        for r in np.flatnonzero(l5 & np.isfinite(values[:, cols]).any(axis=1)).tolist():
            k = next(k for k in cols if math.isfinite(values[r, k]))
            name = self.plan.numeric_names[k].rsplit(".", 1)[0]
            self.errors.setdefault(
                r,
                f'column "sacralised" is L5 but point "{name}" is given: an L6 below a sacralised L5 '
                "would lie inside the sacrum (a sacralised sixth lumbar vertebra is L6)",
            )

    def _check_half_points(self, values: np.ndarray) -> None:
        """A point with one coordinate and the other cell empty: a row error (a point is both or neither).

        An empty cell means an absent point (formats.md §1); a half-given one is a
        slip, never half a point: its lone x would still decide, say, which way
        the patient faces.
        """
        for name, jx, jy in self.plan.points:
            x_only = np.isfinite(values[:, jx]) != np.isfinite(values[:, jy])
            for r in np.flatnonzero(x_only).tolist():
                given, empty = (jx, jy) if math.isfinite(values[r, jx]) else (jy, jx)
                self.errors.setdefault(
                    r,
                    f'point "{name}": column "{self.plan.numeric_names[empty]}" is empty but '
                    f'"{self.plan.numeric_names[given]}" is {values[r, given]:g}; give both coordinates '
                    "or neither",
                )

    def _check_endplates(self, values: np.ndarray) -> None:
        """Two corners of one endplate at the same position: a row error."""
        index = {name: (jx, jy) for name, jx, jy in self.plan.points}
        for name, (ax, ay) in index.items():
            for a, b in (("ant", "post"), ("left", "right")):
                if not name.endswith("." + a):
                    continue
                other = name[: -len(a)] + b
                if other not in index:
                    continue
                bx, by = index[other]
                same = (values[:, ax] == values[:, bx]) & (values[:, ay] == values[:, by])
                for r in np.flatnonzero(same).tolist():
                    self.errors.setdefault(
                        r,
                        f'endplate {name[: -len(a) - 1]} has zero length: points "{name}" and "{other}" '
                        f"are both at [{values[r, ax]:g}, {values[r, ay]:g}]",
                    )


# ----------------------------------------------------------------------------------------------- cells


def _parse_view(raw: str) -> View:
    v = _VIEWS.get(raw.strip().lower())
    if v is None:
        hint = ' (AP and PA films are both "ap")' if raw.strip().lower() == "pa" else ""
        raise ValueError(f'column "view" must be "lateral" or "ap"; got {_shorten(raw)!r}{hint}')
    return v


def _parse_sex(raw: str) -> Sex | None:
    s = raw.strip().upper()
    if not s:
        return None
    if s not in ("F", "M", "O"):
        raise ValueError(f'column "sex" must be F, M, O or empty; got {_shorten(raw)!r}')
    return Sex(s)


def _parse_side(raw: str) -> PatientRight | None:
    s = raw.strip().lower()
    if not s:
        return None
    side = _SIDES.get(s)
    if side is None:
        raise ValueError(
            f'column "patient_right" must be image_left, image_right or empty; got {_shorten(raw)!r}'
        )
    return side


def _parse_sacralised(raw: str) -> str | None:
    s = raw.strip()
    if not s:
        return None
    if s not in SACRALISABLE:
        hint = ""
        if s.upper() in SACRALISABLE:
            hint = " (level names are upper case)"
        elif s.upper() == "S1":
            hint = " (a lumbarised S1 is named L6, and S1 the segment below it)"
        raise ValueError(
            f'column "sacralised" must be L5, L6 (the lowest lumbar vertebra, fused into the sacrum) or '
            f"empty; got {_shorten(raw)!r}{hint}"
        )
    return s


def _patients(ages: np.ndarray, sexes: Sequence[Sex | None]) -> list[PatientInfo]:
    """Each row's :class:`PatientInfo` from its age (NaN: unknown) and sex; equal rows share one object.

    The rows are grouped by (age, sex) with :func:`numpy.unique`, not a Python step per
    row; each group's object is made from its first row (so of ``0.0`` and ``-0.0``,
    which are one age, the first one read).
    """
    n = len(ages)
    _, age_code = np.unique(ages, return_inverse=True)  # NaN ages are one group
    sex_code = np.fromiter(map(_SEX_CODES.__getitem__, sexes), dtype=np.intp, count=n)
    _, first, group = np.unique(age_code * len(_SEX_CODES) + sex_code, return_index=True, return_inverse=True)
    shared = np.empty(len(first), dtype=object)
    for k, r in enumerate(first.tolist()):
        age = None if math.isnan(ages[r]) else float(ages[r])
        sex = sexes[r]
        shared[k] = PatientInfo(
            age_years=age,
            age_source=TABLE_SOURCE if age is not None else None,
            sex=sex,
            sex_source=TABLE_SOURCE if sex is not None else None,
        )
    return shared[group.ravel()].tolist()


def _operation_cell(op: Operation | None, item: str) -> str:
    """The wide-CSV cell of one operation item: a level, a date, or the fused levels separated by spaces."""
    value = None if op is None else getattr(op, item)
    if value is None or value == ():
        return ""
    if item == "fused":
        return " ".join(value)
    return value.isoformat() if item == "date" else str(value)


def _number(s: str) -> float | None:
    """Return a finite decimal number, or None (``float()`` alone also takes ``1_000`` and ``nan``)."""
    if not s or not s.isascii() or "_" in s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell_message(name: str, token: str) -> str:
    """Why the numeric cell *token* of column *name* cannot be read."""
    s = token.strip()
    finite = s.isascii() and "_" not in s and _is_float(s)  # nan, inf, 1e999
    what = "a finite number" if finite else "a number"
    return f'column "{name}" must be {what} ({_UNITS.get(name, "pixels")}) or empty; got {_shorten(token)!r}'


# ----------------------------------------------------------------------------------------------- Arrow


def _release_free_memory() -> None:
    """Give back to the system the memory a large read used and freed.

    Arrow's allocator (mimalloc) keeps the pages of its freed tables for the next
    read, and glibc keeps NumPy's freed temporaries in its heap (once a freed block
    raised its mmap threshold, blocks below it come from the heap); both would stay
    in the process's resident memory till it ends: some 70 MB after a table of
    100 000 rows (issue 17, 2). Where the C library has no ``malloc_trim`` it is skipped.
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    import ctypes  # loaded here: only a large read needs it

    try:
        ctypes.CDLL(None).malloc_trim(0)
    # no such function, or no C library to load by None (Windows)
    except (AttributeError, OSError, TypeError):
        pass


class _NotFinite(Exception):
    """Arrow read a cell as NaN or infinity; its text is needed for the message."""


def _parse_with_arrow(
    pieces: list[memoryview], max_rows: int, plan: _Plan, block: int, *, threads: bool
) -> _Parsed | None:
    """Cut *pieces* (the lines after the header, in order) into rows and convert their columns.

    Returns None when Arrow cannot cut the text at all, or cuts more rows
    than *max_rows* (the number of non-empty lines).
    """
    import pyarrow as pa  # loaded on first use: about 0.1 s, which only reading a table needs

    try:
        return _arrow_pass(pieces, max_rows, plan, block, as_text=False, threads=threads)
    except (_NotFinite, pa.ArrowInvalid):
        pass  # a cell that is not a finite number: its text is needed
    try:
        return _arrow_pass(pieces, max_rows, plan, block, as_text=True, threads=threads)
    except pa.ArrowInvalid:
        return None


def _arrow_pass(
    pieces: list[memoryview], max_rows: int, plan: _Plan, block: int, *, as_text: bool, threads: bool
) -> _Parsed:
    """Read *pieces* with :func:`pyarrow.csv.read_csv`, numeric columns as float64 or as text.

    A piece at a time, so that Arrow's table of one piece is the only copy
    besides the result; within a piece Arrow parses its blocks in parallel,
    unless not *threads* (a process that shares the cores with others: a
    piece of a table measured in pieces).
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    names = [f"c{j}" for j in range(plan.n_cols)]  # the header is ours, checked already
    numeric = [names[j] for j in plan.numeric_cols]
    text = {f: names[j] for f, j in plan.fields.items()}
    skipped: list[None] = []  # appended to from Arrow's threads (list.append is atomic)

    def skip(row: Any) -> str:
        skipped.append(None)  # the caller finds the row by its number of cells
        return "skip"

    kind = pa.string() if as_text else pa.float64()
    options = {
        "read_options": pa_csv.ReadOptions(column_names=names, block_size=block, use_threads=threads),
        "parse_options": pa_csv.ParseOptions(invalid_row_handler=skip),
        "convert_options": pa_csv.ConvertOptions(
            column_types={**dict.fromkeys(numeric, kind), **dict.fromkeys(text.values(), pa.string())},
            include_columns=[*numeric, *text.values()],
            null_values=[""],
            strings_can_be_null=False,
            check_utf8=False,  # checked when the file was read
        ),
    }
    # one array for all numbers, filled column by column (contiguous writes); rows past r are cut off
    values = np.empty((len(numeric), max_rows)).T
    cells: dict[str, list[str]] = {f: [] for f in text}
    errors: dict[int, str] = {}
    r = 0
    for table in _read_ahead(lambda piece: pa_csv.read_csv(pa.BufferReader(piece), **options), pieces):
        m = table.num_rows
        if r + m > max_rows:
            raise pa.ArrowInvalid("more rows than lines")
        if as_text:
            for k, c in enumerate(numeric):
                values[r : r + m, k], bad = _text_to_numbers(table.column(c).combine_chunks())
                for i, token in bad:
                    errors.setdefault(r + i, _cell_message(plan.numeric_names[k], token))
        elif numeric:
            nulls = _floats_into(table.select(numeric), values[r : r + m])
            if not _finite_but_nulls(values[r : r + m], nulls):
                raise _NotFinite
        for f, c in text.items():
            # the image names are many; a view, sex or level is one of a few texts
            cells[f] += (texts if f == "image" else repeated_texts)(table.column(c))
        r += m
        del table
    return _Parsed(values[:r], cells, errors, len(skipped))


def _read_ahead(read: Callable[[memoryview], pa.Table], pieces: list[memoryview]) -> Iterator[pa.Table]:
    """Yield ``read(piece)`` for each piece in turn, the next piece read while the caller uses this one.

    Arrow's threads would otherwise wait while Python copies a table into the
    result; reading one piece ahead keeps them busy, for the memory of one more
    table. An error of a read is raised where its table would have come. A
    caller that stops early waits for the read under way (it uses the file's bytes).
    """
    out: dict[int, Any] = {}

    def work(i: int) -> None:
        try:
            out[i] = read(pieces[i])
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            out[i] = e

    ahead: threading.Thread | None = None
    try:
        for i in range(len(pieces)):
            if ahead is None:
                work(i)
            else:
                ahead.join()
            ahead = None
            if i + 1 < len(pieces):
                ahead = threading.Thread(target=work, args=(i + 1,), name="wide_csv read ahead")
                ahead.start()
            table = out.pop(i)
            if isinstance(table, BaseException):
                raise table
            yield table
            del table
    finally:
        if ahead is not None:
            ahead.join()


def _floats_into(table: pa.Table, out: np.ndarray) -> int:
    """Write the float64 columns of *table* into *out* (its rows, its columns), NaN where null; the nulls.

    A block of Arrow's read (a record batch: a chunk of every column) at a time, all its columns
    in one copy by Arrow (``to_tensor``, column-major like *out*'s columns), where a copy per
    column and chunk, some 2 000 of them in a 16 MB sub-piece of a wide table, each a few NumPy
    calls, took 0.26-0.42 s of a 3.8 s measure of 100 000 rows (issue 17, 2).
    """
    at = 0
    for batch in table.to_batches():
        n = batch.num_rows
        if n:
            out[at : at + n] = batch.to_tensor(null_to_nan=True, row_major=False).to_numpy()
        at += n
    return sum(column.null_count for column in table.columns)


def _finite_but_nulls(values: np.ndarray, nulls: int) -> bool:
    """Tell whether every item of *values* is finite but its *nulls* null cells (read as NaN).

    One count over a piece's columns together: a null is NaN, never finite, so
    the finite items are as many as the non-null ones exactly when none of these
    was read as NaN or infinity from its text.
    """
    return np.count_nonzero(np.isfinite(values)) + nulls == values.size


def _text_to_numbers(cells: pa.Array) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Read numeric cells given as text: ``(values, [(index, text) of each bad cell])``.

    Plain numbers are cast by Arrow; the others (spaces, NaN, infinity,
    stray characters, non-ASCII) go through ``float()`` one by one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(len(cells), np.nan)
    plain = pc.match_substring_regex(cells, _PLAIN_NUMBER)
    where = bool_values(plain)
    odd = ~(where | bool_values(pc.equal(cells, string_scalar(""))))
    if where.any():
        out[where] = float_values(pc.cast(cells.filter(plain), pa.float64()))
        odd |= ~np.isfinite(out) & where  # 400 digits: float() words it
    bad = []
    rows = np.flatnonzero(odd)
    for i, token in zip(rows.tolist(), texts(cells.take(numbers(rows, pa.int64()))), strict=True):
        s = token.strip()
        v = _number(s) if s else math.nan
        if v is None:
            bad.append((i, token))
        else:
            out[i] = v
    return out, bad


# ----------------------------------------------------------------------------------------------- lines


def _positions(data: bytes, byte: bytes) -> np.ndarray:
    """Offsets of every *byte* in *data*, found a block at a time (bounded temporary memory)."""
    value = byte[0]
    found = [np.zeros(0, dtype=np.intp)]
    for begin in range(0, len(data), _SCAN_BYTES):
        block = np.frombuffer(data, np.uint8, count=min(_SCAN_BYTES, len(data) - begin), offset=begin)
        found.append(np.flatnonzero(block == value) + begin)
    return np.concatenate(found)


def _line_spans(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    r"""Start and end offsets of the lines of *data*, cut at ``\n``, ``\r\n`` and ``\r`` (as csv and Arrow)."""
    ends = _positions(data, b"\n")
    width = np.ones(len(ends), dtype=np.intp)
    if b"\r" in data:
        cr = _positions(data, b"\r")
        crlf = cr[np.isin(cr + 1, ends)]
        ends = np.union1d(cr, np.setdiff1d(ends, crlf + 1))
        width = 1 + np.isin(ends, crlf)
    starts = np.concatenate(([0], ends + width))
    if starts[-1] < len(data):
        return starts, np.append(ends, len(data))
    return starts[:-1], ends


def _has_odd_quote_line(data: bytes, ends: np.ndarray) -> bool:
    """Tell whether a line holds an odd number of quotes (a quoted cell spans lines, or never ends)."""
    line = np.searchsorted(ends, _positions(data, b'"'))
    return bool((np.bincount(line) % 2).any())


def _count_cells(line: bytes) -> int:
    """Number of cells of one line, as the csv module cuts it."""
    if b'"' not in line:
        return line.count(b",") + 1
    return len(next(csv.reader([line.decode()]), []))


# ----------------------------------------------------------------------------------------------- pieces

#: Bytes of a header line looked for at the start of the file before a piece is cut (longer: no pieces).
_HEADER_BYTES = 1 << 20


class _NotAPiece(Exception):
    """A piece cannot be read as a table of its own: only the read of the whole file decides its rows."""


@dataclass
class _Piece:
    """Whole lines of a wide CSV's body, ``[start, stop)`` in bytes, read as a table under the file's header.

    The parallel ``measure`` path (:mod:`spinecheck.alignment.batch.wide_pieces`) measures a
    large table in pieces, one process each, and each piece in smaller ones, one after the
    other; :func:`_read_piece` reads one as :func:`read_wide_csv` reads the file. Its rows are
    the whole read's rows of these lines, with their line numbers, unless the read raises
    :class:`_NotAPiece` (a quoted cell spanning lines, a line Arrow does not cut as one row,
    a byte that is not UTF-8, or the file changed or gone): then only the whole file's read
    says what the rows are.
    """

    name: str  # the path as given: what the messages and the measured rows name
    path: str  # the file opened
    header: tuple[int, int]  # bytes of the header line, its line break included (a BOM left out)
    start: int  # the piece's first byte: the first of a line
    stop: int  # the byte after its last line break (or the file's end)
    last: bool  # the piece ends the file: blank lines that end it are dropped, as the whole read drops them
    #: the file's line number of the piece's first line where the cutter knows it (the one before
    #: ended there); None: the read counts the line breaks from the header to it
    line: int | None = None
    rows: int | None = None  # studies read, set by the read
    next_line: int | None = None  # the file's line number of the line after the piece, set by the read


def _read_piece(piece: _Piece) -> LandmarkTable:
    """Read *piece* as :func:`read_wide_csv` reads the whole file, its rows numbered by the file's lines."""
    where = f"landmark table {piece.name!r}"
    (h0, h1), start, stop = piece.header, piece.start, piece.stop
    try:
        with open(piece.path, "rb") as f:
            fd = f.fileno()
            data = bytearray(h1 - h0 + stop - start)
            view = memoryview(data)
            _read_exactly(fd, view[: h1 - h0], h0)
            _read_exactly(fd, view[h1 - h0 :], start)
            # the header is line 1; the piece's first line is the header's line + the lines before the piece
            first_line = 2 + _line_breaks(fd, h1, start) if piece.line is None else piece.line
    except OSError as e:
        raise _NotAPiece(f"{where}: cannot be read: {e}") from None
    if not data.isascii():
        try:
            data.decode("utf-8")  # a piece is cut at a line break, never inside a character
        except UnicodeDecodeError:
            raise _NotAPiece(f"{where}: is not UTF-8 text") from None
    # the piece's first line is its line 2 (the header is line 1)
    table = _Reader(where, data, piece=piece, line_offset=first_line - 2).read()  # type: ignore[arg-type]
    piece.rows = len(table)
    piece.next_line = first_line + _breaks(data, h1 - h0, len(data))
    # Unlike a whole file's read, a piece keeps the memory it freed: the next sub-piece, read at once,
    # takes the same pages, where giving them back made the kernel fault in and zero them again. At
    # 1 000 000 rows (issue 17, 2): minor faults 415 000-436 000 -> 207 000-247 000 with the chunks'
    # text (csv_cells), 6.5 % less CPU, the largest process 20-30 MB larger at its peak.
    return table


def _read_exactly(fd: int, into: memoryview, offset: int) -> None:
    """Fill *into* with the file's bytes from *offset*; OSError where the file ends first."""
    done = 0
    while done < len(into):
        n = os.preadv(fd, [into[done:]], offset + done)
        if n == 0:
            raise OSError(f"ends before byte {offset + len(into)} (changed while read)")
        done += n


def _line_breaks(fd: int, begin: int, end: int) -> int:
    r"""Line breaks in the file's bytes ``[begin, end)``, as :func:`_line_spans` cuts: ``\n``, ``\r\n``, ``\r``.

    Counted a block at a time (bounded memory); a ``\r\n`` across two blocks is one break.
    """
    block = bytearray(min(_SCAN_BYTES, max(0, end - begin)))
    view = memoryview(block)
    count, cr_before = 0, False
    for at in range(begin, end, len(block) or 1):
        n = min(len(block), end - at)
        _read_exactly(fd, view[:n], at)
        count += _breaks(block, 0, n)
        if cr_before and block[0] == 0x0A:  # \r ended the block before: its \n was counted as a break
            count -= 1
        cr_before = block[n - 1] == 0x0D
    return count


def _breaks(data: bytes | bytearray, begin: int, end: int) -> int:
    r"""Line breaks in ``data[begin:end]``: ``\n``, ``\r\n``, ``\r`` (one at *end*: its ``\n`` is not seen).

    The ``\n`` are counted by NumPy 256 KB at a time (a quarter of the time of
    :meth:`bytes.count`, some 3 ms for 16 MB, with a small temporary).
    """
    count = 0
    for at in range(begin, end, 1 << 18):
        block = np.frombuffer(data, np.uint8, count=min(1 << 18, end - at), offset=at)
        count += int(np.count_nonzero(block == 0x0A))
    if data.find(b"\r", begin, end) >= 0:
        count += data.count(b"\r", begin, end) - data.count(b"\r\n", begin, end)
    return count


def _header_span(path: str) -> tuple[int, int] | None:
    """Bytes of the header line of the file *path*, its line break included, a BOM left out.

    None where a piece cannot be cut under it: no line break in the first
    :data:`_HEADER_BYTES`, a blank first line, a quote in it or a byte that is
    not UTF-8 (only the whole read words those cases).
    """
    with open(path, "rb") as f:
        head = f.read(_HEADER_BYTES + 1)
    begin = len(_BOM) if head.startswith(_BOM) else 0
    breaks = [k for k in (head.find(b"\n", begin), head.find(b"\r", begin)) if k >= 0]
    if not breaks:
        return None
    end = min(breaks)
    line = head[begin:end]
    if end + 1 >= len(head) or b'"' in line:  # the break's second byte must be there to tell \r\n
        return None
    try:
        if not line.decode("utf-8").strip():
            return None
    except UnicodeDecodeError:
        return None
    return begin, end + (2 if head[end : end + 2] == b"\r\n" else 1)


def _check_header(name: str, path: str, span: tuple[int, int]) -> None:
    """Raise :class:`InvalidLandmarksError` as :func:`read_wide_csv` would for the header line *span*."""
    with open(path, "rb") as f:
        f.seek(span[0])
        line = f.read(span[1] - span[0]).decode("utf-8")
    _Reader(f"landmark table {name!r}", b"")._plan(next(csv.reader([line.rstrip("\r\n")])))


def _line_start(path: str, offset: int, end: int) -> int | None:
    r"""The first byte of the first line that starts at or after *offset*, before *end*; None if there is none.

    A line starts after ``\n``, after ``\r\n`` (never between the two) and after a lone ``\r``.
    """
    with open(path, "rb") as f:
        at = offset - 1  # a line may start at offset itself: look from the byte before
        while at < end:
            f.seek(at)
            window = f.read(min(1 << 16, end - at + 1))
            if not window:
                return None
            hits = [k for k in (window.find(b"\n"), window.find(b"\r")) if k >= 0]
            if not hits:
                at += len(window)
                continue
            k = min(hits)
            if window[k] == 0x0D:
                if k + 1 == len(window):  # \r last in the window: the next byte tells \r\n from \r
                    f.seek(at + k + 1)
                    k += f.read(1) == b"\n"
                elif window[k + 1] == 0x0A:
                    k += 1
            start = at + k + 1
            return start if start < end else None
        return None


# ----------------------------------------------------------------------------------------------- helpers

_AP_ONLY, _LATERAL_ONLY, _ANY = "ap", "lateral", "any"


def _point_arrays(values: np.ndarray, points: Sequence[tuple[str, int, int]]) -> dict[str, np.ndarray]:
    """``(N, 2)`` arrays per point: views into *values* when x and y are neighbours (no copy)."""
    out = {}
    for name, jx, jy in points:
        out[name] = values[:, jx : jx + 2] if jy == jx + 1 else values[:, [jx, jy]]
    return out


def _corner_kind(name: str) -> str:
    parsed = parse_point_name(name)
    if parsed is None:
        return _ANY
    if parsed.corner in (Corner.LEFT, Corner.RIGHT) or name in ILIAC_CRESTS:
        return _AP_ONLY
    if parsed.corner in (Corner.ANT, Corner.POST):
        return _LATERAL_ONLY
    return _ANY


def _unknown_point(stem: str) -> str:
    close: list[str] = []
    for view in View:
        for c in closest_point_names(stem, view):
            if c not in close:
                close.append(c)
    ranked = sorted(close, key=lambda c: -difflib.SequenceMatcher(None, stem, c).ratio())[:3]
    hint = (
        f"; did you mean {', '.join(repr(c) for c in ranked)}?"
        if ranked
        else "; expected <LEVEL>.<sup|inf>.<corner>, <LEVEL>.centroid or FH.left/FH.right/FH"
    )
    return f"unknown point name {shorten(stem)!r}{hint}"


def _name_order_table() -> dict[str, int]:
    names: list[str] = []
    for level in LEVELS:
        for endplate in ("sup", "inf"):
            for corner in ("ant", "post", "left", "right"):
                names.append(f"{level}.{endplate}.{corner}")
        names.append(f"{level}.centroid")
    names += [*FEMORAL_HEADS, *ILIAC_CRESTS]
    return {n: i for i, n in enumerate(names)}


_ORDER = _name_order_table()


def _name_order(name: str) -> tuple[int, str]:
    return (_ORDER.get(name, len(_ORDER)), name)


def _format_floats(values: np.ndarray) -> list[str]:
    """``repr`` of each float (shortest exact text), ``""`` for NaN."""
    out = list(map(repr, values.tolist()))
    for i in np.flatnonzero(np.isnan(values)).tolist():
        out[i] = ""
    return out


def _quote(field: str) -> str:
    if any(c in field for c in ',"\n\r') or field != field.strip():
        return '"' + field.replace('"', '""') + '"'
    return field


def _read_source(source: str | os.PathLike[str] | TextIO, name: str | None) -> tuple[str, bytes]:
    """Return the name and the UTF-8 bytes of *source*, without a byte order mark."""
    if hasattr(source, "read"):
        text = source.read()
        name = name or str(getattr(source, "name", "<stream>"))
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidLandmarksError(
                f"landmark table {name!r}: character {e.start} ({text[e.start]!r}) is not a Unicode "
                "character (a lone surrogate)"
            ) from None
        return name, data.removeprefix(_BOM)
    path = os.fspath(source)
    name = name or path
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InvalidLandmarksError(f"landmark table {name!r}: cannot be read: {e.strerror or e}") from None
    if not data.isascii():
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InvalidLandmarksError(
                f"landmark table {name!r}: is not UTF-8 text (byte 0x{data[e.start]:02x} at offset "
                f"{e.start}); save the CSV as UTF-8"
            ) from None
    return name, data.removeprefix(_BOM)
