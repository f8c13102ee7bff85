"""Results as pandas DataFrames: measured studies, and a batch table read back, with proper dtypes.

Two front doors, one set of dtypes (:mod:`~spinecheck.alignment.tables.columns`):

- :func:`to_dataframe` turns measured :class:`~spinecheck.alignment.study.Study` objects into
  one row per study with the columns and meanings of the batch table
  (:func:`~spinecheck.alignment.render.text.table_columns`, formats.md §3);
- :func:`read_batch_table` reads a batch table back (``spinecheck batch``'s CSV or its
  Parquet copy, ``measure --format csv``, ``compare --table``).

Numbers are float64 (NaN where empty), flags pandas' nullable ``boolean`` (``<NA>``
where the criterion was not applied), grades and categories a
:class:`pandas.CategoricalDtype` with the categories of the criterion set in their
order, levels a categorical in the order of the spine, dates ``datetime64[ns]``, and text
pandas' ``string`` (``<NA>`` where empty). A cell that does not fit its column's type
is one error naming the file, the column, the row and the cell, never a silent NaN.

pandas is an optional extra (``pip install 'spinecheck[pandas]'``), imported only
when a frame is made.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...landmarks.errors import SpinecheckError
from ...landmarks.io.csv_cells import restore_cell
from ..render.text import table_columns
from ..study import Study
from .columns import ColumnKind, ColumnType, batch_column_types, column_types

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PANDAS_HINT",
    "MissingPandasError",
    "TableFileError",
    "age_groups",
    "read_batch_table",
    "require_pandas",
    "to_dataframe",
]

PANDAS_HINT = "pip install 'spinecheck[pandas]'"

#: The columns every spinecheck batch table begins with (formats.md §3).
_REQUIRED = ("image", "landmarks", "status", "error")
_FLAGS = {"true": True, "false": False}


class MissingPandasError(SpinecheckError, ImportError):
    """A DataFrame was asked for and pandas is not installed."""


class TableFileError(SpinecheckError, ValueError):
    """A file given as a batch table is not one, or a cell does not fit its column."""


def require_pandas(what: str = "to_dataframe"):
    """Import pandas, or refuse in one line naming the extra to install.

    Returns
    -------
    module
        :mod:`pandas`.

    Raises
    ------
    MissingPandasError
    """
    if importlib.util.find_spec("pandas") is None:
        raise MissingPandasError(f"{what} needs pandas, which is not installed: {PANDAS_HINT}")
    import pandas

    return pandas


def to_dataframe(studies: Study | Sequence[Study]) -> pd.DataFrame:
    """Measured studies as a DataFrame: one row per study, the batch table's columns and dtypes.

    Parameters
    ----------
    studies : Study or sequence of Study
        From :func:`~spinecheck.alignment.study.load_study` (a wide CSV gives
        one Study of N studies). Several Study objects give one frame, with
        the union of their columns (as ``format_csv`` writes them); a column a
        study does not have is empty in its rows.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`~spinecheck.alignment.render.text.table_columns`
        (formats.md §3) with the dtypes of the module notes; a row per study in
        the order given, a default index.

    Raises
    ------
    MissingPandasError
        pandas is not installed (one line naming the extra).

    Examples
    --------
    >>> from spinecheck.alignment.batch.table import BatchOptions, study_of
    >>> from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
    >>> study = study_of(LandmarkTable.from_sets([LandmarkSet("lateral", {})]), [None], BatchOptions())
    >>> df = to_dataframe(study)
    >>> df.shape[0], str(df["SVA_mm"].dtype), str(df["srs_schwab_pi_ll"].dtype)
    (1, 'float64', 'category')
    >>> list(df["srs_schwab_pi_ll"].cat.categories), df["srs_schwab_pi_ll"].cat.ordered
    (['0', '+', '++'], True)
    """
    pd = require_pandas()
    group = [studies] if isinstance(studies, Study) else list(studies)
    cells: dict[str, list[Any]] = {}
    types: dict[str, ColumnType] = {}
    count = 0
    for study in group:
        columns = table_columns(study)
        n = len(study)
        for name, ctype in column_types(study).items():
            types.setdefault(name, ctype)
            cells.setdefault(name, [None] * count).extend(columns[name].tolist())
        count += n
        for values in cells.values():  # a column an earlier study had and this one has not
            values.extend([None] * (count - len(values)))
    where = "to_dataframe"
    return pd.DataFrame(
        {name: _series(pd, values, types[name], where, name) for name, values in cells.items()},
        index=pd.RangeIndex(count),
    )


def read_batch_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    r"""Read a batch table (CSV or its Parquet copy) into a DataFrame with proper dtypes.

    Parameters
    ----------
    path : str or Path
        ``TABLE.csv`` from ``spinecheck batch`` (or its ``TABLE.parquet``; a
        ``.parquet`` name reads Parquet), the output of ``spinecheck measure
        --format csv``, or a series table (``spinecheck compare --table``).

    Returns
    -------
    pandas.DataFrame
        The file's columns in its order, with the dtypes of the module notes.
        The types come from the shipped criterion sets and the table's
        registries, never from the cells; a column none of them knows (a set
        read from a file, a later spinecheck's addition) is text.

    Raises
    ------
    MissingPandasError
        pandas is not installed.
    TableFileError
        The file cannot be read, is not a spinecheck batch table (it lacks
        ``image``, ``landmarks``, ``status`` or ``error``), or a cell does not
        fit its column (a number column holding text, a grade that is no
        grade of its set): one line naming the file and the field.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from spinecheck.alignment.batch.table import batch_header
    >>> header = batch_header()
    >>> row = dict.fromkeys(header, "")
    >>> row.update(image="a.dcm", landmarks="a.json", status="ok", SVA_mm="62.5", srs_schwab_sva="+")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "t.csv")
    ...     _ = p.write_text(",".join(header) + "\n" + ",".join(row[h] for h in header) + "\n")
    ...     df = read_batch_table(p)
    >>> float(df.loc[0, "SVA_mm"]), df.loc[0, "srs_schwab_sva"], str(df["status"].dtype)
    (62.5, '+', 'category')
    >>> df["srs_schwab_sva"].cat.categories.tolist()
    ['0', '+', '++']
    """
    pd = require_pandas("read_batch_table")
    path = Path(path)
    where = f"batch table '{path}'"
    raw = _read_parquet(pd, path, where) if path.suffix.lower() == ".parquet" else _read_csv(pd, path, where)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise TableFileError(
            f"{where}: not a spinecheck batch table (no column {missing[0]!r}; a batch table begins "
            f"with the columns {', '.join(_REQUIRED)})"
        )
    known = batch_column_types()
    text = ColumnType(ColumnKind.TEXT)
    return pd.DataFrame(
        {
            name: _series(pd, _cells(raw[name]), known.get(str(name), text), where, str(name))
            for name in raw.columns
        },
        index=pd.RangeIndex(len(raw)),
    )


def _read_csv(pd, path: Path, where: str):
    try:
        # every cell as the text written: the types are decided below, from the registries
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
        # the text as measured, not as the CSV protects it from spreadsheets (csv_cells; Parquet holds it as is)
        return raw.map(restore_cell)
    except FileNotFoundError:
        raise TableFileError(f"{where}: no such file") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        reason = "empty" if isinstance(e, pd.errors.EmptyDataError) else f"not a CSV table in UTF-8 ({e})"
        raise TableFileError(f"{where}: {_one_line(reason)}") from None
    except OSError as e:
        raise TableFileError(f"{where}: cannot be read ({e.strerror or e})") from None


def _read_parquet(pd, path: Path, where: str):
    import pyarrow as pa  # a dependency of spinecheck: the batch writes its Parquet copy with it
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise TableFileError(f"{where}: no such file") from None
    except (pa.ArrowException, OSError) as e:
        raise TableFileError(f"{where}: not a Parquet file ({_one_line(str(e))})") from None
    # each column as plain Python values (None where empty): the types are decided below
    return pd.DataFrame({name: table.column(name).to_pylist() for name in table.column_names}, dtype=object)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _cells(column) -> list[Any]:
    """A read column's cells as Python values, None where empty ("" in a CSV, null in Parquet)."""
    out: list[Any] = []
    for v in column.tolist():
        if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        else:
            out.append(v)
    return out


