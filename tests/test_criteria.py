"""Criteria engine: exact boundaries of every criterion, not-applied reasons, set files, shapes.

Measurements are built by hand (no geometry): each boundary is tested at the
threshold and at the nearest values shown (to 0.1) either side, since every
criterion is decided on the value as the report shows it (issue 14; float noise
is in tests/test_boundaries.py).
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from spinecheck.alignment.criteria.engine import (
    CALIBRATION_REASON,
    THORACIC,
    THORACOLUMBAR,
    Assessment,
    CriteriaSet,
    assess,
    curve_regions,
    load_criterion_set,
)
from spinecheck.alignment.criteria.rules import Status, builtin_sets, round_half_away
from spinecheck.alignment.criteria.targets import TargetSet
from spinecheck.alignment.parameters import PARAMETERS, CurveTable, Measurements
from spinecheck.landmarks.errors import InvalidCriteriaError
from spinecheck.landmarks.points.names import level_index


def below(x: float) -> float:
    return float(np.nextafter(x, -np.inf))


def above(x: float) -> float:
    return float(np.nextafter(x, np.inf))


def shown_below(x: float) -> float:
    """The largest kind of value the report shows one step (0.1) below *x*."""
    return x - 0.06


def shown_above(x: float) -> float:
    """A value the report shows one step (0.1) above *x* (a half, rounded away from zero, when x >= 0)."""
    return x + 0.05 if x >= 0 else x + 0.06


def measurements(views="lateral", calibrated=True, curves=None, reasons=None, **values) -> Measurements:
    """N studies from parameter lists; lengths are NaN in mm (finite in px) when uncalibrated."""
    n = len(next(iter(values.values()))) if values else (len(views) if not isinstance(views, str) else 1)
    views = np.array([views] * n if isinstance(views, str) else list(views), dtype=object)
    calibrated = np.broadcast_to(np.asarray(calibrated, dtype=bool), (n,)).copy()
    vals, px, why = {}, {}, {}
    for p, v in values.items():
        v = np.asarray(v, dtype=float)
        if PARAMETERS[p].is_length:
            px[p] = v * 5.0
            v = np.where(calibrated, v, np.nan)
        vals[p] = v
        missing = (reasons or {}).get(p, "missing landmarks: X.sup.ant")
        why[p] = np.where(np.isfinite(px.get(p, v)), None, missing).astype(object)
    return Measurements(
        tuple(f"study{i}" for i in range(n)), views, vals, px, why, calibrated, curves or CurveTable.empty(n)
    )


def judge(criterion_id: str, age=np.nan, *, sets=None, **kw):
    m = measurements(**kw)
    a = assess(
        m,
        np.full(len(m), age),
        age_set=None,
        criteria=sets or (criterion_id.split(".")[0].replace("_", "-"),),
    )
    return a[criterion_id]


def curves(angles, apexes, n_studies=1) -> CurveTable:
    """One study's curves, ``apexes`` as level names; end vertebrae two levels either side."""
    k = len(angles)
    apex = np.array([[level_index(a) for a in apexes]] * n_studies)
    return CurveTable(
        np.array([angles] * n_studies, dtype=float).reshape(n_studies, k),
        apex - 2,
        np.minimum(apex + 2, 23),
        apex,
        np.zeros((n_studies, k), dtype=bool),
    )


# -- balance --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c7_csvl", "flag"),
    [
        pytest.param(40.0, False, id="at+40"),
        pytest.param(shown_below(40.0), False, id="just-below+40"),
        pytest.param(shown_above(40.0), True, id="just-above+40"),
        pytest.param(-40.0, False, id="at-40"),
        pytest.param(shown_below(-40.0), True, id="just-beyond-40-left"),
        pytest.param(shown_above(-40.0), False, id="just-inside-40-left"),
        pytest.param(0.0, False, id="zero"),
    ],
)
def test_coronal_imbalance_boundary(c7_csvl, flag):
    col = judge("balance.coronal", sets=["balance"], views="ap", C7_CSVL=[c7_csvl])
    assert col.result[0] is flag
    assert col.value[0] == c7_csvl  # the signed value is reported; the rule uses abs()
    assert col.rule[0] == "abs(C7-CSVL) > 40 mm"


@pytest.mark.parametrize(
    ("sva", "flag"),
    [
        pytest.param(50.0, True, id="at-50"),
        pytest.param(shown_below(50.0), False, id="just-below-50"),
        pytest.param(shown_above(50.0), True, id="just-above-50"),
        pytest.param(-80.0, False, id="negative"),
    ],
)
def test_sagittal_imbalance_boundary(sva, flag):
    col = judge("sagittal_balance.sva", sets=["balance"], SVA=[sva])
    assert col.result[0] is flag


def test_balance_labels_are_honest():
    a = assess(measurements(SVA=[62.0]), age_set=None, criteria=["balance"])
    row = a.rows(0)[0]
    assert row["rule"] == "SVA >= 50 mm"
    assert "30(18):2024" in row["source"]
    assert (
        "no cut-off" in row["note"] and "inclusion criterion" in row["note"] and "SVA < 5 cm" in row["note"]
    )
    coronal = assess(measurements(views="ap", C7_CSVL=[45.0]), age_set=None, criteria=["balance"])
    assert "unoperated" in coronal.rows(0)[0]["note"]
    assert "Spine 2005;30(6):682" in coronal.rows(0)[0]["source"]


