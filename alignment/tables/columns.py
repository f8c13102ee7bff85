"""What each column of a batch table holds: numbers, flags, ordered grades, levels, dates or text.

The kinds are decided from the registries and the criterion data, never from the
values of one table, so that a column has the same dtype in every table and in a
study's own frame:

- **numbers** (float64, NaN where empty): the columns
  :func:`~spinecheck.alignment.batch.table.study_numeric_columns` names, the ones the
  Parquet copy stores as float64 (every parameter's ``<id>_<unit>``, lengths also in
  ``_px``, the regions' Cobb angles, ``mm_per_px_row``/``_col``, ``age_years``, the
  criteria's targets, offsets, totals, components and points);
- **flags** (a criterion that flags, a target's ``_flag``): ``true``/``false``, empty
  where the criterion was not applied;
- **categories**: a grade's or a category's results in the order of its bands in the
  criterion set (SRS-Schwab ``"0" < "+" < "++"``, TPA ``"<10" < ... < ">30"``, GAP,
  Roussouly), ordered; the curve types (T, L, D, N, boundary), not ordered; and the
  closed vocabularies of the table (``status``, ``view``, ``sex``, the calibration's
  source and plane, ``cobb_method``);
- **levels** (a curve's end vertebrae and apex, the UIV and the LIV): categories in the
  order of the spine, C2 to S1 with T13 and L6 in their places, so that ``apex > "T12"``
  means "below T12";
- **dates** (``operation_date``, ``study_date``, and a series table's ``date``);
- **text**: everything else (paths, identifiers, reasons, notes, warnings).
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from ...landmarks.points.calibration import CalibrationPlane, CalibrationSource
from ...landmarks.points.model import LandmarkSet, LandmarkTable, Sex
from ...landmarks.points.names import LEVELS, View, VocabularyEnum
from ..batch.archive import RowStatus
from ..batch.table import BatchOptions, study_numeric_columns, study_of
from ..criteria.assessment import ResultKind
from ..criteria.catalogue import DEFAULT_AGE_SET
from ..criteria.engine import DEFAULT_CRITERIA
from ..criteria.targets import available_age_sets, available_target_sets
from ..geometry.coronal import CobbMethod
from ..geometry.regions import REGIONS
from ..render.text import table_columns
from ..study import Study

__all__ = [
    "BATCH_COLUMNS",
    "ColumnKind",
    "ColumnType",
    "SERIES_COLUMNS",
    "batch_column_types",
    "column_types",
]


class ColumnKind(VocabularyEnum):
    """What a column of a batch table holds (and its pandas dtype)."""

    NUMBER = "number"  # float64, NaN where empty
    FLAG = "flag"  # pandas' nullable "boolean", <NA> where not applied
    CATEGORY = "category"  # a CategoricalDtype of the categories, ordered or not
    DATE = "date"  # datetime64, NaT where empty
    TEXT = "text"  # pandas' "string", <NA> where empty


class ColumnType(NamedTuple):
    """A column's kind, and for a category its categories in order.

    Attributes
    ----------
    kind : ColumnKind
    categories : tuple of str
        Every value a category column may hold (empty for other kinds).
    ordered : bool
        Whether *categories* are in an order that means something (grades,
        levels), so that ``<`` and ``max`` compare them.
    """

    kind: ColumnKind
    categories: tuple[str, ...] = ()
    ordered: bool = False


NUMBER = ColumnType(ColumnKind.NUMBER)
FLAG = ColumnType(ColumnKind.FLAG)
DATE = ColumnType(ColumnKind.DATE)
TEXT = ColumnType(ColumnKind.TEXT)
LEVEL = ColumnType(ColumnKind.CATEGORY, LEVELS, ordered=True)


def _vocabulary(enum: type[VocabularyEnum]) -> ColumnType:
    return ColumnType(ColumnKind.CATEGORY, tuple(v.value for v in enum))


#: The columns of the batch table that are not parameters or criteria, with their types (formats.md §3).
BATCH_COLUMNS: dict[str, ColumnType] = {
    "image": TEXT,
    "landmarks": TEXT,
    "status": _vocabulary(RowStatus),
    "error": TEXT,
    "calibration_source": _vocabulary(CalibrationSource),
    "calibration_plane": _vocabulary(CalibrationPlane),
    "sex": _vocabulary(Sex),
    "uiv": LEVEL,
    "liv": LEVEL,
    "operation_date": DATE,
    "study_date": DATE,
    "view": _vocabulary(View),
    "cobb_method": _vocabulary(CobbMethod),
    **{f"{r.region.prefix}_{end}": LEVEL for r in REGIONS for end in ("upper_end", "lower_end", "apex")},
}

#: The columns a follow-up series table (``spinecheck compare --table``) adds before the batch columns.
SERIES_COLUMNS: dict[str, ColumnType] = {
    "film": NUMBER,
    "date": DATE,
    "date_source": TEXT,
    "days_from_first": NUMBER,
}


def column_types(study: Study) -> dict[str, ColumnType]:
    """The type of every column of *study*'s batch table, in the table's order.

    Parameters
    ----------
    study : Study
        Measured and judged studies; their criteria (shipped sets or files)
        decide the criterion columns.

    Returns
    -------
    dict of str to ColumnType
        Keyed by the columns of :func:`~spinecheck.alignment.render.text.table_columns`.

    Examples
    --------
    >>> from spinecheck.alignment.batch.table import BatchOptions, study_of
    >>> from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
    >>> study = study_of(LandmarkTable.from_sets([LandmarkSet("lateral", {})]), [None], BatchOptions())
    >>> types = column_types(study)
    >>> types["SVA_mm"].kind.value, types["sagittal_balance_sva"].kind.value
    ('number', 'flag')
    >>> types["srs_schwab_pi_ll"].categories, types["srs_schwab_pi_ll"].ordered
    (('0', '+', '++'), True)
    >>> types["mt_apex"].categories[:3], types["image"].kind.value
    (('C2', 'C3', 'C4'), 'text')
    """
    numbers = study_numeric_columns(study)
    criteria: dict[str, ColumnType] = {}
    for c in study.assessment.columns:
        if c.result_kind is ResultKind.FLAG:
            criteria[c.result_column] = FLAG
        else:
            criteria[c.result_column] = ColumnType(ColumnKind.CATEGORY, c.categories, c.ordered)
    out = {}
    for name in table_columns(study):
        if name in numbers:
            out[name] = NUMBER
        else:
            out[name] = criteria.get(name) or BATCH_COLUMNS.get(name, TEXT)
    return out


@cache
def batch_column_types() -> dict[str, ColumnType]:
    """The type of every column a batch table made with the shipped sets may have.

    The union over every shipped criterion set, every age-adjusted set and every
    reference set (a table holds the columns of the sets it was made with), and
    the columns a series table adds (:data:`SERIES_COLUMNS`). A column a set
    read from a file adds is not among them: a reader keeps it as text.

    Examples
    --------
    >>> types = batch_column_types()
    >>> types["tpa_category"].categories
    ('<10', '10-20', '21-30', '>30')
    >>> types["gap"].categories[0], types["srs_schwab_curve_type"].ordered
    ('proportioned', False)
    >>> types["hasegawa2016_ll_flag"].kind.value, types["days_from_first"].kind.value
    ('flag', 'number')
    """
    out: dict[str, ColumnType] = dict(SERIES_COLUMNS)
    criteria = tuple(dict.fromkeys((*DEFAULT_CRITERIA, *_shipped("criteria"))))
    ages = (DEFAULT_AGE_SET, *(s for s in available_age_sets() if s != DEFAULT_AGE_SET))
    for age_set in ages:
        references = tuple(s for s in available_target_sets() if s != age_set)
        options = BatchOptions(age_set=age_set, criteria=criteria, reference_sets=references)
        out.update(column_types(_template(options)))
    return out


def _shipped(kind: str) -> list[str]:
    from ..criteria.catalogue import shipped_sets

    return [s.name for s in shipped_sets() if s.info.kind == kind]


def _template(options: BatchOptions) -> Study:
    """A study without landmarks judged with *options*: it has every column those options make."""
    return study_of(LandmarkTable.from_sets([LandmarkSet(View.LATERAL, {})]), [None], options)
