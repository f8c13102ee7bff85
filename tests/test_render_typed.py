"""Figures and pages read the typed results: verdicts, the parameter a criterion judges, curve sides."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.colors import to_hex
from spinecheck.alignment.criteria.engine import DEFAULT_CRITERIA, assess
from spinecheck.alignment.measure import measure
from spinecheck.alignment.parameters import Curve, CurveTable
from spinecheck.alignment.render.figure import GEOMETRY_COLOUR, Verdict, figure_for, verdict_of
from spinecheck.alignment.render.pages import report_figure
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


@pytest.fixture
def site_set(tmp_path):
    """A site's own criterion set: a flag on LL whose id does not name the parameter."""
    path = tmp_path / "site.json"
    path.write_text(
        json.dumps(
            {
                "format": "spinecheck-criteria/1",
                "kind": "criteria",
                "name": "site",
                "title": "A site's own checks",
                "status": "U",
                "sources": [{"authors": "Site A.", "year": 2024, "journal": "Internal", "title": "Protocol"}],
                "criteria": [
                    {
                        "id": "site.lordosis_check",
                        "name": "Site lordosis check",
                        "kind": "flag",
                        "parameter": "LL",
                        "interval": "(-inf, inf)",
                    }
                ],
            }
        )
    )
    return path


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


def test_each_criterion_names_the_parameter_it_judges(films):
    study = _study(films[0].landmarks, reference_sets=["hasegawa2016"])
    judged = {c.id: c.parameter for c in study.assessment.columns}
    assert judged == {
        "balance.coronal": "C7_CSVL",
        "sagittal_balance.sva": "SVA",
        "srs_schwab.pi_ll": "PI_LL",
        "srs_schwab.pt": "PT",
        "srs_schwab.sva": "SVA",
        "srs_schwab.sagittal_modifier": None,  # a sum over three parameters
        "srs_schwab.curve_type": "Cobb_max",
        "tpa.category": "TPA",
        "tpa.odi40": "TPA",
        "gap": None,  # a score over several
        "roussouly.type": "SS",
        "pjk.glattes": "PJA",
        "djk.passias": "DJA",
        "age_adjusted.pi_ll": "PI_LL",
        "age_adjusted.pt": "PT",
        "age_adjusted.sva": "SVA",
        "hasegawa2016.ll": "LL",
    }


def _label_colour(fig, startswith: str) -> str:
    (text,) = [t for t in fig.axes[0].texts if t.get_text().startswith(startswith)]
    return to_hex(text.get_color()).upper()


def _worst(study: Study, *shown: str) -> str:
    judged = [Verdict.of(c, 0) for c in study.assessment.columns if c.parameter in shown]
    judged = [v for v in judged if v is not Verdict.NOT_APPLIED]
    return max(judged, key=lambda v: v.severity).colour.upper()


def test_constructions_take_the_worst_verdict_of_the_criteria_on_what_they_show(films, site_set):
    lateral = films[0]
    image = (lateral.pixels >> 4).astype(np.uint8)
    study = _study(lateral.landmarks)
    fig = figure_for(image, study, panel=False)
    # LL and PI-LL have a label each, in the worst verdict of their own criteria (issue 15, 3: the LL
    # label said "flagged" from a PI-LL criterion); the TK lines are geometry
    judged_ll = [c for c in study.assessment.columns if c.parameter == "LL" and c.applied[0]]
    assert _label_colour(fig, "LL ") == (_worst(study, "LL") if judged_ll else GEOMETRY_COLOUR.upper())
    assert _label_colour(fig, "PI−LL ") == _worst(study, "PI_LL")
    assert _label_colour(fig, "TK ") == GEOMETRY_COLOUR.upper()
    for label, pid in (("SVA ", "SVA"), ("PT ", "PT"), ("TPA ", "TPA")):
        assert _label_colour(fig, label) == _worst(study, pid), label
    # a criterion on LL added as data (a site's own set) colours them too: no table to update
    flagged = _study(lateral.landmarks, criteria=(*DEFAULT_CRITERIA, site_set))
    assert flagged.assessment["site.lordosis_check"].result[0] is True
    fig = figure_for(image, flagged, panel=False)
    assert _label_colour(fig, "LL ") == Verdict.MARKED.colour.upper()


def test_the_page_shows_a_criterion_beside_the_parameter_it_judges(films, site_set):
    lateral = films[0]
    study = _study(lateral.landmarks, criteria=(*DEFAULT_CRITERIA, site_set))
    fig = report_figure((lateral.pixels >> 4).astype(np.uint8), study)
    texts = fig.texts
    (ll,) = [t for t in texts if t.get_text().startswith("LL  lumbar lordosis")]
    (site,) = [t for t in texts if t.get_text().startswith("Site lordosis check: flagged")]
    (scores,) = [t for t in texts if t.get_text() == "Scores and classifications"]
    assert site.get_position()[1] == pytest.approx(ll.get_position()[1])  # on the LL row
    assert site.get_position()[1] > scores.get_position()[1]  # not among the scores (y grows up)


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
