"""The archive (PACS): find spine films, fetch one to measure, send the results back, by DICOMweb or DIMSE."""

from typing import TYPE_CHECKING

import lazy_loader

# Loaded on first use: the DIMSE client imports pynetdicom (the optional [pacs] extra), the rest pydicom.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "server": [
            "PacsError",
            "PacsServer",
            "Credentials",
            "server_from",
            "read_credentials",
            "credentials_from_env",
        ],
        "instances": ["Level", "StudyQuery", "Found", "StoreReport", "StoredInstance"],
        "archive": ["Archive", "client_for", "MeasuredFilm", "measure_from_archive"],
        "dicomweb": ["DicomWebClient"],
        "dimse": ["DimseClient"],
    },
)

if TYPE_CHECKING:
    from .archive import Archive, MeasuredFilm, client_for, measure_from_archive
    from .dicomweb import DicomWebClient
    from .dimse import DimseClient
    from .instances import Found, Level, StoredInstance, StoreReport, StudyQuery
    from .server import (
        Credentials,
        PacsError,
        PacsServer,
        credentials_from_env,
        read_credentials,
        server_from,
    )

__all__ = [
    "server_from",
    "client_for",
    "measure_from_archive",
    "MeasuredFilm",
    "Archive",
    "DicomWebClient",
    "DimseClient",
    "PacsServer",
    "PacsError",
    "Credentials",
    "read_credentials",
    "credentials_from_env",
    "StudyQuery",
    "Level",
    "Found",
    "StoreReport",
    "StoredInstance",
]
