"""Target sets (clinical.md §6): formulas, band tables, deformity side, not-applied reasons, set files."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from spinecheck.alignment.criteria.engine import CALIBRATION_REASON, assess
from spinecheck.alignment.criteria.rules import Formula, Interval, Status
from spinecheck.alignment.criteria.targets import (
    Side,
    TargetSet,
    available_age_sets,
    available_target_sets,
    load_target_set,
)
from spinecheck.alignment.parameters import PARAMETERS, CurveTable, Measurements
from spinecheck.landmarks.errors import InvalidCriteriaError


def below(x: float) -> float:
    return float(np.nextafter(x, -np.inf))


def above(x: float) -> float:
    return float(np.nextafter(x, np.inf))


def measurements(calibrated=True, **values) -> Measurements:
    """Lateral studies from parameter lists; lengths NaN in mm when uncalibrated."""
    n = len(next(iter(values.values())))
    calibrated = np.broadcast_to(np.asarray(calibrated, dtype=bool), (n,)).copy()
    vals, px, why = {}, {}, {}
    for p, v in values.items():
        v = np.asarray(v, dtype=float)
        if PARAMETERS[p].is_length:
            px[p] = v * 5.0
            v = np.where(calibrated, v, np.nan)
        vals[p] = v
        why[p] = np.where(np.isfinite(px.get(p, v)), None, "missing landmarks: FH").astype(object)
    views = np.array(["lateral"] * n, dtype=object)
    return Measurements(tuple(map(str, range(n))), views, vals, px, why, calibrated, CurveTable.empty(n))


def target(age, *, age_set="lafage2016-linear", parameter="PT", reference=False, **values):
    """Judge *parameter* by *age_set*; return its column (one study per list entry)."""
    m = measurements(**values)
    ages = np.broadcast_to(np.asarray(age, dtype=float), (len(m),))
    if reference:
        a = assess(m, ages, age_set=None, reference_sets=[age_set], criteria=())
        prefix = re.sub(r"[.\-]", "_", load_target_set(age_set).name)
    else:
        a = assess(m, ages, age_set=age_set, criteria=())
        prefix = "age_adjusted"
    return a[f"{prefix}.{parameter.lower()}"]


# -- lafage2016-linear (default) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "pi_ll", "pt", "sva"),
    [
        pytest.param(55.0, 3.0, 20.0, 25.0, id="age55"),
        pytest.param(61.0, 6.0, 22.0, 37.0, id="age61"),
        pytest.param(40.0, -4.5, 15.0, -5.0, id="age40"),
        pytest.param(85.0, 18.0, 30.0, 85.0, id="age85"),
    ],
)
def test_lafage_linear_targets(age, pi_ll, pt, sva):
    m = measurements(PI_LL=[0.0], PT=[0.0], SVA=[0.0])
    a = assess(m, np.array([age]), criteria=())
    assert a["age_adjusted.pi_ll"].target[0] == pi_ll
    assert a["age_adjusted.pt"].target[0] == pt
    assert a["age_adjusted.sva"].target[0] == sva
    assert "age_adjusted.tpa" not in a.ids  # the linear form has no TPA target


@pytest.mark.parametrize(
    ("pt", "flag", "offset"),
    [
        pytest.param(22.0, False, 0.0, id="at-target"),
        # decided as shown (issue 14): value and target to 0.1, so float noise is "at" the target
        pytest.param(above(22.0), False, 0.0, id="noise-above"),
        pytest.param(below(22.0), False, 0.0, id="noise-below"),
        pytest.param(22.05, True, 0.1, id="shown-above"),
        pytest.param(21.94, False, -0.1, id="shown-below"),
        pytest.param(10.0, False, -12.0, id="over-corrected-offset-only"),
        pytest.param(30.0, True, 8.0, id="above"),
    ],
)
def test_flag_only_on_the_deformity_side(pt, flag, offset):
    col = target(61.0, PT=[pt])  # target (61 - 55)/3 + 20 = 22 exactly
    assert col.result[0] is flag
    assert col.offset[0] == offset
    row = col.row(0)
    assert row["flag"] is flag and row["offset"] == offset and row["target"] == 22.0
    assert row["verdict"] == (
        "above the age-adjusted target" if flag else "not above the age-adjusted target"
    )


def test_lafage_status_is_shown_in_every_row():
    row = target(67.0, PT=[25.0]).row(0)
    assert row["status"] == "S-"
    assert (
        row["note"] == "age-adjusted target, Lafage 2016 linear form, not verified against the paper's table"
    )
    assert row["set"] == "lafage2016-linear"
    assert row["rule"] == "flag when PT > target; target = (age - 55)/3 + 20 deg"
    assert "Lafage R" in row["source"] and "41(1):62-68" in row["source"]


@pytest.mark.parametrize(
    ("age", "reason"),
    [
        pytest.param(np.nan, "age unknown: age-adjusted targets not applied", id="unknown"),
        pytest.param(
            -4.0, "age -4 is not a valid age in years: age-adjusted targets not applied", id="negative"
        ),
    ],
)
def test_no_age_no_target(age, reason):
    col = target(age, PT=[25.0])
    assert not col.applied[0]
    assert np.isnan(col.target[0]) and np.isnan(col.offset[0])
    assert col.reason[0] == reason
    assert col.row(0) == {
        "id": "age_adjusted.pt",
        "name": "Age-adjusted PT",
        "applied": False,
        "reason": reason,
        "source": col.source,
        "status": "S-",
        "note": col.note,
        "set": "lafage2016-linear",
        "set_note": col.criterion_set.note,
    }


def test_millimetre_target_needs_calibration():
    col = target(70.0, parameter="SVA", calibrated=False, SVA=[80.0])
    assert col.reason[0] == CALIBRATION_REASON


def test_missing_parameter_and_age_give_both_reasons():
    col = target(np.nan, PT=[np.nan])
    assert col.reason[0] == "PT: missing landmarks: FH; age unknown: age-adjusted targets not applied"


# -- the other built-in sets ------------------------------------------------------------------------


def test_normative_2025_targets_use_pi_and_age():
    col = target(40.0, age_set="normative-pi-age-2025", PT=[15.0], PI=[50.0])
    assert col.target[0] == pytest.approx(-12.7 + 0.38 * 50 + 0.14 * 40)
    col = target(40.0, age_set="normative-pi-age-2025", parameter="TPA", TPA=[8.0], PI=[50.0])
    assert col.target[0] == pytest.approx(-16.9 + 0.34 * 50 + 0.15 * 40)
    assert col.status is Status.V and "PMID 40261392" in col.source


def test_normative_2025_boundary_and_missing_pi():
    exact = target(40.0, age_set="normative-pi-age-2025", PT=[0.0], PI=[50.0]).target[0]
    assert target(40.0, age_set="normative-pi-age-2025", PT=[exact], PI=[50.0]).result[0] is False
    assert target(40.0, age_set="normative-pi-age-2025", PT=[above(exact)], PI=[50.0]).result[0] is False
    assert target(40.0, age_set="normative-pi-age-2025", PT=[exact + 0.1], PI=[50.0]).result[0] is True
    col = target(40.0, age_set="normative-pi-age-2025", PT=[20.0], PI=[np.nan])
    assert col.reason[0] == "PI: missing landmarks: FH"


def test_normative_2025_extrapolated_age_is_noted():
    row = target(95.0, age_set="normative-pi-age-2025", PT=[30.0], PI=[50.0]).row(0)
    assert (
        "extrapolated: age 95 years is outside the derivation cohort (18 <= age <= 90 years)" in row["note"]
    )
    assert (
        "extrapolated"
        not in target(70.0, age_set="normative-pi-age-2025", PT=[30.0], PI=[50.0]).row(0)["note"]
    )


@pytest.mark.parametrize(
    ("delta", "flag"),
    [
        pytest.param(0.0, False, id="at-target"),
        pytest.param(-1e-9, False, id="noise-below-target"),  # shown at the target (issue 14)
        pytest.param(-0.06, True, id="shown-below-target"),
        pytest.param(1e-9, False, id="just-above-target"),
        pytest.param(15.0, False, id="hyperlordosis-offset-only"),
    ],
)
def test_hasegawa_lordosis_flags_below_the_target(delta, flag):
    ideal = 32.9 + 0.60 * 50 - 0.23 * 60
    col = target(60.0, age_set="hasegawa2016", parameter="LL", reference=True, LL=[ideal + delta], PI=[50.0])
    assert col.target[0] == pytest.approx(ideal)
    assert col.result[0] is flag
    assert col.row(0)["verdict"] == (
        "below the normative lordosis" if flag else "not below the normative lordosis"
    )


@pytest.mark.parametrize(
    ("parameter", "threshold"),
    [
        pytest.param("PT", 22.0, id="PT-22"),
        pytest.param("SVA", 46.0, id="SVA-46"),
        pytest.param("PI_LL", 11.0, id="PI-LL-11"),
    ],
)
def test_schwab2013_thresholds_are_inclusive(parameter, threshold):
    def flag(value):
        return target(
            np.nan, age_set="schwab2013-odi40", parameter=parameter, reference=True, **{parameter: [value]}
        )

    assert flag(threshold).result[0] is True  # ">=" thresholds; and no age needed
    assert flag(below(threshold)).result[0] is True  # float noise is shown as the threshold (issue 14)
    assert flag(threshold - 0.06).result[0] is False
    assert flag(above(threshold)).result[0] is True
    row = flag(threshold).row(0)
    assert row["verdict"] == "at or above the ODI > 40 threshold" and row["status"] == "S"
    assert (
        row["rule"]
        == f"flag when {parameter.replace('_', '-')} >= {threshold:g} {'mm' if parameter == 'SVA' else 'deg'}"
    )


def test_available_sets():
    assert available_target_sets() == [
        "hasegawa2016",
        "lafage2016-linear",
        "normative-pi-age-2025",
        "schwab2013-odi40",
    ]
    assert available_age_sets() == ["hasegawa2016", "lafage2016-linear", "normative-pi-age-2025"]
    for name in available_target_sets():
        s = load_target_set(name)
        assert isinstance(s, TargetSet) and s.info.sources and s.info.status is not Status.U


def test_age_set_none_applies_no_target():
    a = assess(measurements(PT=[25.0]), np.array([70.0]), age_set=None)
    assert not any(i.startswith("age_adjusted.") for i in a.ids)


# -- user-supplied sets: Lafage's per-band table as a site would add it -----------------------------

BANDS = [
    {"interval": "[18, 35)", "target": 10},
    {"interval": "[35, 45)", "target": 12},
    {"interval": "[45, 55)", "target": 15},
    {"interval": "[55, 65)", "target": 18},
    {"interval": "[65, 75)", "target": 21},
    {"interval": "[75, inf)", "target": {"intercept": 24}},
]

SITE_SET = {
    "format": "spinecheck-criteria/1",
    "kind": "targets",
    "name": "site-lafage-bands",
    "title": "PT targets by age band (site protocol)",
    "label": "site age-band targets",
    "status": "U",
    "sources": [{"authors": "Spine unit", "year": 2024, "journal": "site protocol"}],
    "targets": [
        {
            "parameter": "PT",
            "unit": "deg",
            "deformity_side": "above",
            "bands": {"variable": "age", "table": BANDS},
        }
    ],
}


def _write(tmp_path, data):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        pytest.param(below(35.0), 10.0, id="just-below-35"),
        pytest.param(35.0, 12.0, id="at-35"),
        pytest.param(below(45.0), 12.0, id="just-below-45"),
        pytest.param(45.0, 15.0, id="at-45"),
        pytest.param(64.9, 18.0, id="64.9"),
        pytest.param(65.0, 21.0, id="at-65"),
        pytest.param(75.0, 24.0, id="at-75"),
        pytest.param(99.0, 24.0, id="99"),
    ],
)
def test_user_band_table(tmp_path, age, expected):
    col = target(age, age_set=_write(tmp_path, SITE_SET), PT=[expected])
    assert col.target[0] == expected
    assert col.result[0] is False  # offset exactly 0
    row = col.row(0)
    assert row["status"] == "U"
    assert row["user_supplied"].startswith("user-supplied criterion set 'site-lafage-bands'")
    assert row["note"].startswith("user-supplied criterion set 'site-lafage-bands'")


def test_user_band_table_outside_every_band(tmp_path):
    col = target(16.0, age_set=_write(tmp_path, SITE_SET), PT=[25.0])
    assert not col.applied[0]
    assert (
        col.reason[0]
        == "age 16 is outside every band of the 'site-lafage-bands' PT table: target not applied"
    )


def test_band_rule_names_the_band(tmp_path):
    row = target(70.0, age_set=_write(tmp_path, SITE_SET), PT=[25.0]).row(0)
    assert row["rule"] == "flag when PT > 21 deg for 65 <= age < 75"
    assert row["flag"] is True


def _edited(path, value):
    data = json.loads(json.dumps(SITE_SET))
    node = data
    keys = path.split("/")
    for k in keys[:-1]:
        node = node[int(k)] if k.isdigit() else node[k]
    last = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        pytest.param(
            "targets/0/deformity_side", "up", '.deformity_side must be "above" or "below"', id="side"
        ),
        pytest.param(
            "targets/0/deformity_side", KeyError, '.deformity_side must be "above" or "below"', id="no-side"
        ),
        pytest.param("targets/0/unit", "mm", ".unit: PT is in 'deg'; got 'mm'", id="unit"),
        pytest.param("targets/0/parameter", "PTT", "unknown variable 'PTT'", id="parameter"),
        pytest.param(
            "targets/0/formula", 3, 'needs exactly one of "formula" or "bands"', id="formula-and-bands"
        ),
        pytest.param(
            "targets/0/bands/table/1/interval", "[30, 45)", "intervals overlap at age = 30", id="overlap"
        ),
        pytest.param(
            "targets/0/bands/table/0/target", "ten", "must be a formula object or a number", id="target"
        ),
        pytest.param("targets/0/bands/variable", "C7_CSVL", "C7_CSVL is measured on ap films", id="view"),
        pytest.param("targets", [], ".targets must be a non-empty list", id="empty"),
        pytest.param("status", "probably", ".status must be one of", id="status"),
        pytest.param(
            "target_nmae", "x", "unknown field 'target_nmae'; did you mean 'target_name'?", id="typo"
        ),
    ],
)
def test_invalid_target_files(tmp_path, path, value, message):
    file = _write(tmp_path, _edited(path, value))
    with pytest.raises(InvalidCriteriaError) as info:
        load_target_set(file)
    assert message in str(info.value)
    assert str(info.value).startswith(f"criterion set '{file}'")


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        pytest.param(
            {"age": {"coefficient": "1/0"}}, 'must be a number or a fraction like "1/3"', id="zero-den"
        ),
        pytest.param({"age": {"coefficient": 1, "centre": 55}}, "unknown field 'centre'", id="centre"),
        pytest.param({}, "must have at least one term", id="empty"),
        pytest.param({"intercept": "3"}, "intercept must be a number", id="intercept"),
    ],
)
def test_invalid_formulas(formula, message):
    with pytest.raises(InvalidCriteriaError, match=re.escape(message)):
        Formula.from_json(formula, where="f")


def test_formula_fractions_are_exact():
    f = Formula.from_json({"age": {"coefficient": "1/3", "center": 55}, "intercept": 20}, where="f")
    ages = np.arange(55.0, 100.0, 3.0)
    assert (f.evaluate({"age": ages}) == (ages - 55) / 3 + 20).all()
    assert f.evaluate({"age": np.array([61.0])})[0] == 22.0


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[10, 20", id="unclosed"),
        pytest.param("(20, 10)", id="reversed"),
        pytest.param("(10, 10)", id="empty"),
    ],
)
def test_invalid_intervals(text):
    with pytest.raises(InvalidCriteriaError):
        Interval.parse(text)


def test_side_vocabulary():
    assert Side("above") is Side.ABOVE and str(Side.BELOW) == "below"
