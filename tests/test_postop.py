"""Post-operative films: the junctional angles, PJK and DJK, Glassman's label, the reports and compare.

Known answers are built by hand in the lateral patient frame (clinical.md §0): ``a`` toward the
patient's anterior, ``s`` up, millimetres; an endplate of orientation θ (positive when its
anterior corner is higher) joins ``mid ∓ L/2 (cos θ, sin θ)``. A sagittal Cobb angle from an
upper endplate U to a lower endplate L is θ(U) − θ(L), positive for lordosis; the junctional
angles are positive for kyphosis, so PJA = θ(UIV inf) − θ(UIV+2 sup) and DJA = θ(LIV−2 inf) −
θ(LIV sup). The expected values are those differences of the chosen angles, never the code's.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pytest
from spinecheck.alignment.criteria.engine import assess, load_criterion_set
from spinecheck.alignment.measure import measure
from spinecheck.alignment.parameters import CurveTable, Measurements
from spinecheck.alignment.postop import junctional_comparison
from spinecheck.alignment.render.comparison import comparison_figure
from spinecheck.alignment.render.figure import figure_for
from spinecheck.alignment.render.pages import report_figure
from spinecheck.alignment.render.text import format_csv, format_table, study_report
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidArgumentError, InvalidCriteriaError
from spinecheck.landmarks.io.landmark_file import landmarks_to_json
from spinecheck.landmarks.points.anatomy import Anatomy
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.points.operation import Operation
from spinecheck.landmarks.synthetic.films import synthetic_lateral, write_dicom

TOL = 1e-9


# --------------------------------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------------------------------


def endplate(frame: dict, level: str, e: str, s_mm: float, theta: float, length: float = 40.0) -> None:
    """An endplate of orientation *theta* (deg) centred at (0, s_mm) in the patient frame (mm)."""
    h = length / 2
    c, s = math.cos(math.radians(theta)), math.sin(math.radians(theta))
    frame[f"{level}.{e}.ant"] = (h * c, s_mm + h * s)
    frame[f"{level}.{e}.post"] = (-h * c, s_mm - h * s)


def to_image(frame: dict, *, facing: int = 1, spacing=(0.5, 0.5), origin=(1000.0, 3000.0)) -> dict:
    """Frame mm (a, s) to pixels: x = x0 + facing·a/col, y = y0 − s/row."""
    row, col = spacing
    return {n: (origin[0] + facing * a / col, origin[1] - s / row) for n, (a, s) in frame.items()}


def lateral(frame: dict, operation=None, *, facing=1, spacing=(0.5, 0.5), anatomy=None) -> LandmarkSet:
    """A calibrated lateral film of the frame points, with an S1 endplate that says where anterior is."""
    frame = dict(frame)
    endplate(frame, "S1", "sup", -600.0, -35.0)
    return LandmarkSet(
        "lateral",
        to_image(frame, facing=facing, spacing=spacing),
        calibration=Calibration.from_spacing(list(spacing)),
        operation=operation,
        **({"anatomy": anatomy} if anatomy is not None else {}),
    )


def junction_frame() -> dict:
    """T8 sup −9°, T10 inf +3° (PJA at UIV T10 = 12°); L2 sup −4°, L4 inf +8° (DJA at LIV L2 = 12°)."""
    f: dict = {}
    endplate(f, "T8", "sup", -100.0, -9.0)
    endplate(f, "T10", "inf", -180.0, 3.0)
    endplate(f, "L2", "sup", -400.0, -4.0)
    endplate(f, "L4", "inf", -520.0, 8.0)
    return f


def op(**items) -> Operation:
    return Operation.checked(**items, source="test")


# --------------------------------------------------------------------------------------------------
# PJA and DJA: known answers
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facing", "spacing"),
    [
        pytest.param(1, (0.5, 0.5), id="facing-right"),
        pytest.param(-1, (0.5, 0.5), id="facing-left"),
        pytest.param(1, (0.2, 0.5), id="anisotropic"),
        pytest.param(-1, (0.5, 0.15), id="anisotropic-left"),
    ],
)
def test_pja_and_dja_known_answers(facing, spacing):
    s = lateral(junction_frame(), op(uiv="T10", liv="L2"), facing=facing, spacing=spacing)
    m = measure(s)
    assert abs(m.values["PJA"][0] - 12.0) < TOL  # θ(T10 inf) − θ(T8 sup) = 3 − (−9)
    assert abs(m.values["DJA"][0] - 12.0) < TOL  # θ(L4 inf) − θ(L2 sup) = 8 − (−4)
    assert m.reasons["PJA"][0] is None and m.operated.tolist() == [True]


def test_lordotic_junctions_are_negative():
    f: dict = {}
    endplate(f, "T11", "sup", -200.0, 4.0)
    endplate(f, "L1", "inf", -300.0, -6.0)
    endplate(f, "L3", "sup", -420.0, 10.0)
    endplate(f, "L5", "inf", -540.0, -15.0)
    m = measure(lateral(f, op(uiv="L1", liv="L3")))
    assert abs(m.values["PJA"][0] - (-10.0)) < TOL  # −6 − 4
    assert abs(m.values["DJA"][0] - (-25.0)) < TOL  # −15 − 10


def test_each_study_is_measured_at_its_own_levels_in_one_call():
    f = junction_frame()
    endplate(f, "T11", "sup", -200.0, 4.0)
    endplate(f, "L1", "inf", -300.0, -6.0)
    sets = [lateral(f, op(uiv="T10")), lateral(f, op(uiv="L1")), lateral(f), lateral(f, op(liv="L2"))]
    m = measure(LandmarkTable.from_sets(sets))
    np.testing.assert_allclose(m.values["PJA"][:2], [12.0, -10.0], atol=TOL)
    assert m.reasons["PJA"][2] == m.reasons["PJA"][3] == "UIV not recorded"
    assert np.isnan(m.values["DJA"][:3]).all() and abs(m.values["DJA"][3] - 12.0) < TOL
    assert m.operated.tolist() == [True, True, False, True]
    from spinecheck.landmarks.points.names import LEVELS

    assert [LEVELS[k] for k in m.junctions.levels["PJA"][1]] == ["T11", "L1"]


def test_a_table_without_operations_gets_what_its_unoperated_rows_get_beside_an_operated_one():
    """No study records an operation (a wide CSV): the shortcut's angles, reasons and lines are the general rule's."""
    f = junction_frame()
    alone = measure(LandmarkTable.from_sets([lateral(f), lateral(f)]))
    mixed = measure(LandmarkTable.from_sets([lateral(f), lateral(f, op(uiv="T10", liv="L2")), lateral(f)]))
    for pid in ("PJA", "DJA"):
        assert np.isnan(alone.values[pid]).all()
        assert alone.reasons[pid].tolist() == mixed.reasons[pid][[0, 2]].tolist()
        assert alone.reasons[pid][0] in ("UIV not recorded", "LIV not recorded")
        got, want = alone.junctions.levels[pid], mixed.junctions.levels[pid][[0, 2]]
        assert got.dtype == want.dtype and got.tolist() == want.tolist() == [[-1, -1], [-1, -1]]
        assert np.isnan(alone.junctions.lines_px[pid]).all()
        assert alone.junctions.lines_px[pid].shape[1:] == mixed.junctions.lines_px[pid].shape[1:]


def test_a_fused_list_may_hold_or_leave_out_a_transitional_level():
    assert Operation.checked(fused=["T12", "L1"]).fused == ("T12", "L1")
    assert Operation.checked(fused=["T12", "T13", "L1"]).fused == ("T12", "T13", "L1")
    assert Operation.checked(fused=["L5", "L6", "S1"]).fused == ("L5", "L6", "S1")


def test_uiv_plus_two_counts_a_thirteenth_thoracic_vertebra():
    f: dict = {}
    endplate(f, "T11", "sup", -200.0, 1.0)
    endplate(f, "T12", "sup", -240.0, -5.0)
    endplate(f, "L1", "inf", -300.0, 2.0)
    typical = measure(lateral(f, op(uiv="L1")))
    assert abs(typical.values["PJA"][0] - 1.0) < TOL  # UIV+2 = T11: 2 − 1
    endplate(f, "T13", "sup", -270.0, 0.0)  # a T13 placed: L1, T13, T12
    with_t13 = measure(lateral(f, op(uiv="L1")))
    assert abs(with_t13.values["PJA"][0] - 7.0) < TOL  # UIV+2 = T12: 2 − (−5)


@pytest.mark.parametrize(
    ("operation", "pid", "reason"),
    [
        pytest.param(None, "PJA", "UIV not recorded", id="not-operated"),
        pytest.param(op(liv="L2"), "PJA", "UIV not recorded", id="no-uiv"),
        pytest.param(op(uiv="T10"), "DJA", "LIV not recorded", id="no-liv"),
        pytest.param(op(uiv="C3"), "PJA", "UIV+2 above C2: the UIV (C3) has fewer than two", id="above-c2"),
        pytest.param(op(uiv="C4"), "PJA", "missing landmarks: C2.sup.ant, C2.sup.post, C4.inf.ant", id="c2"),
        pytest.param(
            op(uiv="T12"), "PJA", "missing landmarks: T10.sup.ant, T10.sup.post, T12.inf.ant", id="missing"
        ),
        pytest.param(
            op(liv="S1"),
            "DJA",
            "the fusion ends at the sacrum (LIV S1): there is no distal junction",
            id="sacrum",
        ),
        pytest.param(
            op(liv="L4"),
            "DJA",
            "fewer than two vertebrae lie between the LIV (L4) and the sacrum (S1)",
            id="l4",
        ),
    ],
)
def test_withheld_with_the_reason(operation, pid, reason):
    m = measure(lateral(junction_frame(), operation))
    assert np.isnan(m.values[pid][0])
    assert reason in str(m.reasons[pid][0])
    assert np.isnan(m.junctions.lines_px[pid][0]).all()


def test_a_sacralised_l5_leaves_one_mobile_vertebra_below_l3():
    m = measure(lateral(junction_frame(), op(liv="L3"), anatomy=Anatomy("L5")))
    assert m.reasons["DJA"][0] == (
        "LIV-2 is not a mobile vertebra: fewer than two vertebrae lie between the LIV (L3) and the sacrum (L5)"
    )


def test_zero_length_endplate_withholds():
    f = junction_frame()
    f["T8.sup.ant"] = f["T8.sup.post"]
    m = measure(lateral(f, op(uiv="T10")))
    assert "T8 superior endplate has zero length" in str(m.reasons["PJA"][0])


def test_the_lines_drawn_are_the_endplates_measured():
    s = lateral(junction_frame(), op(uiv="T10"))
    lines = measure(s).junctions.lines_px["PJA"][0]
    np.testing.assert_array_equal(lines[0], [s.points["T8.sup.post"], s.points["T8.sup.ant"]])
    np.testing.assert_array_equal(lines[1], [s.points["T10.inf.post"], s.points["T10.inf.ant"]])


# --------------------------------------------------------------------------------------------------
# PJK (Glattes) and DJK (Passias): thresholds at the boundary, from both sides
# --------------------------------------------------------------------------------------------------


def hand_measurements(pja, dja=None, operated=True) -> Measurements:
    n = len(pja)
    values = {
        "PJA": np.asarray(pja, float),
        "DJA": np.asarray(dja if dja is not None else [np.nan] * n, float),
    }
    reasons = {k: np.where(np.isfinite(v), None, "not measured").astype(object) for k, v in values.items()}
    return Measurements(
        tuple(f"s{i}" for i in range(n)),
        np.array(["lateral"] * n, dtype=object),
        values,
        {},
        reasons,
        np.ones(n, bool),
        CurveTable.empty(n),
        operated=np.full(n, operated),
    )


@pytest.mark.parametrize(
    ("pja", "pre", "flag"),
    [
        pytest.param(10.0, 0.0, True, id="pja-10.0"),
        pytest.param(9.9, -5.0, False, id="pja-9.9"),
        pytest.param(9.95, -5.0, True, id="pja-9.95-shown-10.0"),
        pytest.param(9.9499, -5.0, False, id="pja-9.9499-shown-9.9"),
        pytest.param(25.0, 15.0, True, id="change-10.0"),
        pytest.param(25.0, 15.1, False, id="change-9.9"),
        pytest.param(12.000000000000028, 2.0, True, id="float-noise"),
        pytest.param(30.0, 25.0, False, id="pja-over-change-under"),
        pytest.param(8.0, -20.0, False, id="change-over-pja-under"),
    ],
)
def test_pjk_glattes_boundaries(pja, pre, flag):
    c = assess(hand_measurements([pja]), preop={"PJA": [pre]})["pjk.glattes"]
    assert c.applied[0] and c.result[0] is flag
    assert c.rule[0] == "PJA >= 10 deg and PJA - preop PJA >= 10 deg"
    assert c.status.value == "V" and "Glattes RC" in c.source


@pytest.mark.parametrize(
    ("dja", "pre", "flag"),
    [
        pytest.param(10.0, -20.0, False, id="dja-10.0-strict"),
        pytest.param(10.1, -20.0, True, id="dja-10.1"),
        pytest.param(25.0, 15.0, False, id="change-10.0-strict"),
        pytest.param(25.0, 14.9, True, id="change-10.1"),
    ],
)
def test_djk_passias_boundaries(dja, pre, flag):
    c = assess(hand_measurements([np.nan], [dja]), preop={"DJA": [pre]})["djk.passias"]
    assert c.applied[0] and c.result[0] is flag
    assert c.rule[0] == "DJA > 10 deg and DJA - preop DJA > 10 deg" and c.status.value == "S"


def test_pjk_is_never_judged_from_the_post_operative_angle_alone():
    c = assess(hand_measurements([40.0]))["pjk.glattes"]
    assert c.present[0] and not c.applied[0] and c.result[0] is None
    assert c.reason[0] == "pre-operative PJA unknown: compare with the pre-operative film, or give its value"
    assert c.summary(0).startswith("PJK (Glattes): not applied (pre-operative PJA unknown")


def test_pjk_is_absent_on_films_not_known_to_be_operated():
    c = assess(hand_measurements([40.0], operated=False), preop={"PJA": 0.0})["pjk.glattes"]
    assert not c.present[0] and c.row(0) is None and c.summary(0) is None


def test_pjk_row_and_table_carry_the_pre_operative_angle_and_the_change():
    a = assess(hand_measurements([12.04]), preop={"PJA": [1.96]})
    row = a["pjk.glattes"].row(0)
    assert (row["flag"], row["preop_value"], row["change"]) == (True, 1.96, 10.0)  # 12.0 − 2.0 as shown
    assert a["pjk.glattes"].summary(0) == (
        "PJK (Glattes): flagged (12.0 deg, pre-op 2.0 deg, change +10.0 deg; "
        "PJA >= 10 deg and PJA - preop PJA >= 10 deg) [V]"
    )
    table = a.table()
    assert table["pjk_glattes_preop_deg"][0] == 1.96 and table["pjk_glattes_change_deg"][0] == 10.0


def test_a_preop_value_per_study_must_fit_the_studies():
    with pytest.raises(InvalidArgumentError, match=r"preop: PJA must have one value per study, shape \(1,\)"):
        assess(hand_measurements([1.0]), preop={"PJA": [1.0, 2.0]})
    with pytest.raises(InvalidArgumentError, match="'XYZ' is not a parameter id"):
        assess(hand_measurements([1.0]), preop={"XYZ": 1.0})


def test_criterion_set_format_of_changes_is_checked(tmp_path):
    def bad(criterion: dict) -> str:
        path = tmp_path / "s.json"
        body = {
            "format": "spinecheck-criteria/1",
            "kind": "criteria",
            "name": "x",
            "title": "x",
            "status": "V",
            "sources": [{"authors": "A", "year": 2000, "journal": "J"}],
            "criteria": [{"id": "x.y", "name": "x", "parameter": "PJA", **criterion}],
        }
        path.write_text(json.dumps(body))
        with pytest.raises(InvalidCriteriaError) as e:
            load_criterion_set(path)
        return str(e.value)

    flag = {"kind": "flag", "interval": "[10, inf)"}
    assert '.change.from must be "preoperative"' in bad(
        {**flag, "change": {"from": "baseline", "interval": "[1, inf)"}}
    )
    assert '.applies_to must be "all" or "operated"' in bad({**flag, "applies_to": "adults"})
    assert 'only a "flag" criterion can judge a change' in bad(
        {
            "kind": "category",
            "bands": [{"result": "a", "interval": "(-inf, inf)"}],
            "change": {"from": "preoperative", "interval": "[1, inf)"},
        }
    )


# --------------------------------------------------------------------------------------------------
# Glassman's coronal criterion on a post-operative film
# --------------------------------------------------------------------------------------------------


def ap_study(operation):
    s = LandmarkSet(
        "ap",
        {"C7.centroid": (150.0, 10.0), "S1.sup.left": (50.0, 500.0), "S1.sup.right": (150.0, 500.0)},
        calibration=Calibration.from_spacing([1.0, 1.0]),
        operation=operation,
    )
    return assess(measure(s))["balance.coronal"]


def test_glassman_is_labelled_as_found_for_unoperated_patients_on_a_postoperative_film():
    c = ap_study(op(uiv="T4", liv="L4"))
    assert c.result[0] is True  # 50 mm > 40 mm: judged, and said to be from unoperated patients
    assert c.row(0)["caution"] == "criterion found for unoperated patients; this film records an operation"
    assert c.summary(0).endswith(
        "[V] (criterion found for unoperated patients; this film records an operation)"
    )


def test_glassman_has_no_caution_on_an_unoperated_film():
    c = ap_study(None)
    assert "caution" not in c.row(0) and "unoperated patients;" not in c.summary(0)


# --------------------------------------------------------------------------------------------------
# load_study, the reports, the figure, the pages and the command line
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def post_file(tmp_path):
    s = lateral(junction_frame())
    body = landmarks_to_json(s)
    body["operation"] = {"date": "2023-05-04", "uiv": "T10"}
    path = tmp_path / "post.json"
    path.write_text(json.dumps(body))
    return path


def test_load_study_overrides_the_operation_and_names_the_argument(post_file):
    st = load_study(str(post_file), liv="L2", preop_pja=1.0, given_by="command line")
    o = st.table.operation(0)
    assert (o.uiv, o.liv, o.source) == ("T10", "L2", "landmark file; liv from the command line")
    assert abs(st.measurements.values["DJA"][0] - 12.0) < TOL
    assert st.assessment["pjk.glattes"].result[0] is True  # 12.0 ≥ 10 and 12.0 − 1.0 ≥ 10
    with pytest.raises(InvalidArgumentError) as e:
        load_study(str(post_file), uiv="L4", liv="L2")
    assert e.value.argument == "uiv" and str(e.value) == "uiv: must be above the LIV (L2); got 'L4'"
    with pytest.raises(InvalidArgumentError, match="^operation_date: must be a date written YYYY-MM-DD"):
        load_study(str(post_file), operation_date="yesterday")
    with pytest.raises(InvalidArgumentError, match="^preop_pja: must be an angle in degrees"):
        load_study(str(post_file), preop_pja=math.inf)


def test_reports_show_the_operation_and_the_junctional_angles(post_file):
    st = load_study(str(post_file))
    report = study_report(st, 0)
    assert report["operation"] == {"date": "2023-05-04", "uiv": "T10", "source": "landmark file"}
    assert abs(report["parameters"]["PJA"]["value"] - 12.0) < TOL
    assert report["parameters"]["DJA"] == {"value": None, "unit": "deg", "reason": "LIV not recorded"}
    text = format_table(st, 0)
    assert "Operation:   operated 2023-05-04; UIV T10 (landmark file)" in text
    assert re.search(r"\nPJA +proximal junctional angle +12\.0°\n", text)
    rows = list(csv.DictReader(io.StringIO(format_csv(st))))
    assert (rows[0]["uiv"], rows[0]["liv"], rows[0]["operation_date"]) == ("T10", "", "2023-05-04")
    assert float(rows[0]["PJA_deg"]) == pytest.approx(12.0, abs=TOL)
    assert rows[0]["pjk_glattes"] == "" and "pre-operative PJA unknown" in rows[0]["pjk_glattes_reason"]


def test_unoperated_reports_keep_the_json_keys_but_not_the_lines(tmp_path):
    path = tmp_path / "pre.json"
    path.write_text(json.dumps(landmarks_to_json(lateral(junction_frame()))))
    st = load_study(str(path))
    report = study_report(st, 0)
    assert "operation" not in report and report["parameters"]["PJA"]["reason"] == "UIV not recorded"
    assert "PJA" not in format_table(st, 0) and "Operation:" not in format_table(st, 0)
    assert not any(r["id"].startswith(("pjk", "djk")) for r in report["criteria"])
    rows = list(csv.DictReader(io.StringIO(format_csv(st))))
    assert rows[0]["uiv"] == "" and rows[0]["PJA_deg"] == "" and rows[0]["pjk_glattes"] == ""


def test_the_figure_draws_the_pja_lines_and_says_why_not_the_dja(post_file):
    st = load_study(str(post_file))
    image = np.zeros((3200, 2000), dtype=np.uint8)
    drawing = figure_for(image, st, 0).spinecheck_drawing
    assert "PJA" in drawing.drawn and drawing.not_drawn["DJA lines"] == "LIV not recorded"
    page = report_figure(image, st, 0)
    assert page.spinecheck_report["operation"]["uiv"] == "T10"


def test_compare_measures_both_films_at_the_post_films_uiv_and_judges_pjk(tmp_path, post_file):
    f = junction_frame()
    endplate(f, "T8", "sup", -100.0, 1.5)  # before: T8 sup 1.5°, so PJA = 3 − 1.5 = 1.5°
    pre_path = tmp_path / "pre.json"
    pre_path.write_text(json.dumps(landmarks_to_json(lateral(f))))
    pre, post = load_study(str(pre_path)), load_study(str(post_file))
    changes = junctional_comparison(pre, 0, post, 0)
    assert [c.parameter for c in changes] == ["PJA"]  # the post film records no LIV
    pja = changes[0]
    assert (pja.levels, pja.pre, pja.post, pja.change) == (
        "T8–T10",
        pytest.approx(1.5),
        pytest.approx(12.0),
        10.5,
    )
    assert pja.criterion.result[0] is True and pja.criterion.baseline[0] == pytest.approx(1.5)
    image = np.zeros((3200, 2000), dtype=np.uint8)
    fig = comparison_figure(image, pre, image, post)
    assert (
        fig.spinecheck_junctions[0].lines()[1].startswith("PJK (Glattes): flagged (12.0 deg, pre-op 1.5 deg")
    )
    assert all(c["pid"] not in ("PJA", "DJA") for c in fig.spinecheck_changes)
    # the pre film is measured at the post film's levels, but is not made post-operative
    assert not pre.measurements.operated[0] and pre.table.operation(0) is None


def test_compare_without_an_operation_on_the_post_film_says_nothing_of_junctions(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(landmarks_to_json(lateral(junction_frame()))))
    st = load_study(str(path))
    assert junctional_comparison(st, 0, st, 0) == []


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_operation_options(capsys, post_file):
    code, out, err = run(capsys, "measure", post_file, "--liv", "L2", "--preop-pja", "1", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["operation"]["liv"] == "L2" and report["operation"]["source"].endswith(
        "from the command line"
    )
    assert next(r for r in report["criteria"] if r["id"] == "pjk.glattes")["flag"] is True
    for argv, message in [
        (("--uiv", "T99"), "error: --uiv: must be a vertebral level"),
        (("--uiv", "L4", "--liv", "L2"), "error: --uiv: must be above the LIV (L2); got 'L4'"),
        (("--operation-date", "2999-12-31"), "error: --operation-date: must not be in the future"),
        (("--preop-pja", "nan"), "error: --preop-pja: must be an angle in degrees, -180 to 180; got nan"),
    ]:
        code, out, err = run(capsys, "measure", post_file, *argv)
        assert code == 2 and err.startswith(message) and err.count("\n") == 1, err


def test_cli_compare_page_shows_pjk(tmp_path, capsys):
    film = synthetic_lateral(mm_per_px=0.5)
    dcm = write_dicom(film, tmp_path / "lat.dcm", patient_age=67)
    pre = tmp_path / "pre.json"
    post = tmp_path / "post.json"
    body = landmarks_to_json(film.landmarks)
    pre.write_text(json.dumps(body))
    body["operation"] = {"uiv": "T10", "liv": "L3"}
    post.write_text(json.dumps(body))
    code, out, err = run(capsys, "compare", dcm, pre, dcm, post, "-o", tmp_path / "c.png")
    assert code == 0, err
    assert (tmp_path / "c.png").stat().st_size > 0


def test_a_fusion_to_the_sacrum_is_one_line_on_the_comparison(tmp_path):
    path = tmp_path / "post.json"
    body = landmarks_to_json(lateral(junction_frame()))
    body["operation"] = {"uiv": "T10", "liv": "S1"}
    path.write_text(json.dumps(body))
    st = load_study(str(path))
    pja, dja = junctional_comparison(st, 0, st, 0)
    assert dja.lines() == [
        "DJA distal junctional angle: not measured (the fusion ends at the sacrum (LIV S1): there is no "
        "distal junction)"
    ]
    assert len(pja.lines()) == 2 and pja.change == 0.0


def test_an_unoperated_figure_says_nothing_of_junctions(tmp_path):
    path = tmp_path / "pre.json"
    path.write_text(json.dumps(landmarks_to_json(lateral(junction_frame()))))
    drawing = figure_for(np.zeros((3200, 2000), dtype=np.uint8), load_study(str(path)), 0).spinecheck_drawing
    assert not any(k.startswith(("PJA", "DJA")) for k in (*drawing.drawn, *drawing.not_drawn))


def test_judge_pjk_is_vectorised_and_judges_as_the_report_does():
    from spinecheck.alignment.criteria import judge_djk, judge_pjk

    c = judge_pjk([10.0, 9.9, 25.0, 25.0, np.nan, 12.0], [0.0, -5.0, 15.0, 15.1, 0.0, np.nan])
    assert c.result.tolist() == [True, False, True, False, None, None]
    assert c.reason[4] == "PJA: PJA not measured"
    assert c.reason[5].startswith("pre-operative PJA unknown")
    d = judge_djk([10.0, 10.1], [-20.0, -20.0])
    assert d.result.tolist() == [False, True] and d.id == "djk.passias"
    with pytest.raises(InvalidArgumentError, match="pre_deg: must have one angle per post-operative angle"):
        judge_pjk([1.0, 2.0], [1.0])


def test_a_series_is_measured_at_the_operations_levels_and_judged_against_the_pre_operative_film(tmp_path):
    from spinecheck.alignment.postop import junctional_series

    def film(t8_sup: float, operation: dict | None, name: str):
        f = junction_frame()
        endplate(f, "T8", "sup", -100.0, t8_sup)
        body = landmarks_to_json(lateral(f))
        if operation is not None:
            body["operation"] = operation
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(body))
        return load_study(str(path)), 0

    # PJA = θ(T10 inf) − θ(T8 sup) = 3 − t8_sup: 4°, 2.5° (before), then 12° and 13.1° (after)
    films = [
        film(-1.0, None, "a"),
        film(0.5, None, "b"),
        film(-9.0, {"uiv": "T10"}, "c"),
        film(-10.1, {"uiv": "T10", "liv": "S1"}, "d"),
    ]
    (pja, dja) = junctional_series(films)
    assert (pja.levels, pja.operated_film, pja.preop_film) == ("T8–T10", 3, 1)
    np.testing.assert_allclose(pja.values, [4.0, 2.5, 12.0, 13.1], atol=TOL)
    assert pja.criterion.result.tolist() == [None, None, False, True]  # +9.5 and +10.6 from film 2
    assert pja.criterion.reason[0] == "PJA: not judged: a film before the pre-operative film (film 2)"
    assert pja.criterion.reason[1] == "PJA: not judged on the pre-operative film"
    assert dja.reasons[3].startswith("the fusion ends at the sacrum")
    assert junctional_series(films[:2]) == []  # no film records an operation
    only_post = junctional_series(films[2:])
    assert only_post[0].preop_film is None and only_post[0].criterion.result.tolist() == [None, None]
