"""``spinecheck batch --dicom DIR``: each ``ok`` DICOM study's results as DICOM objects, written by its worker.

For every study measured ``ok`` on a DICOM film, the worker that measured it
writes what ``spinecheck export`` writes (:func:`spinecheck.alignment.export.export_dicom`:
a TID 1500 Structured Report and the annotated figure as a Secondary Capture,
both in the film's study), and records in the study's row what it did
(:data:`~spinecheck.alignment.batch.table.DICOM_COLUMNS`).

Decisions where the issue was silent:

- **Names.** The folder mirrors the archive: the film ``ROOT/a/b/x.dcm`` gives
  ``DIR/a/b/x.dcm-sr.dcm`` and ``DIR/a/b/x.dcm-sc.dcm``, the film's whole file name
  and ``spinecheck export``'s suffixes. Image paths are unique in an archive, so
  two films never share an output (``x.dcm`` and ``x.dicom`` in one folder would,
  were the suffix dropped); and the results are found beside where the film is.
- **Rows.** ``dicom_export`` is ``written`` (with ``; note: …`` for what the export
  noticed, e.g. a film's own invalid values copied as they are, the value itself not
  shown: it may be a birth date or a name) or ``not written:
  why``; ``dicom_sr`` and ``dicom_sc`` are the files, relative to DIR, POSIX. A
  picture film (PNG, JPEG, TIFF) is ``not written``: it has no study to put the
  results in. An export that fails never costs the row its numbers. ``error`` and
  ``skipped`` rows write nothing and leave the columns empty (their ``error`` says why).
- **Resume.** A study's files are written (each atomically) before its row
  reaches the table, and replaced when the study is run again; so a resumed
  batch, which runs again exactly the studies without a row, neither duplicates
  nor loses a file. A study already in the table keeps its files untouched.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from ...landmarks.points.model import LandmarkTable
from .archive import StudyJob
from .table import BatchOptions, study_of

__all__ = ["dicom_paths", "write_dicom_results"]

#: The value an export note quotes ("the film's Patient's Birth Date '19500230' is not a valid
#: date"): a batch table never shows it, since it may be personal data (a birth date never appears
#: in a table, issue 13).
_VALUE = re.compile(r"^(the film's .+?) (['\"]).*?\2 (is not a valid)", re.DOTALL)
_NOT_SHOWN = r"\1 (value not shown) \3"


def dicom_paths(image: str, folder: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The SR and the capture a batch writes for the film *image* (its path relative to the root).

    >>> [p.as_posix() for p in dicom_paths("a/b/x.dcm", "out")]
    ['out/a/b/x.dcm-sr.dcm', 'out/a/b/x.dcm-sc.dcm']
    """
    rel = Path(image)
    base = Path(folder, *rel.parts[:-1])
    return base / f"{rel.name}-sr.dcm", base / f"{rel.name}-sc.dcm"


def write_dicom_results(
    job: StudyJob, table: LandmarkTable, radiograph: Any, options: BatchOptions
) -> dict[str, str]:
    """Write one study's DICOM results; its row's DICOM cells (empty when the study failed).

    Parameters
    ----------
    job : StudyJob
    table : LandmarkTable
        The study's landmarks merged with its film (one row).
    radiograph : Radiograph
        The decoded film.
    options : BatchOptions
        With ``dicom`` set (the absolute output folder).

    Returns
    -------
    dict of str to str
        ``dicom_export`` and, when written, ``dicom_sr`` and ``dicom_sc``.
    """
    from ...landmarks.imaging.header import ImageFormat

    assert options.dicom is not None
    if radiograph.format is not ImageFormat.DICOM:
        return {
            "dicom_export": f"not written: a {radiograph.format.value} film has no DICOM study to put "
            "the results in"
        }
    study = study_of(table, [job], options)
    if study.status(0)[0] != "ok":
        return {}  # an error row: its error column says why
    # the export reads the landmark file's provenance and checks the film: it needs the real paths
    study = dataclasses.replace(study, landmark_sources=[job.landmarks_path], image_sources=[job.image_path])
    sr, _ = dicom_paths(job.image, options.dicom)
    try:
        from ..export.dicom import export_dicom

        sr.parent.mkdir(parents=True, exist_ok=True)
        out = export_dicom(radiograph, study, sr.parent, overwrite=True, name=Path(job.image).name)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - an export that fails never loses the study's numbers
        return {"dicom_export": f"not written: {' '.join(str(exc).split()) or type(exc).__name__}"}
    notes = "".join(f"; note: {_VALUE.sub(_NOT_SHOWN, n)}" for n in out.notes)
    return {
        "dicom_export": f"written{notes}",
        "dicom_sr": out.structured_report.relative_to(options.dicom).as_posix(),
        "dicom_sc": out.secondary_capture.relative_to(options.dicom).as_posix(),
    }
