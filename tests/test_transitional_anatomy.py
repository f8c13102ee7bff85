"""Transitional anatomy: a sixth lumbar vertebra (L6), a thirteenth thoracic (T13), a sacralised L5.

Every expected number is computed by hand from the construction of the film (chosen endplate
angles, a chosen hip axis), with clinical.md §0's conventions: endplate orientation θ is the
direction post→ant from the anterior horizontal, positive when the anterior corner is higher;
SS = −θ(sacral endplate); a sagittal Cobb between an upper line U and a lower line L is
θ(U) − θ(L) (lordosis positive; TK is its negative). The levels each ranged parameter uses are
the decisions of ``alignment/parameters.py`` (``RANGES``): LL and TK follow the anatomy, the
variants named by their levels are literal, LL_L4S1 is not measured on a transitional
lumbosacral junction.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from spinecheck.alignment.measure import measure
from spinecheck.alignment.render.text import format_table, study_report, table_columns
from spinecheck.alignment.study import load_study
from spinecheck.cli import main
from spinecheck.landmarks.errors import InvalidLandmarksError
from spinecheck.landmarks.io.landmark_file import parse_landmarks, read_landmark_json, write_landmarks
from spinecheck.landmarks.io.wide_csv import landmark_table_to_csv, read_wide_csv
from spinecheck.landmarks.points.anatomy import Anatomy, levels_of_spine
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.facing import anterior_direction, facing
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.points.names import (
    LEVELS,
    TYPICAL_LEVELS,
    check_point_name,
    level_index,
    valid_point_names,
)

TOL = 1e-9
WIDTH = 30.0  # endplate length, px
HEIGHT = 40.0  # vertebral body height, px
PITCH = 60.0  # from one level's superior endplate to the next one's, px
CAL = Calibration.from_spacing([1.0, 1.0])


def _sin(deg: float) -> float:
    return math.sin(math.radians(deg))


def _cos(deg: float) -> float:
    return math.cos(math.radians(deg))


def _y(level: str, endplate: str) -> float:
    """Where an endplate's midpoint lies (image rows): levels in their order, each HEIGHT tall."""
    return PITCH * LEVELS.index(level) + (HEIGHT if endplate == "inf" else 0.0)


def _lateral_endplate(points: dict, level: str, endplate: str, theta: float, x: float = 0.0) -> None:
    """Corners of an endplate at orientation *theta* (deg), the patient facing image right."""
    y = _y(level, endplate)
    points[f"{level}.{endplate}.post"] = (x - WIDTH / 2 * _cos(theta), y + WIDTH / 2 * _sin(theta))
    points[f"{level}.{endplate}.ant"] = (x + WIDTH / 2 * _cos(theta), y - WIDTH / 2 * _sin(theta))


def _lateral(
    tilts: dict[tuple[str, str], float],
    *,
    sacral: str = "S1",
    pt: float = 30.0,
    c7_x: float = 30.0,
    sacralised: str | None = None,
) -> LandmarkSet:
    """A lateral film from the endplate orientations *tilts* (θ, degrees).

    The hip axis is placed for PT = *pt* from the *sacral* superior endplate's midpoint, and C7
    has an explicit centroid at x = *c7_x*.
    """
    points: dict = {}
    for (level, endplate), theta in tilts.items():
        _lateral_endplate(points, level, endplate, theta)
    mid = np.mean([points[f"{sacral}.sup.post"], points[f"{sacral}.sup.ant"]], axis=0)
    d = 120.0  # HA anterior and below S1mid: PT positive, = atan(dx / dy) from the vertical
    points["FH"] = (mid[0] + d * _sin(pt), mid[1] + d * _cos(pt))
    points["C7.centroid"] = (c7_x, _y("C7", "sup") + HEIGHT / 2)
    return LandmarkSet("lateral", points, calibration=CAL, anatomy=Anatomy(sacralised))


