"""The batch table: its columns, its rows, the CSV written as a run goes, and the Parquet copy (formats.md §3).

The table

- has a fixed header, the columns :func:`batch_header` gives for the options
  (the same for every study, measured or not);
- is written incrementally (:class:`BatchTable`): complete lines, one write
  per chunk, so a killed run leaves at most one torn last line; the lines are
  put on disk (fsync) at most every :data:`SYNC_SECONDS`, and when the table is
  closed on an interruption, so that a power cut costs at most those seconds of work;
- when resumed, drops the torn line, keeps the ``ok`` and ``error`` rows
  already there (keyed on the image, or on the landmark file for a row
  without image), drops its ``skipped`` rows (discovery makes them again, from
  the archive as it is now) and refuses a table of other columns; a table
  that must change for this is replaced atomically, never truncated in place;
- is rewritten at the end atomically (temporary file, fsync, rename) with its
  rows sorted by the ``image`` column (the path relative to the root), rows
  without image last by landmark file; so the result depends neither on the
  number of workers nor on the engine, nor on interruptions;
- gets a Parquet copy beside it (:func:`write_parquet`, ``TABLE.parquet``):
  numbers float64, text string.

:mod:`spinecheck.alignment.batch.runner` runs the studies; this module only knows the table.
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ... import _library_logger
from ...landmarks.errors import SpinecheckError
from ...landmarks.io.atomic import write_atomic, write_bytes_atomic, write_text_atomic
from ...landmarks.io.csv_cells import csv_lines, csv_text, restore_cell
from ...landmarks.points.film import FilmIdentity
from ...landmarks.points.model import LandmarkSet, LandmarkTable
from ...landmarks.points.names import View
from ..criteria.engine import DEFAULT_CRITERIA, assess
from ..geometry.coronal import DEFAULT_MIN_CURVE_DEG, CobbMethod
from ..geometry.regions import REGIONS
from ..measure import measure
from ..render.text import IDENTIFIER_COLUMNS, table_columns, tool_version
from ..study import Study
from .archive import RowStatus, StudyJob, row_key
from .personal import MIN_KEY_BYTES, pseudonym

__all__ = [
    "DICOM_COLUMNS",
    "DETECT_COLUMNS",
    "BatchError",
    "BatchOptions",
    "BatchTable",
    "Row",
    "batch_header",
    "numeric_columns",
    "study_numeric_columns",
    "plain_row",
    "rows_of",
    "study_of",
    "write_parquet",
]

_log = _library_logger(__name__)

#: One table row: a cell per column of :func:`batch_header`, as written.
Row = tuple[str, ...]


class BatchError(SpinecheckError, ValueError):
    """A batch cannot start: bad root, an existing table, a table of other columns."""


#: How a message about a table that cannot be resumed names the ways out.
_START_AGAIN = {"overwrite": "overwrite=True", "output": "output"}


@dataclass(frozen=True)
class BatchOptions:
    """How every study of a batch is measured (the ``measure`` options that apply).

    Attributes
    ----------
    cobb_method : CobbMethod or {"endplate", "midline"}
    min_curve_deg : float
        See :func:`spinecheck.alignment.measure.measure`.
    age_set : str or None
        A bundled age-adjusted target set or a criteria JSON file (None: none).
    criteria : tuple of str
        The criterion sets applied, shipped names or files (absolute paths when
        the workers may run elsewhere); default the default sets.
    reference_sets : tuple of str
        Further target sets reported under their own names.
    figures : str or None
        Absolute folder for the annotated figures (``<image path>.png``
        mirrored under it), or None for none. Figures need the pixels, so
        every film is decoded.
    verify_pixels : bool
        Decode every film's pixels (an ``error`` row when they cannot be
        decoded) instead of reading only its header; slower, the same rows
        for films that decode (``--verify-pixels``).
    patient_identifiers : bool
        Add the columns ``patient_id`` and ``patient_name`` (personal data; see
        :mod:`spinecheck.alignment.batch.personal`).
    pseudonym_key : bytes or None
        Add ``patient_pseudonym``, the keyed hash of the Patient ID under this key
        (:func:`~spinecheck.alignment.batch.personal.read_pseudonym_key`); not with
        *patient_identifiers*. Left out of ``repr``.
    dicom : str or None
        Absolute folder for each ``ok`` DICOM study's results as DICOM (an SR and a
        Secondary Capture, ``<image path>-sr.dcm`` and ``-sc.dcm`` mirrored under
        it), or None for none; adds the columns of :data:`DICOM_COLUMNS`. Every film
        is decoded (the capture draws it).
    detect : bool
        Find the landmarks of each image that has no landmark file with the shipped model
        (``--detect``), refusing a film it cannot read; adds the columns of
        :data:`DETECT_COLUMNS`. A film with a person's landmark file always uses those.
    """

    cobb_method: CobbMethod | str = "endplate"
    min_curve_deg: float = DEFAULT_MIN_CURVE_DEG
    age_set: str | None = "lafage2016-linear"
    criteria: tuple[str, ...] = DEFAULT_CRITERIA
    reference_sets: tuple[str, ...] = ()
    figures: str | None = None
    verify_pixels: bool = False
    patient_identifiers: bool = False
    pseudonym_key: bytes | None = field(default=None, repr=False)
    dicom: str | None = None
    detect: bool = False

    def __post_init__(self) -> None:
        # tuples of text, whatever came in (a list, a lone name, a Path): the options are hashed
        for name in ("criteria", "reference_sets"):
            value = getattr(self, name)
            sources = (value,) if isinstance(value, (str, os.PathLike)) else value
            object.__setattr__(self, name, tuple(os.fspath(v) for v in sources))
        if self.pseudonym_key is not None:
            if self.patient_identifiers:
                raise BatchError.about(
                    "patient_identifiers",
                    "{patient_identifiers} and {pseudonym_key}: choose one; a table holding both the "
                    "Patient ID and its pseudonym would undo the pseudonyms of every table made with the key",
                    names={"pseudonym_key": "pseudonym_key"},
                )
            if not isinstance(self.pseudonym_key, bytes) or len(self.pseudonym_key) < MIN_KEY_BYTES:
                raise BatchError.about(
                    "pseudonym_key",
                    "{pseudonym_key}: must be a secret key of at least {n} bytes (read_pseudonym_key)",
                    n=MIN_KEY_BYTES,
                )

    @property
    def decode(self) -> bool:
        """Whether the films' pixels are decoded (for figures or DICOM results, or to verify them)."""
        return self.verify_pixels or self.figures is not None or self.dicom is not None

    @property
    def personal_columns(self) -> tuple[str, ...]:
        """The columns of the patient's identifiers these options ask for (none by default)."""
        if self.patient_identifiers:
            return ("patient_id", "patient_name")
        return ("patient_pseudonym",) if self.pseudonym_key is not None else ()