# -- SRS-Schwab ------------------------------------------------------------------------------------


def _grade_cases(low: float, high: float, negative: float):
    return [
        pytest.param(shown_below(low), "0", id=f"just-below-{low:g}"),
        pytest.param(low, "+", id=f"at-{low:g}"),
        pytest.param(shown_above(low), "+", id=f"just-above-{low:g}"),
        pytest.param(shown_below(high), "+", id=f"just-below-{high:g}"),
        pytest.param(high, "+", id=f"at-{high:g}"),
        pytest.param(shown_above(high), "++", id=f"just-above-{high:g}"),
        pytest.param(negative, "0", id="negative"),
    ]


@pytest.mark.parametrize(("value", "grade"), _grade_cases(10.0, 20.0, -15.0))
def test_srs_schwab_pi_ll(value, grade):
    assert judge("srs_schwab.pi_ll", PI_LL=[value]).result[0] == grade


@pytest.mark.parametrize(("value", "grade"), _grade_cases(20.0, 30.0, -5.0))
def test_srs_schwab_pt(value, grade):
    assert judge("srs_schwab.pt", PT=[value]).result[0] == grade


@pytest.mark.parametrize(("value", "grade"), _grade_cases(40.0, 95.0, -30.0))
def test_srs_schwab_sva(value, grade):
    assert judge("srs_schwab.sva", SVA=[value]).result[0] == grade


@pytest.mark.parametrize(
    ("pi_ll", "pt", "sva", "plus", "category"),
    [
        pytest.param(5.0, 10.0, 20.0, 0, "aligned", id="sum0-aligned"),
        pytest.param(10.0, 10.0, 20.0, 1, "moderate", id="sum1-moderate"),
        pytest.param(15.0, 25.0, 60.0, 3, "moderate", id="sum3-moderate"),
        pytest.param(25.0, 25.0, 60.0, 4, "severe", id="sum4-severe"),
        pytest.param(25.0, 35.0, 100.0, 6, "severe", id="sum6-severe"),
    ],
)
def test_simplified_sagittal_modifier(pi_ll, pt, sva, plus, category):
    col = judge("srs_schwab.sagittal_modifier", PI_LL=[pi_ll], PT=[pt], SVA=[sva])
    assert col.value[0] == plus
    assert col.result[0] == category
    assert col.status is Status.V and "Kieser" in col.source


def test_simplified_modifier_needs_all_three_graded():
    col = judge("srs_schwab.sagittal_modifier", calibrated=False, PI_LL=[25.0], PT=[35.0], SVA=[100.0])
    assert not col.applied[0]
    assert col.reason[0] == f"needs PI-LL, PT and SVA graded: {CALIBRATION_REASON}"
    col = judge("srs_schwab.sagittal_modifier", PI_LL=[25.0], PT=[np.nan], SVA=[100.0])
    assert col.reason[0] == "needs PI-LL, PT and SVA graded: PT: missing landmarks: X.sup.ant"


@pytest.mark.parametrize(
    ("angles", "apexes", "expected"),
    [
        pytest.param([35.0, 25.0], ["T8", "L2"], "T", id="T"),
        pytest.param([25.0, 35.0], ["T8", "L2"], "L", id="L"),
        pytest.param([35.0, 45.0], ["T8", "L2"], "D", id="D"),
        pytest.param([25.0, 29.0], ["T8", "L2"], "N", id="N"),
        pytest.param([30.0, 20.0], ["T8", "L2"], "boundary", id="thoracic-at-30"),
        pytest.param([20.0, 30.0], ["T8", "L2"], "boundary", id="lumbar-at-30"),
        pytest.param([45.0, 30.0], ["T8", "L2"], "boundary", id="major-and-30"),
        # decided as shown, to 0.1 deg: one ulp or 1e-6 deg from 30 reads "30.0" and is the boundary
        pytest.param([30.0 + 1e-6, 20.0], ["T8", "L2"], "boundary", id="1e-6-above-30"),
        pytest.param([30.0 - 1e-6, 20.0], ["T8", "L2"], "boundary", id="1e-6-below-30"),
        pytest.param([30.05, 20.0], ["T8", "L2"], "T", id="shown-above-30"),
        pytest.param([29.94, 20.0], ["T8", "L2"], "N", id="shown-below-30"),
        pytest.param([above(30.0), 20.0], ["T8", "L2"], "boundary", id="one-ulp-above-30"),
        pytest.param([35.0], ["T9"], "T", id="apex-T9-thoracic"),
        pytest.param([35.0], ["T10"], "L", id="apex-T10-lumbar"),
    ],
)
def test_curve_type(angles, apexes, expected):
    col = judge("srs_schwab.curve_type", views="ap", curves=curves(angles, apexes), Cobb_max=[max(angles)])
    assert col.result[0] == expected
    assert col.value[0] == max(angles)


def test_curve_type_boundary_note_says_both_readings():
    col = judge(
        "srs_schwab.curve_type", views="ap", curves=curves([45.0, 30.0], ["T8", "L2"]), Cobb_max=[45.0]
    )
    row = col.row(0)
    assert row["category"] == "boundary"
    assert "exactly 30 deg" in row["note"]
    assert "type D if counted as > 30 deg, T if < 30 deg" in row["note"]