# θ of each endplate, degrees: the common part of every lateral film below
BASE = {
    ("T2", "sup"): -30.0,
    ("T4", "sup"): -20.0,
    ("T5", "sup"): -15.0,
    ("T12", "inf"): 25.0,
    ("L1", "sup"): 20.0,
    ("L4", "sup"): 5.0,
    ("L5", "sup"): -10.0,
    ("L5", "inf"): -25.0,
    ("S1", "sup"): -40.0,
}
L6 = {("L6", "sup"): -30.0, ("L6", "inf"): -35.0}
T13 = {("T13", "sup"): 28.0, ("T13", "inf"): 30.0}


def _values(s: LandmarkSet) -> dict[str, float]:
    m = measure(s)
    return {pid: float(m.value(pid)[0]) for pid in m.values}


def _reason(s: LandmarkSet, pid: str) -> str:
    return str(measure(s).reasons[pid][0])


# ------------------------------------------------------------------------------ the vocabulary


def test_levels_hold_t13_and_l6_in_spinal_order() -> None:
    assert LEVELS[level_index("T12") : level_index("L1") + 1] == ("T12", "T13", "L1")
    assert LEVELS[level_index("L5") : level_index("S1") + 1] == ("L5", "L6", "S1")
    assert len(LEVELS) == 26 and len(TYPICAL_LEVELS) == 24
    assert set(LEVELS) - set(TYPICAL_LEVELS) == {"T13", "L6"}
    for view, corner in (("lateral", "ant"), ("ap", "left")):
        for level in ("T13", "L6"):
            assert f"{level}.sup.{corner}" in valid_point_names(view)
            assert check_point_name(f"{level}.inf.{corner}", view).level == level


@pytest.mark.parametrize("name", ["L7.sup.ant", "T14.inf.post", "S2.sup.ant"])
def test_levels_beyond_the_transitional_ones_are_refused(name: str) -> None:
    with pytest.raises(InvalidLandmarksError, match="unknown point name"):
        check_point_name(name, "lateral")


def test_a_spine_has_t13_or_l6_only_where_one_is_named() -> None:
    assert "T13" not in levels_of_spine(["T12.inf.ant", "L1.sup.ant"])
    assert levels_of_spine(["T13.sup.ant"])[level_index("T12") : level_index("T12") + 3] == (
        "T12",
        "T13",
        "L1",
    )
    assert levels_of_spine([], sacralised="L6")[-2:] == ("L6", "S1")


# ------------------------------------------------------------------------------ six lumbar vertebrae


def test_six_lumbar_vertebrae_known_answers() -> None:
    s = _lateral({**BASE, **L6})
    v = _values(s)
    assert v["SS"] == pytest.approx(40.0, abs=TOL)  # -θ(S1 sup)
    assert v["PT"] == pytest.approx(30.0, abs=TOL)
    assert v["PI"] == pytest.approx(70.0, abs=TOL)  # PT + SS
    assert v["LL"] == pytest.approx(20.0 - (-40.0), abs=TOL)  # L1 sup to S1 sup: all six lumbar vertebrae
    assert v["LL_L1L5"] == pytest.approx(20.0 - (-25.0), abs=TOL)  # literally L1 sup to L5 inf
    assert v["PI_LL"] == pytest.approx(10.0, abs=TOL)
    assert v["TK"] == pytest.approx(25.0 - (-20.0), abs=TOL)  # T4 sup to T12 inf: 12 thoracic
    assert math.isnan(v["LL_L4S1"])
    assert _reason(s, "LL_L4S1").startswith(
        "not measured with transitional lumbosacral anatomy (6 lumbar vertebrae (L6))"
    )


def test_without_its_l6_points_the_same_film_measures_lower_lordosis_l4_s1() -> None:
    v = _values(_lateral(BASE))
    assert v["LL"] == pytest.approx(60.0, abs=TOL)
    assert v["LL_L4S1"] == pytest.approx(5.0 - (-40.0), abs=TOL)


# ------------------------------------------------------------------------------ thirteen thoracic vertebrae


