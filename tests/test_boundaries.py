"""Issue 14: every criterion is decided on the value as it is shown (0.1 deg / 0.1 mm).

A value is rounded half away from zero to one decimal before it meets a threshold,
so float noise such as 20.00000000000012 is "at 20" and the grade agrees with the
"20.0 deg" the report prints. Each boundary is tested from both sides of the rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from spinecheck.alignment.criteria.engine import assess
from spinecheck.alignment.criteria.rules import round_half_away
from spinecheck.alignment.parameters import shown_number
from test_criteria import curves, judge, measurements

NOISE_UP = 20.00000000000012  # what a PI-LL built to be 20 deg comes out as
NOISE_DOWN = 19.99999999999988


def sides(t: float, below: object, at: object, above: object) -> list:
    """Cases around threshold *t*: shown below, shown at (incl. float noise and halves), shown above."""
    d = t - 20.0
    return [
        pytest.param(t - 0.1, below, id=f"{t:g}-0.1"),
        pytest.param(t - 0.06, below, id=f"{t:g}-0.06"),
        pytest.param(t - 0.05, at, id=f"{t:g}-0.05-rounds-to-at"),
        pytest.param(NOISE_DOWN + d, at, id=f"{t:g}-noise-down"),
        pytest.param(t, at, id=f"at-{t:g}"),
        pytest.param(NOISE_UP + d, at, id=f"{t:g}-noise-up"),
        pytest.param(t + 0.04, at, id=f"{t:g}+0.04"),
        pytest.param(t + 0.05, above, id=f"{t:g}+0.05-rounds-up"),
        pytest.param(t + 0.1, above, id=f"{t:g}+0.1"),
    ]


def shown(x: float) -> str:
    return f"{round_half_away(np.array([x]), 1)[0]:.1f}"


@pytest.mark.parametrize(("value", "grade"), sides(10.0, "0", "+", "+") + sides(20.0, "+", "+", "++"))
def test_pi_ll_grade_follows_the_shown_value(value, grade):
    col = judge("srs_schwab.pi_ll", PI_LL=[value])
    assert col.result[0] == grade
    assert f"({shown(value)} deg;" in col.summary(0)


def test_issue_example_pi_ll_exactly_20_is_plus():
    col = judge("srs_schwab.pi_ll", PI_LL=[NOISE_UP])
    assert col.result[0] == "+"
    assert col.summary(0) == "SRS-Schwab PI-LL: + (20.0 deg; 10 <= PI-LL <= 20 deg) [S]"
    assert col.row(0)["value"] == NOISE_UP  # the report's value stays unrounded


def test_issue_example_pt_20_and_30_are_plus():
    assert judge("srs_schwab.pt", PT=[20.0]).result[0] == "+"
    assert judge("srs_schwab.pt", PT=[30.0]).result[0] == "+"
    assert judge("srs_schwab.pt", PT=[NOISE_UP + 10]).result[0] == "+"


@pytest.mark.parametrize(("value", "grade"), sides(20.0, "0", "+", "+") + sides(30.0, "+", "+", "++"))
def test_pt_grade_follows_the_shown_value(value, grade):
    assert judge("srs_schwab.pt", PT=[value]).result[0] == grade


@pytest.mark.parametrize(("value", "grade"), sides(40.0, "0", "+", "+") + sides(95.0, "+", "+", "++"))
def test_srs_sva_grade_follows_the_shown_value(value, grade):
    assert judge("srs_schwab.sva", SVA=[value]).result[0] == grade


@pytest.mark.parametrize(("value", "flag"), sides(50.0, False, True, True))
def test_sagittal_imbalance_follows_the_shown_value(value, flag):
    col = judge("sagittal_balance.sva", sets=["balance"], SVA=[value])
    assert col.result[0] is flag
    assert f"({shown(value)} mm;" in col.summary(0)


@pytest.mark.parametrize(
    ("value", "flag"),
    sides(40.0, False, False, True)
    + [pytest.param(-v.values[0], v.values[1], id="neg" + v.id) for v in sides(40.0, False, False, True)],
)
def test_coronal_imbalance_follows_the_shown_value(value, flag):
    assert judge("balance.coronal", sets=["balance"], views="ap", C7_CSVL=[value]).result[0] is flag


@pytest.mark.parametrize(
    ("value", "category"),
    sides(10.0, "<10", "10-20", "10-20")
    + sides(20.0, "10-20", "10-20", "21-30")
    + sides(30.0, "21-30", "21-30", ">30"),
)
def test_tpa_category_follows_the_shown_value(value, category):
    assert judge("tpa.category", TPA=[value]).result[0] == category


@pytest.mark.parametrize(("value", "flag"), sides(20.0, False, True, True))
def test_tpa_odi40_follows_the_shown_value(value, flag):
    assert judge("tpa.odi40", TPA=[value]).result[0] is flag


@pytest.mark.parametrize(("value", "kind"), sides(35.0, "1 or 2", "3", "3") + sides(45.0, "3", "3", "4"))
def test_roussouly_follows_the_shown_value(value, kind):
    assert judge("roussouly.type", SS=[value]).result[0] == kind


@pytest.mark.parametrize(("angle", "kind"), sides(30.0, "N", "boundary", "T"))
def test_curve_type_30_follows_the_shown_angle(angle, kind):
    col = judge(
        "srs_schwab.curve_type", views="ap", curves=curves([angle, 20.0], ["T8", "L2"]), Cobb_max=[angle]
    )
    assert col.result[0] == kind


@pytest.mark.parametrize(("cobb", "applied"), [(29.94, True), (29.95, False), (NOISE_DOWN + 10, False)])
def test_curve_type_without_listed_curves_follows_the_shown_cobb(cobb, applied):
    col = judge("srs_schwab.curve_type", views="ap", Cobb_max=[cobb])
    assert bool(col.applied[0]) is applied
    assert col.result[0] == ("N" if applied else None)


def _target(parameter, value, age=np.nan, age_set="schwab2013-odi40"):
    m = measurements(**{parameter: [value]})
    if age_set == "schwab2013-odi40":
        a = assess(m, np.array([age]), age_set=None, reference_sets=[age_set], criteria=())
        return a[f"schwab2013_odi40.{parameter.lower()}"]
    a = assess(m, np.array([age]), age_set=age_set, criteria=())
    return a[f"age_adjusted.{parameter.lower()}"]


@pytest.mark.parametrize(("value", "flag"), sides(46.0, False, True, True))
def test_schwab2013_sva_follows_the_shown_value(value, flag):
    assert _target("SVA", value).result[0] is flag


@pytest.mark.parametrize(("value", "flag"), sides(22.0, False, True, True))
def test_schwab2013_pt_follows_the_shown_value(value, flag):
    assert _target("PT", value).result[0] is flag


@pytest.mark.parametrize(("value", "flag"), sides(11.0, False, True, True))
def test_schwab2013_pi_ll_follows_the_shown_value(value, flag):
    assert _target("PI_LL", value).result[0] is flag


@pytest.mark.parametrize(
    ("value", "flag"),
    # age 56: PT target (56 - 55)/3 + 20 = 20.333..., shown 20.3; "above" is not inclusive
    [
        pytest.param(20.3, False, id="shown-at-target"),
        pytest.param(20.34, False, id="raw-above-target-shown-equal"),
        pytest.param(20.3 + 1e-13, False, id="noise"),
        pytest.param(20.35, True, id="rounds-up"),
        pytest.param(20.4, True, id="above"),
        pytest.param(20.2, False, id="below"),
    ],
)
def test_age_adjusted_flag_follows_the_shown_offset(value, flag):
    col = _target("PT", value, age=56.0, age_set="lafage2016-linear")
    assert col.result[0] is flag
    text = col.summary(0)
    v = float(shown(value))
    offset = shown_number(v - 20.3, signed=True)  # "0.0" at the target: never "+0.0" or "-0.0"
    assert f"{v:.1f} deg, target 20.3 deg, offset {offset} deg" in text


def test_age_adjusted_pi_ll_noise_at_target():
    # age 61: PI-LL target (61 - 55)/2 + 3 = 6; a PI-LL of 6 plus noise is "at", not above
    col = _target("PI_LL", 6.000000000000012, age=61.0, age_set="lafage2016-linear")
    assert col.result[0] is False
    assert col.offset[0] == 0.0


def test_schwab2013_set_names_the_abstract_its_numbers_come_from():
    row = _target("SVA", 50.0).row(0)
    assert "Spine: Affiliated Society Meeting Abstracts 2011;Paper #20, p 65" in row["source"]
    assert "SVA >= 46 mm" in row["set_note"] and "2011 meeting abstract" in row["set_note"]
    assert "47 mm" in row["set_note"] and "not used" in row["set_note"]
    assert row["rule"] == "flag when SVA >= 46 mm"