def test_curve_type_apex_split_is_an_option():
    m = measurements(views="ap", curves=curves([35.0], ["T10"]), Cobb_max=[35.0])
    assert assess(m, age_set=None, criteria=["srs-schwab"])["srs_schwab.curve_type"].result[0] == "L"
    a = assess(m, age_set=None, criteria=["srs-schwab"], apex_split="T10")
    assert a["srs_schwab.curve_type"].result[0] == "T"
    assert "Apex split used: T10" in a.rows(0)[0]["note"]
    assert "[U]" in a.rows(0)[0]["note"]


@pytest.mark.parametrize(
    ("cobb", "applied", "result", "reason"),
    [
        pytest.param(12.0, True, "N", None, id="small-cobb-no-curves-N"),
        pytest.param(
            40.0, False, None, "coronal curves not listed with their apex levels", id="large-cobb-no-curves"
        ),
        pytest.param(np.nan, False, None, "Cobb_max: missing landmarks: X.sup.ant", id="cobb-missing"),
    ],
)
def test_curve_type_without_listed_curves(cobb, applied, result, reason):
    col = judge("srs_schwab.curve_type", views="ap", Cobb_max=[cobb])
    assert col.applied[0] is np.bool_(applied)
    assert col.result[0] == result
    assert col.reason[0] == reason


def test_assessment_keeps_the_regions_it_typed_with():
    m = measurements(views="ap", curves=curves([35.0, 20.0], ["T10", "L3"]), Cobb_max=[35.0])
    assert assess(m, age_set=None).curve_regions().tolist() == [[THORACOLUMBAR, THORACOLUMBAR]]
    assert assess(m, age_set=None, apex_split="T10").curve_regions().tolist() == [[THORACIC, THORACOLUMBAR]]


def test_assessment_regions_are_codes_until_asked_for():
    t = CurveTable(
        np.array([[40.0, 35.0, np.nan]] * 3),
        np.array([[6, 13, -1]] * 3),
        np.array([[15, 19, -1]] * 3),
        np.array([[10, 16, -1]] * 3),
        np.zeros((3, 3), bool),
    )
    a = assess(measurements(views="ap", curves=t, Cobb_max=[40.0] * 3), age_set=None)
    assert a.region_codes.dtype == np.int8 and a.region_codes.tolist() == [[0, 1, -1]] * 3
    assert "regions" not in vars(a)  # not made by assess
    assert a.curve_regions().tolist() == curve_regions(t).tolist() == [[THORACIC, THORACOLUMBAR, None]] * 3
    assert a.curve_regions() is a.curve_regions()  # made once


def test_curve_regions_default_and_override():
    t = curves([40.0, 35.0, 20.0], ["T9", "T10", "C6"])
    assert curve_regions(t).tolist() == [[THORACIC, THORACOLUMBAR, THORACIC]]
    assert curve_regions(t, apex_split="T10").tolist() == [[THORACIC, THORACIC, THORACIC]]
    padded = CurveTable(
        np.array([[40.0, np.nan]]),
        np.array([[8, -1]]),
        np.array([[15, -1]]),
        np.array([[13, -1]]),
        np.zeros((1, 2), bool),
    )
    assert curve_regions(padded).tolist() == [[THORACIC, None]]


# -- TPA, Roussouly ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tpa", "category"),
    [
        pytest.param(shown_below(10.0), "<10", id="just-below-10"),
        pytest.param(10.0, "10-20", id="at-10"),
        pytest.param(20.0, "10-20", id="at-20"),
        pytest.param(shown_above(20.0), "21-30", id="just-above-20"),
        pytest.param(20.5, "21-30", id="between-20-and-21"),
        pytest.param(21.0, "21-30", id="at-21"),
        pytest.param(30.0, "21-30", id="at-30"),
        pytest.param(shown_above(30.0), ">30", id="just-above-30"),
        pytest.param(-3.0, "<10", id="negative"),
    ],
)
def test_tpa_category(tpa, category):
    assert judge("tpa.category", TPA=[tpa]).result[0] == category


@pytest.mark.parametrize(
    ("tpa", "flag"),
    [
        pytest.param(shown_below(20.0), False, id="just-below-20"),
        pytest.param(20.0, True, id="at-20"),
        pytest.param(shown_above(20.0), True, id="just-above-20"),
    ],
)
def test_tpa_severe_disability_flag(tpa, flag):
    col = judge("tpa.odi40", TPA=[tpa])
    assert col.result[0] is flag
    assert "ODI > 40" in col.note and "Ryan" in col.source


@pytest.mark.parametrize(
    ("ss", "kind"),
    [
        pytest.param(shown_below(35.0), "1 or 2", id="just-below-35"),
        pytest.param(35.0, "3", id="at-35"),
        pytest.param(45.0, "3", id="at-45"),
        pytest.param(shown_above(45.0), "4", id="just-above-45"),
        pytest.param(-5.0, "1 or 2", id="negative"),
    ],
)
def test_roussouly_type(ss, kind):
    col = judge("roussouly.type", SS=[ss])
    assert col.result[0] == kind
    assert "[U]" in col.note  # type 1 vs 2 and type 3 anteverted are left out, and say so


# -- GAP -----------------------------------------------------------------------------------------

PI = 50.0


