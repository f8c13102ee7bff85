"""From named points to numbers and verdicts: geometry, parameters, criteria, reports."""

from alignment.assessment import Assessment
from alignment.batch import BatchOptions, BatchSummary, run_batch
from alignment.criteria import assess, available_age_sets, load_criterion_set
from alignment.live import live_parameters
from alignment.measure import measure
from alignment.parameters import CORONAL, PARAMETERS, SAGITTAL, CurveTable, Measurements, ParameterDef, Unit
from alignment.report import format_csv, format_table, study_report, write_table_csv
from alignment.study import Study, load_study

__all__ = [
    "Assessment",
    "BatchOptions",
    "BatchSummary",
    "run_batch",
    "assess",
    "available_age_sets",
    "load_criterion_set",
    "measure",
    "live_parameters",
    "CORONAL",
    "PARAMETERS",
    "SAGITTAL",
    "CurveTable",
    "Measurements",
    "ParameterDef",
    "Unit",
    "format_csv",
    "format_table",
    "study_report",
    "write_table_csv",
    "Study",
    "load_study",
]