# ----------------------------------------------------------------------------- columns and rows


def study_of(table: LandmarkTable, jobs: Sequence[StudyJob | None], options: BatchOptions) -> Study:
    """Measure and judge *table* (one row per job) with the batch options: the core ``measure`` uses."""
    m = measure(table, cobb_method=options.cobb_method, min_curve_deg=options.min_curve_deg)
    a = assess(
        m,
        table.age_years,
        age_set=options.age_set,
        criteria=options.criteria,
        reference_sets=options.reference_sets,
    )
    return Study(
        table, m, a, [j.landmarks if j else None for j in jobs], [j.image if j else None for j in jobs]
    )


#: The columns ``BatchOptions.dicom`` adds: what was written (``written``, or
#: ``not written: why``, with notes), and the SR and capture files (relative to the folder).
DICOM_COLUMNS = ("dicom_export", "dicom_sr", "dicom_sc")
#: The columns ``BatchOptions.detect`` adds (formats.md §3): who placed the points (``person``, or
#: ``model`` for a detection or a landmark file whose provenance names a model) and the model's
#: confidence in the film (0 to 1; empty for a person's points).
DETECT_COLUMNS = ("landmarks_source", "detect_confidence")


@cache
def batch_header(options: BatchOptions = BatchOptions()) -> tuple[str, ...]:
    """The columns of the batch table for these options (formats.md §3), in order.

    They are the same for lateral and AP studies, measured or not, so every
    row fits one header; the age-adjusted set chooses some of them, the patient
    identifiers (:attr:`BatchOptions.personal_columns`, after the film's
    identifiers) and the DICOM results (:data:`DICOM_COLUMNS`, before
    ``warnings``) others.

    Raises
    ------
    InvalidCriteriaError
        A set of *options* (``age_set``, ``criteria``, ``reference_sets``) is not a valid set.

    Examples
    --------
    >>> h = batch_header()
    >>> h[:4], "PI_deg" in h, "Cobb_max_deg" in h, h[-1]
    (('image', 'landmarks', 'status', 'error'), True, True, 'tool_version')
    """
    return tuple(_columns(_template(options), options))