def gap_inputs(rpv=0.0, rll=0.0, ldi=60.0, rsa=0.0, age=40.0):
    """Parameters giving these relative values at PI = 50 (ideal SS 38.5, LL 60, GT 9)."""
    ll = rll + 0.62 * PI + 29
    return dict(
        PI=[PI], SS=[rpv + 0.59 * PI + 9], LL=[ll], LL_L4S1=[ldi * ll / 100], GT=[rsa + 0.48 * PI - 15]
    ), age


def gap(rpv=0.0, rll=0.0, ldi=60.0, rsa=0.0, age=40.0):
    values, age = gap_inputs(rpv, rll, ldi, rsa, age)
    return judge("gap", age=age, sets=["gap"], **values)


def points(col, key):
    return next(c for c in col.components if c.key == key).points[0]


@pytest.mark.parametrize(
    ("rpv", "expected"),
    [
        pytest.param(-20.0, 3, id="-20"),
        pytest.param(-15.05, 3, id="-15.05-rounds-to-15.1"),
        pytest.param(-15.04, 2, id="-15.04-rounds-to-15.0"),
        pytest.param(-15.0, 2, id="-15"),
        pytest.param(-7.1, 2, id="-7.1"),
        pytest.param(-7.05, 2, id="-7.05-rounds-to-7.1"),
        pytest.param(-7.04, 0, id="-7.04-rounds-to-7.0"),
        pytest.param(-7.0, 0, id="-7"),
        pytest.param(5.0, 0, id="+5"),
        pytest.param(5.04, 0, id="+5.04-rounds-to-5.0"),
        pytest.param(5.05, 1, id="+5.05-rounds-to-5.1"),
        pytest.param(10.0, 1, id="+10"),
    ],
)
def test_gap_rpv_points(rpv, expected):
    assert points(gap(rpv=rpv), "rpv") == expected


@pytest.mark.parametrize(
    ("rll", "expected"),
    [
        pytest.param(-25.05, 3, id="-25.05-rounds-to-25.1"),
        pytest.param(-25.0, 2, id="-25"),
        pytest.param(-14.1, 2, id="-14.1"),
        pytest.param(-14.05, 2, id="-14.05-rounds-to-14.1"),
        pytest.param(-14.04, 0, id="-14.04-rounds-to-14.0"),
        pytest.param(-14.0, 0, id="-14"),
        pytest.param(11.0, 0, id="+11"),
        pytest.param(11.04, 0, id="+11.04-rounds-to-11.0"),
        pytest.param(11.05, 3, id="+11.05-rounds-to-11.1"),
    ],
)
def test_gap_rll_points(rll, expected):
    assert points(gap(rll=rll), "rll") == expected


@pytest.mark.parametrize(
    ("ldi", "expected"),
    [
        pytest.param(39.4, 2, id="39.4-rounds-to-39"),
        pytest.param(39.5, 1, id="39.5-rounds-to-40"),
        pytest.param(40.0, 1, id="40"),
        pytest.param(49.0, 1, id="49"),
        pytest.param(49.4, 1, id="49.4-rounds-to-49"),
        pytest.param(49.5, 0, id="49.5-rounds-to-50"),
        pytest.param(50.0, 0, id="50"),
        pytest.param(80.0, 0, id="80"),
        pytest.param(80.4, 0, id="80.4-rounds-to-80"),
        pytest.param(80.5, 3, id="80.5-rounds-to-81"),
    ],
)
def test_gap_ldi_points(ldi, expected):
    assert points(gap(ldi=ldi), "ldi") == expected


@pytest.mark.parametrize(
    ("rsa", "expected"),
    [
        pytest.param(-7.05, 1, id="-7.05-rounds-to-7.1"),
        pytest.param(-7.04, 0, id="-7.04-rounds-to-7.0"),
        pytest.param(-7.0, 0, id="-7"),
        pytest.param(10.0, 0, id="+10"),
        pytest.param(10.04, 0, id="+10.04-rounds-to-10.0"),
        pytest.param(10.05, 1, id="+10.05-rounds-to-10.1"),
        pytest.param(10.1, 1, id="+10.1"),
        pytest.param(18.0, 1, id="+18"),
        pytest.param(18.04, 1, id="+18.04-rounds-to-18.0"),
        pytest.param(18.05, 3, id="+18.05-rounds-to-18.1"),
    ],
)
def test_gap_rsa_points(rsa, expected):
    assert points(gap(rsa=rsa), "rsa") == expected


@pytest.mark.parametrize(
    ("age", "expected"),
    [pytest.param(below(60.0), 0, id="just-below-60"), pytest.param(60.0, 1, id="at-60")],
)
def test_gap_age_point(age, expected):
    assert points(gap(age=age), "age") == expected


@pytest.mark.parametrize(
    ("kw", "total", "category"),
    [
        pytest.param({}, 0, "proportioned", id="0"),
        pytest.param(dict(rpv=10.0, rsa=12.0), 2, "proportioned", id="2"),
        pytest.param(dict(rpv=10.0, rsa=12.0, age=65.0), 3, "moderately disproportioned", id="3"),
        pytest.param(dict(rpv=-20.0, rll=-20.0, rsa=12.0), 6, "moderately disproportioned", id="6"),
        pytest.param(dict(rpv=-20.0, rll=-20.0, rsa=12.0, age=65.0), 7, "severely disproportioned", id="7"),
    ],
)
def test_gap_total_and_category(kw, total, category):
    col = gap(**kw)
    assert col.value[0] == total
    assert col.result[0] == category
    row = col.row(0)
    assert row["category"] == category
    assert set(row["components"]) == {"rpv", "rll", "ldi", "rsa", "age"}
    assert sum(c["points"] for c in row["components"].values()) == total


