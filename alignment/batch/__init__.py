"""Whole archives: discovery and pairing, the parallel resumable runner and the batch table."""

from typing import TYPE_CHECKING

import lazy_loader

# Each part loads on first use: the command starts the workers' fork server from `workers` before
# it imports the engine, so that the server imports beside it (issue 17, 4).
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "archive": [
            "DICOM_SUFFIXES",
            "IMAGE_SUFFIXES",
            "Archive",
            "RowStatus",
            "StudyJob",
            "Unmeasured",
            "candidate_names",
            "discover",
            "row_key",
        ],
        "dicom_results": [
            "dicom_paths",
            "write_dicom_results",
        ],
        "personal": [
            "MIN_KEY_BYTES",
            "PSEUDONYM_KEY_ENV",
            "PseudonymKeyError",
            "pseudonym",
            "read_pseudonym_key",
        ],
        "runner": [
            "BatchInterrupted",
            "BatchSummary",
            "measure_chunk",
            "reason_kind",
            "run_batch",
        ],
        "table": [
            "DETECT_COLUMNS",
            "DICOM_COLUMNS",
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
        ],
        "workers": [
            "start_fork_server",
            "worker_modules",
        ],
    },
)

if TYPE_CHECKING:
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
    from .dicom_results import (
        dicom_paths,
        write_dicom_results,
    )
    from .personal import (
        MIN_KEY_BYTES,
        PSEUDONYM_KEY_ENV,
        PseudonymKeyError,
        pseudonym,
        read_pseudonym_key,
    )
    from .runner import (
        BatchInterrupted,
        BatchSummary,
        measure_chunk,
        reason_kind,
        run_batch,
    )
    from .table import (
        DETECT_COLUMNS,
        DICOM_COLUMNS,
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
    from .workers import (
        start_fork_server,
        worker_modules,
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
    "BatchInterrupted",
    "BatchSummary",
    "measure_chunk",
    "reason_kind",
    "run_batch",
    "worker_modules",
    "start_fork_server",
    "DICOM_COLUMNS",
    "DETECT_COLUMNS",
    "dicom_paths",
    "write_dicom_results",
    "PSEUDONYM_KEY_ENV",
    "MIN_KEY_BYTES",
    "PseudonymKeyError",
    "pseudonym",
    "read_pseudonym_key",
]
