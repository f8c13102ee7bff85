"""Results as pandas DataFrames: measured studies and batch tables, with their dtypes from the registries."""

from .columns import BATCH_COLUMNS, SERIES_COLUMNS, ColumnKind, ColumnType, batch_column_types, column_types
from .frame import (
    PANDAS_HINT,
    MissingPandasError,
    TableFileError,
    age_groups,
    read_batch_table,
    require_pandas,
    to_dataframe,
)

__all__ = [
    "BATCH_COLUMNS",
    "SERIES_COLUMNS",
    "ColumnKind",
    "ColumnType",
    "batch_column_types",
    "column_types",
    "PANDAS_HINT",
    "MissingPandasError",
    "TableFileError",
    "age_groups",
    "read_batch_table",
    "require_pandas",
    "to_dataframe",
]
