"""The round trip: fetch a film from the archive, measure it, write the DICOM results and send them back.

What "nothing is half-stored" means here. An archive stores instance by instance (DICOMweb's
STOW-RS and DIMSE's C-STORE alike): there is no transaction over two instances that a client could
roll back, and no standard way to delete one (DICOMweb's DELETE is optional, DIMSE has none). So
spinecheck guarantees what can be guaranteed: each instance is checked complete before anything is
sent (one bad file sends none); each instance is stored whole or refused by the archive, which
says so per instance; and a store that stored some but not all says, in one line, which instance
failed and which were stored, with a non-zero exit. Sending the same results again is safe: they
keep their UIDs, and an archive files a resent instance in place of the first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .instances import Found, StoreReport, StudyQuery, check_uid
from .server import PacsServer
from .server import Protocol as Transport

__all__ = ["Archive", "client_for", "MeasuredFilm", "measure_from_archive"]


class Archive(Protocol):
    """What spinecheck does with an archive, by DICOMweb or DIMSE alike."""

    server: PacsServer

    def find(self, query: StudyQuery) -> list[Found]: ...

    def fetch(
        self, folder: Path, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[Path]: ...

    def store(self, paths: list[Any]) -> StoreReport: ...


def client_for(server: PacsServer) -> Archive:
    """The DICOMweb or DIMSE client of *server*."""
    if server.protocol is Transport.DICOMWEB:
        from .dicomweb import DicomWebClient

        return DicomWebClient(server)
    from .dimse import DimseClient

    return DimseClient(server)


@dataclass(frozen=True)
class MeasuredFilm:
    """What :func:`measure_from_archive` did.

    Attributes
    ----------
    film : Path
        The film as fetched, ``<SOP Instance UID>.dcm``.
    study : Study
        Its measurement and verdicts.
    export : DicomExport
        The SR and Secondary Capture written beside it.
    stored : StoreReport or None
        What the archive said of each, when they were sent.
    """

    film: Path
    study: Any
    export: Any
    stored: StoreReport | None


def measure_from_archive(
    archive: Archive,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    landmarks: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    store: bool = False,
    overwrite: bool = False,
    **study_options: Any,
) -> MeasuredFilm:
    """Fetch one film, measure it with *landmarks*, export the SR and capture, and store them if asked.

    Parameters
    ----------
    archive : Archive
        From :func:`client_for`.
    study_uid, series_uid, sop_uid : str
        The film.
    landmarks : str or Path
        Its landmark file.
    output_dir : str or Path
        Where the film, ``<sop>-sr.dcm`` and ``<sop>-sc.dcm`` go (made if missing).
    store : bool
        Send the SR and the capture to the archive (the film is never sent back).
    overwrite : bool
        Replace existing outputs; without it they are refused before anything is fetched.
    **study_options
        Passed to :func:`~spinecheck.load_study` (criteria, age, operation, ...).

    Returns
    -------
    MeasuredFilm

    Raises
    ------
    PacsError
        The archive failed (nothing kept of a film not wholly received), or refused an instance
        when storing (the message names it and those stored).
    DicomExportError
        The export refused (highdicom missing, the outputs exist).
    """
    from ..export.dicom import check_outputs, export_dicom, require_highdicom
    from ..study import load_study

    for uid, name in ((study_uid, "study_uid"), (series_uid, "series_uid"), (sop_uid, "sop_uid")):
        check_uid(uid, name)
    require_highdicom()
    folder = Path(output_dir)
    film = folder / f"{sop_uid}.dcm"
    check_outputs(film, folder, overwrite=overwrite)
    if film.exists() and not overwrite:
        from ..export.source import DicomExportError

        raise DicomExportError.about(
            "overwrite",
            "film '{path}': exists; {overwrite} replaces it",
            names={"overwrite": "overwrite=True"},
            path=film,
        )
    folder.mkdir(exist_ok=True)
    [fetched] = archive.fetch(folder, study_uid, series_uid, sop_uid)
    study = load_study(os.fspath(landmarks), image=os.fspath(fetched), **study_options)
    done = export_dicom(fetched, study, folder, overwrite=overwrite)
    report = None
    if store:
        report = archive.store([done.structured_report, done.secondary_capture])
        report.raise_for_failures()
    return MeasuredFilm(fetched, study, done, report)