def _series(pd, values: Sequence[Any], ctype: ColumnType, where: str, name: str):
    """One column's cells (None where empty) as the pandas array of its type; a misfit is one line."""
    empty = [v is None or v == "" for v in values]
    kind = ctype.kind
    if kind is ColumnKind.NUMBER:
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            if not empty[i]:
                out[i] = _number(v, where, name, i)
        return out
    if kind is ColumnKind.FLAG:
        flags = [None if empty[i] else _flag(v, where, name, i) for i, v in enumerate(values)]
        return pd.array(flags, dtype="boolean")
    if kind is ColumnKind.CATEGORY:
        cells = [None if empty[i] else str(v) for i, v in enumerate(values)]
        allowed = set(ctype.categories)
        for i, v in enumerate(cells):
            if v is not None and v not in allowed:
                raise _misfit(where, name, i, v, "one of " + ", ".join(repr(c) for c in ctype.categories))
        dtype = pd.CategoricalDtype(list(ctype.categories), ordered=ctype.ordered)
        return pd.Categorical(cells, dtype=dtype)
    if kind is ColumnKind.DATE:
        texts = [None if empty[i] else str(v) for i, v in enumerate(values)]
        dates = pd.to_datetime(pd.Series(texts, dtype=object), format="%Y-%m-%d", errors="coerce")
        for i, v in enumerate(texts):
            if v is not None and pd.isna(dates.iloc[i]):
                raise _misfit(where, name, i, v, "a date YYYY-MM-DD")
        return dates.astype("datetime64[ns]").to_numpy()  # one unit, whatever the cells (or none)
    return pd.array([None if empty[i] else str(v) for i, v in enumerate(values)], dtype="string")


