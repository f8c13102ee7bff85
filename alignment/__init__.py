"""From named points to numbers and verdicts: geometry, parameters, criteria, reports."""

from alignment.parameters import CORONAL, PARAMETERS, SAGITTAL, CurveTable, Measurements, ParameterDef, Unit

__all__ = ["CORONAL", "PARAMETERS", "SAGITTAL", "CurveTable", "Measurements", "ParameterDef", "Unit"]