def test_thirteen_thoracic_vertebrae_known_answers() -> None:
    v = _values(_lateral({**BASE, **T13}))
    assert v["TK"] == pytest.approx(30.0 - (-20.0), abs=TOL)  # T4 sup to T13 inf, the last thoracic
    assert v["TK_T2T12"] == pytest.approx(25.0 - (-30.0), abs=TOL)  # literally T2 sup to T12 inf
    assert v["TK_T5T12"] == pytest.approx(25.0 - (-15.0), abs=TOL)
    assert v["LL"] == pytest.approx(60.0, abs=TOL)
    assert v["LL_L4S1"] == pytest.approx(45.0, abs=TOL)  # a T13 leaves the lumbosacral junction alone


def test_a_t13_without_its_inferior_endplate_withholds_tk_and_says_what_is_missing() -> None:
    s = _lateral({**BASE, ("T13", "sup"): 28.0})
    assert math.isnan(_values(s)["TK"])
    assert _reason(s, "TK") == "missing landmarks: T13.inf.ant, T13.inf.post"


# ------------------------------------------------------------------------------ a sacralised L5

SACRALISED = {**BASE, ("L5", "sup"): -30.0, ("L5", "inf"): -45.0, ("S1", "sup"): -50.0}


def test_sacralised_l5_known_answers() -> None:
    s = _lateral(SACRALISED, sacral="L5", sacralised="L5")
    v = _values(s)
    assert v["SS"] == pytest.approx(30.0, abs=TOL)  # -θ(L5 sup): the sacral endplate
    assert v["PT"] == pytest.approx(30.0, abs=TOL)  # the hip axis placed from L5's midpoint
    assert v["PI"] == pytest.approx(60.0, abs=TOL)
    assert v["LL"] == pytest.approx(20.0 - (-30.0), abs=TOL)  # L1 sup to L5 sup: four mobile lumbar
    assert v["LL_L1L5"] == pytest.approx(20.0 - (-45.0), abs=TOL)  # literal
    assert v["PI_LL"] == pytest.approx(10.0, abs=TOL)
    assert v["TK"] == pytest.approx(45.0, abs=TOL)
    # SVA from L5's posterosuperior corner, x = -WIDTH/2 cos(-30°)
    assert v["SVA"] == pytest.approx(30.0 + WIDTH / 2 * _cos(-30.0), abs=TOL)
    assert math.isnan(v["LL_L4S1"])
    assert "(sacralised L5)" in _reason(s, "LL_L4S1")
    m = measure(s)
    assert any(w.startswith("S1 points not used: with a sacralised L5") for w in m.warnings[0])


def test_the_same_film_without_the_anatomy_key_measures_from_s1() -> None:
    s = _lateral(SACRALISED, sacral="L5")  # the hip axis is where it was; S1 is the sacral endplate now
    v = _values(s)
    assert v["SS"] == pytest.approx(50.0, abs=TOL)
    assert v["LL"] == pytest.approx(70.0, abs=TOL)
    # this film's hip axis lies above its S1 endplate (placed for the sacralised L5): withheld, not graded
    assert math.isnan(v["PI"]) and math.isnan(v["PT"])
    assert _reason(s, "PI").startswith("landmark check failed: FH lies above the S1 superior endplate")
    assert not any("S1 points not used" in w for w in measure(s).warnings[0])


def test_sacralised_l6_makes_l6_the_sacral_endplate() -> None:
    tilts = {**BASE, **L6, ("L6", "sup"): -33.0}
    v = _values(_lateral(tilts, sacral="L6", sacralised="L6"))
    assert v["SS"] == pytest.approx(33.0, abs=TOL)
    assert v["LL"] == pytest.approx(53.0, abs=TOL)
    assert v["PI"] == pytest.approx(63.0, abs=TOL)


def test_the_anterior_direction_comes_from_the_sacral_endplate() -> None:
    points = {"L5.sup.ant": (20.0, 0.0), "L5.sup.post": (0.0, 2.0), "L1.sup.ant": (0.0, -300.0)}
    points["L1.sup.post"] = (20.0, -302.0)  # a slip that the sacral endplate outvotes
    s = LandmarkSet("lateral", points, anatomy=Anatomy("L5"))
    got = facing(s.to_table())
    assert got.sign.tolist() == [1.0] and got.from_s1.tolist() == [True]
    assert anterior_direction(points, "L5") == 1
    assert anterior_direction(points) is None  # without it, L5 and L1 tie
    m = measure(s)
    assert not any("superior endplate not annotated" in w for w in m.warnings[0])


