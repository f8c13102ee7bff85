"""Results as DICOM objects in the film's study: a TID 1500 Structured Report and the figure as a Secondary Capture."""

from typing import TYPE_CHECKING

import lazy_loader

# Loaded on first use: the builders import highdicom (the optional [dicom] extra), the rest pydicom.
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "dicom": [
            "DicomExport",
            "export_dicom",
            "output_paths",
            "check_outputs",
            "require_highdicom",
            "INSTALL_HINT",
        ],
        "source": ["DicomExportError", "SourceFilm", "read_source_film"],
        "codes": ["SCHEME"],
    },
)

if TYPE_CHECKING:
    from .codes import SCHEME
    from .dicom import (
        INSTALL_HINT,
        DicomExport,
        check_outputs,
        export_dicom,
        output_paths,
        require_highdicom,
    )
    from .source import DicomExportError, SourceFilm, read_source_film

__all__ = [
    "export_dicom",
    "DicomExport",
    "DicomExportError",
    "output_paths",
    "check_outputs",
    "require_highdicom",
    "INSTALL_HINT",
    "SourceFilm",
    "read_source_film",
    "SCHEME",
]