def _number(v: Any, where: str, name: str, i: int) -> float:
    if isinstance(v, bool):
        raise _misfit(where, name, i, v, "a number")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise _misfit(where, name, i, v, "a number") from None


def _flag(v: Any, where: str, name: str, i: int) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    try:
        return _FLAGS[str(v)]
    except KeyError:
        raise _misfit(where, name, i, v, "true, false or empty (not applied)") from None


def _misfit(where: str, name: str, i: int, value: Any, expected: str) -> TableFileError:
    # row numbers as a person counts them in the file: 1 is the first row after the header
    return TableFileError(f"{where}: column {name!r}, row {i + 1} must be {expected}; got {value!r}")


def age_groups(ages: Any, edges: Sequence[float]) -> pd.Series:
    """Ages in years grouped at *edges*: an ordered categorical for ``groupby`` and plots.

    Parameters
    ----------
    ages : array-like of float, shape (N,)
        Years, NaN (or ``<NA>``) where unknown; a Series keeps its index.
    edges : sequence of float
        Increasing ages at which a group begins, e.g. ``(45, 65)`` for
        ``< 45``, ``45 to < 65``, ``≥ 65``. There is no default: a grouping
        is the study's choice, not a clinical threshold.

    Returns
    -------
    pandas.Series
        Ordered categorical; ``<NA>`` where the age is unknown. An age equal
        to an edge belongs to the group that edge begins.

    Raises
    ------
    InvalidArgumentError
        *edges* is empty, not increasing, or not finite.

    Examples
    --------
    >>> age_groups([30, 45, 64.9, 65, float("nan")], (45, 65)).tolist()
    ['< 45', '45 to < 65', '45 to < 65', '≥ 65', nan]
    """
    from ...landmarks.errors import InvalidArgumentError

    pd = require_pandas("age_groups")
    e = [float(x) for x in edges]
    if (
        not e
        or not all(math.isfinite(x) for x in e)
        or any(b <= a for a, b in zip(e[:-1], e[1:], strict=True))
    ):
        raise InvalidArgumentError.about(
            "edges", "{edges}: must be increasing finite ages in years; got {got!r}", got=tuple(edges)
        )
    labels = (
        [f"< {e[0]:g}"] + [f"{a:g} to < {b:g}" for a, b in zip(e[:-1], e[1:], strict=True)] + [f"≥ {e[-1]:g}"]
    )
    index = ages.index if isinstance(ages, pd.Series) else None
    years = pd.to_numeric(pd.Series(ages, index=index)).to_numpy(dtype=float, na_value=np.nan)
    codes = np.searchsorted(np.asarray(e), years, side="right")
    codes = np.where(np.isfinite(years), codes, -1)
    dtype = pd.CategoricalDtype(labels, ordered=True)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=index, name="age_group")
