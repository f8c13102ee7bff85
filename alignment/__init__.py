"""From named points to numbers and verdicts: geometry, parameters, criteria, reports."""

from typing import TYPE_CHECKING

import lazy_loader

# Each room loads on first use: importing the geometry pays for neither the batch engine nor the
# figures, and measuring one file does not import matplotlib; `batch --jobs N` starts its workers'
# fork server (alignment.batch.workers) before NumPy and the parameters are imported (issue 17, 4).
__getattr__, __dir__, _ = lazy_loader.attach(
    __name__,
    submodules=["batch", "criteria", "export", "geometry", "plots", "render", "tables"],
    submod_attrs={
        "parameters": [
            "CORONAL",
            "PARAMETERS",
            "SAGITTAL",
            "CurveTable",
            "Measurements",
            "ParameterDef",
            "Unit",
        ],
        "measure": ["measure"],
        "geometry": ["CobbMethod", "measure_instability"],
        "criteria": ["Assessment", "assess", "available_age_sets", "load_criterion_set"],
        "render": [
            "live_parameters",
            "format_csv",
            "format_table",
            "study_report",
            "write_table_csv",
            "draw_study",
            "figure_for",
            "report_figure",
            "comparison_figure",
            "series_figures",
            "write_series_csv",
        ],
        "study": ["Study", "load_study"],
        "motion": ["InstabilityStudy", "load_instability"],
        "followup": ["Film", "FollowUp", "SeriesTable", "compare_studies", "series_table"],
        "batch": ["BatchOptions", "BatchSummary", "run_batch"],
        "export": ["DicomExport", "export_dicom"],
        "tables": ["to_dataframe", "read_batch_table", "age_groups"],
        "plots": ["plot"],
    },
)

if TYPE_CHECKING:
    from .batch import BatchOptions, BatchSummary, run_batch
    from .criteria import Assessment, assess, available_age_sets, load_criterion_set
    from .export import DicomExport, export_dicom
    from .followup import Film, FollowUp, SeriesTable, compare_studies, series_table
    from .geometry import CobbMethod, measure_instability
    from .measure import measure
    from .motion import InstabilityStudy, load_instability
    from .parameters import CORONAL, PARAMETERS, SAGITTAL, CurveTable, Measurements, ParameterDef, Unit
    from .plots import plot
    from .render import (
        comparison_figure,
        draw_study,
        figure_for,
        format_csv,
        format_table,
        live_parameters,
        report_figure,
        series_figures,
        study_report,
        write_series_csv,
        write_table_csv,
    )
    from .study import Study, load_study
    from .tables import age_groups, read_batch_table, to_dataframe

__all__ = [
    "CORONAL",
    "PARAMETERS",
    "SAGITTAL",
    "CurveTable",
    "Measurements",
    "ParameterDef",
    "Unit",
    "CobbMethod",
    "measure",
    "Assessment",
    "assess",
    "available_age_sets",
    "load_criterion_set",
    "live_parameters",
    "format_csv",
    "format_table",
    "study_report",
    "write_table_csv",
    "draw_study",
    "figure_for",
    "report_figure",
    "comparison_figure",
    "series_figures",
    "write_series_csv",
    "Study",
    "load_study",
    "InstabilityStudy",
    "load_instability",
    "measure_instability",
    "Film",
    "FollowUp",
    "SeriesTable",
    "compare_studies",
    "series_table",
    "BatchOptions",
    "BatchSummary",
    "run_batch",
    "DicomExport",
    "export_dicom",
    "to_dataframe",
    "read_batch_table",
    "age_groups",
    "plot",
]
