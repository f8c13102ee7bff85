"""spinecheck: measure spinal alignment on whole-spine radiographs and flag imbalance.

The public API a researcher drives from a notebook::

    import spinecheck

    film = spinecheck.load_radiograph("film.dcm")              # pixels, calibration, patient, view
    points = spinecheck.read_landmarks("film.landmarks.json")  # one film's named points
    study = spinecheck.load_study("film.landmarks.json", image="film.dcm")
    study.measurements.values["SVA"]                          # (N,) array, NaN where not measurable
    report = spinecheck.study_report(study, 0)                # the spinecheck-report/1 dict
    df = spinecheck.read_batch_table("table.csv")             # a batch table as a typed DataFrame
    spinecheck.plot(df, "SVA_mm", by="view")                  # a distribution with its thresholds

Everything here loads on first use, so ``import spinecheck`` is cheap.
"""

# No import statement at module level but the lazy loader (and the standard library): pytest imports
# this file by path while collecting the tests folder beside it, under whatever name the checkout's
# folder has.
import sys
from typing import TYPE_CHECKING

import lazy_loader

__version__ = "0.1.0"


def _library_logger(name: str) -> "logging.Logger":
    """The logger of module *name*, with a NullHandler on the library's logger "spinecheck".

    The library logs under "spinecheck" (each module under its own name); what it says is shown
    only where the application configures logging. The handler is put on here, once, rather than
    at import: ``logging`` (some 4 ms at start-up) is imported by the modules that log, and by
    no command that does not. The literal name, for ``__name__`` may be another (above).
    """
    import logging

    library = logging.getLogger("spinecheck")
    if not any(isinstance(h, logging.NullHandler) for h in library.handlers):
        library.addHandler(logging.NullHandler())
    return logging.getLogger(name)


if "logging" in sys.modules:  # already paid for: the handler is there from the start, as it was
    _library_logger("spinecheck")

__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submodules=["alignment", "cli", "landmarks"],
    submod_attrs={
        "landmarks": [
            "SpinecheckError",
            "InvalidLandmarksError",
            "UnreadableImageError",
            "MissingDecoderError",
            "MissingCalibrationError",
            "DegenerateGeometryError",
            "InvalidCriteriaError",
            "InvalidArgumentError",
            "LandmarkSet",
            "LandmarkTable",
            "Radiograph",
            "View",
            "load_radiograph",
            "read_radiograph_header",
            "read_landmarks",
            "read_landmark_table",
            "write_landmarks",
            "refine_landmarks",
        ],
        "alignment": [
            "Measurements",
            "Assessment",
            "Study",
            "load_study",
            "load_instability",
            "measure",
            "measure_instability",
            "assess",
            "study_report",
            "format_table",
            "draw_study",
            "figure_for",
            "report_figure",
            "comparison_figure",
            "Film",
            "compare_studies",
            "series_table",
            "series_figures",
            "BatchOptions",
            "BatchSummary",
            "run_batch",
            "DicomExport",
            "export_dicom",
            "to_dataframe",
            "read_batch_table",
            "age_groups",
            "plot",
        ],
    },
)

if TYPE_CHECKING:
    import logging

    from .alignment import (
        Assessment,
        BatchOptions,
        BatchSummary,
        DicomExport,
        Film,
        Measurements,
        Study,
        age_groups,
        assess,
        compare_studies,
        comparison_figure,
        draw_study,
        export_dicom,
        figure_for,
        format_table,
        load_instability,
        load_study,
        measure,
        measure_instability,
        plot,
        read_batch_table,
        report_figure,
        run_batch,
        series_figures,
        series_table,
        study_report,
        to_dataframe,
    )
    from .landmarks import (
        DegenerateGeometryError,
        InvalidArgumentError,
        InvalidCriteriaError,
        InvalidLandmarksError,
        LandmarkSet,
        LandmarkTable,
        MissingCalibrationError,
        MissingDecoderError,
        Radiograph,
        SpinecheckError,
        UnreadableImageError,
        View,
        load_radiograph,
        read_landmark_table,
        read_landmarks,
        read_radiograph_header,
        refine_landmarks,
        write_landmarks,
    )

__all__ = [
    "__version__",
    # errors
    "SpinecheckError",
    "InvalidLandmarksError",
    "UnreadableImageError",
    "MissingDecoderError",
    "MissingCalibrationError",
    "DegenerateGeometryError",
    "InvalidCriteriaError",
    "InvalidArgumentError",
    # a film and its points
    "Radiograph",
    "View",
    "LandmarkSet",
    "LandmarkTable",
    "load_radiograph",
    "read_radiograph_header",
    "read_landmarks",
    "read_landmark_table",
    "write_landmarks",
    "refine_landmarks",
    # numbers and verdicts
    "Measurements",
    "Assessment",
    "Study",
    "load_study",
    "load_instability",
    "measure",
    "measure_instability",
    "assess",
    "study_report",
    "format_table",
    # pictures
    "draw_study",
    "figure_for",
    "report_figure",
    "comparison_figure",
    # follow-up: films of one patient over time
    "Film",
    "compare_studies",
    "series_table",
    "series_figures",
    # archives
    "BatchOptions",
    "BatchSummary",
    "run_batch",
    # DICOM results in the film's study (the [dicom] extra)
    "DicomExport",
    "export_dicom",
    # pandas and plots for researchers (the [pandas] extra)
    "to_dataframe",
    "read_batch_table",
    "age_groups",
    "plot",
]
