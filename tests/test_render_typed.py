"""Figures and pages read the typed results: verdicts, curve sides."""

from __future__ import annotations

import numpy as np
import pytest
from spinecheck.alignment.criteria.engine import DEFAULT_CRITERIA, assess
from spinecheck.alignment.measure import measure
from spinecheck.alignment.parameters import Curve, CurveTable
from spinecheck.alignment.render.figure import Verdict, verdict_of
from spinecheck.alignment.render.text import format_table, study_report
from spinecheck.alignment.study import Study
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import LandmarkTable
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral


def _study(marks, *, age=67.0, calibrated=True, criteria=DEFAULT_CRITERIA, reference_sets=()) -> Study:
    cal = Calibration.from_spacing([0.2, 0.2]) if calibrated else None
    table = LandmarkTable.from_sets([marks], calibrations=[cal])
    m = measure(table)
    a = assess(m, np.array([age]), criteria=criteria, reference_sets=reference_sets)
    return Study(table, m, a, ["x.json"], [None])


@pytest.fixture(scope="module")
def films():
    return synthetic_lateral(mm_per_px=0.2), synthetic_ap(mm_per_px=0.2)


@pytest.mark.parametrize("age", [67.0, np.nan], ids=["age-known", "age-unknown"])
@pytest.mark.parametrize("calibrated", [True, False], ids=["calibrated", "uncalibrated"])
def test_the_typed_verdict_is_the_reports(films, age, calibrated):
    for film in films:
        study = _study(film.landmarks, age=age, calibrated=calibrated)
        rows = {r["id"]: r for r in study.assessment.rows(0)}
        for c in study.assessment.columns:
            if c.present[0]:
                assert Verdict.of(c, 0) is verdict_of(rows[c.id]), c.id
            else:
                assert Verdict.of(c, 0) is Verdict.NOT_APPLIED and c.id not in rows


@pytest.mark.parametrize(
    "patient_right, convex_right, want",
    [
        (None, True, "image right"),
        (None, False, "image left"),
        ("image_right", True, "patient right (image right)"),
        ("image_left", True, "patient left (image right)"),
        ("image_left", False, "patient right (image left)"),
    ],
)
def test_a_curve_says_its_convex_side_from_its_values(patient_right, convex_right, want):
    assert Curve("T5", "T11", "T8", 20.0, convex_right).convex_side(patient_right) == want
    table = CurveTable(
        np.array([[20.0]]), np.array([[7]]), np.array([[13]]), np.array([[10]]), np.array([[convex_right]])
    )
    assert table.curves(0, patient_right=patient_right)[0]["convex"] == want


@pytest.mark.parametrize("patient_right", ["image_left", "image_right", None])
def test_the_report_and_the_table_say_the_same_convex_side(films, patient_right):
    ap = films[1].landmarks.replace(patient_right=patient_right)
    study = _study(ap)
    curves = study_report(study, 0)["curves"]
    text = format_table(study, 0)
    assert curves
    for c, typed in zip(curves, study.measurements.curves.curve_list(0), strict=True):
        assert c["convex"] == typed.convex_side(patient_right)
        assert f"(convex {c['convex']}" in text
        if patient_right is not None:
            assert c["convex"].startswith("patient ")
