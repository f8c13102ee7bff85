"""Whole archives: discovery and pairing, the parallel resumable runner and the batch table."""

from .archive import (
    DICOM_SUFFIXES,
    IMAGE_SUFFIXES,
    Archive,
    RowStatus,
    StudyJob,
    Unmeasured,
    candidate_names,
    discover,
    row_key,
)
from .runner import (
    BatchSummary,
    measure_chunk,
    reason_kind,
    run_batch,
    worker_modules,
)
from .table import (
    BatchError,
    BatchOptions,
    BatchTable,
    Row,
    batch_header,
    numeric_columns,
    plain_row,
    rows_of,
    study_of,
    write_parquet,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "DICOM_SUFFIXES",
    "RowStatus",
    "StudyJob",
    "Unmeasured",
    "Archive",
    "discover",
    "row_key",
    "candidate_names",
    "BatchError",
    "BatchOptions",
    "BatchTable",
    "Row",
    "batch_header",
    "numeric_columns",
    "plain_row",
    "rows_of",
    "study_of",
    "write_parquet",
    "BatchSummary",
    "measure_chunk",
    "reason_kind",
    "run_batch",
    "worker_modules",
]
