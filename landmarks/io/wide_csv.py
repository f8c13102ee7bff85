"""Many studies in one CSV: the wide landmark table (formats.md §1, "readers also accept").

One row per image. Columns: ``image``, ``view``, then ``<name>.x`` and
``<name>.y`` per point (image pixels: x = column, y = row, origin at the
centre of the top-left pixel, y down; an empty cell = point absent). Optional
extension columns: ``mm_per_px_row`` and ``mm_per_px_col`` (both or neither),
``age_years``, ``sex`` (F/M/O) and ``patient_right`` (image_left/image_right).
Other columns are ignored, unless they look like a misspelt known column.

A problem with the header stops the read (:class:`InvalidLandmarksError`
naming the file and the column). A problem with one row never does: the row
keeps its place, its coordinates are NaN and ``row_errors[i]`` says which
line, which column and what came in, so a batch reports it as an error
instead of losing it.

Reading is built for 100 000-row tables; see :func:`read_wide_csv`, Notes.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from ..errors import InvalidLandmarksError
from ..points.calibration import Calibration
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
from .atomic import write_text_atomic

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
EXTENSION_COLUMNS: tuple[str, ...] = ("mm_per_px_row", "mm_per_px_col", "age_years", "sex", "patient_right")

_REQUIRED = ("image", "view")
_MAX_AGE_YEARS = 130
#: Rows parsed per block by the bulk number parser (bounds its temporary memory).
_CHUNK_ROWS = 16384
_NO_CALIBRATION = Calibration.none("no mm_per_px in the landmark table")
_NO_PATIENT = PatientInfo()
_VIEWS = {"lateral": View.LATERAL, "ap": View.AP}
#: The view of a row whose "view" cell cannot be read (that row is an error anyway).
_UNREADABLE_VIEW = View.LATERAL
#: Extension columns read as numbers, in bulk with the coordinates.
_NUMERIC_COLUMNS = ("mm_per_px_row", "mm_per_px_col", "age_years")
_UNITS = {"mm_per_px_row": "mm per pixel", "mm_per_px_col": "mm per pixel", "age_years": "years"}
#: Line breaks of str.splitlines that are not line breaks in a CSV file.
_OTHER_LINE_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_SIDES = {"image_left": PatientRight.IMAGE_LEFT, "image_right": PatientRight.IMAGE_RIGHT}


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

    Speed (100 000 rows x 80 coordinates in about a second): the numeric
    columns (coordinates, spacing, age) are parsed in bulk, never cell by
    cell in Python. A row without quotes and with the right number of
    commas is cut with two :meth:`str.split` calls around its numeric block;
    the blocks of up to 16 384 rows are joined, checked byte-wise (only
    digits, ``.`` and a leading ``-`` per cell), empty cells are left NaN,
    and all numbers go through one C-level parser: SciPy's Matrix Market
    reader when it is the fast one (SciPy >= 1.12; correctly rounded,
    multi-threaded), otherwise :func:`numpy.fromstring`. Rows with quotes
    are cut by :func:`csv.reader`; rows whose cells fail the byte check
    (exponents, spaces, stray characters, non-ASCII) are parsed with
    ``float()`` cell by cell, which also words their errors. Such rows cost
    time, never correctness.

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
    name, text = _read_source(source, name)
    where = f"landmark table {name!r}"
    return _Reader(where, text).read()


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
    columns: list[list[str]] = [[_quote(str(i)) for i in table.ids], views]
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
    lines = [",".join(_quote(h) for h in header)]
    lines.extend(map(",".join, zip(*columns, strict=True)))
    return "\n".join(lines) + "\n"


def write_landmark_table(table: LandmarkTable, path: str | os.PathLike[str]) -> None:
    """Write *table* as a wide CSV, atomically (temporary file + :func:`os.replace`).

    Columns: ``image``, ``view``, the points in anatomical order (top to
    bottom), then ``mm_per_px_row``/``mm_per_px_col``, ``age_years``,
    ``sex`` and ``patient_right`` when any study has them. Floats are
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
    other_cols: tuple[int, ...]  # every other column, in header order
    fields: dict[str, int]  # "image", "view", "sex", "patient_right": position in other_cols
    block: tuple[int, int] | None  # numeric_cols == range(a, b): (a, b)