def test_a_suspect_sacralised_vertebra_withholds_what_is_built_on_the_sacral_endplate() -> None:
    def flawed(sacralised: str | None) -> LandmarkSet:
        s = _lateral(SACRALISED, sacral="L5", sacralised=sacralised)
        points = dict(s.points)  # L5's superior and inferior endplates swapped
        for c in ("ant", "post"):
            points[f"L5.sup.{c}"], points[f"L5.inf.{c}"] = points[f"L5.inf.{c}"], points[f"L5.sup.{c}"]
        return s.replace(points=points)

    m = measure(LandmarkTable.from_sets([flawed("L5"), flawed(None)]))
    sacralised, typical = 0, 1
    for pid in ("PI", "PT", "SS", "LL", "SVA"):
        assert math.isnan(m.value(pid)[sacralised]), pid
        assert str(m.reasons[pid][sacralised]).startswith("landmark check failed: L5: superior corners"), pid
        # S1 is the typical film's sacral endplate; its hip axis lies above it (placed for the sacralised
        # L5), so what is built on the hip axis is withheld too
        assert math.isfinite(m.value(pid)[typical]) == (pid not in ("PI", "PT")), pid
    assert math.isnan(m.value("LL_L1L5")[typical])


# ------------------------------------------------------------------------------ many studies at once


def test_a_table_of_mixed_spines_measures_each_as_alone() -> None:
    sets = [
        _lateral(BASE),
        _lateral({**BASE, **L6}),
        _lateral({**BASE, **T13}),
        _lateral(SACRALISED, sacral="L5", sacralised="L5"),
        _lateral({**BASE, **T13, **L6}),
    ]
    together = measure(LandmarkTable.from_sets(sets))
    for i, s in enumerate(sets):
        alone = measure(s)
        for pid in together.values:
            np.testing.assert_allclose(together.value(pid)[i], alone.value(pid)[0], atol=TOL, err_msg=pid)
            assert together.reasons[pid][i] == alone.reasons[pid][0], pid
    assert together.spine.lumbar_count.tolist() == [5, 6, 5, 4, 6]
    assert together.spine.thoracic_count.tolist() == [12, 12, 13, 12, 13]


# ------------------------------------------------------------------------------ AP films


def _ap(
    tilts: dict[str, float], *, s1_x: float = 10.0, sacral_tilt: float = 25.0, sacralised: str | None = None
) -> LandmarkSet:
    """An AP film: each vertebra of *tilts* with both endplates tilted alike, centred at x = 0.

    Tilts are degrees, the right side higher positive (the patient's right is image right). L5 is
    a vertebra tilted *sacral_tilt*; S1's superior endplate is level, centred at x = *s1_x*; C7's
    centroid is at x = 15.
    """
    points: dict = {}
    for level, t in tilts.items():
        for e in ("sup", "inf"):
            y = _y(level, e)
            points[f"{level}.{e}.left"] = (-WIDTH / 2 * _cos(t), y + WIDTH / 2 * _sin(t))
            points[f"{level}.{e}.right"] = (WIDTH / 2 * _cos(t), y - WIDTH / 2 * _sin(t))
    y = _y("L5", "sup")
    points["L5.sup.left"] = (-WIDTH / 2 * _cos(sacral_tilt), y + WIDTH / 2 * _sin(sacral_tilt))
    points["L5.sup.right"] = (WIDTH / 2 * _cos(sacral_tilt), y - WIDTH / 2 * _sin(sacral_tilt))
    points["L5.inf.left"] = (-WIDTH / 2 * _cos(sacral_tilt), _y("L5", "inf") + WIDTH / 2 * _sin(sacral_tilt))
    points["L5.inf.right"] = (WIDTH / 2 * _cos(sacral_tilt), _y("L5", "inf") - WIDTH / 2 * _sin(sacral_tilt))
    points["S1.sup.left"] = (s1_x - WIDTH / 2, _y("S1", "sup"))
    points["S1.sup.right"] = (s1_x + WIDTH / 2, _y("S1", "sup"))
    points["C7.centroid"] = (15.0, _y("C7", "sup") + HEIGHT / 2)
    return LandmarkSet(
        "ap", points, calibration=CAL, patient_right="image_right", anatomy=Anatomy(sacralised)
    )