def test_gap_not_applied_without_age_or_lordosis():
    col = gap(age=np.nan)
    assert not col.applied[0]
    assert col.reason[0] == "age unknown: GAP score not applied (it has an age component)"
    values, _ = gap_inputs()
    values["PI"] = [np.nan]
    col = judge("gap", age=70.0, sets=["gap"], **values)
    assert col.reason[0] == "PI: missing landmarks: X.sup.ant"  # once, though three components need PI


def gap_lumbar(ll: float, l4s1: float):
    values, _ = gap_inputs()
    values["LL"], values["LL_L4S1"] = [ll], [l4s1]
    return judge("gap", age=70.0, sets=["gap"], **values)


@pytest.mark.parametrize(
    ("ll", "l4s1", "expected", "ldi"),
    [
        # LL <= 0 as shown: no LDI; the points of its limit as LL falls to 0 (spinecheck's decision)
        pytest.param(0.0, 30.0, 3, None, id="LL-exactly-0-L4S1-lordotic"),
        pytest.param(0.04, 30.0, 3, None, id="LL-0.04-shown-0.0"),
        pytest.param(-0.04, 30.0, 3, None, id="LL-minus-0.04-shown-0.0"),
        pytest.param(-20.0, 30.0, 3, None, id="kyphotic-LL-L4S1-lordotic"),
        pytest.param(-20.0, 0.05, 3, None, id="kyphotic-LL-L4S1-shown-0.1"),
        pytest.param(-20.0, 0.04, 2, None, id="kyphotic-LL-L4S1-shown-0.0"),
        pytest.param(-20.0, 0.0, 2, None, id="kyphotic-LL-L4S1-0"),
        pytest.param(-20.0, -10.0, 2, None, id="kyphotic-LL-L4S1-kyphotic"),
        pytest.param(0.0, 0.0, 2, None, id="LL-0-L4S1-0"),
        pytest.param(0.0, -5.0, 2, None, id="LL-0-L4S1-kyphotic"),
        # LL > 0 as shown: the paper's LDI and bands, however small LL is
        pytest.param(0.05, 30.0, 3, 60000.0, id="LL-0.05-shown-0.1"),
        pytest.param(2.0, 30.0, 3, 1500.0, id="LL-2-L1L4-kyphotic"),
        pytest.param(2.0, -1.0, 2, -50.0, id="LL-2-L4S1-kyphotic"),
        pytest.param(40.0, -3.0, 2, -8.0, id="LL-40-L4S1-kyphotic"),
        pytest.param(40.0, 24.0, 0, 60.0, id="LL-40-aligned"),
    ],
)
def test_gap_ldi_of_a_flat_or_kyphotic_lumbar_spine(ll, l4s1, expected, ldi):
    col = gap_lumbar(ll, l4s1)
    assert col.applied[0]  # never "not applied" for want of lordosis (issue 14)
    comp = col.row(0)["components"]["ldi"]
    assert comp["points"] == expected
    assert comp["value"] == ldi
    if ldi is None:
        assert "spinecheck decision, not the source's" in comp["rule"]
        assert "spinecheck decision" in col.row(0)["note"]
        assert comp["rule"].endswith(
            (
                "(LDI > 80 %; a spinecheck decision, not the source's)",
                "(LDI < 40 %; a spinecheck decision, not the source's)",
            )
        )
    else:
        assert "spinecheck decision" not in comp["rule"]


@pytest.mark.parametrize("l4s1", [30.0, 0.0, -10.0])
def test_gap_ldi_points_do_not_jump_at_lordosis_zero(l4s1):
    """Just above, at and just below LL = 0 the LDI scores alike: no flip to not applied, no jump."""
    points = {ll: gap_lumbar(ll, l4s1).row(0)["components"]["ldi"]["points"] for ll in (0.1, 0.0, -0.1)}
    assert len(set(points.values())) == 1, points
    assert gap_lumbar(0.0, l4s1).value[0] == gap_lumbar(0.1, l4s1).value[0]


def test_gap_ldi_rule_says_when_it_is_not_a_share():
    rule = gap_lumbar(2.0, 30.0).row(0)["components"]["ldi"]["rule"]
    assert rule == "LDI > 80 % (over 100 %: LL-L4S1 > LL)"
    rule = gap_lumbar(40.0, -3.0).row(0)["components"]["ldi"]["rule"]
    assert rule == "LDI < 40 % (below 0: LL-L4S1 < 0)"