class _Reader:
    def __init__(self, where: str, text: str) -> None:
        self.where = where
        self.text = text

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
        # spacing and age are numbers too: they are parsed in bulk with the coordinates
        numeric_ext = [h for h in _NUMERIC_COLUMNS if h in seen]
        numeric_cols = tuple(
            sorted([j for axes in coords.values() for j in axes.values()] + [seen[h] for h in numeric_ext])
        )
        pos = {j: k for k, j in enumerate(numeric_cols)}
        points = tuple((stem, pos[axes["x"]], pos[axes["y"]]) for stem, axes in coords.items())
        numeric_set = set(numeric_cols)
        other_cols = tuple(j for j in range(len(header)) if j not in numeric_set)
        other_pos = {j: k for k, j in enumerate(other_cols)}
        fields = {
            h: other_pos[seen[h]]
            for h in (*_REQUIRED, *EXTENSION_COLUMNS)
            if h in seen and seen[h] in other_pos
        }
        block = None
        if numeric_cols and numeric_cols[-1] - numeric_cols[0] + 1 == len(numeric_cols):
            block = (numeric_cols[0], numeric_cols[-1] + 1)
        return _Plan(
            n_cols=len(header),
            numeric_cols=numeric_cols,
            numeric_names=tuple(header[j] for j in numeric_cols),
            points=points,
            numeric_fields={h: pos[seen[h]] for h in numeric_ext},
            other_cols=other_cols,
            fields=fields,
            block=block,
        )

    # -- rows

    def read(self) -> LandmarkTable:
        text = self.text
        breaks = _OTHER_LINE_BREAKS[:5] if text.isascii() else _OTHER_LINE_BREAKS
        if any(c in text for c in breaks):
            # str.splitlines would also cut at these; cut at \n (and \r) only
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        else:
            lines = text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines or not lines[0].strip():
            raise InvalidLandmarksError(
                f'{self.where}: has no header line; expected "image,view,<name>.x,<name>.y,..." '
                "on the first line"
            )
        self.quotes = '"' in text
        if self.quotes and any(line.count('"') % 2 for line in lines if '"' in line):
            records = self._csv_records()  # a quoted cell spans lines: the csv module must cut
            self._start(self._plan(records[0][1]), [n for n, _ in records[1:]])
            self.raw_rows: list[str] | list[list[str]] = [fields for _, fields in records[1:]]
            for r, (_, fields) in enumerate(records[1:]):
                self._add_record(r, fields)
        else:
            self._add_lines(lines)
        return self._finish()

    def _csv_records(self) -> list[tuple[int, list[str]]]:
        """Cut the whole text with the csv module: (first line, cells) per non-blank record.

        A record that spans lines but has the wrong number of cells is most
        likely an unclosed quote that swallowed the rows after it; its lines
        are then cut one by one, so that only the faulty row is lost.
        """
        reader = csv.reader(io.StringIO(self.text))
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
                physical = physical or self.text.split("\n")
                pieces = [(n, next(csv.reader([physical[n - 1]]), [])) for n in range(first, last + 1)]
            else:
                pieces = [(first, fields)]
            out.extend((n, cells) for n, cells in pieces if any(c.strip() for c in cells))
        return out

    def _start(self, plan: _Plan, linenos: list[int]) -> None:
        self.plan = plan
        self.linenos = linenos
        self.values = np.full((len(linenos), len(plan.numeric_cols)), np.nan)
        self.others: list[list[str]] = [[] for _ in linenos]
        self.bulk_rows: list[int] = []  # rows whose coordinate cells wait for the bulk parser
        self.bulk_blocks: list[str] = []  # their cells, comma-separated
        self.errors: dict[int, str] = {}

    def _add_lines(self, lines: list[str]) -> None:
        """Rows of a file whose quoted cells (if any) stay within one line."""
        plan = self._plan(next(csv.reader([lines[0]])))
        # blank rows (spreadsheets export them as a line of commas) hold no study
        body = [
            (n, s) for n, s in enumerate(lines[1:], start=2) if s and (s[0] not in ", \t" or s.strip(", \t"))
        ]
        del lines
        self._start(plan, [n for n, _ in body])
        texts = [s for _, s in body]
        del body
        self.raw_rows = texts
        commas = plan.n_cols - 1
        # chunk by chunk, so that the temporary strings reuse the same memory
        for start in range(0, len(texts), _CHUNK_ROWS):
            chunk = texts[start : start + _CHUNK_ROWS]
            if self.quotes:
                fast = [r for r, s in enumerate(chunk) if s.count(",") == commas and '"' not in s]
            else:
                fast = [r for r, s in enumerate(chunk) if s.count(",") == commas]
            all_fast = len(fast) == len(chunk)
            if not all_fast:
                fast_set = set(fast)
                for r, s in enumerate(chunk):
                    if r not in fast_set:
                        self._add_record(start + r, next(csv.reader([s])))
                chunk = [chunk[r] for r in fast]
            blocks, others = self._cut(chunk)
            rows = [start + r for r in fast]
            if all_fast:
                self.others[start : start + len(rows)] = others
            else:
                for r, fields in zip(rows, others, strict=True):
                    self.others[r] = fields
            self.bulk_rows.extend(rows)
            self.bulk_blocks.extend(blocks)
            self._flush_bulk()

    def _cut(self, lines: list[str]) -> tuple[list[str], list[list[str]]]:
        """Split lines with the right number of commas and no quotes: (coordinate blocks, other cells)."""
        plan = self.plan
        if plan.block is None:
            numeric_cols, other_cols = plan.numeric_cols, plan.other_cols
            split = [s.split(",") for s in lines]
            return [",".join([f[j] for j in numeric_cols]) for f in split], [
                [f[j] for j in other_cols] for f in split
            ]
        # cut around the contiguous coordinate block only: two short splits per line, in C
        a, b = plan.block
        t = plan.n_cols - b
        heads = [s.split(",", a) for s in lines]
        if not t:
            return [h[a] for h in heads], [h[:a] for h in heads]
        tails = [h[a].rsplit(",", t) for h in heads]
        return [x[0] for x in tails], [h[:a] + x[1:] for h, x in zip(heads, tails, strict=True)]

    def _add_record(self, r: int, fields: list[str]) -> None:
        """Row *r*, cut by the csv module."""
        plan = self.plan
        if len(fields) != plan.n_cols:
            self.errors[r] = (
                f"has {len(fields)} fields but the header has {plan.n_cols} columns; "
                "check for a missing or extra comma (or an unquoted comma in the image path)"
            )
            fields = (fields + [""] * plan.n_cols)[: plan.n_cols]
            self.others[r] = [fields[j] for j in plan.other_cols]
            return
        self.others[r] = [fields[j] for j in plan.other_cols]
        cells = [fields[j] for j in plan.numeric_cols]
        block = ",".join(cells)
        if block.count(",") == len(cells) - 1 and "\n" not in block:
            self.bulk_rows.append(r)
            self.bulk_blocks.append(block)
        else:  # a quoted cell holds a comma: the bulk parser would miscount
            self._parse_slowly(r, cells)

    def _flush_bulk(self) -> None:
        """Parse the waiting coordinate blocks into ``self.values``."""
        if not self.bulk_rows:
            return
        if self.values.shape[1]:
            suspects = _parse_blocks(self.bulk_blocks, self.values, self.bulk_rows)
            for k in suspects:
                self._parse_slowly(self.bulk_rows[k], self.bulk_blocks[k].split(","))
        self.bulk_rows, self.bulk_blocks = [], []

    def _parse_slowly(self, r: int, cells: list[str]) -> None:
        row, message = _parse_tokens(cells, self.plan.numeric_names)
        self.values[r] = row
        if message is not None:
            self.errors.setdefault(r, message)

    def _finish(self) -> LandmarkTable:
        self._flush_bulk()
        plan, where, values, errors = self.plan, self.where, self.values, self.errors
        n = len(self.linenos)

        column = self._column
        ids = tuple(map(str.strip, column("image")))
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
        mm_per_px, calibrations = self._spacing(values)
        ages = self._ages(values)

        self._check_views(values, views_arr)
        self._check_endplates(values)

        patients: list[PatientInfo] = [_NO_PATIENT] * n
        if ages is not None or "sex" in plan.fields:
            cache: dict[tuple[Any, Any], PatientInfo] = {}
            for r, key in enumerate(zip(ages or [None] * n, sexes, strict=True)):
                p = cache.get(key)
                if p is None:
                    age, sex = key
                    p = cache[key] = PatientInfo(
                        age_years=age,
                        age_source=TABLE_SOURCE if age is not None else None,
                        sex=sex,
                        sex_source=TABLE_SOURCE if sex is not None else None,
                    )
                patients[r] = p
        patient_right: list[PatientRight | None] = [None] * n
        if sides is not None:
            patient_right = [s if v is View.AP else None for s, v in zip(sides, views, strict=True)]
        row_errors = np.full(n, None, dtype=object)
        for r, message in errors.items():
            row_errors[r] = f"{where}, line {self.linenos[r]}: {message}"
            values[r] = np.nan
            mm_per_px[r] = np.nan
            calibrations[r] = _NO_CALIBRATION
            patients[r] = _NO_PATIENT
            patient_right[r] = None
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
            patient_right=np.array(patient_right, dtype=object).reshape(n),
            sets=None,
            row_errors=row_errors,
        )

    def _raw_cell(self, r: int, field: str) -> str:
        """Return the text of row *r*'s numeric cell *field* as it came in (for messages)."""
        raw = self.raw_rows[r]
        fields = raw if isinstance(raw, list) else next(csv.reader([raw]))
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
        ok = given & (r > 0) & (c > 0)
        if not ok.any():
            return mm, calibrations
        mm[ok, 0], mm[ok, 1] = r[ok], c[ok]
        pairs = mm[ok]
        if (pairs == pairs[0]).all():  # the usual table: one spacing for all
            distinct, codes = pairs[:1], np.zeros(len(pairs), dtype=np.intp)
        else:
            distinct, codes = np.unique(pairs, axis=0, return_inverse=True)
        shared = [Calibration.from_spacing((float(a), float(b)), where=TABLE_SOURCE) for a, b in distinct]
        lookup = [*shared, _NO_CALIBRATION]
        index = np.full(n, len(shared), dtype=np.intp)
        index[ok] = codes.ravel()
        return mm, list(map(lookup.__getitem__, index.tolist()))

    def _ages(self, values: np.ndarray) -> list[float | None] | None:
        """Each row's age in years (None where empty or bad), or None without an age column."""
        if "age_years" not in self.plan.numeric_fields:
            return None
        a = values[:, self.plan.numeric_fields["age_years"]]
        for i in np.flatnonzero((a < 0) | (a > _MAX_AGE_YEARS)).tolist():
            self.errors.setdefault(
                i,
                f'column "age_years" must be a number of years from 0 to {_MAX_AGE_YEARS} or empty; '
                f"got {self._raw_cell(i, 'age_years')!r}",
            )
        return [None if v != v else v for v in a.tolist()]

    def _column(self, field: str) -> list[str]:
        k = self.plan.fields[field]
        return [o[k] for o in self.others]

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
        return [cache[value][0] for value in raw]

    def _check_views(self, values: np.ndarray, views: np.ndarray) -> None:
        """Flag rows with values for corners of the other view."""
        plan = self.plan
        for view, foreign in ((View.LATERAL, _AP_ONLY), (View.AP, _LATERAL_ONLY)):
            cols = [k for name, jx, jy in plan.points if _corner_kind(name) == foreign for k in (jx, jy)]
            if not cols:
                continue
            rows = np.flatnonzero(views == view)
            if not len(rows):
                continue
            finite = np.isfinite(values[np.ix_(rows, np.asarray(cols, dtype=np.intp))])
            for i in np.flatnonzero(finite.any(axis=1)).tolist():
                r = int(rows[i])
                k = cols[int(np.argmax(finite[i]))]
                name = plan.numeric_names[k].rsplit(".", 1)[0]
                other = "an AP" if view is View.LATERAL else "a lateral"
                self.errors.setdefault(
                    r,
                    f'point "{name}" is {other} landmark but the row\'s view is "{view.value}" '
                    f'(column "{plan.numeric_names[k]}" = {values[r, k]:g}); check the "view" column',
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


def _number(s: str) -> float | None:
    """Return a finite decimal number, or None (``float()`` alone also takes ``1_000`` and ``nan``)."""
    if not s or not s.isascii() or "_" in s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _parse_tokens(tokens: Sequence[str], names: Sequence[str]) -> tuple[np.ndarray, str | None]:
    """Parse one row's coordinate cells one by one (the slow, exact path that words errors)."""
    row = np.full(len(tokens), np.nan)
    for k, token in enumerate(tokens):
        s = token.strip()
        if not s:
            continue
        v = _number(s)
        if v is None:
            finite = s.isascii() and "_" not in s and _is_float(s)  # nan, inf, 1e999
            what = "a finite number" if finite else "a number"
            unit = _UNITS.get(names[k], "pixels")
            return row, f'column "{names[k]}" must be {what} ({unit}) or empty; got {_shorten(token)!r}'
        row[k] = v
    return row, None


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------------------------------- bulk numbers

_DIGIT_BYTES = b"0123456789"
#: What may remain of a clean block once its digits are deleted.
_SKELETON_BYTES = b".-,\n"
_TO_NEWLINES = bytes.maketrans(b",", b"\n")
_SEPARATOR = np.zeros(256, dtype=bool)
_SEPARATOR[np.frombuffer(b",\n", np.uint8)] = True
_DIGIT_OR_DOT = np.zeros(256, dtype=bool)
_DIGIT_OR_DOT[np.frombuffer(b"0123456789.", np.uint8)] = True
_COMMA, _NEWLINE, _MINUS = ord(","), ord("\n"), ord("-")
#: Below this many rows a block the bulk parser refused is parsed cell by cell.
_BISECT_MIN_ROWS = 64


def _fast_matrix_market() -> Callable[[Any], Any] | None:
    """Return SciPy's C++ Matrix Market reader (SciPy >= 1.12), or None."""
    import scipy.io

    mmread = scipy.io.mmread
    return mmread if mmread.__module__.endswith("_fast_matrix_market") else None


#: The bulk parser: "mm" (SciPy's fast Matrix Market reader), "fromstring", or
#: None to take the first available at first use (scipy.io costs half a second to import).
_BULK_PARSER: str | None = None


def _parse_blocks(blocks: list[str], values: np.ndarray, rows: list[int]) -> list[int]:
    """Parse coordinate blocks (comma-separated cells) into ``values[rows[k]]``.

    Returns the indices ``k`` of the blocks the bulk path does not vouch
    for; those must be parsed again by :func:`_parse_tokens`.
    """
    ncoord = values.shape[1]
    suspects: list[int] = []
    for start in range(0, len(blocks), _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, len(blocks))
        target = rows[start:stop]
        contiguous = target == list(range(target[0], target[0] + len(target)))
        # write straight into the table when the rows are consecutive (the usual case)
        out = values[target[0] : target[-1] + 1] if contiguous else np.full((len(target), ncoord), np.nan)
        _parse_rows(blocks, list(range(start, stop)), out, start, suspects)
        if not contiguous:
            values[target] = out
        overflow = np.flatnonzero(np.isinf(out).any(axis=1))  # e.g. 400 digits: the slow path words it
        suspects.extend((overflow + start).tolist())
    return sorted(set(suspects))


def _parse_rows(
    blocks: list[str], rows: list[int], parsed: np.ndarray, offset: int, suspects: list[int]
) -> None:
    """Parse ``blocks[rows]`` into ``parsed[rows - offset]``; add the rows it cannot vouch for."""
    ncoord = parsed.shape[1]
    data = _encode([blocks[i] for i in rows])
    if data is None or not _is_clean(data):
        good = [i for i in rows if blocks[i].isascii() and _is_clean(blocks[i].encode("ascii"))]
        if len(good) < len(rows):
            kept = set(good)
            suspects.extend(i for i in rows if i not in kept)
            rows = good
            data = _encode([blocks[i] for i in rows])
    if not rows or data is None:
        return
    if rows[-1] - rows[0] == len(rows) - 1:  # consecutive: parse straight into place
        done = _convert_clean(data, parsed[rows[0] - offset : rows[-1] - offset + 1])
    else:
        target = np.full((len(rows), ncoord), np.nan)
        done = _convert_clean(data, target)
        if done:
            parsed[[i - offset for i in rows]] = target
    if done:
        return
    if len(rows) <= _BISECT_MIN_ROWS:
        suspects.extend(rows)
    else:  # a cell the checks let through but the parser refused ("-", "."): find its rows
        half = len(rows) // 2
        _parse_rows(blocks, rows[:half], parsed, offset, suspects)
        _parse_rows(blocks, rows[half:], parsed, offset, suspects)


def _encode(blocks: list[str]) -> bytes | None:
    try:
        return "\n".join(blocks).encode("ascii")
    except UnicodeEncodeError:
        return None


def _is_clean(data: bytes) -> bool:
    """Tell whether every cell is empty or ``-?digits[.digits]`` (rows separated by newlines).

    Deleting the digits leaves a skeleton that may hold only dots, minus
    signs, commas and newlines, and no ``..`` (two dots in one cell); a
    ``-`` must open its cell. This matters because the bulk parser would
    read ``1.5.2`` as 1.5.
    """
    skeleton = data.translate(None, _DIGIT_BYTES)
    if skeleton.translate(None, _SKELETON_BYTES) or b".." in skeleton:
        return False
    if b"-" in data:
        buf = np.frombuffer(data, dtype=np.uint8)
        minus = np.flatnonzero(buf == _MINUS)
        opens = (minus == 0) | _SEPARATOR[buf[np.maximum(minus - 1, 0)]]
        then_number = (minus + 1 < len(buf)) & _DIGIT_OR_DOT[buf[np.minimum(minus + 1, len(buf) - 1)]]
        return bool((opens & then_number).all())
    return True


def _convert_clean(data: bytes, out: np.ndarray) -> bool:
    """Parse clean *data* (``nrows`` lines of ``ncoord`` cells) into *out*, shape ``(nrows, ncoord)``.

    *out* holds NaN already; only the non-empty cells are parsed and written.
    Returns False, writing nothing, when the parser refuses the text or the
    cell count is off.
    """
    nrows, ncoord = out.shape
    # a virtual separator closes the last cell
    buf = np.frombuffer(data.translate(_TO_NEWLINES) + b"\n", dtype=np.uint8)
    sep = buf == _NEWLINE
    if int(np.count_nonzero(sep)) != nrows * ncoord:
        return False
    # a cell starts at 0 and after each separator; it is empty when it starts on a separator
    starts = np.empty(len(buf), dtype=bool)
    starts[0] = True
    starts[1:] = sep[:-1]
    filled = ~sep[starts]
    # drop the separators of empty cells: every value is then followed by exactly one newline
    keep = ~sep
    keep[1:] |= ~sep[:-1]
    stream = buf[keep]
    count = int(np.count_nonzero(filled))
    if count == 0:
        return True
    try:
        mmread = _fast_matrix_market() if _BULK_PARSER in ("mm", None) else None
        if mmread is not None:
            text = io.BytesIO()
            text.write(f"%%MatrixMarket matrix array real general\n{count} 1\n".encode())
            text.write(stream.data)
            text.seek(0)
            numbers = np.asarray(mmread(text), dtype=float).reshape(-1)
        else:
            stream[stream == _NEWLINE] = _COMMA
            numbers = np.fromstring(stream.tobytes(), sep=",")
    except (ValueError, RuntimeError, OverflowError):
        return False
    if numbers.size != count:
        return False
    if out.flags.c_contiguous:
        out.reshape(-1)[filled] = numbers
    else:
        full = np.full(out.shape, np.nan)
        full.reshape(-1)[filled] = numbers
        out[...] = full
    return True


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
    return f"unknown point name {stem!r}{hint}"


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


def _read_source(source: str | os.PathLike[str] | TextIO, name: str | None) -> tuple[str, str]:
    if hasattr(source, "read"):
        text = source.read()
        return (name or str(getattr(source, "name", "<stream>"))), (
            text[1:] if text.startswith("\ufeff") else text
        )
    path = os.fspath(source)
    name = name or path
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InvalidLandmarksError(f"landmark table {name!r}: cannot be read: {e.strerror or e}") from None
    try:
        return name, data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InvalidLandmarksError(
            f"landmark table {name!r}: is not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "save the CSV as UTF-8"
        ) from None