AP_TILTS = {"T10": 0.0, "T11": 0.0, "T12": 0.0, "L1": 5.0, "L2": 10.0, "L3": 15.0, "L4": 20.0}


def test_ap_with_a_sacralised_l5_measures_from_its_superior_endplate() -> None:
    s = _ap(AP_TILTS, sacralised="L5")
    y = _y("S1", "inf")  # S1's inferior endplate too: the sacrum below L5, not a vertebra of the curves
    s = s.replace(points={**s.points, "S1.inf.left": (-5.0, y), "S1.inf.right": (25.0, y)})
    m = measure(s)
    assert float(m.value("C7_CSVL")[0]) == pytest.approx(15.0, abs=TOL)  # the CSVL through L5's midpoint
    assert float(m.value("PO")[0]) == pytest.approx(25.0, abs=TOL)  # L5's superior endplate, no crests
    curves = m.curves.curve_list(0)
    assert [(c.upper_end, c.lower_end) for c in curves] == [("T10", "L4")]  # L5 is sacrum, not in a curve
    assert curves[0].angle_deg == pytest.approx(20.0, abs=TOL)
    assert "pelvic obliquity from the L5 endplate (iliac crests not annotated)" in m.warnings[0]
    assert not any("not annotated between them" in w for w in m.warnings[0])


def test_ap_without_the_anatomy_key_measures_from_s1_and_l5_joins_the_curve() -> None:
    m = measure(_ap(AP_TILTS))
    assert float(m.value("C7_CSVL")[0]) == pytest.approx(5.0, abs=TOL)
    assert float(m.value("PO")[0]) == pytest.approx(0.0, abs=TOL)
    curves = m.curves.curve_list(0)
    assert [(c.upper_end, c.lower_end) for c in curves] == [("T10", "L5")]
    assert curves[0].angle_deg == pytest.approx(25.0, abs=TOL)


def test_ap_curves_run_through_t13_and_l6_and_a_spine_without_them_has_no_gap() -> None:
    typical = measure(_ap(AP_TILTS))
    assert not any("not annotated between them" in w for w in typical.warnings[0])
    both = measure(_ap({**AP_TILTS, "T13": 0.0, "L6": 30.0}, sacral_tilt=25.0))
    (curve,) = both.curves.curve_list(0)
    assert (curve.upper_end, curve.lower_end, curve.angle_deg) == ("T10", "L6", pytest.approx(30.0, abs=TOL))
    # a T13 named but not annotated in full is a gap in the curves
    partial = _ap(AP_TILTS)
    partial = partial.replace(points={**partial.points, "T13.centroid": (0.0, _y("T13", "sup") + 20.0)})
    warned = [w for w in measure(partial).warnings[0] if "not annotated between them" in w]
    assert warned == ["curves measured on the annotated levels only; not annotated between them: T13"]


def test_levels_out_of_order_are_found_across_t13_and_l6() -> None:
    s = _lateral({**BASE, **L6})
    points = dict(s.points)
    for c in ("ant", "post"):  # L6 drawn above L5
        for e in ("sup", "inf"):
            x, y = points[f"L6.{e}.{c}"]
            points[f"L6.{e}.{c}"] = (x, y - 2 * PITCH)
    m = measure(s.replace(points=points))
    assert any("L6 lies above L5 (levels out of order?)" in w for w in m.warnings[0])


# ------------------------------------------------------------------------------ files


def _doc(points: dict, **extra: object) -> dict:
    return {"format": "spinecheck-landmarks/1", "view": "lateral", "points": points, **extra}