def test_gap_ratio_undefined_by_default_in_a_set_that_does_not_say(tmp_path):
    """A user set without "nonpositive_denominator" keeps the old rule: not applied, with the reason."""
    path = tmp_path / "gap-mine.json"
    data = json.loads(builtin_sets()["gap"].read_text(encoding="utf-8"))
    del data["criteria"][0]["components"][2]["ratio"]["nonpositive_denominator"]
    data["name"] = "gap-mine"
    path.write_text(json.dumps(data))
    values, _ = gap_inputs()
    values["LL"] = [0.0]
    a = assess(measurements(**values), np.array([70.0]), age_set=None, criteria=[str(path)])
    col = a["gap"]
    assert not col.applied[0] and "LDI undefined: LL <= 0" in col.reason[0]
    data["criteria"][0]["components"][2]["ratio"]["nonpositive_denominator"] = "zero"
    path.write_text(json.dumps(data))
    with pytest.raises(
        InvalidCriteriaError,
        match=r'ratio.nonpositive_denominator" must be one of .undefined., .limit.; got .zero.',
    ):
        load_criterion_set(path)


def test_round_half_away_matches_hand_rounding():
    x = np.array([-7.05, -7.15, 7.05, 0.05, -0.05, 39.5, 49.5, 80.5])
    assert round_half_away(x[:5], 1).tolist() == [-7.1, -7.2, 7.1, 0.1, -0.1]
    assert round_half_away(x[5:], 0).tolist() == [40.0, 50.0, 81.0]


# -- not applied, absent ----------------------------------------------------------------------------


def test_uncalibrated_study_evaluates_no_millimetre_threshold():
    a = assess(measurements(calibrated=False, SVA=[80.0], PT=[25.0]), np.array([70.0]))
    for cid in ("sagittal_balance.sva", "srs_schwab.sva", "age_adjusted.sva"):
        assert not a[cid].applied[0]
        assert a[cid].reason[0] == CALIBRATION_REASON
    assert a["srs_schwab.pt"].result[0] == "+"  # angles are still judged
    coronal = assess(measurements(views="ap", calibrated=False, C7_CSVL=[60.0]), age_set=None)
    assert coronal["balance.coronal"].reason[0] == CALIBRATION_REASON


def test_unmeasured_length_reports_its_own_reason_even_uncalibrated():
    m = measurements(calibrated=False, reasons={"SVA": "missing landmarks: C7.centroid"}, SVA=[np.nan])
    col = assess(m, age_set=None)["sagittal_balance.sva"]
    assert col.reason[0] == "SVA: missing landmarks: C7.centroid"


def test_missing_parameter_gives_the_parameters_reason():
    m = measurements(reasons={"PT": "missing landmarks: FH.left, FH.right"}, PT=[np.nan])
    row = next(r for r in assess(m, age_set=None).rows(0) if r["id"] == "srs_schwab.pt")
    assert row == {
        "id": "srs_schwab.pt",
        "name": "SRS-Schwab PT",
        "applied": False,
        "reason": "PT: missing landmarks: FH.left, FH.right",
        "source": row["source"],
        "status": "S",
        "note": row["note"],
    }
    assert "Schwab F" in row["source"] and "Terran J" in row["source"]


def test_parameter_absent_from_measurements_is_not_measured():
    a = assess(measurements(PT=[25.0]), age_set=None)
    assert a["srs_schwab.pi_ll"].reason[0] == "PI_LL not measured"


def test_criteria_of_the_other_view_are_absent():
    lateral = assess(measurements(PT=[25.0], C7_CSVL=[50.0]), age_set=None)
    ids = {r["id"] for r in lateral.rows(0)}
    assert "srs_schwab.pt" in ids
    assert not ids & {"balance.coronal", "srs_schwab.curve_type"}
    ap = assess(measurements(views="ap", C7_CSVL=[50.0], PT=[25.0]), np.array([70.0]))
    assert {r["id"] for r in ap.rows(0)} == {"balance.coronal", "srs_schwab.curve_type"}
    assert ap["srs_schwab.pt"].reason[0] is None  # absent, not "not applied"


# -- vectorised = per study; rows and table shapes ---------------------------------------------------


def _subset(m: Measurements, idx) -> Measurements:
    c = m.curves
    return Measurements(
        tuple(m.ids[i] for i in idx),
        m.views[idx],
        {k: v[idx] for k, v in m.values.items()},
        {k: v[idx] for k, v in m.values_px.items()},
        {k: v[idx] for k, v in m.reasons.items()},
        m.calibrated[idx],
        CurveTable(c.angle_deg[idx], c.upper[idx], c.lower[idx], c.apex[idx], c.convex_right[idx], c.method),
    )


def _batch(n: int = 60, seed: int = 1) -> tuple[Measurements, np.ndarray]:
    rng = np.random.default_rng(seed)
    views = np.where(rng.random(n) < 0.6, "lateral", "ap")
    values = {}
    for p in ("PI", "PT", "SS", "LL", "LL_L4S1", "GT", "PI_LL", "SVA", "TPA", "C7_CSVL", "Cobb_max"):
        v = rng.choice([10.0, 20.0, 30.0, 40.0, 50.0, 95.0]) + rng.normal(0, 15, n)
        v[rng.random(n) < 0.1] = np.nan
        values[p] = v
    angle = np.where(rng.random((n, 2)) < 0.8, rng.choice([20.0, 30.0, 35.0, 50.0], (n, 2)), np.nan)
    apex = rng.integers(8, 22, (n, 2))
    table = CurveTable(angle, apex - 2, apex + 2, apex, np.zeros((n, 2), bool))
    m = measurements(views=views, calibrated=rng.random(n) < 0.8, curves=table, **values)
    age = np.where(rng.random(n) < 0.7, rng.uniform(20, 85, n), np.nan)
    return m, age


