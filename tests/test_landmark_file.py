"""The ``spinecheck-landmarks/1`` reader and writer (formats.md §1)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from spinecheck.landmarks.errors import DegenerateGeometryError, InvalidLandmarksError
from spinecheck.landmarks.io import (
    FORMAT,
    atomic,
    landmarks_to_json,
    landmarks_to_text,
    parse_landmarks,
    read_landmarks,
    write_landmarks,
)
from spinecheck.landmarks.points.calibration import Calibration, CalibrationSource
from spinecheck.landmarks.points.circle import Circle
from spinecheck.landmarks.points.model import FloatPoints, ImageRef, LandmarkSet, PatientInfo, Sex
from spinecheck.landmarks.points.names import (
    PatientRight,
    View,
    check_point_name,
    parse_point_name,
    valid_point_names,
)

SPEC_EXAMPLE = {
    "format": "spinecheck-landmarks/1",
    "view": "lateral",
    "image": {"path": "case001.dcm", "sop_instance_uid": "1.2.3", "rows": 7200, "columns": 3000},
    "patient": {"age_years": 67},
    "calibration": {"mm_per_px": [0.15, 0.15]},
    "points": {
        "C7.centroid": [1510.0, 1432.5],
        "S1.sup.ant": [1620.0, 5305.0],
        "S1.sup.post": [1455.0, 5248.0],
        "FH.left": [1700.2, 5720.0],
        "FH.right": [1688.0, 5745.5],
    },
}


def _write(tmp_path: Path, content: object, name: str = "a.json") -> Path:
    path = tmp_path / name
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return path


def _doc(**changes: object) -> dict:
    doc: dict = {"format": FORMAT, "view": "lateral", "points": {"S1.sup.ant": [1620.0, 5305.0]}}
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not _DROP}


_DROP = object()


# ------------------------------------------------------------------------------------------ good files


def test_spec_example_reads_every_block(tmp_path: Path) -> None:
    path = _write(tmp_path, SPEC_EXAMPLE)
    s = read_landmarks(path)
    assert s.view is View.LATERAL
    assert s.points["S1.sup.ant"] == (1620.0, 5305.0)
    assert s.points["FH.left"] == (1700.2, 5720.0)
    assert s.image == ImageRef("case001.dcm", "1.2.3", 7200, 3000)
    assert s.patient == PatientInfo(67.0, "landmark file", None, None)
    assert s.calibration is not None
    assert s.calibration.mm_per_px == (0.15, 0.15)
    assert s.calibration.source is CalibrationSource.USER_SPACING
    assert s.source == str(path)
    assert s.warnings == ()
    assert s.patient_right is None and not s.circles


def test_str_path_and_pathlike_both_work(tmp_path: Path) -> None:
    path = _write(tmp_path, SPEC_EXAMPLE)
    assert read_landmarks(str(path)).points == read_landmarks(path).points


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(SPEC_EXAMPLE).encode())
    assert read_landmarks(path).points["C7.centroid"] == (1510.0, 1432.5)


def test_integers_become_floats_and_view_is_case_insensitive(tmp_path: Path) -> None:
    s = read_landmarks(_write(tmp_path, _doc(view="AP", points={"S1.sup.left": [10, 20]})))
    assert s.view is View.AP
    assert s.points["S1.sup.left"] == (10.0, 20.0)
    assert isinstance(s.points["S1.sup.left"][0], float)


def test_unknown_top_level_keys_are_ignored(tmp_path: Path) -> None:
    s = read_landmarks(_write(tmp_path, _doc(reviewer={"name": "x"}, notes="fine")))
    assert s.warnings == ()
    assert "reviewer" not in landmarks_to_json(s) and "notes" not in landmarks_to_json(s)


def test_misspelt_top_level_key_is_ignored_with_a_warning(tmp_path: Path) -> None:
    s = read_landmarks(_write(tmp_path, _doc(calibraton={"mm_per_px": [0.1, 0.1]})))
    assert s.calibration is None
    assert any('"calibraton"' in w and '"calibration"' in w for w in s.warnings)


def test_patient_sex_and_patient_right_on_ap(tmp_path: Path) -> None:
    doc = _doc(
        view="ap",
        points={"S1.sup.left": [10, 20], "S1.sup.right": [30, 20]},
        patient={"age_years": 14.5, "sex": "f"},
        patient_right="image_left",
    )
    s = read_landmarks(_write(tmp_path, doc))
    assert s.patient == PatientInfo(14.5, "landmark file", Sex.F, "landmark file")
    assert s.patient_right is PatientRight.IMAGE_LEFT


def test_patient_right_on_lateral_is_dropped_with_a_warning(tmp_path: Path) -> None:
    s = read_landmarks(_write(tmp_path, _doc(patient_right="image_right")))
    assert s.patient_right is None
    assert any("patient_right" in w and "lateral" in w for w in s.warnings)


def test_line_calibration(tmp_path: Path) -> None:
    s = read_landmarks(_write(tmp_path, _doc(calibration={"line": [[0, 0], [0, 400]], "length_mm": 100})))
    assert s.calibration == Calibration.from_line((0, 0), (0, 400), 100.0)
    assert s.calibration.mm_per_px == (0.25, 0.25)


def test_ball_calibration(tmp_path: Path) -> None:
    rim = [[125, 100], [100, 125], [75, 100], [100, 75]]
    s = read_landmarks(_write(tmp_path, _doc(calibration={"ball": {"rim": rim, "diameter_mm": 25}})))
    assert s.calibration is not None
    assert s.calibration.source is CalibrationSource.USER_BALL
    assert s.calibration.mm_per_px == pytest.approx((0.5, 0.5))


def test_circle_given_by_centre_adds_its_point(tmp_path: Path) -> None:
    s = read_landmarks(_write(tmp_path, _doc(circles={"FH.left": {"center": [1700, 5720], "radius": 110}})))
    assert s.circles["FH.left"] == Circle((1700.0, 5720.0), 110.0)
    assert s.points["FH.left"] == (1700.0, 5720.0)


def test_circle_given_by_rim_is_fitted(tmp_path: Path) -> None:
    rim = [[1810, 5720], [1700, 5830], [1590, 5720], [1700, 5610]]
    s = read_landmarks(_write(tmp_path, _doc(circles={"FH.right": {"rim": rim}})))
    c = s.circles["FH.right"]
    assert c.center == pytest.approx((1700.0, 5720.0))
    assert c.radius == pytest.approx(110.0)
    assert s.points["FH.right"] == c.center


def test_circle_and_point_agreeing_within_one_pixel_keep_the_point(tmp_path: Path) -> None:
    doc = _doc(
        points={"FH.left": [1700.5, 5720.5]}, circles={"FH.left": {"center": [1700, 5720], "radius": 110}}
    )
    s = read_landmarks(_write(tmp_path, doc))
    assert s.points["FH.left"] == (1700.5, 5720.5)


def test_points_on_the_image_edge_are_inside(tmp_path: Path) -> None:
    doc = _doc(
        image={"rows": 100, "columns": 50},
        points={"C7.centroid": [-0.5, -0.5], "S1.sup.ant": [49.5, 99.5]},
    )
    assert len(read_landmarks(_write(tmp_path, doc)).points) == 2


@pytest.mark.parametrize(
    "circles",
    [
        None,
        {"FH.left": {"center": [1700, 5720], "radius": 110}},
        {"S1.sup.ant": {"center": [10, 20], "radius": 5}},
    ],
    ids=["no circle", "circle adds a point", "circle beside its point"],
)
def test_read_points_are_those_a_set_makes_point_by_point(circles: dict | None) -> None:
    # the reader hands its points over as FloatPoints, which LandmarkSet copies as they are
    doc = _doc(points={"S1.sup.ant": [10, 20.5], "S1.sup.post": [30.25, 21]}, circles=circles)
    s = parse_landmarks(doc, where="notebook")
    again = LandmarkSet(s.view, dict(s.points))
    assert type(s.points[next(iter(s.points))]) is tuple
    assert list(s.points.items()) == list(again.points.items())
    assert all(type(c) is float for xy in s.points.values() for c in xy)
    assert type(s.points.copy()) is dict  # the mapping behind the proxy is a plain dict, not FloatPoints


def test_float_points_are_copied_not_shared() -> None:
    given = FloatPoints({"C7.centroid": (1.0, 2.0)})
    s = LandmarkSet(View.LATERAL, given)
    given["C7.centroid"] = (3.0, 4.0)
    assert s.points["C7.centroid"] == (1.0, 2.0)


def test_parse_landmarks_works_on_a_plain_dict() -> None:
    s = parse_landmarks(SPEC_EXAMPLE, where="notebook")
    assert s.points["S1.sup.post"] == (1455.0, 5248.0)
    assert s.source is None
    with pytest.raises(InvalidLandmarksError, match=r"^notebook: .*\"points\" must be a JSON object"):
        parse_landmarks(_doc(points=[1, 2]), where="notebook")


# ------------------------------------------------------------------------------------------ bad files

# (file content, exception, words the one-line message must hold besides the file name)
BAD = [
    pytest.param(
        '{"format": "spinecheck-landmarks/1",\n "view": "lateral" "points": {}}',
        InvalidLandmarksError,
        ["not valid JSON", "line 2, column 20"],
        id="invalid-json",
    ),
    pytest.param("[1, 2]", InvalidLandmarksError, ["JSON object", "top level", "got a list"], id="top-list"),
    pytest.param("", InvalidLandmarksError, ["not valid JSON", "line 1, column 1"], id="empty-file"),
    pytest.param(
        "\ufeff\ufeff" + json.dumps(SPEC_EXAMPLE),  # a BOM is read as one; a second is not JSON
        InvalidLandmarksError,
        ["not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1, column 1"],
        id="two-BOMs",
    ),
    pytest.param(_doc(format=_DROP), InvalidLandmarksError, ['"format"', "missing", FORMAT], id="no-format"),
    pytest.param(
        _doc(format="spinecheck-landmarks/2"),
        InvalidLandmarksError,
        ["spinecheck-landmarks/2", "this version reads spinecheck-landmarks/1"],
        id="newer-version",
    ),
    pytest.param(
        _doc(format="other/1"),
        InvalidLandmarksError,
        ['"format" must be', FORMAT, '"other/1"'],
        id="other-format",
    ),
    pytest.param(_doc(format=1), InvalidLandmarksError, ['"format" must be', "got 1"], id="format-number"),
    pytest.param(_doc(view=_DROP), InvalidLandmarksError, ['"view"', "missing"], id="no-view"),
    pytest.param(
        _doc(view="sagittal"), InvalidLandmarksError, ['"view"', "lateral", "'sagittal'"], id="bad-view"
    ),
    pytest.param(
        _doc(view="pa"), InvalidLandmarksError, ['"view"', "PA films are both", '"ap"'], id="pa-view"
    ),
    pytest.param(_doc(view=["ap"]), InvalidLandmarksError, ['"view"', '["ap"]'], id="view-list"),
    pytest.param(_doc(points=_DROP), InvalidLandmarksError, ['"points"', "missing"], id="no-points"),
    pytest.param(
        _doc(points=_DROP, Points={}),
        InvalidLandmarksError,
        ['"points"', "missing", '"Points"'],
        id="points-wrong-case",
    ),
    pytest.param(
        _doc(points=[[1, 2]]),
        InvalidLandmarksError,
        ['"points" must be a JSON object', "[[1, 2]]"],
        id="points-list",
    ),
    pytest.param(
        '{"format": "spinecheck-landmarks/1", "view": "lateral", '
        '"points": {"S1.sup.ant": [1, 2], "S1.sup.ant": [3, 4]}}',
        InvalidLandmarksError,
        ['"S1.sup.ant"', "more than once", '"points"'],
        id="duplicate-point",
    ),
    pytest.param(
        '{"format": "spinecheck-landmarks/1", "view": "lateral", "points": {}, '
        '"circles": {"FH.left": {"center": [1, 2], "radius": 3}, '
        '"FH.left": {"center": [1, 2], "radius": 3}}}',
        InvalidLandmarksError,
        ['"FH.left"', "more than once", '"circles"'],
        id="duplicate-circle",
    ),
    pytest.param(
        '{"format": "spinecheck-landmarks/1", "view": "lateral", "view": "ap", "points": {}}',
        InvalidLandmarksError,
        ['"view"', "more than once"],
        id="duplicate-top-key",
    ),
    pytest.param(
        _doc(points={"S1.sup.anterior": [1, 2]}),
        InvalidLandmarksError,
        ["unknown point name", "'S1.sup.anterior'", "did you mean", "'S1.sup.ant'"],
        id="unknown-name",
    ),
    pytest.param(
        _doc(points={"s1.sup.ant": [1, 2]}),
        InvalidLandmarksError,
        ["unknown point name", "'S1.sup.ant'"],
        id="name-wrong-case",
    ),
    pytest.param(
        _doc(points={"S1.sup.left": [1, 2]}),
        InvalidLandmarksError,
        ['"S1.sup.left"', "lateral", "ant/post"],
        id="ap-corner-on-lateral",
    ),
    pytest.param(
        _doc(view="ap", points={"S1.sup.ant": [1, 2]}),
        InvalidLandmarksError,
        ['"S1.sup.ant"', '"ap"', "left/right"],
        id="lateral-corner-on-ap",
    ),
    pytest.param(
        _doc(points={"S1.sup.ant": "12,7"}),
        InvalidLandmarksError,
        ['point "S1.sup.ant" must be [x, y] numbers', 'got "12,7"'],
        id="coords-string",
    ),
    pytest.param(
        _doc(points={"S1.sup.ant": ["12", "7"]}),
        InvalidLandmarksError,
        ['point "S1.sup.ant"', '["12", "7"]'],
        id="coords-strings",
    ),
    pytest.param(
        _doc(points={"S1.sup.ant": [True, 7]}),
        InvalidLandmarksError,
        ['point "S1.sup.ant"', "[true, 7]"],
        id="coords-bool",
    ),
    pytest.param(
        _doc(points={"S1.sup.ant": None}),
        InvalidLandmarksError,
        ['point "S1.sup.ant"', "got null"],
        id="coords-null",
    ),
    pytest.param(
        _doc(points={"S1.sup.ant": [None, 7]}),
        InvalidLandmarksError,
        ['point "S1.sup.ant"', "[null, 7]"],
        id="coord-null",
    ),
    pytest.param(
        '{"format": "spinecheck-landmarks/1", "view": "lateral", "points": {"S1.sup.ant": [NaN, 7]}}',
        InvalidLandmarksError,
        ['point "S1.sup.ant"', "finite", "[NaN, 7]"],
        id="coords-nan",
    ),
    pytest.param(
        '{"format": "spinecheck-landmarks/1", "view": "lateral", "points": {"S1.sup.ant": [1, -Infinity]}}',
        InvalidLandmarksError,
        ['point "S1.sup.ant"', "finite", "-Infinity"],
        id="coords-infinity",
    ),
    pytest.param(
        '{"format": "spinecheck-landmarks/1", "view": "lateral", "points": {"S1.sup.ant": [1e999, 7]}}',
        InvalidLandmarksError,
        ['point "S1.sup.ant"', "finite"],
        id="coords-overflow",
    ),
    pytest.param(
        _doc(points={"S1.sup.ant": [1, 2, 3]}),
        InvalidLandmarksError,
        ['point "S1.sup.ant"', "[x, y]", "[1, 2, 3]"],
        id="coords-three",
    ),
    pytest.param(
        _doc(points={"S1.sup.ant": {"x": 1, "y": 2}}),
        InvalidLandmarksError,
        ['point "S1.sup.ant"', "[x, y]"],
        id="coords-object",
    ),
    pytest.param(
        _doc(image={"rows": 100, "columns": 50}, points={"S1.sup.ant": [49.6, 20]}),
        InvalidLandmarksError,
        ['"S1.sup.ant"', "[49.6, 20]", "outside the image", "50 x 100 px"],
        id="outside-x",
    ),
    pytest.param(
        _doc(image={"rows": 100}, points={"S1.sup.ant": [5, -0.6], "C7.centroid": [1, 200]}),
        InvalidLandmarksError,
        ['"S1.sup.ant"', "outside the image", "and 1 more point"],
        id="outside-y-two",
    ),
    pytest.param(
        _doc(points={"S1.sup.ant": [1, 2], "S1.sup.post": [1, 2]}),
        DegenerateGeometryError,
        ["zero length", '"S1.sup.ant"', '"S1.sup.post"', "[1, 2]"],
        id="zero-length-endplate",
    ),
    pytest.param(
        _doc(view="ap", points={"L1.inf.left": [5, 6], "L1.inf.right": [5, 6]}),
        DegenerateGeometryError,
        ["L1.inf", '"L1.inf.left"', '"L1.inf.right"'],
        id="zero-length-ap",
    ),
    pytest.param(
        _doc(image=[7200, 3000]), InvalidLandmarksError, ['"image" must be a JSON object'], id="image-list"
    ),
    pytest.param(
        _doc(image={"rows": 0}), InvalidLandmarksError, ['"image.rows"', "> 0", "got 0"], id="rows-zero"
    ),
    pytest.param(
        _doc(image={"columns": 3000.5}),
        InvalidLandmarksError,
        ['"image.columns"', "3000.5"],
        id="columns-float",
    ),
    pytest.param(_doc(image={"rows": True}), InvalidLandmarksError, ['"image.rows"', "true"], id="rows-bool"),
    pytest.param(
        _doc(image={"path": 5}),
        InvalidLandmarksError,
        ['"image.path"', "string", "got 5"],
        id="image-path-number",
    ),
    pytest.param(
        _doc(patient={"age_years": 131}),
        InvalidLandmarksError,
        ['"patient.age_years"', "0 to 130", "got 131"],
        id="age-too-old",
    ),
    pytest.param(
        _doc(patient={"age_years": -1}),
        InvalidLandmarksError,
        ['"patient.age_years"', "got -1"],
        id="age-negative",
    ),
    pytest.param(
        _doc(patient={"age_years": "67"}),
        InvalidLandmarksError,
        ['"patient.age_years"', '"67"'],
        id="age-string",
    ),
    pytest.param(
        _doc(patient={"sex": "X"}),
        InvalidLandmarksError,
        ['"patient.sex"', '"F", "M" or "O"', '"X"'],
        id="bad-sex",
    ),
    pytest.param(
        _doc(calibration={"mm_per_px": [0, 0.15]}),
        InvalidLandmarksError,
        ['"calibration.mm_per_px"', "> 0", "[0, 0.15]"],
        id="spacing-zero",
    ),
    pytest.param(
        _doc(calibration={"mm_per_px": [-0.15, 0.15]}),
        InvalidLandmarksError,
        ['"calibration.mm_per_px"', "> 0", "-0.15"],
        id="spacing-negative",
    ),
    pytest.param(
        _doc(calibration={"mm_per_px": 0.15}),
        InvalidLandmarksError,
        ['"calibration.mm_per_px"', "[row, col]", "0.15"],
        id="spacing-scalar",
    ),
    pytest.param(
        _doc(calibration={"mm_per_px": ["0.1", "0.1"]}),
        InvalidLandmarksError,
        ['"calibration.mm_per_px"', '"0.1"'],
        id="spacing-strings",
    ),
    pytest.param(
        _doc(calibration={}),
        InvalidLandmarksError,
        ['"calibration" must hold exactly one', "none"],
        id="calibration-empty",
    ),
    pytest.param(
        _doc(calibration={"mm_per_px": [0.1, 0.1], "line": [[0, 0], [1, 1]], "length_mm": 1}),
        InvalidLandmarksError,
        ['"calibration"', 'both "mm_per_px" and "line"'],
        id="calibration-two",
    ),
    pytest.param(
        _doc(calibration={"line": [[0, 0], [0, 400]]}),
        InvalidLandmarksError,
        ['"calibration"', '"length_mm"', "missing"],
        id="line-no-length",
    ),
    pytest.param(
        _doc(calibration={"line": [[0, 0], [0, 400]], "length_mm": 0}),
        InvalidLandmarksError,
        ['"calibration.length_mm"', "> 0", "got 0"],
        id="line-length-zero",
    ),
    pytest.param(
        _doc(calibration={"line": [[0, 0], "a"], "length_mm": 10}),
        InvalidLandmarksError,
        ['"calibration.line" end 2', "[x, y]", '"a"'],
        id="line-bad-end",
    ),
    pytest.param(
        _doc(calibration={"line": [[3, 4], [3, 4]], "length_mm": 10}),
        DegenerateGeometryError,
        ['"calibration"', "zero length"],
        id="line-zero-length",
    ),
    pytest.param(
        _doc(calibration={"ball": {"rim": [[0, 0], [1, 1], [2, 2]], "diameter_mm": 25}}),
        DegenerateGeometryError,
        ['"calibration.ball"', "collinear"],
        id="ball-collinear",
    ),
    pytest.param(
        _doc(calibration={"ball": {"rim": [[0, 0], [1, 1]], "diameter_mm": 25}}),
        InvalidLandmarksError,
        ['"calibration.ball.rim"', "3 or more"],
        id="ball-two-points",
    ),
    pytest.param(
        _doc(calibration={"ball": {"rim": [[0, 1], [1, 0], [2, 1]]}}),
        InvalidLandmarksError,
        ['"calibration.ball"', '"diameter_mm"', "missing"],
        id="ball-no-diameter",
    ),
    pytest.param(
        _doc(view="ap", points={}, patient_right="left"),
        InvalidLandmarksError,
        ['"patient_right"', "'image_left'", "'left'"],
        id="bad-patient-right",
    ),
    pytest.param(
        _doc(circles={"FH.left": {"center": [1700, 5720], "radius": 110}}, points={"FH.left": [1702, 5720]}),
        InvalidLandmarksError,
        ['"FH.left"', "2.0 px apart", "within 1 px"],
        id="circle-point-disagree",
    ),
    pytest.param(
        _doc(circles={"FH.left": {"rim": [[0, 0], [1, 1]]}}),
        InvalidLandmarksError,
        ['circle "FH.left" rim', "3 or more"],
        id="circle-two-rim-points",
    ),
    pytest.param(
        _doc(circles={"FH.left": {"rim": [[0, 0], [1, 1], [2, 2]]}}),
        DegenerateGeometryError,
        ['circle "FH.left" rim', "collinear"],
        id="circle-collinear",
    ),
    pytest.param(
        _doc(circles={"FH.left": {"center": [1, 1], "radius": -2}}),
        InvalidLandmarksError,
        ['circle "FH.left" radius', "> 0", "-2"],
        id="circle-negative-radius",
    ),
    pytest.param(
        _doc(circles={"FH.left": {"center": [1, 1]}}),
        InvalidLandmarksError,
        ['circle "FH.left"', '"radius"', "missing"],
        id="circle-no-radius",
    ),
    pytest.param(
        _doc(circles={"FH.left": {"center": [1, 1], "radius": 2, "rim": [[0, 0], [1, 1], [0, 2]]}}),
        InvalidLandmarksError,
        ['circle "FH.left"', "either", '"rim"'],
        id="circle-centre-and-rim",
    ),
    pytest.param(
        _doc(circles={"FH.lft": {"center": [1, 1], "radius": 2}}),
        InvalidLandmarksError,
        ['"circles"', "'FH.lft'", "'FH.left'"],
        id="circle-unknown-name",
    ),
    pytest.param(
        _doc(circles=[1]), InvalidLandmarksError, ['"circles" must be a JSON object'], id="circles-list"
    ),
]


@pytest.mark.parametrize(("content", "error", "words"), BAD)
def test_bad_file_gives_one_line_error_naming_file_and_field(
    tmp_path: Path, content: object, error: type, words: list[str]
) -> None:
    path = _write(tmp_path, content, "case 7.json")
    with pytest.raises(error) as info:
        read_landmarks(path)
    message = str(info.value)
    assert message.startswith(f"landmarks file '{path}': ")
    assert "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        '{"a": {"b": [1.5, 2]}}',
        '{"a": ',
        "[1, 2]",
        "\ufeff{}",
        "\ufeff\ufeff{}",
        "{} x",
        "1e400",
    ],
)
def test_a_file_decodes_as_json_loads_decodes_it_with_the_same_hook(tmp_path: Path, text: str) -> None:
    """The decoder made once for a hook gives what ``json.loads`` with that hook gives, or its error."""
    from spinecheck.landmarks.io.checks import read_json_text

    def hook(pairs):
        return ("object", pairs)

    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    try:
        expected = json.loads(
            text.removeprefix("\ufeff"), object_pairs_hook=hook
        )  # the file's BOM is read as one
    except json.JSONDecodeError as e:
        expected = f"x: is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
    for _ in range(2):  # the decoder made by the first call, and taken again
        try:
            got = read_json_text(str(path), "x", "JSON", object_pairs_hook=hook)
        except InvalidLandmarksError as e:
            got = str(e)
        assert got == expected


def test_missing_file_is_reported_with_the_os_reason(tmp_path: Path) -> None:
    with pytest.raises(InvalidLandmarksError, match=r"a\.json': cannot be read: No such file"):
        read_landmarks(tmp_path / "a.json")


def test_directory_is_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "d.json"
    folder.mkdir()
    with pytest.raises(InvalidLandmarksError, match=r"d\.json': cannot be read: Is a directory"):
        read_landmarks(folder)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"format": "é"}'.encode("latin-1"))
    with pytest.raises(
        InvalidLandmarksError, match=r"latin1\.json': is not UTF-8 text \(byte 0xe9 at offset 12\)"
    ):
        read_landmarks(path)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("table.csv", ["a .csv file is a landmark table", "read_landmark_table"]),
        ("points.txt", ["unsupported file type '.txt'", ".json", ".mat"]),
        ("noext", ["unsupported file type '(no suffix)'"]),
    ],
)
def test_other_suffixes_are_refused(tmp_path: Path, name: str, words: list[str]) -> None:
    path = _write(tmp_path, "x", name)
    with pytest.raises(InvalidLandmarksError) as info:
        read_landmarks(path)
    assert str(info.value).startswith(f"landmarks file '{path}'")
    for word in words:
        assert word in str(info.value)


def test_mat_suffix_dispatches_to_the_aasce_reader(tmp_path: Path) -> None:
    xy = np.array([[100 + 50 * (i % 2), 10 + 20 * (i // 2)] for i in range(68)], dtype=np.uint16)
    path = tmp_path / "x.jpg.mat"
    scipy.io.savemat(path, {"p2": xy})
    s = read_landmarks(path)
    assert s.view is View.AP and len(s.points) == 68 and s.source == str(path)


# ------------------------------------------------------------------------------------------ writing


def _rich_set() -> LandmarkSet:
    return LandmarkSet(
        view=View.AP,
        points={
            "T1.sup.left": (0.1 + 0.2, 1 / 3),
            "T1.sup.right": (1234.5678901234567, 1e-7),
            "S1.sup.left": (-0.5, 2.0**-30),
            "S1.sup.right": (1510.0, 5305.000000000001),
            "FH.left": (1700.0, 5720.0),
        },
        calibration=Calibration.from_line((0, 0), (3, 400), 100.0),
        patient=PatientInfo(14.25, "landmark file", Sex.O, "landmark file"),
        image=ImageRef(path="x.dcm", sop_instance_uid="1.2.840.1", rows=7200, columns=3000),
        patient_right=PatientRight.IMAGE_RIGHT,
        circles={
            "FH.left": Circle((1700.0, 5720.0), 110.25, 0.75),
            "FH.right": Circle((1688.5, 5745.5), 99.0),
        },
    )


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    s = _rich_set()
    path = tmp_path / "rt.json"
    write_landmarks(s, path)
    back = read_landmarks(path)
    assert back.source == str(path)
    # the writer adds the point of a circle given without one
    assert back == s.replace(source=str(path), points={**s.points, "FH.right": (1688.5, 5745.5)})
    write_landmarks(back, path)
    assert read_landmarks(path) == back


@pytest.mark.parametrize(
    "calibration",
    [
        pytest.param(Calibration.from_spacing((0.1, 0.30000000000000004)), id="spacing"),
        pytest.param(Calibration.from_ball([[125, 100], [100, 125], [75, 100], [100, 76]], 25.0), id="ball"),
        pytest.param(None, id="none"),
    ],
)
def test_round_trip_of_each_calibration(tmp_path: Path, calibration: Calibration | None) -> None:
    s = LandmarkSet("lateral", {"S1.sup.ant": (1.5, 2.5)}, calibration=calibration)
    path = tmp_path / "c.json"
    write_landmarks(s, path)
    assert read_landmarks(path).calibration == calibration


def test_uncalibrated_calibration_is_not_written() -> None:
    s = LandmarkSet("lateral", {"S1.sup.ant": (1.5, 2.5)}, calibration=Calibration.none())
    assert "calibration" not in landmarks_to_json(s)


def test_text_has_one_point_per_line_and_parses_back() -> None:
    s = _rich_set()
    text = landmarks_to_text(s)
    assert json.loads(text) == landmarks_to_json(s)
    assert '    "T1.sup.left": [0.30000000000000004, 0.3333333333333333],\n' in text
    assert text.endswith("}\n")


def test_writing_a_non_finite_point_fails_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    s = LandmarkSet("lateral", {"S1.sup.ant": (float("nan"), 2.0)})
    with pytest.raises(InvalidLandmarksError, match=r'point "S1\.sup\.ant".*finite.*\[nan, 2\.0\]'):
        write_landmarks(s, path)
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_landmarks(LandmarkSet("lateral", {"S1.sup.ant": (1.0, 2.0)}), path)
    write_landmarks(LandmarkSet("lateral", {"S1.sup.ant": (3.0, 4.0)}), path)
    assert read_landmarks(path).points["S1.sup.ant"] == (3.0, 4.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_a_failed_write_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "a.json"
    old = LandmarkSet("lateral", {"S1.sup.ant": (1.0, 2.0)})
    write_landmarks(old, path)
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, failing, crash)
    with pytest.raises(OSError, match="No space left"):
        write_landmarks(LandmarkSet("lateral", {"S1.sup.ant": (5.0, 6.0)}), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert read_landmarks(path) == old.replace(source=str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temporary file left behind


def test_write_keeps_the_mode_of_the_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_landmarks(LandmarkSet("lateral", {"S1.sup.ant": (1.0, 2.0)}), path)
    os.chmod(path, 0o640)
    write_landmarks(LandmarkSet("lateral", {"S1.sup.ant": (3.0, 4.0)}), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_write_into_a_missing_directory_names_the_target(tmp_path: Path) -> None:
    target = tmp_path / "no" / "a.json"
    with pytest.raises(FileNotFoundError) as info:
        write_landmarks(LandmarkSet("lateral", {}), target)
    assert info.value.filename == str(target)


# ------------------------------------------------------------- fast paths of the reader (same answers)


@pytest.mark.parametrize("view", list(View), ids=str)
def test_every_valid_name_reads_and_the_other_views_corners_are_refused(view: View) -> None:
    valid = valid_point_names(view)
    s = parse_landmarks(_doc(view=view.value, points={n: [i, i + 0.5] for i, n in enumerate(valid)}))
    assert tuple(s.points) == valid
    for name in valid:
        assert check_point_name(name, view) == parse_point_name(name)
        assert check_point_name(name, view.value.upper()).name == name
    other = View.AP if view is View.LATERAL else View.LATERAL
    for name in set(valid_point_names(other)) - set(valid):
        with pytest.raises(InvalidLandmarksError, match=f'^a.json: point "{name}" is an? '):
            check_point_name(name, view, where="a.json")


def test_a_refused_name_is_refused_every_time_with_the_same_message(tmp_path: Path) -> None:
    path = _write(tmp_path, _doc(points={"S1.sup.ant": [1, 2], "S1.sup.anterior": [3, 4]}))
    messages = []
    for _ in range(2):
        with pytest.raises(InvalidLandmarksError) as info:
            read_landmarks(path)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "unknown point name 'S1.sup.anterior'; did you mean 'S1.sup.ant'" in messages[0]


def test_a_name_subclassing_str_is_checked_in_full() -> None:
    class Name(str):
        pass

    assert type(check_point_name(Name("S1.sup.ant"), "lateral").name) is Name
    assert type(parse_point_name(Name("FH")).name) is Name  # type: ignore[union-attr]
    with pytest.raises(InvalidLandmarksError, match="is a lateral landmark"):
        check_point_name(Name("S1.sup.ant"), "ap")


def test_the_first_key_given_again_is_the_one_named(tmp_path: Path) -> None:
    text = (
        '{"format": "spinecheck-landmarks/1", "view": "lateral", "points": '
        '{"C3.centroid": [1, 2], "FH": [5, 6], "FH": [5, 6], "C3.centroid": [1, 2]}}'
    )
    with pytest.raises(InvalidLandmarksError, match='point "FH" is given more than once'):
        read_landmarks(_write(tmp_path, text))


def test_a_key_given_twice_where_repeats_are_not_checked_keeps_its_last_value(tmp_path: Path) -> None:
    text = (
        '{"format": "spinecheck-landmarks/1", "view": "lateral", "points": {"S1.sup.ant": [1, 2]}, '
        '"refinement": {"moved": {"S1.sup.ant": {"from": [7, 8], "method": "corner", "from": [3, 4]}}}}'
    )
    s = read_landmarks(_write(tmp_path, text))
    assert s.refinement is not None
    assert s.refinement.moved["S1.sup.ant"].original == (3.0, 4.0)


class _Float(float):
    pass


@pytest.mark.parametrize(
    "xy",
    [
        pytest.param([1.5, 2.5], id="floats"),
        pytest.param([1, 2.5], id="int-and-float"),
        pytest.param((1.5, 2), id="tuple"),
        pytest.param([np.float64(1.5), np.float64(2)], id="numpy"),
        pytest.param([_Float(1.5), 2.5], id="float-subclass"),
    ],
)
def test_a_point_of_any_two_finite_numbers_becomes_two_plain_floats(xy: object) -> None:
    (x, y) = parse_landmarks(_doc(points={"S1.sup.ant": xy})).points["S1.sup.ant"]
    assert (type(x), type(y)) == (float, float)
    assert (x, y) == (float(xy[0]), float(xy[1]))  # type: ignore[index]


@pytest.mark.parametrize(
    "xy",
    [
        pytest.param([float("nan"), 1.0], id="nan"),
        pytest.param([1.0, float("-inf")], id="inf"),
        pytest.param([True, 1.0], id="bool"),
        pytest.param([10**400, 1.0], id="huge-int"),
        pytest.param([1.0, 2.0, 3.0], id="three"),
        pytest.param(["1", 2.0], id="string"),
    ],
)
def test_a_point_that_is_not_two_finite_numbers_is_refused(xy: object) -> None:
    with pytest.raises(InvalidLandmarksError, match=r'^a.json: point "S1.sup.ant" must be \[x, y\] numbers'):
        parse_landmarks(_doc(points={"S1.sup.ant": xy}), where="a.json")


@pytest.mark.parametrize("name", ["S1.sup.ant\n", "S1.sup.ant\r\n", " S1.sup.ant", "L1.centroid\n"])
def test_a_name_with_a_stray_newline_or_space_is_refused_not_silently_missing(tmp_path, name):
    """A regex ``$`` also matches before a final newline: such a key would be accepted, then never found."""
    assert parse_point_name(name) is None
    path = tmp_path / "x.json"
    path.write_text(
        json.dumps({"format": "spinecheck-landmarks/1", "view": "lateral", "points": {name: [1, 2]}})
    )
    with pytest.raises(InvalidLandmarksError, match="unknown point name") as err:
        read_landmarks(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value).replace(repr(name), "")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_landmark_file_whose_size_says_nothing_is_read_whole_and_bounded(tmp_path, monkeypatch):
    """The reader asks for the bytes the file's size says; a pipe (size 0) is still read to its end.

    And a pipe longer than the limit is refused as a file is, after reading one byte past it.
    """
    import threading

    from spinecheck.landmarks.io import checks

    text = json.dumps({"format": FORMAT, "view": "lateral", "points": {"C7.centroid": [10.0, 20.0]}})
    for content, limit in ((text, 1 << 20), (text + " " * 64, len(text) + 8)):
        pipe = tmp_path / f"pipe{limit}.json"
        os.mkfifo(pipe)
        writer = threading.Thread(target=lambda p=pipe, c=content: p.write_text(c), daemon=True)
        writer.start()
        monkeypatch.setattr(checks, "MAX_LANDMARK_FILE_BYTES", limit)
        try:
            if len(content) <= limit:
                assert read_landmarks(pipe).points == {"C7.centroid": (10.0, 20.0)}
            else:
                with pytest.raises(InvalidLandmarksError, match="is larger than"):
                    read_landmarks(pipe)
        finally:
            writer.join(5)  # its text fits the pipe's buffer: written whole, read or not


def test_a_landmark_file_read_is_the_file_up_to_the_limit(tmp_path):
    from spinecheck.landmarks.io.checks import _read_at_most

    for size in (0, 1, 9, 10, 11, 12, 300):
        path = tmp_path / f"f{size}"
        path.write_bytes(bytes(i % 251 for i in range(size)))
        with path.open("rb") as f:
            got = _read_at_most(f, 11)
        assert got == path.read_bytes()[:11]


@pytest.mark.parametrize(("view", "a", "b"), [("lateral", "ant", "post"), ("ap", "left", "right")])
def test_the_first_zero_length_endplate_is_named_whatever_names_were_seen_before(view, a, b):
    """check_endplates remembers the names it has seen: it still finds every pair, and names the first."""
    from spinecheck.landmarks.io.checks import check_endplates

    levels = ("T4", "T5", "T6", "T7", "L1", "L2", "L3")
    points = {
        f"{level}.{end}.{corner}": (10.0 * i + (j == 1), 5.0 * k)
        for i, level in enumerate(levels)
        for k, end in enumerate(("sup", "inf"))
        for j, corner in enumerate((a, b))
    }
    for _ in range(2):  # names new, then seen
        check_endplates(points, view, "w")
        for bad in ("L2.inf", "T5.sup", "L1.sup"):
            broken = dict(points)
            broken[f"{bad}.{b}"] = broken[f"{bad}.{a}"]
            with pytest.raises(DegenerateGeometryError, match=f"w: endplate {bad} has zero length"):
                check_endplates(broken, view, "w")
        both = dict(points)
        for bad in ("L2.inf", "T5.sup"):
            both[f"{bad}.{b}"] = both[f"{bad}.{a}"]
        with pytest.raises(DegenerateGeometryError, match="w: endplate T5.sup has zero length"):
            check_endplates(both, view, "w")
        # a partner missing, or its corner alone, is no endplate
        lone = {k: v for k, v in points.items() if k != f"T6.sup.{b}"}
        check_endplates(lone, view, "w")


def test_points_outside_the_image_are_found_as_one_test_per_point_finds_them():
    """check_inside_image tells 'all inside' from the extremes; NaN, infinities and edges still refused."""
    import math
    import random

    from spinecheck.landmarks.io.checks import check_inside_image

    def outside(points, rows, columns):
        return [
            name
            for name, (x, y) in points.items()
            if (columns is not None and not -0.5 <= x <= columns - 0.5)
            or (rows is not None and not -0.5 <= y <= rows - 0.5)
        ]

    rng = random.Random(17)
    values = [0.0, -0.5, -0.50001, 99.5, 99.50001, 49, math.nan, math.inf, -math.inf, 1e308]
    refused = 0
    for _ in range(3000):
        points = {
            f"L{i}.centroid": (rng.choice(values), rng.choice(values)) for i in range(rng.randint(0, 4))
        }
        rows, columns = rng.choice([None, 100, 50]), rng.choice([None, 100, 50])
        expected = outside(points, rows, columns) if rows is not None or columns is not None else []
        if not expected:
            check_inside_image(points, rows, columns, "w")
            continue
        refused += 1
        with pytest.raises(InvalidLandmarksError, match=f'^w: point "{expected[0]}" '):
            check_inside_image(points, rows, columns, "w")
    assert refused > 1000