def _columns(study: Study, options: BatchOptions) -> dict[str, np.ndarray]:
    """The batch table of *study* as named columns: :func:`table_columns`, and what *options* add.

    The DICOM columns are empty here: the worker that writes the files fills them.
    """
    cols = table_columns(study)
    n = len(study)
    personal = (
        [_personal_cells(study.table.film(i), options) for i in range(n)] if options.personal_columns else []
    )
    out: dict[str, np.ndarray] = {}
    for name, values in cols.items():
        if name == "warnings" and options.detect:
            out.update(_detect_columns(study))
        if name == "warnings" and options.dicom is not None:
            out.update((c, np.full(n, "", dtype=object)) for c in DICOM_COLUMNS)
        out[name] = values
        if name == IDENTIFIER_COLUMNS[-1]:
            for column in options.personal_columns:
                out[column] = np.array([cells[column] for cells in personal], dtype=object)
    return out


def _detect_columns(study: Study) -> dict[str, np.ndarray]:
    """:data:`DETECT_COLUMNS` of *study*: from each landmark set's provenance."""
    sets = study.table.sets or (None,) * len(study)
    provenance = [s.provenance if s is not None else None for s in sets]
    return {
        "landmarks_source": np.array(["model" if p else "person" for p in provenance], dtype=object),
        "detect_confidence": np.array([p.film_confidence if p else None for p in provenance], dtype=object),
    }


@cache
def _template(options: BatchOptions) -> Study:
    """A study without landmarks, judged with *options*: it has every column of the table."""
    return study_of(LandmarkTable.from_sets([LandmarkSet(View.LATERAL, {})]), [None], options)