def test_vectorised_result_equals_per_study_results():
    m, age = _batch()
    kw = dict(reference_sets=("hasegawa2016", "schwab2013-odi40", "normative-pi-age-2025"))
    batch = assess(m, age, **kw)
    whole = batch.table()
    for i in range(len(m)):
        one = assess(_subset(m, [i]), age[[i]], **kw)
        assert one.rows(0) == batch.rows(i)
        assert one.summary(0) == batch.summary(i)
        for name, column in one.table().items():
            a, b = column[0], whole[name][i]
            assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), (name, i)


def test_result_codes_index_the_categories():
    m, age = _batch(200, seed=3)
    a = assess(m, age, criteria=("srs-schwab", "tpa", "gap", "roussouly"))
    coded = [c for c in a.columns if c.result_codes is not None]
    assert {c.id for c in coded} >= {
        "srs_schwab.pi_ll",
        "srs_schwab.sagittal_modifier",
        "gap",
        "tpa.category",
    }
    assert {c.id for c in coded} >= {"srs_schwab.curve_type", "roussouly.type"}
    for c in coded:
        labels = np.array([*c.categories, None], dtype=object)
        assert labels[c.result_codes].tolist() == c.result.tolist(), c.id
    assert all(c.result_codes is None for c in a.columns if c.result_kind.value == "flag")


def test_reasons_keep_their_text_however_many_differ():
    # more distinct reasons than are joined one text at a time: each study keeps its own
    n = 40
    reasons = np.array([f"missing landmarks: L{i % 23}" for i in range(n)], dtype=object)
    m = measurements(PT=np.full(n, np.nan))
    m.reasons["PT"] = reasons
    col = assess(m, age_set=None)["srs_schwab.pt"]
    assert col.reason.tolist() == [f"PT: {r}" for r in reasons]


def test_a_reason_repeated_over_studies_is_one_text():
    # the CSV writer makes the text of each distinct object once: a reason shared by many studies is one str
    n = 300
    m = measurements(PT=np.full(n, np.nan), reasons={"PT": "missing landmarks: FH.left"})
    m.reasons["PT"][-1] = "missing landmarks: S1.sup.ant"
    reasons = assess(m, age_set=None)["srs_schwab.pt"].reason
    assert len({id(r) for r in reasons[:-1]}) == 1
    assert (
        reasons[0] == "PT: missing landmarks: FH.left" and reasons[-1] == "PT: missing landmarks: S1.sup.ant"
    )


def test_table_columns_have_one_cell_per_study():
    m, age = _batch(17)
    t = assess(m, age).table()
    assert all(v.shape == (17,) for v in t.values())
    for name in (
        "srs_schwab_pi_ll",
        "srs_schwab_pt",
        "srs_schwab_sva",
        "sagittal_balance_sva",
        "balance_coronal",
        "srs_schwab_curve_type",
        "tpa_category",
        "gap",
        "gap_total",
        "roussouly_type",
        "age_adjusted_pt_target_deg",
        "age_adjusted_pt_offset_deg",
        "age_adjusted_pt_flag",
        "age_adjusted_sva_target_mm",
        "age_adjusted_set",
        "srs_schwab_pi_ll_reason",
    ):
        assert name in t
    assert "srs_schwab_pi_ll_reason" not in assess(m, age).table(reasons=False)


def test_rows_follow_the_report_format():
    a = assess(measurements(PI_LL=[12.0], PT=[np.nan], SVA=[62.0]), np.array([67.0]))
    rows = a.rows(0)
    json.dumps(rows)  # plain Python values only
    pi_ll = next(r for r in rows if r["id"] == "srs_schwab.pi_ll")
    assert pi_ll["value"] == 12.0 and pi_ll["grade"] == "+" and pi_ll["rule"] == "10 <= PI-LL <= 20 deg"
    assert {"id", "value", "grade", "rule", "source", "status"} <= set(pi_ll)
    sva = next(r for r in rows if r["id"] == "sagittal_balance.sva")
    assert sva["flag"] is True and sva["unit"] == "mm"
    for row in rows:
        assert "source" in row and "status" in row
        assert ("reason" in row) == (row.get("applied") is False)
    assert a.summary(0)[1] == "SRS-Schwab PI-LL: + (12.0 deg; 10 <= PI-LL <= 20 deg) [S]"
    with pytest.raises(IndexError):
        a.rows(1)
    with pytest.raises(KeyError, match="no criterion"):
        a["nope"]


def test_assess_argument_errors():
    m = measurements(PT=[20.0, 25.0])
    with pytest.raises(ValueError, match="one value per study"):
        assess(m, np.array([60.0]))
    with pytest.raises(ValueError, match="does not depend on age"):
        assess(m, age_set="schwab2013-odi40")
    with pytest.raises(ValueError, match="is a target set"):
        assess(m, criteria=["hasegawa2016"])
    assert isinstance(assess(m), Assessment)  # no age at all: nothing assumed
    assert not assess(m)["age_adjusted.pt"].applied.any()


# -- criterion-set files ---------------------------------------------------------------------------


def test_builtin_sets_load_with_citations_and_no_unconfirmed_number():
    for name in ("balance", "srs-schwab", "tpa", "gap", "roussouly"):
        s = load_criterion_set(name)
        assert isinstance(s, CriteriaSet) and not s.info.user_supplied
        for c in s.criteria:
            assert c.sources and all(src.year and src.journal for src in c.sources)
            assert c.status is not Status.U
    assert isinstance(load_criterion_set("lafage2016-linear"), TargetSet)