def test_the_anatomy_key_round_trips_and_older_files_stay_valid(tmp_path: Path) -> None:
    s = _lateral({**SACRALISED, **T13}, sacral="L5", sacralised="L5")
    path = tmp_path / "sacralised.json"
    write_landmarks(s, path)
    doc = json.loads(path.read_text())
    assert doc["anatomy"] == {"sacralised": "L5"}
    back = read_landmark_json(path)
    assert back.anatomy == Anatomy("L5") and back.points == s.points
    write_landmarks(_lateral(BASE), tmp_path / "typical.json")
    assert "anatomy" not in json.loads((tmp_path / "typical.json").read_text())
    assert read_landmark_json(tmp_path / "typical.json").anatomy == Anatomy()
    assert parse_landmarks(_doc({}, anatomy={})).anatomy == Anatomy()
    assert parse_landmarks(_doc({}, anatomy={"sacralised": None})).anatomy == Anatomy()


BAD_ANATOMY = [
    pytest.param({"sacralised": "S1"}, '"anatomy.sacralised" must be "L5" or "L6"', id="S1"),
    pytest.param({"sacralised": "L4"}, 'got "L4"', id="L4"),
    pytest.param({"sacralised": "l5"}, "(level names are upper case)", id="lower-case"),
    pytest.param({"sacralised": 5}, "got 5", id="number"),
    pytest.param({"sacralized": "L5"}, 'unknown key "sacralized" (spelt "sacralised")', id="spelling"),
    pytest.param({"lumbarised": "S1"}, '"anatomy" may hold "sacralised"', id="unknown-key"),
    pytest.param(["L5"], '"anatomy" must be a JSON object', id="not-an-object"),
]


@pytest.mark.parametrize(("anatomy", "words"), BAD_ANATOMY)
def test_a_bad_anatomy_block_is_one_line_naming_the_file_and_field(
    tmp_path: Path, anatomy: object, words: str
) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_doc({"L5.sup.ant": [1, 2]}, anatomy=anatomy)))
    with pytest.raises(InvalidLandmarksError) as e:
        read_landmark_json(path)
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"landmarks file '{path}': ") and words in text


def test_l6_points_below_a_sacralised_l5_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_doc({"L6.sup.ant": [1, 2]}, anatomy={"sacralised": "L5"})))
    with pytest.raises(InvalidLandmarksError, match=r'point "L6.sup.ant" lies below the sacralised L5'):
        read_landmark_json(path)
    with pytest.raises(InvalidLandmarksError, match="inside the sacrum"):
        LandmarkSet("lateral", {"L6.inf.post": (1.0, 2.0)}, anatomy=Anatomy("L5"))


def test_the_wide_csv_carries_sacralised_and_the_transitional_levels() -> None:
    text = (
        "image,view,T13.sup.ant.x,T13.sup.ant.y,L6.sup.ant.x,L6.sup.ant.y,sacralised\n"
        "a,lateral,1,2,3,4,\n"
        "b,lateral,1,2,,,L5\n"
        "c,lateral,,,3,4,L5\n"
        "d,lateral,,,,,S1\n"
        "e,ap,,,,,L6\n"
    )
    t = read_wide_csv(io.StringIO(text))
    assert t.sacralised.tolist() == [None, "L5", None, None, "L6"]
    assert t.row_errors[:2].tolist() == [None, None] and t.row_errors[4] is None
    assert 'line 4: column "sacralised" is L5 but point "L6.sup.ant" is given' in t.row_errors[2]
    assert 'line 5: column "sacralised" must be L5, L6' in t.row_errors[3]
    assert "(a lumbarised S1 is named L6" in t.row_errors[3]
    good = t.subset(np.array([0, 1, 4]))
    back = read_wide_csv(io.StringIO(landmark_table_to_csv(good)))
    assert back.sacralised.tolist() == [None, "L5", "L6"]
    assert back.study(1).anatomy == Anatomy("L5")
    np.testing.assert_array_equal(back.points["T13.sup.ant"], good.points["T13.sup.ant"])


# ------------------------------------------------------------------------------ reports


def _study_of(s: LandmarkSet, tmp_path: Path, name: str = "case.json"):
    path = tmp_path / name
    write_landmarks(s, path)
    return load_study(str(path))