def _cell(value: Any) -> str:
    """A table cell exactly as :func:`spinecheck.alignment.render.text.format_csv` writes it, on one line."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\r", " ").replace("\n", " ")
    if isinstance(value, float):
        return str(value + 0.0)  # + 0.0 turns -0.0 into 0.0, as format_csv writes it
    return str(value)


def plain_row(
    header: Sequence[str],
    image: str,
    landmarks: str,
    status: RowStatus,
    reason: str,
    *,
    film: FilmIdentity | None = None,
    options: BatchOptions | None = None,
) -> Row:
    """A row without numbers: an ``error`` or ``skipped`` study and why.

    *film*, when its header was read before the study failed, fills the film's
    identifiers (and the patient's, when *options* ask for them), so that a
    failed study still joins with other tables.
    """
    cells = dict.fromkeys(header, "")
    cells.update(
        image=image, landmarks=landmarks, status=status.value, error=_cell(reason), tool_version=_version()
    )
    if film is not None:
        date = film.date
        cells.update(
            sop_instance_uid=film.sop_instance_uid or "",
            study_instance_uid=film.study_instance_uid or "",
            study_date=date.date.isoformat() if date.date else "",
            study_date_source=date.source or "",
        )
        if options is not None:
            cells.update(_personal_cells(film, options))
    return tuple(cells[name] for name in header)


def _personal_cells(film: FilmIdentity, options: BatchOptions) -> dict[str, str]:
    """The patient's identifier cells *options* ask for (:attr:`BatchOptions.personal_columns`)."""
    cells = {
        "patient_id": lambda: film.patient_id or "",
        "patient_name": lambda: film.patient_name or "",
        "patient_pseudonym": lambda: pseudonym(film.patient_id, options.pseudonym_key or b""),
    }
    return {name: _cell(cells[name]()) for name in options.personal_columns}


@cache
def _version() -> str:
    return tool_version()


def rows_of(study: Study, header: Sequence[str], options: BatchOptions = BatchOptions()) -> list[Row]:
    """The rows of measured studies, in the columns of *header* (:func:`batch_header` of *options*)."""
    cols = _columns(study, options)
    if tuple(cols) != tuple(header):  # pragma: no cover - a new column must be added to the header too
        raise RuntimeError(f"batch columns changed: {sorted(set(cols) ^ set(header))}")
    values = [_column_cells(cols[name].tolist()) for name in header]
    return list(zip(*values, strict=True))


_NONE = type(None)


def _column_cells(values: list) -> list[str]:
    """``[_cell(v) for v in values]``, a column at a time where its values are of one kind (issue 17, 4).

    Texts without line ends are their cells, floats without a zero (whose sign ``_cell`` drops)
    and integers their ``str``, None an empty cell, also in a column that mixes None with one of
    those kinds (most columns of a batch: a value where the study has it); any other column is
    made cell by cell.
    """
    kinds = set(map(type, values))
    blanks = _NONE in kinds
    kinds.discard(_NONE)
    if not kinds:
        return [""] * len(values)
    if kinds == {str}:
        cells = ["" if v is None else v for v in values] if blanks else values
        text = "".join(cells)
        if "\r" not in text and "\n" not in text:
            return cells
    elif kinds == {float}:
        if 0.0 not in values:
            return ["" if v is None else str(v) for v in values] if blanks else list(map(str, values))
    elif kinds == {int}:
        return ["" if v is None else str(v) for v in values] if blanks else list(map(str, values))
    return list(map(_cell, values))


# ----------------------------------------------------------------------------- the table file


#: Seconds between two syncs of the appended lines to disk. A sync costs milliseconds (tens of them on a
#: busy disk), and a header-only chunk a few tenths of a second: one per chunk was a tenth of a
#: short run's wall time (issue 17, 4). The process's own writes survive its being killed; a
#: sync only matters to a power cut or a crash of the machine, which costs at most this much work.
SYNC_SECONDS = 5.0


class BatchTable:
    """The CSV being written: the header, then complete lines appended chunk by chunk."""

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path = path
        self.header = tuple(header)
        self.done: dict[tuple[str, str], Row] = {}
        self._fd: int | None = None
        self._synced = 0.0  # time.monotonic() of the last sync
        self._unsynced = False  # lines appended since then
        # Where each row's line lies in the file (offset, length in bytes), for finish to put the lines
        # in order without writing their text again; None once that is not known (a resumed table).
        self._spans: dict[tuple[str, str], tuple[int, int]] | None = None
        self._size = 0  # bytes in the file

    def start(self, *, resume: bool) -> int:
        """Open the table (continuing it when *resume*); return how many rows it already holds.

        A resumed table keeps its ``ok`` and ``error`` rows (:attr:`done`);
        its ``skipped`` rows, a torn last line and damaged lines go. When
        that changes the file, the kept text replaces it atomically (a kill
        meanwhile leaves the old table whole); otherwise it is only appended to.
        """
        if resume and self.path.exists():
            data, kept = self._read_existing()
            if kept != data:
                _log.debug(
                    "table '%s': rewritten with its %d done rows, without its skipped, damaged or torn lines",
                    self.path,
                    len(self.done),
                )
                write_text_atomic(self.path, kept.decode("utf-8"))
        else:
            head = _csv_text([self.header]).encode("utf-8")
            write_bytes_atomic(self.path, head)
            self._spans, self._size = {}, len(head)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._synced, self._unsynced = time.monotonic(), False  # the atomic write synced it
        return len(self.done)

    def _read_existing(self) -> tuple[bytes, bytes]:
        """The table's bytes, and the text to keep (the header and the rows of :attr:`done`)."""
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1  # anything after the last newline is a torn line
        try:
            text = data[:end].decode("utf-8")
            records = list(csv.reader(io.StringIO(text, newline="")))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BatchError.about(
                "resume",
                "{resume}: table '{path}' is not a CSV table in UTF-8 ({exc}); "
                "start again with {overwrite} or another {output}",
                names=_START_AGAIN,
                path=self.path,
                exc=str(exc),
            ) from None
        if not records:
            return data, _csv_text([self.header]).encode("utf-8")
        header = records[0]
        if tuple(header) != self.header:
            missing = [c for c in self.header if c not in header]
            extra = [c for c in header if c not in self.header]
            what = (
                f"{len(missing)} columns missing (e.g. {missing[0]})"
                if missing
                else (
                    f"{len(extra)} other columns (e.g. {extra[0]})" if extra else "columns in another order"
                )
            )
            raise BatchError.about(
                "resume",
                "{resume}: table '{path}' was not written by this batch ({what}: another spinecheck "
                "version, or another {age_set}, {criteria} or {reference_sets}, or {patient_identifiers}, "
                "{pseudonym_key}, {dicom} or {detect} given or not); resume it with the options it was started with, "
                "or start again with {overwrite} or another {output}",
                names={
                    **_START_AGAIN,
                    "age_set": "age_set",
                    "criteria": "criteria",
                    "reference_sets": "reference_sets",
                    "patient_identifiers": "patient_identifiers",
                    "pseudonym_key": "pseudonym_key",
                    "dicom": "dicom",
                    "detect": "detect",
                },
                path=self.path,
                what=what,
            )
        status = self.header.index("status")
        kept: list[Row] = []
        for cells in records[1:]:
            if len(cells) != len(self.header):
                continue  # a damaged line: its study is run again
            if cells[status] not in (RowStatus.OK.value, RowStatus.ERROR.value):
                continue  # skipped (or unknown): discovery decides it again
            row = tuple(map(restore_cell, cells))  # the text as measured, not as the CSV protects it
            kept.append(row)
            self.done[row_key(row[0], row[1])] = row
        return data, _csv_text([self.header, *kept]).encode("utf-8")

    def append(self, rows: Sequence[Row]) -> None:
        """Append complete lines in one write; put them on disk when :data:`SYNC_SECONDS` have passed."""
        if not rows:
            return
        assert self._fd is not None
        lines = [line.encode("utf-8") for line in csv_lines(rows)]  # the text of _csv_text(rows), by row
        data = memoryview(b"".join(lines))
        while data:
            n = os.write(self._fd, data)
            data = data[n:]
        self._unsynced = True
        if time.monotonic() - self._synced >= SYNC_SECONDS:
            self._sync()
        at = self._size
        for row, line in zip(rows, lines, strict=True):
            key = row_key(row[0], row[1])
            self.done[key] = row
            if self._spans is not None:
                self._spans[key] = (at, len(line))
            at += len(line)
        self._size = at

    def _sync(self) -> None:
        assert self._fd is not None
        os.fsync(self._fd)
        self._synced, self._unsynced = time.monotonic(), False

    def close(self, *, sync: bool = True) -> None:
        """Close the file; with *sync*, put the lines not yet synced on disk first."""
        if self._fd is not None:
            if sync and self._unsynced:
                self._sync()
            os.close(self._fd)
            self._fd = None

    def discard(self, keys: Sequence[tuple[str, str]]) -> None:
        """Take the rows of *keys* out of the table (rewritten atomically), to be decided again."""
        keys = [k for k in keys if k in self.done]
        if not keys:
            return
        for k in keys:
            del self.done[k]
        self.close(sync=False)  # replaced just below, synced
        write_text_atomic(self.path, _csv_text([self.header, *self.done.values()]))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self._synced, self._unsynced = time.monotonic(), False
        self._spans = None

    def finish(self) -> list[Row]:
        """Rewrite the table sorted, atomically; return its rows.

        The lines this run appended are put in order as they were written (the bytes
        :func:`_csv_text` gives for each row), not made again from the rows: the file is
        read back and checked to hold exactly the header and those lines.
        """
        self.close(sync=False)  # replaced just below, synced
        rows = sorted(self.done.values(), key=_order)
        data = self._in_order(rows)
        write_bytes_atomic(
            self.path, data if data is not None else _csv_text([self.header, *rows]).encode("utf-8")
        )
        return rows

    def _in_order(self, rows: Sequence[Row]) -> bytes | None:
        """The file's lines in the order of *rows*, after its header; None where the spans do not tell."""
        spans = self._spans
        if spans is None or len(spans) != len(rows):
            return None
        data = self.path.read_bytes()
        head = len(data) - sum(n for _, n in spans.values())
        if len(data) != self._size or head < 0 or data[:head] != _csv_text([self.header]).encode("utf-8"):
            return None  # a line written twice, or the file changed under the table: make the text again
        view = memoryview(data)
        parts = [view[:head]]
        for row in rows:
            span = spans.get(row_key(row[0], row[1]))
            if span is None:
                return None
            parts.append(view[span[0] : span[0] + span[1]])
        return b"".join(parts)


def _order(row: Row) -> tuple[bool, str, str]:
    return (row[0] == "", row[0], row[1])


def _csv_text(rows: Sequence[Sequence[str]]) -> str:
    # rows hold the text as measured; the file holds it neutralised for spreadsheets (the
    # Parquet copy keeps it as it is), and a resumed table is read back with restore_cell
    return csv_text(rows)


def study_numeric_columns(study: Study) -> frozenset[str]:
    """The columns of *study*'s batch table that hold numbers; the others are text.

    Decided from the registries, never from the data of a run: every
    parameter's value columns (:data:`spinecheck.alignment.parameters.PARAMETERS`), each
    curve region's angle (:data:`~spinecheck.alignment.geometry.regions.REGIONS`), the
    pixel spacing and the age, and of each criterion the arrays that hold
    numbers by its definition (:meth:`CriterionColumn.number_columns
    <spinecheck.alignment.criteria.assessment.CriterionColumn.number_columns>`: target, offset
    and judged value; a score component's value and points). The criteria are
    those *study* was judged with.
    """
    from ..parameters import PARAMETERS

    out = {"mm_per_px_row", "mm_per_px_col", "age_years"}
    for pid, p in PARAMETERS.items():
        out.update((f"{pid}_mm", f"{pid}_px") if p.is_length else (f"{pid}_{p.unit.value}",))
    out.update(f"{r.region.prefix}_angle_deg" for r in REGIONS)  # each region's Cobb angle
    for c in study.assessment.columns:
        out.update(c.number_columns())
    return frozenset(out)


@cache
def numeric_columns(options: BatchOptions = BatchOptions()) -> frozenset[str]:
    """Columns that hold numbers (float64 in Parquet); the others are text.

    :func:`study_numeric_columns` of the header's template study, judged with
    the criteria of *options* (:func:`batch_header`), so no film is made up for this.

    Examples
    --------
    >>> cols = numeric_columns()
    >>> "PI_deg" in cols, "gap_total" in cols, "srs_schwab_pi_ll" in cols, "warnings" in cols
    (True, True, False, False)
    """
    out = study_numeric_columns(_template(options))
    if options.detect:
        out |= {"detect_confidence"}
    header = set(batch_header(options))
    if not out <= header:  # pragma: no cover - a renamed column must be renamed here too
        raise RuntimeError(f"numeric columns not in the batch header: {sorted(out - header)}")
    return out


def prepare_parquet(options: BatchOptions = BatchOptions()) -> None:
    """Make ahead what :func:`write_parquet` needs, for a process that waits for its workers.

    pyarrow's Parquet writer (some 40 ms to import), and the numeric columns of *options*
    (some 25 ms; :func:`numeric_columns` keeps them): made while the workers start, not after
    the last chunk.
    """
    import pyarrow.parquet  # noqa: F401

    numeric_columns(options)


def write_parquet(path: Path, header: Sequence[str], rows: Sequence[Row], options: BatchOptions) -> None:
    """Write the table as Parquet (numbers float64, text string).

    Parameters
    ----------
    path : Path
        The ``.parquet`` file, replaced atomically.
    header : sequence of str
    rows : sequence of Row
    options : BatchOptions
        Choose the numeric columns (:func:`numeric_columns`).
    """
    import pyarrow as pa  # a dependency; loaded here, where it is needed
    import pyarrow.parquet as pq

    numeric = numeric_columns(options)
    columns = zip(*rows, strict=True) if rows else ((),) * len(header)
    arrays = [_arrow_column(cells, name in numeric) for cells, name in zip(columns, header, strict=True)]
    table = pa.Table.from_arrays(arrays, names=list(header))
    write_atomic(path, lambda f: pq.write_table(table, f))


def _arrow_column(cells: Sequence[str], number: bool) -> Any:
    """One column of the Parquet copy: float64 or string, an empty cell null.

    Built from its buffers: ``pyarrow.array`` on Python values imports pandas (0.5 s of a
    batch of a few seconds) to ask whether they are a DataFrame.
    """
    import pyarrow as pa

    n = len(cells)
    present = np.fromiter(map(bool, cells), dtype=bool, count=n)
    nulls = pa.py_buffer(np.packbits(present, bitorder="little"))
    missing = n - int(np.count_nonzero(present))
    if number:  # the loops over a column's cells in C where no cell is empty (map, the join below)
        floats = list(map(float, cells)) if not missing else [float(c) if c else 0.0 for c in cells]
        values = np.array(floats, dtype=np.float64)
        return pa.Array.from_buffers(pa.float64(), n, [nulls, pa.py_buffer(values)], null_count=missing)
    text = "".join(cells)
    data = text.encode("utf-8")  # the cells' encodings one after the other
    # a cell's bytes are as many as its characters where all of them are ASCII
    lengths = list(map(len, cells)) if len(data) == len(text) else [len(c.encode("utf-8")) for c in cells]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] >= 2**31:  # beyond 32-bit offsets: pyarrow chunks it
        return pa.array([c if c else None for c in cells], type=pa.string())
    buffers = [nulls, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), n, buffers, null_count=missing)