USER_SET = {
    "format": "spinecheck-criteria/1",
    "kind": "criteria",
    "name": "site-pt",
    "title": "Our site's PT alert",
    "status": "U",
    "sources": [{"authors": "Site committee", "year": 2024, "journal": "internal protocol"}],
    "criteria": [
        {"id": "site.pt", "name": "Site PT alert", "kind": "flag", "parameter": "PT", "interval": "[25, inf)"}
    ],
}


def _write(tmp_path, data, name="set.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_user_supplied_criteria_set_is_named_as_such(tmp_path):
    path = _write(tmp_path, USER_SET)
    a = assess(measurements(PT=[25.0]), age_set=None, criteria=["srs-schwab", path])
    row = next(r for r in a.rows(0) if r["id"] == "site.pt")
    assert row["flag"] is True and row["status"] == "U"
    assert row["user_supplied"] == f"user-supplied criterion set 'site-pt' ({path})"


def _edit(path: str, value):
    data = json.loads(json.dumps(USER_SET))
    target = data
    keys = path.split("/")
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param(
            ("format", "spinecheck-criteria/2"), '"format" must be "spinecheck-criteria/1"', id="format"
        ),
        pytest.param(("kind", "rules"), '"kind" must be one of', id="kind"),
        pytest.param(("status", "maybe"), ".status must be one of 'V', 'V/S', 'S', 'S-', 'U'", id="status"),
        pytest.param(("sources", []), ".sources must be a non-empty list", id="no-sources"),
        pytest.param(("sources/0/authors", KeyError), 'needs "authors"', id="no-authors"),
        pytest.param(("sources/0/year", "2024"), ".year must be a four-digit year", id="year"),
        pytest.param(
            ("criteria/0/interval", "25-90"), 'interval must be an interval like "[10, 20]"', id="interval"
        ),
        pytest.param(("criteria/0/interval", "[25, inf]"), "an infinite end must be open", id="closed-inf"),
        pytest.param(("criteria/0/parameter", "Pt"), "unknown variable 'Pt'; expected", id="parameter"),
        pytest.param(("criteria/0/kind", "threshold"), ".kind must be one of", id="criterion-kind"),
        pytest.param(("criteria/0/id", "Site PT"), ".id must be lower-case words", id="id"),
        pytest.param(("criteria/0/treshold", 3), "unknown field 'treshold'", id="unknown-field"),
        pytest.param(("criteria/0/parameter", "C7_CSVL"), "", id="view-mismatch-is-fine-for-coronal"),
    ],
)
def test_invalid_criteria_file_messages(tmp_path, edit, message):
    path = _write(tmp_path, _edit(*edit))
    if not message:
        assert load_criterion_set(path).criteria[0].view.value == "ap"
        return
    with pytest.raises(InvalidCriteriaError) as info:
        load_criterion_set(path)
    text = str(info.value)
    assert message in text
    assert str(path) in text and "\n" not in text


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        pytest.param(
            {
                "kind": "grade",
                "bands": [{"result": "0", "interval": "(-inf, 10)"}, {"result": "+", "interval": "[9, inf)"}],
            },
            "bands '0' and '+' overlap",
            id="overlap",
        ),
        pytest.param(
            {
                "kind": "grade",
                "bands": [
                    {"result": "0", "interval": "(-inf, 10)"},
                    {"result": "+", "interval": "(10, inf)"},
                ],
            },
            "gap between bands '0' and '+'",
            id="gap-at-10",
        ),
        pytest.param(
            {
                "kind": "grade",
                "decimals": 1,
                "bands": [
                    {"result": "0", "interval": "(-inf, 10]"},
                    {"result": "+", "interval": "[10.2, inf)"},
                ],
            },
            "value 10.1 (after rounding to 1 decimals) falls between bands",
            id="gap-on-grid",
        ),
        pytest.param(
            {"kind": "grade", "bands": [{"result": "+", "interval": "[10, inf)"}]},
            "bands must cover every value",
            id="not-covering",
        ),
        pytest.param(
            {"kind": "grade", "bands": [{"result": "plus", "interval": "(-inf, inf)"}]},
            "result must be one of '0', '+', '++'",
            id="bad-grade",
        ),
    ],
)
def test_invalid_band_tables(tmp_path, criterion, message):
    data = _edit("criteria/0/interval", KeyError)
    data["criteria"][0].update(criterion)
    path = _write(tmp_path, data)
    with pytest.raises(InvalidCriteriaError, match=re.escape(message)):
        load_criterion_set(path)


def test_unreadable_and_unknown_sets(tmp_path):
    with pytest.raises(InvalidCriteriaError, match="no such built-in set or file; built-in sets are balance"):
        load_criterion_set("srs_schwab")
    path = _write(tmp_path, '{"format": ', name="broken.json")
    with pytest.raises(InvalidCriteriaError, match=r"broken.json': invalid JSON at line 1"):
        load_criterion_set(path)
    path = _write(tmp_path, "[1, 2]", name="list.json")
    with pytest.raises(InvalidCriteriaError, match="must be a JSON object; got list"):
        load_criterion_set(path)