def test_the_report_states_the_anatomy_and_each_ranged_parameters_levels(tmp_path: Path) -> None:
    study = _study_of(_lateral({**SACRALISED, **T13}, sacral="L5", sacralised="L5"), tmp_path)
    report = study_report(study, 0)
    assert report["anatomy"] == {
        "thoracic_vertebrae": 13,
        "lumbar_vertebrae": 4,
        "sacralised": "L5",
        "sacral_endplate": "L5 superior",
        "summary": "13 thoracic vertebrae (T1-T13); sacralised L5: 4 mobile lumbar vertebrae (L1-L4), "
        "the sacrum begins at L5",
    }
    params = report["parameters"]
    assert params["LL"]["levels"] == "L1 superior to L5 superior endplate"
    assert params["TK"]["levels"] == "T4 superior to T13 inferior endplate"
    assert params["TK_T5T12"]["levels"] == "T5 superior to T12 inferior endplate"
    assert params["LL_L1L5"]["levels"] == "L1 superior to L5 inferior endplate"
    assert params["PI"]["levels"] == "the L5 superior endplate as the sacral endplate (sacralised L5)"
    assert params["PI_LL"]["levels"].startswith("PI with the L5 superior endplate")
    assert "levels" not in params["LL_L4S1"]  # not measured here: its reason says why
    assert params["CL"]["levels"] == "C2 inferior to C7 inferior endplate"
    assert "levels" not in params["T1S"] and "levels" not in params["cSVA"]
    text = format_table(study, 0)
    assert "Anatomy:     13 thoracic vertebrae (T1-T13); sacralised L5" in text
    assert "\n  LL: L1 superior to L5 superior endplate\n" in text
    assert (
        "\n  PI, PT, SS, SVA, TPA, GT: the L5 superior endplate as the sacral endplate (sacralised L5)\n"
        in text
    )
    assert table_columns(study)["anatomy"].tolist() == [report["anatomy"]["summary"]]


def test_a_typical_spine_reports_no_anatomy_and_no_levels(tmp_path: Path) -> None:
    study = _study_of(_lateral(BASE), tmp_path)
    report = study_report(study, 0)
    assert "anatomy" not in report
    assert all("levels" not in p for p in report["parameters"].values())
    assert "Anatomy:" not in format_table(study, 0)
    assert table_columns(study)["anatomy"].tolist() == [""]


def test_measure_on_the_command_line_states_six_lumbar_vertebrae(tmp_path: Path, capsys) -> None:
    path = tmp_path / "l6.json"
    write_landmarks(_lateral({**BASE, **L6}), path)
    assert main(["measure", str(path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["anatomy"]["lumbar_vertebrae"] == 6
    assert report["parameters"]["LL"] == {
        "value": pytest.approx(60.0, abs=TOL),
        "unit": "deg",
        "levels": "L1 superior to S1 superior endplate",
    }
    assert main(["measure", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Anatomy:     6 lumbar vertebrae (L1-L6)" in out
    assert "LL_L4S1" in out and "not measured with transitional lumbosacral anatomy" in out


def test_a_bad_anatomy_on_the_command_line_is_one_error_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_doc({}, anatomy={"sacralised": "S1"})))
    assert main(["measure", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: landmarks file '{path}': \"anatomy.sacralised\"")


def test_a_resumed_annotation_writes_back_the_anatomy_and_the_transitional_points(tmp_path: Path) -> None:
    from spinecheck.landmarks.annotate.session import AnnotationSession

    path = tmp_path / "case.json"
    write_landmarks(LandmarkSet("lateral", {"T13.inf.ant": (5.0, 9.0)}, anatomy=Anatomy("L5")), path)
    session = AnnotationSession(path, "lateral-core")
    session.place((20.0, 80.0))  # the first step, FH.left: the file is saved
    back = read_landmark_json(path)
    assert back.anatomy == Anatomy("L5")
    assert back.points["T13.inf.ant"] == (5.0, 9.0) and back.points["FH.left"] == (20.0, 80.0)
